//! PKI Console's browser crypto engine as an embeddable plugin: private keys and CSRs made
//! in the browser (the key never leaves it: this crate does no network I/O), certificate
//! checks, PKCS#12, encrypted PKCS#8 and Kubernetes TLS Secrets. `cargo xtask dist` builds
//! it with wasm-bindgen (`--target web`) and serves it under `/plugin/` beside the
//! hand-written `js/pki-plugin.js` (the ES module, the `<pki-csr-request>` element),
//! `js/pki-plugin.d.ts` and `js/worker.js` (the console's crypto worker).
//!
//! Every function takes a plain JS object and returns plain data; errors are `Error`s whose
//! message starts with the field at fault ("commonName: ...").

mod fields;
mod keygen;
pub mod ops;
mod webcsr;

pub use fields::PluginError;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A JS value as JSON (`undefined` becomes `null`).
fn json_of(value: &JsValue) -> serde_json::Value {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| JsValue::from(s).as_string())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&format!("result: {e}")))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("result: not representable in javascript"))
}

fn thrown(e: PluginError) -> JsError {
    JsError::new(&e.to_string())
}

/// `generateKeyAndCsr(options)`: a new key pair and a CSR signed with it.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = generateKeyAndCsr)]
pub async fn generate_key_and_csr(options: JsValue) -> Result<JsValue, JsError> {
    let request = ops::csr_request(&json_of(&options)).map_err(thrown)?;
    to_js(&keygen::generate_csr(&request).await.map_err(thrown)?)
}

/// `generateKeyAndCsr(options)` of the small keygen module (built without `full`): as the
/// plugin's, for the keys WebCrypto makes here; `null` for any other key (Ed25519, or no
/// `crypto.subtle`), which the caller then asks the whole plugin for.
#[cfg(not(feature = "full"))]
#[wasm_bindgen(js_name = generateKeyAndCsr)]
pub async fn generate_key_and_csr(options: JsValue) -> Result<JsValue, JsError> {
    let request = ops::csr_request(&json_of(&options)).map_err(thrown)?;
    match keygen::generate_with_webcrypto(&request)
        .await
        .map_err(thrown)?
    {
        Some(generated) => to_js(&generated),
        None => Ok(JsValue::NULL),
    }
}

/// `checkChain({chainPem, now})`: a CA certificate and its issuers up to a root, checked.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = checkChain)]
pub fn check_chain(options: JsValue) -> Result<JsValue, JsError> {
    to_js(&ops::check_chain(&json_of(&options)).map_err(thrown)?)
}

/// `parseCertificate(pem)`: the first certificate in `pem`, described.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = parseCertificate)]
pub fn parse_certificate(pem: JsValue) -> Result<JsValue, JsError> {
    let pem = pem
        .as_string()
        .ok_or_else(|| thrown(PluginError::new("pem", "expected a string")))?;
    to_js(&ops::parse_certificate_pem(&pem).map_err(thrown)?)
}

/// `inspectIssued({certificatePem, chainPems, privateKeyPem, now})`.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = inspectIssued)]
pub fn inspect_issued(options: JsValue) -> Result<JsValue, JsError> {
    to_js(&ops::inspect_issued(&json_of(&options)).map_err(thrown)?)
}

/// `buildPkcs12({certificatePem, chainPems, privateKeyPem, password, legacy, friendlyName})`:
/// the .p12 file's bytes.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = buildPkcs12)]
pub fn build_pkcs12(options: JsValue) -> Result<Vec<u8>, JsError> {
    ops::pkcs12(&json_of(&options)).map_err(thrown)
}

/// `encryptPrivateKey({privateKeyPem, passphrase, kdf})`: an "ENCRYPTED PRIVATE KEY" PEM.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = encryptPrivateKey)]
pub fn encrypt_private_key(options: JsValue) -> Result<String, JsError> {
    ops::encrypt_key(&json_of(&options)).map_err(thrown)
}

/// `kubernetesSecretYaml({name, namespace, certificatePem, chainPems, privateKeyPem})`.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = kubernetesSecretYaml)]
pub fn kubernetes_secret_yaml(options: JsValue) -> Result<String, JsError> {
    ops::secret_yaml(&json_of(&options)).map_err(thrown)
}

/// The exported functions as JS calls them, in headless Chromium.
#[cfg(all(test, target_arch = "wasm32", feature = "full"))]
mod browser_tests {
    use js_sys::{Reflect, Uint8Array};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn object(json: serde_json::Value) -> JsValue {
        js_sys::JSON::parse(&json.to_string()).unwrap_or(JsValue::NULL)
    }

    fn get(v: &JsValue, key: &str) -> JsValue {
        Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// The message of the `Error` a `JsError` becomes in JS.
    fn message(e: JsError) -> String {
        get(&JsValue::from(e), "message")
            .as_string()
            .unwrap_or_default()
    }

    #[wasm_bindgen_test]
    async fn webcrypto_makes_the_rsa_keys() {
        let der = keygen::webcrypto_pkcs8_for_tests(webcsr::WebAlgorithm::Rsa(2048))
            .await
            .expect("webcrypto")
            .expect("the browser has crypto.subtle");
        let key = shared::pki::key::PrivateKey::from_pkcs8_der(&der).expect("pkcs8");
        assert_eq!(key.bits(), 2048);

        let out = generate_key_and_csr(object(serde_json::json!({
            "keyType": "rsa", "keyBits": 3072, "commonName": "rsa.example.test",
        })))
        .await
        .map_err(message)
        .expect("generate");
        assert_eq!(get(&out, "keyType").as_string().as_deref(), Some("rsa"));
        assert_eq!(get(&out, "keyBits").as_f64(), Some(3072.0));
        let csr = get(&out, "csrPem").as_string().unwrap_or_default();
        let parsed = shared::pki::csr::parse_csr(&csr).expect("csr");
        assert_eq!(parsed.subject.common_name, "rsa.example.test");
        assert_eq!(parsed.signature_algorithm, "SHA256-RSA");
    }

    /// P-256 and P-384 keys come from WebCrypto; their PKCS#8 exports read back through
    /// `shared` (the PKCS#12 and encrypted-key downloads need that) and the CSR signed
    /// by WebCrypto verifies with the curve's own hash.
    #[wasm_bindgen_test]
    async fn webcrypto_makes_the_ec_keys() {
        for (bits, algorithm, name) in [
            (256u32, webcsr::WebAlgorithm::P256, "ECDSA-SHA256"),
            (384, webcsr::WebAlgorithm::P384, "ECDSA-SHA384"),
        ] {
            let der = keygen::webcrypto_pkcs8_for_tests(algorithm)
                .await
                .expect("webcrypto")
                .expect("the browser has crypto.subtle");
            let key = shared::pki::key::PrivateKey::from_pkcs8_der(&der).expect("pkcs8");
            assert_eq!(key.bits(), bits);

            let out = generate_key_and_csr(object(serde_json::json!({
                "keyType": "ec", "keyBits": bits, "commonName": "ec.example.test",
                "dnsNames": ["ec.example.test", "www.ec.example.test"],
            })))
            .await
            .map_err(message)
            .expect("generate");
            assert_eq!(get(&out, "keyType").as_string().as_deref(), Some("ec"));
            assert_eq!(get(&out, "keyBits").as_f64(), Some(f64::from(bits)));
            let csr = get(&out, "csrPem").as_string().unwrap_or_default();
            let parsed = shared::pki::csr::parse_csr(&csr).expect("csr");
            assert_eq!(parsed.signature_algorithm, name);
            assert_eq!(parsed.sans.dns.len(), 2);
            let pem = get(&out, "privateKeyPem").as_string().unwrap_or_default();
            let key = shared::pki::key::PrivateKey::from_pem(&pem).expect("private key pem");
            assert!(key.matches(&parsed.public_key), "the key is the CSR's");
        }
    }

    #[wasm_bindgen_test]
    async fn js_objects_in_and_out_and_errors_name_the_field() {
        let out = generate_key_and_csr(object(serde_json::json!({
            "keyType": "ed25519", "dnsNames": ["a.example.test"],
        })))
        .await
        .map_err(message)
        .expect("generate");
        for key in ["csrPem", "privateKeyPem", "publicKeyPem"] {
            assert!(get(&out, key).is_string(), "{key}");
        }
        let err = generate_key_and_csr(object(serde_json::json!({"keyType": "ec"})))
            .await
            .map(|_| ())
            .map_err(message);
        assert_eq!(
            err,
            Err("commonName: is required when no subject alternative name is given".into())
        );
        let err = generate_key_and_csr(JsValue::UNDEFINED)
            .await
            .map(|_| ())
            .map_err(message);
        assert_eq!(err, Err("options: expected an object".into()));
        assert_eq!(
            parse_certificate(JsValue::from(5))
                .map(|_| ())
                .map_err(message),
            Err("pem: expected a string".into())
        );
        let err = build_pkcs12(object(serde_json::json!({"chainPems": []})))
            .map(|_| ())
            .map_err(message);
        assert_eq!(err, Err("certificatePem: is required".into()));
        // Vec<u8> reaches JS as a Uint8Array.
        let bytes = JsValue::from(vec![1u8, 2, 3]);
        assert!(bytes.is_instance_of::<Uint8Array>());
    }
}
