//! The issued certificate: what the browser checked (our key, a chain to the root), the
//! decoded certificate, Vault's warnings, and the downloads (built in the worker).

use leptos::prelude::*;
use serde_json::{Value, json};

use super::download;
use crate::worker::CryptoWorker;

/// Everything about one issued certificate. The private key never leaves this page.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    pub common_name: String,
    pub private_key_pem: String,
    pub certificate_pem: String,
    /// Intermediates then root, as Vault's `ca_chain`.
    pub chain: Vec<String>,
    pub serial_number: String,
    pub warnings: Vec<String>,
    /// `inspectIssued`'s answer.
    pub inspection: Value,
}

fn file_stem(cn: &str) -> String {
    let s: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "certificate".into()
    } else {
        s
    }
}

fn fmt_time(unix: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    d.to_iso_string()
        .as_string()
        .unwrap_or_default()
        .replace(".000Z", "Z")
}

#[component]
pub fn IssuedView(issued: Issued, on_key_saved: Callback<()>) -> impl IntoView {
    let cert = issued.inspection["certificate"].clone();
    let key_matches = issued.inspection["keyMatches"].as_bool().unwrap_or(false);
    let chain_valid = issued.inspection["chainValid"].as_bool().unwrap_or(false);
    let chain_error = issued.inspection["chainError"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let stem = file_stem(&issued.common_name);
    let list = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let rows: Vec<(&str, String)> = vec![
        (
            "Common name",
            cert["commonName"].as_str().unwrap_or_default().to_string(),
        ),
        ("DNS names", list(&cert["dnsNames"])),
        ("IP addresses", list(&cert["ipAddresses"])),
        ("Serial number", issued.serial_number.clone()),
        (
            "Valid from",
            fmt_time(cert["notBefore"].as_i64().unwrap_or_default()),
        ),
        (
            "Valid until",
            fmt_time(cert["notAfter"].as_i64().unwrap_or_default()),
        ),
        (
            "Issuer",
            cert["issuer"].as_str().unwrap_or_default().to_string(),
        ),
        (
            "Key",
            format!(
                "{} {}",
                cert["keyType"].as_str().unwrap_or_default(),
                cert["keyBits"].as_u64().unwrap_or_default()
            ),
        ),
        (
            "Signature",
            cert["signatureAlgorithm"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "SHA-256 fingerprint",
            cert["sha256Fingerprint"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    ];

    let (status, set_status) = signal(String::new());
    let (key_pass, set_key_pass) = signal(String::new());
    let (kdf, set_kdf) = signal("pbkdf2".to_string());
    let (p12_pass, set_p12_pass) = signal(String::new());
    let (secret_name, set_secret_name) = signal(format!(
        "{}-tls",
        stem.replace('.', "-").to_ascii_lowercase()
    ));
    let (secret_ns, set_secret_ns) = signal("default".to_string());
    let busy = RwSignal::new(false);

    let issued = StoredValue::new(issued);
    let full_chain = move || {
        let i = issued.get_value();
        let mut out = i.certificate_pem.trim_end().to_string() + "\n";
        for c in &i.chain {
            out.push_str(c.trim_end());
            out.push('\n');
        }
        out
    };
    let stem = StoredValue::new(stem);
    // Runs one worker operation with a visible busy state, then saves its output.
    let run =
        move |op: &'static str, args: Value, name: String, mime: &'static str, has_key: bool| {
            busy.set(true);
            set_status.set(format!("Building {name}…"));
            leptos::task::spawn_local(async move {
                let result = match CryptoWorker::get() {
                    Ok(w) => {
                        w.call(
                            op,
                            &js_sys::JSON::parse(&args.to_string()).unwrap_or_default(),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                let bytes = match result {
                    Ok(v) if v.is_string() => Ok(v.as_string().unwrap_or_default().into_bytes()),
                    Ok(v) => Ok(js_sys::Uint8Array::new(&v).to_vec()),
                    Err(e) => Err(e),
                };
                match bytes.and_then(|b| download::save(&name, mime, &b)) {
                    Ok(()) => {
                        set_status.set(format!("Saved {name}"));
                        if has_key {
                            on_key_saved.run(());
                        }
                    }
                    Err(e) => set_status.set(format!("Could not build {name}: {e}")),
                }
                busy.set(false);
            });
        };

    let save_key = move |_| {
        let i = issued.get_value();
        let pass = key_pass.get_untracked();
        let name = format!(
            "{}{}",
            stem.get_value(),
            if pass.is_empty() {
                ".key.pem"
            } else {
                ".key.encrypted.pem"
            }
        );
        if pass.is_empty() {
            match download::save(
                &name,
                "application/x-pem-file",
                i.private_key_pem.as_bytes(),
            ) {
                Ok(()) => {
                    set_status.set(format!("Saved {name}"));
                    on_key_saved.run(());
                }
                Err(e) => set_status.set(e),
            }
        } else {
            run(
                "encryptKey",
                json!({"privateKeyPem": i.private_key_pem, "passphrase": pass, "kdf": kdf.get_untracked()}),
                name,
                "application/x-pem-file",
                true,
            );
        }
    };
    let save_text = move |suffix: &'static str, text: String| {
        let name = format!("{}{suffix}", stem.get_value());
        match download::save(&name, "application/x-pem-file", text.as_bytes()) {
            Ok(()) => set_status.set(format!("Saved {name}")),
            Err(e) => set_status.set(e),
        }
    };
    let save_p12 = move |legacy: bool| {
        let pass = p12_pass.get_untracked();
        if pass.is_empty() {
            set_status.set("Choose a password for the PKCS#12 file first: macOS and Java refuse files without one.".into());
            return;
        }
        let i = issued.get_value();
        let name = format!(
            "{}{}.p12",
            stem.get_value(),
            if legacy { "-legacy" } else { "" }
        );
        run(
            "pkcs12",
            json!({"certificatePem": i.certificate_pem, "chainPems": i.chain, "privateKeyPem": i.private_key_pem, "password": pass, "legacy": legacy, "friendlyName": i.common_name}),
            name,
            "application/x-pkcs12",
            true,
        );
    };
    let save_secret = move |_| {
        let i = issued.get_value();
        let name = format!("{}-tls-secret.yaml", stem.get_value());
        run(
            "secretYaml",
            json!({"name": secret_name.get_untracked(), "namespace": secret_ns.get_untracked(), "certificatePem": i.certificate_pem, "chainPems": i.chain, "privateKeyPem": i.private_key_pem}),
            name,
            "application/yaml",
            true,
        );
    };

    view! {
        <section class="issued" aria-labelledby="issued-heading">
            <h2 id="issued-heading">"Certificate issued"</h2>
            <ul class="checks">
                <li class=if key_matches { "check ok" } else { "check bad" } data-check="key">
                    {if key_matches { "✓ The certificate carries the public key generated in this browser" } else { "✗ The certificate's public key is not the one generated here" }}
                </li>
                <li class=if chain_valid { "check ok" } else { "check bad" } data-check="chain">
                    {if chain_valid { "✓ The chain validates up to the root CA".to_string() } else { format!("✗ The chain does not validate: {chain_error}") }}
                </li>
            </ul>
            {(!issued.get_value().warnings.is_empty()).then(|| view! {
                <div class="notice" role="status">
                    <h3>"Vault's warnings"</h3>
                    <ul>{issued.get_value().warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                </div>
            })}
            <dl class="cert-details">
                {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>

            <h3>"Downloads"</h3>
            <p class="lead">"Files are assembled in this browser. Save the private key now: it exists nowhere else and is gone when you leave this page."</p>
            <div class="downloads">
                <fieldset>
                    <legend>"Private key (PKCS#8)"</legend>
                    <label>"Passphrase (optional) "
                        <input type="password" autocomplete="new-password" name="key-passphrase" prop:value=key_pass on:input=move |ev| set_key_pass.set(event_target_value(&ev))/>
                    </label>
                    <label>"Key derivation "
                        <select name="key-kdf" on:change=move |ev| set_kdf.set(event_target_value(&ev))>
                            <option value="pbkdf2" selected>"PBKDF2-SHA256"</option>
                            <option value="scrypt">"scrypt"</option>
                        </select>
                    </label>
                    <button type="button" data-download="key" disabled=move || busy.get() on:click=save_key>"Save private key"</button>
                </fieldset>
                <fieldset>
                    <legend>"Certificate"</legend>
                    <button type="button" data-download="cert" on:click=move |_| save_text(".crt.pem", issued.get_value().certificate_pem)>"Save certificate (PEM)"</button>
                    <button type="button" data-download="chain" on:click=move |_| save_text(".fullchain.pem", full_chain())>"Save full chain (PEM)"</button>
                </fieldset>
                <fieldset>
                    <legend>"PKCS#12 (key + certificate + chain)"</legend>
                    <label>"Password "
                        <input type="password" autocomplete="new-password" name="p12-password" prop:value=p12_pass on:input=move |ev| set_p12_pass.set(event_target_value(&ev))/>
                    </label>
                    <button type="button" data-download="p12" disabled=move || busy.get() on:click=move |_| save_p12(false)>"Save PKCS#12 (AES-256)"</button>
                    <button type="button" data-download="p12-legacy" disabled=move || busy.get() on:click=move |_| save_p12(true)>"Save PKCS#12 (legacy 3DES, for macOS Keychain and old Java)"</button>
                </fieldset>
                <fieldset>
                    <legend>"Kubernetes TLS Secret"</legend>
                    <label>"Name " <input name="secret-name" prop:value=secret_name on:input=move |ev| set_secret_name.set(event_target_value(&ev))/></label>
                    <label>"Namespace " <input name="secret-namespace" prop:value=secret_ns on:input=move |ev| set_secret_ns.set(event_target_value(&ev))/></label>
                    <button type="button" data-download="secret" disabled=move || busy.get() on:click=save_secret>"Save Secret YAML"</button>
                </fieldset>
            </div>
            <p class="status" role="status" aria-live="polite" data-status="downloads">{move || status.get()}</p>
        </section>
    }
}
