//! The public Trust page and its downloads (`/api/trust`, `/ca/<mount>/<issuer>/<file>`):
//! every file fetched over HTTP and read by openssl (x509 DER, pkcs7 DER and PEM, the
//! chain verifying a leaf the intermediate issued, the root in it, the fingerprints equal
//! to openssl's), hostile download paths answered 400/404, the page in Chromium signed
//! out and signed in (fingerprints, links, tabs by keyboard), the Debian tab's commands
//! run against a temporary copy of this machine's trust store so that `openssl verify`
//! and `curl` reach an HTTPS server with a leaf of the CA, and the same downloads in
//! upstream mode in front of OpenBao 2.7.2.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};
use shared::nav;
use shared::trust::{FileKind, TrustIndex, TrustIssuer};
use tests::http::{self, Method};
use tests::openbao::OpenBao;
use tests::{Browser, Server, raw, recipe};

const WAIT: Duration = Duration::from_secs(20);
const ROLE: &str = "trust-web";

fn role_body() -> Value {
    json!({"allowed_domains": "localhost", "allow_bare_domains": true, "allow_localhost": true,
           "allow_ip_sans": true, "max_ttl": "1h", "key_type": "ec", "key_bits": 256})
}

/// Runs `program` with `args`: stdout and stderr, and whether it succeeded.
fn run(program: &str, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let out = Command::new(program)
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("CURL_CA_BUNDLE")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {program}"))?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

fn openssl(args: &[&str]) -> anyhow::Result<String> {
    let (ok, text) = run("openssl", args)?;
    ensure!(ok, "openssl {args:?} failed:\n{text}");
    Ok(text)
}

/// `openssl x509 -fingerprint` of the (first) certificate in `file`, the hex part.
fn openssl_fingerprint(file: &Path, inform: &str, alg: &str) -> anyhow::Result<String> {
    let out = openssl(&[
        "x509",
        "-inform",
        inform,
        "-in",
        &file.display().to_string(),
        "-noout",
        "-fingerprint",
        alg,
    ])?;
    out.trim()
        .split_once("Fingerprint=")
        .map(|(_, f)| f.to_string())
        .with_context(|| format!("no fingerprint in {out:?}"))
}

/// The filename of a `Content-Disposition` header.
fn disposition_name(value: &str) -> Option<&str> {
    value.split("filename=\"").nth(1)?.split('"').next()
}

async fn index(server: &Server) -> anyhow::Result<TrustIndex> {
    let res = http::get(&server.url("/api/trust")).await?;
    ensure!(
        res.status == 200,
        "/api/trust: {} {}",
        res.status,
        res.text()
    );
    Ok(serde_json::from_slice(&res.body)?)
}

/// The recipe's two issuers: (root issuer of `pki`, intermediate issuer of `pki_int`).
fn recipe_issuers(index: &TrustIndex) -> anyhow::Result<(TrustIssuer, TrustIssuer)> {
    let find = |mount: &str| {
        index
            .issuers
            .iter()
            .find(|i| i.mount == mount && i.is_default)
            .cloned()
            .with_context(|| format!("no default issuer of {mount} in {index:#?}"))
    };
    Ok((find("pki")?, find("pki_int")?))
}

/// A leaf for `localhost`/127.0.0.1 from the intermediate: (certificate PEM, key PEM).
async fn issue_leaf(server: &Server, token: &str) -> anyhow::Result<(String, String)> {
    let issued = recipe::vault(
        server,
        token,
        Method::POST,
        &format!("pki_int/issue/{ROLE}"),
        json!({"common_name": "localhost", "ip_sans": "127.0.0.1", "ttl": "30m"}),
    )
    .await?;
    let cert = issued["data"]["certificate"]
        .as_str()
        .context("no certificate")?;
    let key = issued["data"]["private_key"].as_str().context("no key")?;
    Ok((cert.to_string(), key.to_string()))
}

/// Fetches every download of the recipe's issuers over HTTP and checks each with openssl;
/// the API's fingerprints against openssl's; caching; hostile paths.
async fn check_downloads(server: &Server, r: &recipe::Recipe) -> anyhow::Result<()> {
    let idx = index(server).await?;
    let (root, int) = recipe_issuers(&idx)?;
    ensure!(root.complete && int.complete, "{root:#?} {int:#?}");
    ensure!(root.chain.len() == 1 && int.chain.len() == 2, "{int:#?}");
    let root_cert = root.chain.first().context("root chain")?;
    ensure!(root_cert.self_signed);
    ensure!(
        int.chain.last() == Some(root_cert),
        "the intermediate's chain ends in the root of pki"
    );
    ensure!(idx.problems.is_empty(), "{:?}", idx.problems);

    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name);
    // The API's fingerprints are openssl's, for every certificate shown.
    for cert in int.chain.iter().chain(&root.chain) {
        std::fs::write(path("c.pem"), &cert.pem)?;
        ensure!(openssl_fingerprint(&path("c.pem"), "PEM", "-sha256")? == cert.sha256);
        ensure!(openssl_fingerprint(&path("c.pem"), "PEM", "-sha1")? == cert.sha1);
    }
    // The root is the recipe's root, the intermediate the recipe's intermediate.
    std::fs::write(path("recipe-root.pem"), &r.root_pem)?;
    std::fs::write(path("recipe-int.pem"), &r.intermediate_pem)?;
    ensure!(openssl_fingerprint(&path("recipe-root.pem"), "PEM", "-sha256")? == root_cert.sha256);
    ensure!(
        openssl_fingerprint(&path("recipe-int.pem"), "PEM", "-sha256")?
            == int.chain.first().context("int")?.sha256
    );

    for issuer in [&root, &int] {
        let kinds: Vec<FileKind> = issuer.downloads.iter().map(|d| d.kind).collect();
        let mut want: Vec<FileKind> = FileKind::ALL.to_vec();
        if issuer.chain.len() == 1 {
            want.retain(|k| *k != FileKind::IntermediatePem);
        }
        ensure!(kinds == want, "{}: {kinds:?}", issuer.mount);
        for d in &issuer.downloads {
            let res = http::get(&server.url(&d.href)).await?;
            ensure!(
                res.status == 200,
                "{}: {} {}",
                d.href,
                res.status,
                res.text()
            );
            ensure!(
                res.header("content-type") == Some(d.kind.content_type()),
                "{}: content type {:?}",
                d.href,
                res.header("content-type")
            );
            let cd = res.header("content-disposition").unwrap_or_default();
            ensure!(
                disposition_name(cd) == Some(d.file_name.as_str()),
                "{}: {cd:?}",
                d.href
            );
            let file = path(&d.file_name);
            std::fs::write(&file, &res.body)?;
            let f = file.display().to_string();
            let n = issuer.chain.len();
            let chain_root = issuer.chain.last().context("chain")?;
            match d.kind {
                FileKind::ChainPem => {
                    ensure!(res.text().matches("-----BEGIN CERTIFICATE-----").count() == n);
                    // Leaf side first: the first certificate is the issuer itself.
                    ensure!(
                        openssl_fingerprint(&file, "PEM", "-sha256")?
                            == issuer.chain.first().context("first")?.sha256
                    );
                    let last = res
                        .text()
                        .rsplit("-----BEGIN CERTIFICATE-----")
                        .next()
                        .map(|t| format!("-----BEGIN CERTIFICATE-----{t}"))
                        .unwrap_or_default();
                    std::fs::write(path("last.pem"), last)?;
                    ensure!(
                        openssl_fingerprint(&path("last.pem"), "PEM", "-sha256")?
                            == root_cert.sha256,
                        "the chain file ends in the root"
                    );
                }
                FileKind::RootPem => {
                    ensure!(openssl_fingerprint(&file, "PEM", "-sha256")? == chain_root.sha256);
                    ensure!(openssl_fingerprint(&file, "PEM", "-sha1")? == chain_root.sha1);
                }
                FileKind::RootDer => {
                    ensure!(res.body.first() == Some(&0x30), "DER, not PEM");
                    ensure!(openssl_fingerprint(&file, "DER", "-sha256")? == root_cert.sha256);
                    let text =
                        openssl(&["x509", "-inform", "DER", "-in", &f, "-noout", "-subject"])?;
                    ensure!(text.contains("testlab.local Root CA"), "{text}");
                }
                FileKind::IntermediatePem => {
                    ensure!(
                        openssl_fingerprint(&file, "PEM", "-sha256")?
                            == issuer.chain.first().context("first")?.sha256
                    );
                }
                FileKind::ChainP7b | FileKind::ChainP7bPem => {
                    let form = if d.kind == FileKind::ChainP7b {
                        "DER"
                    } else {
                        "PEM"
                    };
                    if form == "PEM" {
                        ensure!(res.text().starts_with("-----BEGIN PKCS7-----"));
                    }
                    let out = openssl(&["pkcs7", "-inform", form, "-in", &f, "-print_certs"])?;
                    ensure!(
                        out.matches("-----BEGIN CERTIFICATE-----").count() == n,
                        "{form}: {out}"
                    );
                    ensure!(out.contains("testlab.local Root CA"), "{form}: {out}");
                }
                FileKind::FingerprintQr => {
                    ensure!(res.text().starts_with("<svg"), "{}", res.text());
                    ensure!(!res.text().contains("style"));
                    ensure!(cd.starts_with("inline;"), "{cd}");
                }
            }
            // Cache-friendly: an ETag, and 304 for a client that has it.
            let etag = res.header("etag").context("no etag")?.to_string();
            ensure!(res.header("cache-control") == Some("public, max-age=60"));
            let again = http::send(
                Method::GET,
                &server.url(&d.href),
                &[("if-none-match", &etag)],
                vec![],
            )
            .await?;
            ensure!(
                again.status == 304 && again.body.is_empty(),
                "{}: {}",
                d.href,
                again.status
            );
        }
    }

    // The chain file verifies a leaf the intermediate issued; the root alone does not
    // (the intermediate is needed), and the chain file with the root is enough.
    let (leaf, _) = issue_leaf(server, &r.root_token).await?;
    std::fs::write(path("leaf.pem"), &leaf)?;
    let chain_file = path(&int.download(FileKind::ChainPem).context("chain")?.file_name);
    let root_file = path(&int.download(FileKind::RootPem).context("root")?.file_name);
    let leaf_file = path("leaf.pem");
    let (c, rt, l) = (
        chain_file.display().to_string(),
        root_file.display().to_string(),
        leaf_file.display().to_string(),
    );
    let out = openssl(&["verify", "-CAfile", &c, &l])?;
    ensure!(out.contains(": OK"), "{out}");
    let (ok, out) = run("openssl", &["verify", "-CAfile", &rt, &l])?;
    ensure!(!ok, "the root alone must not verify the leaf: {out}");
    let out = openssl(&["verify", "-CAfile", &rt, "-untrusted", &c, &l])?;
    ensure!(out.contains(": OK"), "{out}");

    // A stable URL for the default issuer; hostile paths are refused cleanly.
    let by_default = http::get(&server.url("/ca/pki_int/default/chain.pem")).await?;
    ensure!(by_default.status == 200);
    ensure!(by_default.text().matches("BEGIN CERTIFICATE").count() == 2);
    let authority = server.authority().to_string();
    let huge = format!("/ca/{}/default/chain.pem", "a".repeat(5000));
    let root_id = &root.issuer_id;
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/ca/pki/../pki_int/default/chain.pem".into(),
            400,
            "invalid path segment",
        ),
        (
            "/ca/pki_int/default/../../../etc/passwd".into(),
            400,
            "invalid path segment",
        ),
        (
            "/ca/pki%2Fx/default/chain.pem".into(),
            400,
            "encoded characters",
        ),
        (
            "/ca/pki_int/default/..%2F..%2Fetc%2Fpasswd".into(),
            400,
            "encoded characters",
        ),
        (
            "/ca/pki_int/default/%2e%2e".into(),
            400,
            "encoded characters",
        ),
        ("/ca/pki_int//chain.pem".into(), 400, "invalid path segment"),
        (
            "/ca/nosuch/default/chain.pem".into(),
            404,
            "no published PKI mount",
        ),
        (
            "/ca/sys/default/chain.pem".into(),
            404,
            "no published PKI mount",
        ),
        (
            "/ca/pki_int/00000000-0000-0000-0000-000000000000/chain.pem".into(),
            404,
            "has no issuer",
        ),
        ("/ca/pki_int/default/passwd".into(), 404, "no file"),
        (
            format!("/ca/pki/{root_id}/intermediate.pem"),
            404,
            "is a root",
        ),
        ("/ca/chain.pem".into(), 404, "/ca/<mount>/<issuer>/<file>"),
        (huge, 400, "too long"),
    ];
    for (target, status, words) in &cases {
        let res = raw::request(&authority, &format!("GET {target} HTTP/1.1"), b"").await?;
        ensure!(
            res.status == *status,
            "{target}: {} {}",
            res.status,
            res.text()
        );
        let body = res.json()?;
        let errors = body["errors"].to_string();
        ensure!(errors.contains(words), "{target}: {errors}");
    }
    let post = raw::request(
        &authority,
        "POST /ca/pki_int/default/chain.pem HTTP/1.1\r\nContent-Length: 0",
        b"",
    )
    .await?;
    ensure!(post.status == 405, "POST: {}", post.status);
    Ok(())
}

#[tokio::test]
async fn every_download_checks_out_with_openssl() -> anyhow::Result<()> {
    let server = Server::start().await?;
    // Before any CA, the index is empty, and a download is a clean 404.
    let empty = index(&server).await?;
    ensure!(empty.issuers.is_empty(), "{empty:#?}");
    let none = http::get(&server.url("/ca/pki/default/chain.pem")).await?;
    ensure!(none.status == 404, "{}", none.status);
    let r = recipe::setup(&server, ROLE, role_body()).await?;
    check_downloads(&server, &r).await
}

#[tokio::test]
async fn upstream_mode_in_front_of_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console =
        Server::upstream(&bao.addr, &["--trust-mounts", "pki, pki_int,/pki_int/"]).await?;
    // Named but not there yet: said in words, nothing published.
    let before = index(&console).await?;
    ensure!(before.issuers.is_empty(), "{before:#?}");
    ensure!(
        before.mounts == vec!["pki", "pki_int"],
        "{:?}",
        before.mounts
    );
    ensure!(
        before.problems.iter().any(|p| p.contains("\"pki_int\"")),
        "{:?}",
        before.problems
    );
    let r = recipe::setup_with(&console, &bao.root_token, ROLE, role_body()).await?;
    check_downloads(&console, &r).await?;
    // The page, signed out, shows OpenBao's CAs with the API's fingerprints.
    let idx = index(&console).await?;
    let browser = Browser::start().await?;
    browser.client.goto(&console.url(nav::TRUST.path)).await?;
    wait_cards(&browser, idx.issuers.len()).await?;
    let shown = attrs(&browser, "code[data-fingerprint=sha256]", "data-none").await?;
    let want: Vec<String> = idx
        .issuers
        .iter()
        .filter_map(|i| i.chain.first().map(|c| c.sha256.clone()))
        .collect();
    ensure!(shown == want, "{shown:?} vs {want:?}");
    browser.close().await
}

/// Reads an attribute of every element `css` matches.
async fn attrs(browser: &Browser, css: &str, attr: &str) -> anyhow::Result<Vec<String>> {
    let v = browser
        .client
        .execute(
            &format!(
                "return [...document.querySelectorAll({css:?})].map(e => e.getAttribute({attr:?}) ?? e.textContent)"
            ),
            vec![],
        )
        .await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect())
}

async fn active_id(browser: &Browser) -> anyhow::Result<String> {
    let v = browser
        .client
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn selected_tab(browser: &Browser) -> anyhow::Result<String> {
    let v = browser
        .client
        .execute(
            "const t = document.querySelectorAll('[role=tab][aria-selected=true]'); \
             const shown = [...document.querySelectorAll('[role=tabpanel]')].filter(p => !p.hidden).map(p => p.id); \
             return t.length === 1 && shown.length === 1 && shown[0] === t[0].getAttribute('aria-controls') ? t[0].id : 'inconsistent'",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Waits until the page shows `n` CA cards.
async fn wait_cards(browser: &Browser, n: usize) -> anyhow::Result<()> {
    let shown = browser
        .wait_for(
            &format!("return document.querySelectorAll('article.trust-ca').length === {n}"),
            WAIT,
        )
        .await;
    if let Err(e) = shown {
        let main = browser
            .client
            .find(Locator::Css("main"))
            .await?
            .text()
            .await?;
        let errors = browser.console_errors().await?;
        let articles = browser
            .client
            .execute("return [...document.querySelectorAll('article')].map(a => a.outerHTML.slice(0, 200))", vec![])
            .await?;
        bail!("{e}\nthe page shows: {main}\narticles: {articles}\nconsole errors: {errors:?}");
    }
    Ok(())
}

/// A free port on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `openssl s_server` with `cert`/`key` (and the intermediate) on a free port; killed on
/// drop.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn tls_server(dir: &Path) -> anyhow::Result<TlsServer> {
    let port = free_port()?;
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-key")
        .arg(dir.join("leaf.key"))
        .arg("-cert_chain")
        .arg(dir.join("int.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start openssl s_server")?;
    let server = TlsServer { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("openssl s_server did not listen on {port}")
}

#[tokio::test]
async fn the_page_signed_out_and_its_linux_steps_on_this_machine() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let c = &browser.client;

    // No CA yet: the empty state, signed out.
    c.goto(&server.url(nav::TRUST.path)).await?;
    browser
        .wait_for(
            "return !!document.querySelector('[data-testid=trust-empty]')",
            WAIT,
        )
        .await?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    ensure!(
        text.contains("No published CA yet") && text.contains("Setup"),
        "{text}"
    );

    let r = recipe::setup(&server, ROLE, role_body()).await?;
    let idx = index(&server).await?;
    let (root, int) = recipe_issuers(&idx)?;

    // Direct URL and reload, signed out: the page loads and shows the fingerprints.
    for reload in [false, true] {
        if reload {
            c.refresh().await?;
        } else {
            c.goto(&server.url(nav::TRUST.path)).await?;
        }
        wait_cards(&browser, 2).await?;
        ensure!(
            c.current_url().await?.path() == nav::TRUST.path,
            "not sent to sign in"
        );
    }
    ensure!(
        c.find(Locator::Css("[data-signed-in]")).await.is_err(),
        "nobody is signed in"
    );
    let shown = attrs(&browser, "code[data-fingerprint=sha256]", "data-none").await?;
    let shown1 = attrs(&browser, "code[data-fingerprint=sha1]", "data-none").await?;
    let dir = tempfile::tempdir()?;
    for issuer in [&root, &int] {
        let cert = issuer.chain.first().context("cert")?;
        let file = dir.path().join("c.pem");
        std::fs::write(&file, &cert.pem)?;
        let sha256 = openssl_fingerprint(&file, "PEM", "-sha256")?;
        let sha1 = openssl_fingerprint(&file, "PEM", "-sha1")?;
        ensure!(shown.contains(&sha256), "{sha256} not in {shown:?}");
        ensure!(shown1.contains(&sha1), "{sha1} not in {shown1:?}");
    }
    // A copy button says what happened (the clipboard may be closed to a headless
    // browser; then it says how to copy by hand).
    c.find(Locator::Css("button.copy")).await?.click().await?;
    let said = browser
        .wait_for(
            "const s = document.querySelector('.copy-status'); return s && s.textContent",
            WAIT,
        )
        .await?;
    ensure!(
        said == "Copied" || said == "Copy failed: select the text and copy it",
        "{said}"
    );
    // The QR codes load (same origin, allowed by the CSP).
    browser
        .wait_for(
            "const q = [...document.querySelectorAll('.trust-qr img')]; return q.length === 2 && q.every(i => i.complete && i.naturalWidth > 0)",
            WAIT,
        )
        .await?;
    // Every link returns its content type, under the name the link says.
    let hrefs = attrs(&browser, "a[download]", "href").await?;
    let names = attrs(&browser, "a[download]", "download").await?;
    ensure!(hrefs.len() >= 11, "{hrefs:?}");
    for (href, name) in hrefs.iter().zip(&names) {
        let res = http::get(&server.url(href)).await?;
        ensure!(res.status == 200, "{href}: {}", res.status);
        let segment = href.rsplit('/').next().unwrap_or_default();
        let kind = FileKind::from_segment(segment).context("a known file")?;
        ensure!(
            res.header("content-type") == Some(kind.content_type()),
            "{href}"
        );
        let cd = res.header("content-disposition").unwrap_or_default();
        ensure!(
            disposition_name(cd) == Some(name.as_str()),
            "{href}: {cd} vs {name}"
        );
    }

    // The Linux tab is open (this browser's user agent says Linux); the tabs follow the
    // WAI-ARIA pattern by keyboard.
    ensure!(selected_tab(&browser).await? == "tab-debian");
    c.execute("document.getElementById('tab-debian').focus()", vec![])
        .await?;
    let press = |key: Key| async move {
        c.active_element()
            .await?
            .send_keys(&key.to_string())
            .await?;
        anyhow::Ok(())
    };
    press(Key::Right).await?;
    ensure!(selected_tab(&browser).await? == "tab-rhel");
    ensure!(active_id(&browser).await? == "tab-rhel");
    press(Key::End).await?;
    ensure!(selected_tab(&browser).await? == "tab-kubernetes");
    press(Key::Right).await?;
    ensure!(
        selected_tab(&browser).await? == "tab-debian",
        "wraps around"
    );
    press(Key::Left).await?;
    ensure!(active_id(&browser).await? == "tab-kubernetes");
    press(Key::Home).await?;
    ensure!(active_id(&browser).await? == "tab-debian");
    ensure!(selected_tab(&browser).await? == "tab-debian");
    // Only the selected tab is in the Tab order; Tab goes on into its panel.
    let tabindexes = attrs(&browser, "[role=tab]", "tabindex").await?;
    ensure!(
        tabindexes.iter().filter(|t| *t == "0").count() == 1,
        "{tabindexes:?}"
    );
    press(Key::Tab).await?;
    ensure!(active_id(&browser).await? == "panel-debian");
    let k8s = attrs(&browser, "#panel-kubernetes pre code", "data-none")
        .await?
        .join("\n");
    ensure!(
        k8s.contains("apiVersion: trust.cert-manager.io/v1alpha1"),
        "{k8s}"
    );
    ensure!(
        k8s.contains("key: ca.crt") && k8s.contains("inLine: |"),
        "{k8s}"
    );

    // The Debian tab's commands, run here against a temporary copy of the trust store:
    // the real `update-ca-certificates` with its directories (`--certsconf`,
    // `--localcertsdir`, `--etccertsdir`, `--hooksdir`) pointed into a temp dir; the
    // system's certificates (/usr/share/ca-certificates) are read, /etc/ssl is untouched.
    let commands = attrs(&browser, "#panel-debian pre code", "data-none").await?;
    ensure!(commands.len() == 2, "{commands:?}");
    let store = tempfile::tempdir()?;
    let (local, etc, hooks) = (
        store.path().join("local"),
        store.path().join("certs"),
        store.path().join("hooks"),
    );
    for d in [&local, &etc, &hooks] {
        std::fs::create_dir_all(d)?;
    }
    let conf = store.path().join("ca-certificates.conf");
    std::fs::copy("/etc/ca-certificates.conf", &conf)?;
    let root_url = server.url(&int.download(FileKind::RootPem).context("root")?.href);
    let fetch = commands.first().context("fetch command")?;
    ensure!(
        fetch.starts_with("sudo curl -fsSL -o /usr/local/share/ca-certificates/")
            && fetch.ends_with(&format!(".crt {root_url}")),
        "{fetch}"
    );
    let fetch = fetch.trim_start_matches("sudo ").replace(
        "/usr/local/share/ca-certificates/",
        &format!("{}/", local.display()),
    );
    let (ok, out) = run("sh", &["-c", &fetch])?;
    ensure!(ok, "{fetch}: {out}");
    ensure!(commands.get(1).map(String::as_str) == Some("sudo update-ca-certificates"));
    let real_bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let (ok, out) = run(
        "update-ca-certificates",
        &[
            "--certsconf",
            &conf.display().to_string(),
            "--localcertsdir",
            &local.display().to_string(),
            "--etccertsdir",
            &etc.display().to_string(),
            "--hooksdir",
            &hooks.display().to_string(),
        ],
    )?;
    ensure!(
        ok && out.contains(" added"),
        "update-ca-certificates: {out}"
    );
    // The root is linked into the store and appended to its bundle.
    let root_pem = int.root().context("root")?.pem.clone();
    let installed = std::fs::read_dir(&local)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().replace(".crt", ".pem"))
        .collect::<Vec<_>>();
    ensure!(installed.len() == 1, "{installed:?}");
    let link = etc.join(installed.first().context("installed")?);
    ensure!(
        std::fs::read_to_string(&link)? == root_pem,
        "{}",
        link.display()
    );
    let bundle_text = std::fs::read_to_string(etc.join("ca-certificates.crt"))?;
    ensure!(
        bundle_text.contains(root_pem.trim()),
        "the bundle holds the root"
    );
    ensure!(
        std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default() == real_bundle,
        "the real store is untouched"
    );

    // A leaf of the intermediate behind an HTTPS server; the store (root only) plus the
    // chain the server sends let openssl and curl in.
    let (leaf, key) = issue_leaf(&server, &r.root_token).await?;
    let work = tempfile::tempdir()?;
    std::fs::write(work.path().join("leaf.pem"), &leaf)?;
    std::fs::write(work.path().join("leaf.key"), &key)?;
    std::fs::write(
        work.path().join("int.pem"),
        &int.chain.first().context("int")?.pem,
    )?;
    let capath = etc.display().to_string();
    let bundle = etc.join("ca-certificates.crt").display().to_string();
    let leaf_file = work.path().join("leaf.pem").display().to_string();
    let int_file = work.path().join("int.pem").display().to_string();
    let out = openssl(&[
        "verify",
        "-CApath",
        &capath,
        "-untrusted",
        &int_file,
        &leaf_file,
    ])?;
    ensure!(out.contains(": OK"), "{out}");
    let (ok, _) = run(
        "openssl",
        &[
            "verify",
            "-CAfile",
            "/etc/ssl/certs/ca-certificates.crt",
            "-untrusted",
            &int_file,
            &leaf_file,
        ],
    )?;
    ensure!(!ok, "the machine's real store does not trust the test CA");

    let tls = tls_server(work.path()).await?;
    let url = format!("https://localhost:{}/", tls.port);
    let (ok, out) = run(
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--capath",
            &capath,
            &url,
        ],
    )?;
    ensure!(ok && out.trim() == "200", "curl --capath: {out}");
    let (ok, out) = run(
        "sh",
        &[
            "-c",
            &format!("CURL_CA_BUNDLE={bundle} curl -sS -o /dev/null -w '%{{http_code}}' {url}"),
        ],
    )?;
    ensure!(ok && out.trim() == "200", "curl with CURL_CA_BUNDLE: {out}");
    let (ok, out) = run(
        "sh",
        &[
            "-c",
            &format!(
                "CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt curl -sS -o /dev/null {url}"
            ),
        ],
    )?;
    ensure!(!ok, "without the CA curl refuses: {out}");
    drop(tls);

    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");

    // Signed in, the same page by direct URL and reload.
    crate::request::sign_in(&browser, &server, &r.root_token).await?;
    for reload in [false, true] {
        if reload {
            c.refresh().await?;
        } else {
            c.goto(&server.url(nav::TRUST.path)).await?;
        }
        wait_cards(&browser, 2).await?;
        ensure!(c.find(Locator::Css("[data-signed-in]")).await.is_ok());
    }
    browser.close().await
}

/// An intermediate signed by a CA outside Vault whose root was never imported: the page
/// says the chain is incomplete and which CA is missing, and there is no root file. With
/// `--trust-mounts`, only the named mounts are read and served.
#[tokio::test]
async fn an_external_root_not_imported_and_only_named_mounts() -> anyhow::Result<()> {
    use shared::pki::cert::{CertSpec, KeyUsage, Subject, self_sign, sign};
    use shared::pki::csr::parse_csr;
    use shared::pki::key::{KeyType, PrivateKey};
    use shared::pki::pem::pem_encode;

    let server = Server::start_args(&["--trust-mounts", "pki_ext,pki_int"]).await?;
    let r = recipe::setup(&server, ROLE, role_body()).await?;
    let t = &r.root_token;
    recipe::vault(
        &server,
        t,
        Method::POST,
        "sys/mounts/pki_ext",
        json!({"type": "pki"}),
    )
    .await?;
    let csr = recipe::vault(
        &server,
        t,
        Method::POST,
        "pki_ext/intermediate/generate/internal",
        json!({"common_name": "Partner Issuing CA", "key_type": "ec"}),
    )
    .await?;
    let csr = parse_csr(csr["data"]["csr"].as_str().context("csr")?)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let spec = |cn: &str, serial: u8| CertSpec {
        serial: vec![serial],
        not_before: now - 60,
        not_after: now + 86_400,
        subject: Subject::with_common_name(cn),
        is_ca: true,
        key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
        ..CertSpec::default()
    };
    let partner_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let partner_root = self_sign(&spec("Partner Root CA", 1), &partner_key, 0)?;
    let issuing = sign(
        &spec("Partner Issuing CA", 2),
        &csr.public_key,
        &partner_root,
        &partner_key,
        0,
    )?;
    // Only the intermediate is imported, as people do when they have no chain file.
    recipe::vault(
        &server,
        t,
        Method::POST,
        "pki_ext/intermediate/set-signed",
        json!({"certificate": pem_encode("CERTIFICATE", &issuing)}),
    )
    .await?;

    let idx = index(&server).await?;
    ensure!(idx.mounts == vec!["pki_ext", "pki_int"], "{:?}", idx.mounts);
    ensure!(
        idx.issuers.iter().all(|i| i.mount != "pki"),
        "pki is not published"
    );
    let ext = idx
        .issuers
        .iter()
        .find(|i| i.mount == "pki_ext")
        .context("pki_ext")?;
    ensure!(!ext.complete && ext.chain.len() == 1, "{ext:#?}");
    let problem = ext.problem.clone().unwrap_or_default();
    ensure!(
        problem.contains("CN=Partner Root CA") && problem.contains("Import"),
        "{problem}"
    );
    ensure!(ext.download(FileKind::RootPem).is_none() && ext.download(FileKind::RootDer).is_none());
    // The intermediate's chain still reaches the recipe's root: set-signed imported it
    // into pki_int with the intermediate.
    let int = idx
        .issuers
        .iter()
        .find(|i| i.mount == "pki_int" && i.is_default)
        .context("pki_int")?;
    ensure!(int.complete && int.chain.len() == 2, "{int:#?}");

    let base = format!("/ca/pki_ext/{}", ext.issuer_id);
    let root = http::get(&server.url(&format!("{base}/root.pem"))).await?;
    ensure!(root.status == 404, "{}", root.status);
    ensure!(
        root.text().contains("does not reach its root"),
        "{}",
        root.text()
    );
    let chain = http::get(&server.url(&format!("{base}/chain.pem"))).await?;
    ensure!(chain.status == 200 && chain.text().matches("BEGIN CERTIFICATE").count() == 1);
    let unpublished = http::get(&server.url("/ca/pki/default/root.pem")).await?;
    ensure!(unpublished.status == 404, "{}", unpublished.status);
    ensure!(
        unpublished.text().contains("pki_ext, pki_int"),
        "{}",
        unpublished.text()
    );

    // The page says so, in words.
    let browser = Browser::start().await?;
    browser.client.goto(&server.url(nav::TRUST.path)).await?;
    wait_cards(&browser, idx.issuers.len()).await?;
    let card = browser
        .client
        .find(Locator::Css(
            "article[data-mount='pki_ext'] .trust-incomplete",
        ))
        .await?
        .text()
        .await?;
    ensure!(
        card.contains("Chain incomplete") && card.contains("Partner Root CA"),
        "{card}"
    );
    browser.close().await
}

/// A Vault that cannot be reached is said in words (not "no CA yet"), on the API and the
/// page; downloads are a clean 404.
#[tokio::test]
async fn an_unreachable_vault_is_said_in_words() -> anyhow::Result<()> {
    let dead = format!("http://127.0.0.1:{}", free_port()?);
    let console = Server::upstream(&dead, &["--upstream-connect-timeout", "500ms"]).await?;
    let idx = index(&console).await?;
    ensure!(
        idx.issuers.is_empty() && idx.mounts == vec!["pki", "pki_int"],
        "{idx:#?}"
    );
    ensure!(
        idx.problems
            .iter()
            .any(|p| p.contains("could not be asked")),
        "{:?}",
        idx.problems
    );
    let res = http::get(&console.url("/ca/pki/default/chain.pem")).await?;
    ensure!(res.status == 404, "{}", res.status);
    let browser = Browser::start().await?;
    browser.client.goto(&console.url(nav::TRUST.path)).await?;
    browser
        .wait_for(
            "return !!document.querySelector('[data-testid=trust-empty]')",
            WAIT,
        )
        .await?;
    let text = browser
        .client
        .find(Locator::Css("main"))
        .await?
        .text()
        .await?;
    ensure!(
        text.contains("The CAs could not be read") && text.contains("could not be asked"),
        "{text}"
    );
    browser.close().await
}
