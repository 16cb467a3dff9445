//! The embeddable plugin in plain pages of the real server: the demo page's
//! `<pki-csr-request>` filled in and clicked as a person would (its CSRs and the downloaded
//! key checked by openssl, nothing sent anywhere), and `/plugin/worker.js` driven through
//! its message protocol, up to a PKCS#12 file openssl opens.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use fantoccini::Locator;
use fantoccini::elements::{Element, ShadowRoot};
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};
use shared::pki::cert::{
    CertSpec, ExtKeyUsage, KeyUsage, Sans, Subject, pem_encode, random_serial, self_sign, sign,
};
use shared::pki::csr::parse_csr;
use shared::pki::key::{KeyType, PrivateKey};
use tests::browser::BrowserOptions;
use tests::{Browser, Server, downloaded};

const WAIT: Duration = Duration::from_secs(30);

fn openssl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("run openssl")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("openssl {}: {text}", args.join(" "));
    }
    Ok(text)
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The element's shadow root and one of its inputs.
async fn field(shadow: &ShadowRoot, id: &str) -> anyhow::Result<Element> {
    Ok(shadow.find(Locator::Css(&format!("#{id}"))).await?)
}

async fn type_into(shadow: &ShadowRoot, id: &str, text: &str) -> anyhow::Result<()> {
    let el = field(shadow, id).await?;
    el.clear().await?;
    if !text.is_empty() {
        el.send_keys(text).await?;
    }
    Ok(())
}

/// `openssl req -verify` of `csr`; returns its text form.
fn verify_csr(dir: &Path, name: &str, csr: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, csr)?;
    let text = openssl(&["req", "-in", &path_str(&path), "-verify", "-noout", "-text"])?;
    ensure!(text.contains("verify OK"), "{name}: {text}");
    Ok(text)
}

/// How many `csr-generated` events the page has seen, and the last one's detail.
const EVENTS: &str = "return window.__events.length";
const LAST_EVENT: &str = "return window.__events[window.__events.length - 1]";

#[tokio::test]
async fn demo_page_generates_csrs_that_openssl_verifies() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let downloads = tempfile::tempdir()?;
    let browser = Browser::start_with(BrowserOptions {
        download_dir: Some(downloads.path().to_path_buf()),
        network_log: true,
    })
    .await?;
    let c = &browser.client;
    c.goto(&server.url("/plugin/demo.html")).await?;
    assert_eq!(c.title().await?, "PKI Console plugin demo");

    let host = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("pki-csr-request"))
        .await?;
    browser
        .wait_for(
            "return customElements.get('pki-csr-request') !== undefined",
            WAIT,
        )
        .await?;
    // Record every event and every busy state the form goes through.
    c.execute(
        "window.__events = []; window.__busy = [];
         const el = document.querySelector('pki-csr-request');
         el.addEventListener('csr-generated', (e) => window.__events.push(e.detail));
         const form = el.shadowRoot.querySelector('form');
         new MutationObserver(() => window.__busy.push([form.getAttribute('aria-busy'),
             el.shadowRoot.getElementById('generate').disabled,
             el.shadowRoot.getElementById('generate').textContent]))
           .observe(form, { attributes: true, attributeFilter: ['aria-busy'] });",
        vec![],
    )
    .await?;
    let shadow = host.shadow_root().await?;

    // The attributes filled the form.
    assert_eq!(
        field(&shadow, "cn").await?.prop("value").await?.as_deref(),
        Some("app.example.test")
    );
    assert_eq!(
        field(&shadow, "key").await?.prop("value").await?.as_deref(),
        Some("ec:256")
    );

    // A person fills in the form and clicks Generate.
    type_into(&shadow, "cn", "shop.example.test").await?;
    type_into(&shadow, "dns", "shop.example.test, www.shop.example.test").await?;
    type_into(&shadow, "ips", "192.0.2.10").await?;
    field(&shadow, "generate").await?.click().await?;
    browser.wait_for(&format!("{EVENTS} === 1"), WAIT).await?;
    let detail = c.execute(LAST_EVENT, vec![]).await?;
    assert_eq!(detail["keyType"], "ec");
    assert_eq!(detail["keyBits"], 256);
    let csr = detail["csrPem"].as_str().unwrap_or_default().to_string();
    // The CSR is shown, and the busy state was visible while it was made.
    assert_eq!(
        field(&shadow, "csr").await?.prop("value").await?.as_deref(),
        Some(csr.as_str())
    );
    let busy = c.execute("return window.__busy", vec![]).await?;
    assert_eq!(
        busy,
        json!([
            ["true", true, "Generating…"],
            ["false", false, "Generate key and CSR"]
        ]),
        "aria-busy, disabled button and its label while generating"
    );
    let status = field(&shadow, "status").await?.text().await?;
    assert!(status.starts_with("Done"), "{status}");

    let text = verify_csr(downloads.path(), "p256.csr", &csr)?;
    for want in [
        "Subject: CN = shop.example.test",
        "DNS:shop.example.test, DNS:www.shop.example.test, IP Address:192.0.2.10",
        "Public-Key: (256 bit)",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    let parsed = parse_csr(&csr)?;
    assert_eq!(parsed.subject.common_name, "shop.example.test");

    // The key comes as a download, and it is the CSR's key.
    let link = field(&shadow, "download").await?;
    assert!(
        link.attr("href")
            .await?
            .unwrap_or_default()
            .starts_with("blob:")
    );
    link.click().await?;
    let key_path = downloaded(downloads.path(), "shop.example.test.key.pem").await?;
    let key_pub = openssl(&["pkey", "-in", &path_str(&key_path), "-pubout"])?;
    assert_eq!(key_pub.trim(), parsed.public_key.to_pem().trim());
    assert!(std::fs::read_to_string(&key_path)?.starts_with("-----BEGIN PRIVATE KEY-----"));

    // The other key types, chosen in the select.
    for (i, (choice, key_type, bits, want)) in [
        ("rsa:2048", "rsa", 2048, "Public-Key: (2048 bit)"),
        ("ed25519:0", "ed25519", 0, "ED25519"),
        ("ec:384", "ec", 384, "Public-Key: (384 bit)"),
    ]
    .into_iter()
    .enumerate()
    {
        field(&shadow, "key").await?.select_by_value(choice).await?;
        field(&shadow, "generate").await?.click().await?;
        browser
            .wait_for(&format!("{EVENTS} === {}", i + 2), WAIT)
            .await?;
        let detail = c.execute(LAST_EVENT, vec![]).await?;
        assert_eq!(detail["keyType"], key_type);
        assert_eq!(detail["keyBits"], bits);
        let text = verify_csr(
            downloads.path(),
            &format!("{key_type}.csr"),
            detail["csrPem"].as_str().unwrap_or_default(),
        )?;
        assert!(text.contains(want), "{choice}: {want:?} in\n{text}");
        assert!(text.contains("Subject: CN = shop.example.test"), "{text}");
    }

    // Nothing to name the certificate by: an error naming the field, and no event.
    type_into(&shadow, "cn", "").await?;
    type_into(&shadow, "dns", "").await?;
    type_into(&shadow, "ips", "").await?;
    field(&shadow, "generate").await?.click().await?;
    browser
        .wait_for(
            "const e = document.querySelector('pki-csr-request').shadowRoot.getElementById('error');
             return !e.hidden && e.textContent",
            WAIT,
        )
        .await?;
    let error = field(&shadow, "error").await?.text().await?;
    assert_eq!(
        error,
        "commonName: is required when no subject alternative name is given"
    );
    assert_eq!(c.execute(EVENTS, vec![]).await?, json!(4));

    // The page logged the events (demo.js), and nothing went wrong.
    let log = c.find(Locator::Id("log")).await?.text().await?;
    assert!(log.contains("csr-generated  ec/256"), "{log}");
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // Keys never leave the browser: the page only fetched the plugin's own files (and
    // "downloaded" the key from a blob: URL, which is memory).
    let requests = browser.network_requests().await?;
    assert!(!requests.is_empty(), "the network log is recorded");
    let blob = format!("blob:{}/", server.base);
    let key_body: String = std::fs::read_to_string(&key_path)?
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // From the demo page on (before it, the first tab showed Chromium's own new-tab page).
    let ours: Vec<_> = requests
        .iter()
        .skip_while(|r| !r.url.starts_with(&server.base))
        .collect();
    assert!(!ours.is_empty(), "the demo page's requests are in the log");
    for r in &ours {
        assert!(
            !r.url.contains(&key_body[..40]) && !r.post_data.contains(&key_body[..40]),
            "{} {} carries the private key",
            r.method,
            r.url
        );
        let path = r.url.strip_prefix(&server.base).unwrap_or(&r.url);
        assert!(
            r.method == "GET"
                && r.post_data.is_empty()
                && (path.starts_with("/plugin/")
                    || path == "/favicon.svg"
                    || r.url.starts_with(&blob)),
            "unexpected request {} {}",
            r.method,
            r.url
        );
    }
    let fetched: Vec<&str> = ours.iter().map(|r| r.url.as_str()).collect();
    assert!(
        fetched
            .iter()
            .any(|u| u.ends_with("/plugin/pki_plugin_bg.wasm")),
        "{fetched:?}"
    );
    browser.close().await?;
    Ok(())
}

/// A root and an intermediate on the host, and a leaf for a CSR made in the browser:
/// (leaf PEM, [intermediate PEM, root PEM]).
fn issue_for(csr_pem: &str) -> anyhow::Result<(String, Vec<String>)> {
    let csr = parse_csr(csr_pem)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let ca = |cn: &str| -> anyhow::Result<CertSpec> {
        Ok(CertSpec {
            serial: random_serial()?,
            not_before: now - 60,
            not_after: now + 86_400,
            subject: Subject::with_common_name(cn),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            ..CertSpec::default()
        })
    };
    let root_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let root = self_sign(&ca("Plugin Test Root")?, &root_key, 0)?;
    let int_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let int = sign(
        &ca("Plugin Test Intermediate")?,
        &int_key.public_key_info(),
        &root,
        &root_key,
        0,
    )?;
    let leaf = sign(
        &CertSpec {
            serial: random_serial()?,
            not_before: now - 60,
            not_after: now + 3600,
            subject: csr.subject.clone(),
            sans: Sans {
                dns: csr.sans.dns.clone(),
                ..Sans::default()
            },
            key_usage: vec![KeyUsage::DigitalSignature],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth],
            ..CertSpec::default()
        },
        &csr.public_key,
        &int,
        &int_key,
        0,
    )?;
    Ok((
        pem_encode("CERTIFICATE", &leaf),
        vec![
            pem_encode("CERTIFICATE", &int),
            pem_encode("CERTIFICATE", &root),
        ],
    ))
}

/// Starts `/plugin/worker.js` in the page (as `window.__worker`) with a promise-based
/// `window.__call(op, args)` that resolves to the worker's whole answer.
const START_WORKER: &str = r#"
const done = arguments[arguments.length - 1];
const w = new Worker('/plugin/worker.js', { type: 'module' });
const pending = new Map();
let next = 1;
window.__messages = [];
w.onmessage = (ev) => {
  const m = ev.data;
  window.__messages.push(m.ready !== undefined ? m : { id: m.id, ok: m.ok });
  if (m.ready !== undefined) { done(m); return; }
  const resolve = pending.get(m.id);
  pending.delete(m.id);
  if (resolve) resolve(m);
};
w.onerror = (e) => done({ ready: false, error: String(e.message || e) });
window.__call = (op, args) => new Promise((resolve) => {
  const id = next++;
  pending.set(id, resolve);
  w.postMessage({ id, op, args });
});
window.__worker = w;
"#;

/// Runs `op` in the worker; the answer, with a Uint8Array result turned into an array of
/// numbers and its type noted.
async fn call(browser: &Browser, op: &str, args: Value) -> anyhow::Result<Value> {
    let script = r#"
const [op, args, done] = arguments;
window.__call(op, args).then((m) => {
  if (m.result instanceof Uint8Array) {
    done({ ...m, result: Array.from(m.result), bytes: true });
  } else {
    done(m);
  }
});
"#;
    Ok(browser
        .client
        .execute_async(script, vec![json!(op), args])
        .await?)
}

fn ok_result(answer: &Value, what: &str) -> anyhow::Result<Value> {
    ensure!(answer["ok"] == true, "{what}: {answer}");
    Ok(answer["result"].clone())
}

#[tokio::test]
async fn worker_answers_the_protocol_up_to_a_pkcs12_file() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&server.url("/plugin/demo.html")).await?;
    c.update_timeouts(TimeoutConfiguration::new(
        Some(Duration::from_secs(60)),
        None,
        None,
    ))
    .await?;
    let ready = c.execute_async(START_WORKER, vec![]).await?;
    assert_eq!(ready, json!({"ready": true}));
    let dir = tempfile::tempdir()?;

    // generate: EC P-256 and RSA-2048 (WebCrypto keygen in the worker, CSR in WASM).
    for (key_type, bits, want) in [
        ("ec", 256, "Public-Key: (256 bit)"),
        ("rsa", 2048, "Public-Key: (2048 bit)"),
    ] {
        let answer = call(
            &browser,
            "generate",
            json!({"keyType": key_type, "keyBits": bits, "commonName": "worker.example.test",
                   "dnsNames": ["worker.example.test"], "emails": ["ops@example.test"]}),
        )
        .await?;
        let out = ok_result(&answer, key_type)?;
        assert_eq!(out["keyType"], key_type);
        assert_eq!(out["keyBits"], bits);
        let csr = out["csrPem"].as_str().unwrap_or_default();
        let text = verify_csr(dir.path(), &format!("{key_type}.csr"), csr)?;
        assert!(text.contains(want), "{want:?} in\n{text}");
        assert!(
            text.contains("DNS:worker.example.test, email:ops@example.test"),
            "{text}"
        );
        let key_path = dir.path().join(format!("{key_type}.key"));
        std::fs::write(&key_path, out["privateKeyPem"].as_str().unwrap_or_default())?;
        let key_pub = openssl(&["pkey", "-in", &path_str(&key_path), "-pubout"])?;
        assert_eq!(
            key_pub.trim(),
            out["publicKeyPem"].as_str().unwrap_or_default().trim()
        );
        assert_eq!(
            parse_csr(csr)?.public_key.to_pem().trim(),
            key_pub.trim(),
            "the csr carries the key"
        );
    }

    // A bad request: the error names the field.
    let answer = call(
        &browser,
        "generate",
        json!({"keyType": "ec", "keyBits": 521, "commonName": "x"}),
    )
    .await?;
    assert_eq!(answer["ok"], false);
    assert_eq!(
        answer["error"],
        "keyBits: 521 is not 256 or 384 for an ec key"
    );
    let answer = call(&browser, "mine-bitcoin", json!({})).await?;
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("op: "),
        "{answer}"
    );

    // The full round: a key made in the worker (kept in the page), its CSR signed on the
    // host, then inspect and PKCS#12 in the worker, and openssl opens the file.
    let generated = c
        .execute_async(
            r#"const done = arguments[0];
               window.__call('generate', {keyType: 'ec', keyBits: 384, commonName: 'p12.example.test', dnsNames: ['p12.example.test']})
                 .then((m) => { window.__key = m.result.privateKeyPem; done(m.result.csrPem); });"#,
            vec![],
        )
        .await?;
    let (cert, chain) = issue_for(generated.as_str().unwrap_or_default())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let inspected = c
        .execute_async(
            r#"const [cert, chain, now, done] = arguments;
               window.__call('inspect', {certificatePem: cert, chainPems: chain, privateKeyPem: window.__key, now})
                 .then(done);"#,
            vec![json!(cert), json!(chain), json!(now)],
        )
        .await?;
    let inspection = ok_result(&inspected, "inspect")?;
    assert_eq!(inspection["keyMatches"], true, "{inspection}");
    assert_eq!(inspection["chainValid"], true, "{inspection}");
    assert_eq!(inspection["certificate"]["commonName"], "p12.example.test");
    assert_eq!(
        inspection["certificate"]["issuer"],
        "CN=Plugin Test Intermediate"
    );

    for legacy in [false, true] {
        let answer = c
            .execute_async(
                r#"const [cert, chain, legacy, done] = arguments;
                   window.__call('pkcs12', {certificatePem: cert, chainPems: chain, privateKeyPem: window.__key,
                                            password: 'worker pw', legacy, friendlyName: 'p12 test'})
                     .then((m) => done(m.ok
                       ? { ok: true, transferred: m.result instanceof Uint8Array, result: Array.from(m.result) }
                       : m));"#,
                vec![json!(cert), json!(chain), json!(legacy)],
            )
            .await?;
        ensure!(answer["ok"] == true, "pkcs12: {answer}");
        assert_eq!(answer["transferred"], true, "the result is a Uint8Array");
        let bytes: Vec<u8> = answer["result"]
            .as_array()
            .context("bytes")?
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<_>>()
            .context("bytes are numbers below 256")?;
        let p12 = dir.path().join(format!("worker-{legacy}.p12"));
        std::fs::write(&p12, &bytes)?;
        let mut base = vec![
            "pkcs12".to_string(),
            "-in".into(),
            path_str(&p12),
            "-passin".into(),
            "pass:worker pw".into(),
        ];
        if legacy {
            base.push("-legacy".into());
        }
        let with = |extra: &[&str]| -> Vec<String> {
            base.iter()
                .cloned()
                .chain(extra.iter().map(|s| s.to_string()))
                .collect()
        };
        let run = |args: Vec<String>| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            openssl(&refs)
        };
        let certs = run(with(&["-nokeys"]))?;
        assert_eq!(certs.matches("BEGIN CERTIFICATE").count(), 3, "{certs}");
        assert!(certs.contains(cert.trim()), "the leaf is in the file");
        let info = run(with(&["-info", "-noout"]))?;
        assert!(
            info.contains(if legacy { "MAC: sha1" } else { "MAC: sha256" }),
            "{info}"
        );
        let keys = run(with(&["-nocerts", "-noenc"]))?;
        assert!(keys.contains("friendlyName: p12 test"), "{keys}");
        let key_file = dir.path().join("from-p12.key");
        std::fs::write(&key_file, &keys)?;
        let cert_file = dir.path().join("leaf.pem");
        std::fs::write(&cert_file, &cert)?;
        assert_eq!(
            openssl(&["pkey", "-in", &path_str(&key_file), "-pubout"])?,
            openssl(&["x509", "-in", &path_str(&cert_file), "-noout", "-pubkey"])?,
            "the key in the file is the certificate's"
        );
        // And the shared reader opens it too.
        let contents = shared::pki::pkcs12::read_pkcs12(&bytes, "worker pw")?;
        assert_eq!(contents.certificates.len(), 3);
    }

    // encryptKey and secretYaml, checked by openssl and by reading the YAML.
    let encrypted = c
        .execute_async(
            r#"const done = arguments[0];
               window.__call('encryptKey', {privateKeyPem: window.__key, passphrase: 'enc pw', kdf: 'scrypt'}).then(done);"#,
            vec![],
        )
        .await?;
    let pem = ok_result(&encrypted, "encryptKey")?;
    let enc_path = dir.path().join("enc.pem");
    std::fs::write(&enc_path, pem.as_str().unwrap_or_default())?;
    let cert_path = dir.path().join("leaf.pem");
    assert_eq!(
        openssl(&[
            "pkey",
            "-in",
            &path_str(&enc_path),
            "-passin",
            "pass:enc pw",
            "-pubout"
        ])?,
        openssl(&["x509", "-in", &path_str(&cert_path), "-noout", "-pubkey"])?,
    );
    let yaml = c
        .execute_async(
            r#"const [cert, chain, done] = arguments;
               window.__call('secretYaml', {name: 'p12-tls', namespace: 'web', certificatePem: cert, chainPems: chain,
                                            privateKeyPem: window.__key}).then(done);"#,
            vec![json!(cert), json!(chain)],
        )
        .await?;
    let yaml = ok_result(&yaml, "secretYaml")?;
    let yaml = yaml.as_str().unwrap_or_default();
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: Secret\nmetadata:\n  name: p12-tls\n  namespace: web\ntype: kubernetes.io/tls\n"),
        "{yaml}"
    );
    for key in ["tls.crt", "tls.key", "ca.crt"] {
        assert!(yaml.contains(&format!("\n  {key}: ")), "{key} in {yaml}");
    }

    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn plugin_files_are_served_at_stable_urls() -> anyhow::Result<()> {
    let server = Server::start().await?;
    for (path, content_type, starts_with) in [
        (
            "/plugin/pki-plugin.js",
            "text/javascript; charset=utf-8",
            "// PKI Console plugin",
        ),
        (
            "/plugin/pki_plugin.js",
            "text/javascript; charset=utf-8",
            "",
        ),
        ("/plugin/pki_plugin_bg.wasm", "application/wasm", "\0asm"),
        (
            "/plugin/pki-plugin.d.ts",
            "text/plain; charset=utf-8",
            "// Types for /plugin/pki-plugin.js",
        ),
        (
            "/plugin/worker.js",
            "text/javascript; charset=utf-8",
            "// PKI Console's crypto worker",
        ),
        (
            "/plugin/demo.html",
            "text/html; charset=utf-8",
            "<!doctype html>",
        ),
        ("/plugin/", "text/html; charset=utf-8", "<!doctype html>"),
        (
            "/plugin/demo.js",
            "text/javascript; charset=utf-8",
            "// The plugin demo page",
        ),
    ] {
        let res = tests::http::get(&server.url(path)).await?;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("content-type"), Some(content_type), "{path}");
        assert_eq!(res.header("cache-control"), Some("no-cache"), "{path}");
        assert!(res.body.starts_with(starts_with.as_bytes()), "{path}");
        assert!(res.header("content-security-policy").is_some(), "{path}");
    }
    // The glue fetches the module from beside itself, under its stable name.
    let glue = tests::http::get(&server.url("/plugin/pki_plugin.js"))
        .await?
        .text();
    assert!(glue.contains("new URL('pki_plugin_bg.wasm', import.meta.url)"));
    // gzip when asked for, and a 404 (not the app) for what is not there.
    let gz = tests::http::send(
        tests::http::Method::GET,
        &server.url("/plugin/pki_plugin_bg.wasm"),
        &[("accept-encoding", "gzip")],
        vec![],
    )
    .await?;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let missing = tests::http::get(&server.url("/plugin/nope.js")).await?;
    assert_eq!(missing.status, 404);
    Ok(())
}
