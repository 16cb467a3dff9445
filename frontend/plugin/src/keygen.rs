//! Key generation and the CSR. RSA and ECDSA P-256/P-384 keys are made by the browser's
//! WebCrypto when it has one (BoringSSL's prime search is several times faster than
//! WebAssembly's, and its P-256 about twice as fast), and the CSR is signed there too
//! (`webcsr`); the key is exported once, as PKCS#8, for the caller. Ed25519 keys, and every
//! key where there is no `crypto.subtle` (an insecure origin, a host build) or where
//! WebCrypto does not know the algorithm, are made and used in Rust (RustCrypto, through
//! `shared`). Works in a window and in a worker: only `globalThis.crypto` is used.

#[cfg(feature = "full")]
use shared::pki::key::PrivateKey;
use shared::pki::key::PublicKeyInfo;
use shared::pki::pem::pem_encode;

use crate::fields::PluginError;
use crate::ops::{CsrRequest, Generated};
use crate::webcsr::{self, WebAlgorithm};

/// A new key for `request` and its CSR.
#[cfg(feature = "full")]
pub async fn generate_csr(request: &CsrRequest) -> Result<Generated, PluginError> {
    if let Some(generated) = generate_with_webcrypto(request).await? {
        return Ok(generated);
    }
    let key = PrivateKey::generate(request.key.key_type, request.key.bits)
        .map_err(|e| PluginError::from_pki("keyBits", e))?;
    crate::ops::finish_csr(request, &key)
}

/// A new key for `request` and its CSR, both made by WebCrypto; `None` when WebCrypto
/// cannot make this key here (no `crypto.subtle`, an algorithm it does not support).
pub async fn generate_with_webcrypto(
    request: &CsrRequest,
) -> Result<Option<Generated>, PluginError> {
    if let Some(algorithm) = WebAlgorithm::for_key(request.key)
        && let Some(key) = webcrypto::generate(algorithm).await?
    {
        // WebCrypto's export of the key it just made for exactly this request: taken as
        // it is (decoding and re-encoding it cost a tenth of a P-256 key + CSR). A
        // mismatch could not go unnoticed: the CSR's signature would not verify.
        let public = PublicKeyInfo {
            key_type: request.key.key_type,
            bits: request.key.bits,
            spki_der: key.spki.clone(),
        };
        let info = webcsr::request_info(&request.subject, &request.sans, &public.spki_der)?;
        let signature = webcrypto::sign(&key, algorithm, &info).await?;
        let csr = webcsr::assemble(&info, algorithm, &signature)?;
        let pkcs8 = webcrypto::pkcs8(key).await?;
        return Ok(Some(Generated {
            csr_pem: pem_encode("CERTIFICATE REQUEST", &csr),
            private_key_pem: pem_encode("PRIVATE KEY", &pkcs8),
            public_key_pem: public.to_pem(),
            key_type: public.key_type,
            key_bits: public.bits,
        }));
    }
    Ok(None)
}

/// WebCrypto's key for `algorithm` as PKCS#8, for the browser tests.
#[cfg(all(test, target_arch = "wasm32", feature = "full"))]
pub async fn webcrypto_pkcs8_for_tests(
    algorithm: WebAlgorithm,
) -> Result<Option<shared::pki::key::Zeroizing<Vec<u8>>>, PluginError> {
    match webcrypto::generate(algorithm).await? {
        Some(key) => Ok(Some(webcrypto::pkcs8(key).await?)),
        None => Ok(None),
    }
}

#[cfg(target_arch = "wasm32")]
mod webcrypto {
    //! `crypto.subtle` through typed bindings, with the algorithm objects made once per
    //! algorithm and kept: building them key by key (a string crossing into JS for each)
    //! and calling through `Reflect` cost about as much as P-256 key generation itself.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
    use shared::pki::key::Zeroizing;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    use crate::fields::PluginError;
    use crate::webcsr::WebAlgorithm;

    #[wasm_bindgen]
    extern "C" {
        /// `SubtleCrypto`, the methods this module calls.
        #[derive(Clone)]
        type Subtle;

        #[wasm_bindgen(method, catch, js_name = generateKey)]
        fn generate_key(
            this: &Subtle,
            algorithm: &Object,
            extractable: bool,
            usages: &Array,
        ) -> Result<Promise, JsValue>;

        #[wasm_bindgen(method, catch, js_name = exportKey)]
        fn export_key(this: &Subtle, format: &str, key: &JsValue) -> Result<Promise, JsValue>;

        #[wasm_bindgen(method, catch)]
        fn sign(
            this: &Subtle,
            algorithm: &Object,
            key: &JsValue,
            data: &Uint8Array,
        ) -> Result<Promise, JsValue>;

        /// A `CryptoKeyPair`.
        type KeyPair;

        #[wasm_bindgen(method, getter, js_name = privateKey)]
        fn private_key(this: &KeyPair) -> JsValue;

        #[wasm_bindgen(method, getter, js_name = publicKey)]
        fn public_key(this: &KeyPair) -> JsValue;
    }

    /// What one algorithm needs on every call, made on first use.
    struct Params {
        generate: Object,
        sign: Object,
    }

    thread_local! {
        /// `crypto.subtle` (looked up once: the global does not change) and the usages.
        static SUBTLE: Option<(Subtle, Array)> = lookup_subtle();
        static PARAMS: RefCell<HashMap<WebAlgorithm, Params>> = RefCell::new(HashMap::new());
    }

    /// A key pair in WebCrypto, its public half exported.
    pub struct WebKey {
        /// The private `CryptoKey`, which signs the CSR.
        private: JsValue,
        /// The PKCS#8 export, started with the SPKI export and awaited last.
        pkcs8: Promise,
        /// SubjectPublicKeyInfo DER.
        pub spki: Vec<u8>,
    }

    fn message(e: &JsValue) -> String {
        Reflect::get(e, &JsValue::from_str("message"))
            .ok()
            .and_then(|m| m.as_string())
            .or_else(|| e.as_string())
            .unwrap_or_else(|| format!("{e:?}"))
    }

    fn failed(e: JsValue) -> PluginError {
        PluginError::new("keyType", format!("webcrypto: {}", message(&e)))
    }

    fn lookup_subtle() -> Option<(Subtle, Array)> {
        let get = |target: &JsValue, key: &str| {
            Reflect::get(target, &JsValue::from_str(key))
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
        let usages: Array = ["sign", "verify"]
            .iter()
            .map(|u| JsValue::from_str(u))
            .collect();
        Some((subtle.unchecked_into(), usages))
    }

    /// `crypto.subtle` and the key usages, if this global has them (secure contexts only).
    fn subtle() -> Option<(Subtle, Array)> {
        SUBTLE.with(|s| {
            s.as_ref()
                .map(|(subtle, usages)| (subtle.clone(), usages.clone()))
        })
    }

    /// An object from JSON text: one string into JS instead of one per key.
    fn json_object(text: &str) -> Result<Object, PluginError> {
        js_sys::JSON::parse(text)
            .map_err(failed)?
            .dyn_into()
            .map_err(|_| PluginError::new("keyType", "webcrypto parameters: not an object"))
    }

    /// The `generateKey` and `sign` parameters for `algorithm`, made once.
    fn params(algorithm: WebAlgorithm) -> Result<(Object, Object), PluginError> {
        PARAMS.with(|cache| {
            if let Some(p) = cache.borrow().get(&algorithm) {
                return Ok((p.generate.clone(), p.sign.clone()));
            }
            let hash = algorithm.hash();
            let (generate, sign) = match (algorithm, algorithm.named_curve()) {
                (WebAlgorithm::Rsa(bits), _) => {
                    let generate = json_object(&format!(
                        r#"{{"name":"RSASSA-PKCS1-v1_5","modulusLength":{bits},"hash":"{hash}"}}"#
                    ))?;
                    // A BufferSource, which JSON cannot express.
                    Reflect::set(
                        &generate,
                        &JsValue::from_str("publicExponent"),
                        &Uint8Array::from(&[1u8, 0, 1][..]),
                    )
                    .map_err(failed)?;
                    (generate, json_object(r#"{"name":"RSASSA-PKCS1-v1_5"}"#)?)
                }
                (_, curve) => (
                    json_object(&format!(
                        r#"{{"name":"ECDSA","namedCurve":"{}"}}"#,
                        curve.unwrap_or_default()
                    ))?,
                    json_object(&format!(r#"{{"name":"ECDSA","hash":"{hash}"}}"#))?,
                ),
            };
            cache.borrow_mut().insert(
                algorithm,
                Params {
                    generate: generate.clone(),
                    sign: sign.clone(),
                },
            );
            Ok((generate, sign))
        })
    }

    /// Copies an ArrayBuffer out, then zeroes the JS copy.
    fn take_bytes(buffer: &JsValue) -> Vec<u8> {
        let view = Uint8Array::new(buffer);
        let bytes = view.to_vec();
        view.fill(0, 0, view.length());
        bytes
    }

    /// A fresh extractable key pair for `algorithm`, or `None` when there is no WebCrypto
    /// here or it does not support the algorithm (Rust makes the key then).
    pub async fn generate(algorithm: WebAlgorithm) -> Result<Option<WebKey>, PluginError> {
        let Some((subtle, usages)) = subtle() else {
            return Ok(None);
        };
        let (generate_params, _) = params(algorithm)?;
        let generating = subtle
            .generate_key(&generate_params, true, &usages)
            .map_err(failed)?;
        let pair: KeyPair = match JsFuture::from(generating).await {
            Ok(pair) => pair.unchecked_into(),
            Err(e)
                if Reflect::get(&e, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|n| n.as_string())
                    .as_deref()
                    == Some("NotSupportedError") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(failed(e)),
        };
        let private = pair.private_key();
        let pkcs8 = subtle.export_key("pkcs8", &private).map_err(failed)?;
        let spki = subtle
            .export_key("spki", &pair.public_key())
            .map_err(failed)?;
        let spki = JsFuture::from(spki).await.map_err(failed)?;
        Ok(Some(WebKey {
            private,
            pkcs8,
            spki: take_bytes(&spki),
        }))
    }

    /// `key`'s signature of `data`, in WebCrypto's encoding (PKCS#1 v1.5 bytes, or ECDSA's
    /// `r || s`).
    pub async fn sign(
        key: &WebKey,
        algorithm: WebAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let (subtle, _) =
            subtle().ok_or_else(|| failed(JsValue::from_str("crypto.subtle is gone")))?;
        let (_, sign_params) = params(algorithm)?;
        let signing = subtle
            .sign(&sign_params, &key.private, &Uint8Array::from(data))
            .map_err(failed)?;
        let signature = JsFuture::from(signing).await.map_err(failed)?;
        Ok(Uint8Array::new(&signature).to_vec())
    }

    /// The private key as PKCS#8 DER; the key pair is dropped.
    pub async fn pkcs8(key: WebKey) -> Result<Zeroizing<Vec<u8>>, PluginError> {
        let der = JsFuture::from(key.pkcs8).await.map_err(failed)?;
        Ok(Zeroizing::new(take_bytes(&der)))
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod webcrypto {
    use shared::pki::key::Zeroizing;

    use crate::fields::PluginError;
    use crate::webcsr::WebAlgorithm;

    /// Never made: there is no WebCrypto outside the browser.
    pub struct WebKey {
        pub spki: Vec<u8>,
    }

    pub async fn generate(_algorithm: WebAlgorithm) -> Result<Option<WebKey>, PluginError> {
        Ok(None)
    }

    fn absent() -> PluginError {
        PluginError::new("keyType", "no webcrypto outside the browser")
    }

    pub async fn sign(
        _key: &WebKey,
        _algorithm: WebAlgorithm,
        _data: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Err(absent())
    }

    pub async fn pkcs8(_key: WebKey) -> Result<Zeroizing<Vec<u8>>, PluginError> {
        Err(absent())
    }
}
