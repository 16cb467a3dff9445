//! Self-service requests in the browser: the key and CSR are made in the page (worker),
//! only the CSR is sent, and every download opens with openssl. The DevTools network log
//! proves that the private key never left the page.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use fantoccini::Locator;
use serde_json::json;
use tests::recipe::{self, Recipe};
use tests::{Browser, BrowserOptions, Server, downloaded, http};

const WAIT: Duration = Duration::from_secs(60);
pub(crate) const ROLE: &str = "fruits-catalog";

pub(crate) fn role_body() -> serde_json::Value {
    json!({"allowed_domains": "testlab.local", "allow_subdomains": true, "max_ttl": "10m", "key_type": "any"})
}

/// Signs in through the Sign in page, as a person would, with `token`.
pub async fn sign_in(browser: &Browser, server: &Server, token: &str) -> anyhow::Result<()> {
    let c = &browser.client;
    c.goto(&server.url("/sign-in")).await?;
    let field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main form input[type='password']"))
        .await?;
    field.send_keys(token).await?;
    let submit = c
        .find(Locator::Css("main form button[type='submit']"))
        .await?;
    submit.click().await?;
    browser
        .wait_for("return !!document.querySelector('[data-signed-in]') || document.body.innerText.includes('Signed in')", WAIT)
        .await
        .context("the Sign in page did not report a session")?;
    Ok(())
}

async fn open_request_page(browser: &Browser, server: &Server) -> anyhow::Result<()> {
    let c = &browser.client;
    // Navigate inside the app (no reload), as a person clicking the navigation.
    c.find(Locator::XPath(
        "//nav//a[normalize-space()='Request certificate']",
    ))
    .await?
    .click()
    .await?;
    browser
        .wait_for("const s = document.querySelector('[data-role-summary]'); return s && s.textContent.includes('testlab.local')", WAIT)
        .await
        .with_context(|| format!("the role never loaded on {}", server.url("/request")))?;
    Ok(())
}

async fn type_into(browser: &Browser, id: &str, text: &str) -> anyhow::Result<()> {
    let el = browser.client.find(Locator::Id(id)).await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

async fn choose_key(browser: &Browser, value: &str) -> anyhow::Result<()> {
    let select = browser.client.find(Locator::Id("key")).await?;
    select.select_by_value(value).await?;
    Ok(())
}

async fn click(browser: &Browser, css: &str) -> anyhow::Result<()> {
    browser
        .client
        .find(Locator::Css(css))
        .await?
        .click()
        .await?;
    Ok(())
}

fn openssl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("run openssl")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

async fn issue_and_download(key: &str, cn: &str) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe: Recipe = recipe::setup(&server, ROLE, role_body()).await?;
    issue_and_download_through(&server, &recipe, key, cn).await
}

/// The whole flow in the browser on `server` (embedded, or a console in front of
/// OpenBao: `upstream_openbao.rs`), whose Vault has `recipe`'s PKI.
pub(crate) async fn issue_and_download_through(
    server: &Server,
    recipe: &Recipe,
    key: &str,
    cn: &str,
) -> anyhow::Result<()> {
    let downloads = tempfile::tempdir()?;
    let browser = Browser::start_with(BrowserOptions {
        download_dir: Some(downloads.path().to_path_buf()),
        network_log: true,
    })
    .await?;
    sign_in(&browser, server, &recipe.signer_token).await?;
    open_request_page(&browser, server).await?;

    type_into(&browser, "common_name", cn).await?;
    choose_key(&browser, key).await?;
    click(&browser, "form.request-form button[type='submit']").await?;
    browser
        .wait_for("const s = document.querySelector('[data-stage]'); return s && (s.dataset.stage === 'done' || s.dataset.stage === 'failed') && s.dataset.stage", WAIT)
        .await?;
    let stage = browser
        .client
        .execute(
            "return document.querySelector('[data-stage]').innerText",
            vec![],
        )
        .await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-stage='done']"))
            .await
            .is_ok(),
        "the request failed: {stage}"
    );
    for check in ["key", "chain"] {
        let el = browser
            .client
            .find(Locator::Css(&format!("[data-check='{check}']")))
            .await?;
        assert_eq!(
            el.attr("class").await?.as_deref(),
            Some("check ok"),
            "{check}: {}",
            el.text().await?
        );
    }

    // Every download, as a person clicks them.
    let stem = cn;
    click(&browser, "[data-download='key']").await?;
    let key_path = downloaded(downloads.path(), &format!("{stem}.key.pem")).await?;
    click(&browser, "[data-download='cert']").await?;
    let cert_path = downloaded(downloads.path(), &format!("{stem}.crt.pem")).await?;
    click(&browser, "[data-download='chain']").await?;
    let chain_path = downloaded(downloads.path(), &format!("{stem}.fullchain.pem")).await?;
    type_into(&browser, "p12-password", "").await.ok();
    browser
        .client
        .find(Locator::Css("input[name='p12-password']"))
        .await?
        .send_keys("p12-secret")
        .await?;
    click(&browser, "[data-download='p12']").await?;
    let p12 = downloaded(downloads.path(), &format!("{stem}.p12")).await?;
    click(&browser, "[data-download='p12-legacy']").await?;
    let p12_legacy = downloaded(downloads.path(), &format!("{stem}-legacy.p12")).await?;
    click(&browser, "[data-download='secret']").await?;
    let secret = downloaded(downloads.path(), &format!("{stem}-tls-secret.yaml")).await?;
    browser
        .client
        .find(Locator::Css("input[name='key-passphrase']"))
        .await?
        .send_keys("key-secret")
        .await?;
    click(&browser, "[data-download='key']").await?;
    let enc_key = downloaded(downloads.path(), &format!("{stem}.key.encrypted.pem")).await?;

    // openssl accepts each file.
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root.pem");
    let int = dir.path().join("int.pem");
    std::fs::write(&root, &recipe.root_pem)?;
    std::fs::write(&int, &recipe.intermediate_pem)?;
    let s = |p: &Path| p.display().to_string();
    let verify = openssl(&[
        "verify",
        "-CAfile",
        &s(&root),
        "-untrusted",
        &s(&int),
        &s(&cert_path),
    ])?;
    assert!(verify.contains(": OK"), "{verify}");
    let verify_chain = openssl(&[
        "verify",
        "-CAfile",
        &s(&root),
        "-untrusted",
        &s(&chain_path),
        &s(&cert_path),
    ])?;
    assert!(verify_chain.contains(": OK"), "{verify_chain}");
    let cert_pub = openssl(&["x509", "-in", &s(&cert_path), "-noout", "-pubkey"])?;
    let key_pub = openssl(&["pkey", "-in", &s(&key_path), "-pubout"])?;
    assert_eq!(cert_pub, key_pub, "the key matches the certificate");
    let text = openssl(&["x509", "-in", &s(&cert_path), "-noout", "-text"])?;
    assert!(text.contains(&format!("DNS:{cn}")), "{text}");
    // The role's max_ttl is 10 minutes: the certificate ends within them.
    assert!(
        openssl(&["x509", "-in", &s(&cert_path), "-noout", "-checkend", "610"]).is_err(),
        "the certificate outlives the role's 10 minutes"
    );
    let enc_pub = openssl(&[
        "pkey",
        "-in",
        &s(&enc_key),
        "-passin",
        "pass:key-secret",
        "-pubout",
    ])?;
    assert_eq!(
        enc_pub, cert_pub,
        "the encrypted key opens with its passphrase"
    );
    assert!(
        openssl(&[
            "pkey",
            "-in",
            &s(&enc_key),
            "-passin",
            "pass:wrong",
            "-pubout"
        ])
        .is_err(),
        "a wrong passphrase fails"
    );
    let modern = openssl(&[
        "pkcs12",
        "-in",
        &s(&p12),
        "-passin",
        "pass:p12-secret",
        "-nodes",
    ])?;
    assert!(
        modern.contains("PRIVATE KEY") && modern.contains("CERTIFICATE"),
        "{modern}"
    );
    let legacy = openssl(&[
        "pkcs12",
        "-legacy",
        "-in",
        &s(&p12_legacy),
        "-passin",
        "pass:p12-secret",
        "-nodes",
    ])?;
    assert!(
        legacy.contains("PRIVATE KEY") && legacy.contains("CERTIFICATE"),
        "{legacy}"
    );
    let yaml = std::fs::read_to_string(&secret)?;
    assert!(
        yaml.contains("kubernetes.io/tls") && yaml.contains("tls.key") && yaml.contains("tls.crt"),
        "{yaml}"
    );

    // The private key never left the page, in any encoding.
    let key_pem = std::fs::read_to_string(&key_path)?;
    let body = pem_body(&key_pem);
    let der = base64::engine::general_purpose::STANDARD.decode(&body)?;
    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
    let needles = [
        body.clone(),
        body.replace('+', "%2B").replace('/', "%2F"),
        hex.clone(),
        hex.to_uppercase(),
        body[20..80].to_string(),
    ];
    let requests = browser.network_requests().await?;
    assert!(
        requests
            .iter()
            .any(|r| r.url.contains(&format!("/v1/pki_int/sign/{ROLE}"))
                && r.post_data.contains("BEGIN CERTIFICATE REQUEST")),
        "the CSR was sent: {requests:#?}"
    );
    for r in &requests {
        for needle in &needles {
            assert!(
                !r.post_data.contains(needle.as_str()) && !r.url.contains(needle.as_str()),
                "{} {} carries the private key",
                r.method,
                r.url
            );
        }
    }
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await
}

#[tokio::test]
async fn p256_request_downloads_open_with_openssl_and_the_key_stays() -> anyhow::Result<()> {
    issue_and_download("ec:256", "fruits.testlab.local").await
}

#[tokio::test]
async fn rsa2048_request_downloads_open_with_openssl_and_the_key_stays() -> anyhow::Result<()> {
    issue_and_download("rsa:2048", "apples.testlab.local").await
}

#[tokio::test]
async fn a_forbidden_name_is_refused_in_the_form_and_by_the_engine() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, ROLE, role_body()).await?;
    let browser = Browser::start_with(BrowserOptions {
        network_log: true,
        ..Default::default()
    })
    .await?;
    sign_in(&browser, &server, &recipe.signer_token).await?;
    open_request_page(&browser, &server).await?;
    type_into(&browser, "common_name", "fruits.example.com").await?;
    // The verdict speaks once the field is left (Tab), not while typing.
    let untouched = browser
        .client
        .execute(
            "return document.getElementById('common_name-error').textContent",
            vec![],
        )
        .await?;
    assert_eq!(
        untouched, "",
        "no error while the field is still being typed in"
    );
    browser
        .client
        .find(Locator::Id("common_name"))
        .await?
        .send_keys("\u{E004}")
        .await?;
    let reason = browser
        .wait_for(
            "const e = document.getElementById('common_name-error'); return e && e.textContent",
            WAIT,
        )
        .await?;
    let reason = reason.as_str().unwrap_or_default().to_string();
    assert!(
        reason.starts_with("common name fruits.example.com not allowed by this role"),
        "{reason}"
    );
    let submit = browser
        .client
        .find(Locator::Css("form.request-form button[type='submit']"))
        .await?;
    submit.click().await?;
    let said = browser
        .wait_for(
            "const e = document.querySelector('[data-form-status]'); return e && e.textContent",
            WAIT,
        )
        .await?;
    assert!(
        said.as_str()
            .unwrap_or_default()
            .starts_with("Not sent: common name fruits.example.com not allowed"),
        "{said}"
    );
    let requests = browser.network_requests().await?;
    assert!(
        !requests.iter().any(|r| r.url.contains("/sign/")),
        "no sign request was sent: {requests:#?}"
    );

    // The engine gives the same verdict, in Vault's words.
    let csr = tests::csr_pem("fruits.example.com")?;
    let res = http::send(
        http::Method::POST,
        &server.url(&format!("/v1/pki_int/sign/{ROLE}")),
        &[("x-vault-token", &recipe.signer_token)],
        json!({"csr": csr, "common_name": "fruits.example.com"})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()?["errors"][0],
        "common name fruits.example.com not allowed by this role"
    );
    browser.close().await
}

#[tokio::test]
async fn rsa4096_generation_leaves_the_page_responsive() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, ROLE, role_body()).await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &server, &recipe.signer_token).await?;
    open_request_page(&browser, &server).await?;
    type_into(&browser, "common_name", "big.testlab.local").await?;
    choose_key(&browser, "rsa:4096").await?;
    browser
        .client
        .execute(
            "window.__longTasks = []; new PerformanceObserver(l => { for (const e of l.getEntries()) window.__longTasks.push(e.duration); }).observe({type: 'longtask'}); return true;",
            vec![],
        )
        .await?;
    click(&browser, "form.request-form button[type='submit']").await?;
    browser
        .wait_for(
            "return document.querySelector('[data-stage]')?.dataset.stage === 'generating'",
            WAIT,
        )
        .await
        .ok();
    browser.wait_for("const s = document.querySelector('[data-stage]')?.dataset.stage; return s === 'done' || s === 'failed'", WAIT).await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-stage='done']"))
            .await
            .is_ok(),
        "the RSA-4096 request failed"
    );
    let long: Vec<f64> = serde_json::from_value(
        browser
            .client
            .execute("return window.__longTasks", vec![])
            .await?,
    )?;
    assert!(
        long.iter().all(|d| *d < 200.0),
        "main-thread tasks over 200 ms during generation: {long:?}"
    );
    browser.close().await
}
