//! Key generation and the CSR. RSA and ECDSA P-256/P-384 keys are made by the browser's
//! WebCrypto when it has one (BoringSSL's prime search is several times faster than
//! WebAssembly's, and its P-256 about twice as fast), and the CSR is signed there too
//! (`webcsr`); the key is exported once, as PKCS#8, for the caller. Ed25519 keys, and every
//! key where there is no `crypto.subtle` (an insecure origin, a host build) or where
//! WebCrypto does not know the algorithm, are made and used in Rust (RustCrypto, through
//! `shared`). Works in a window and in a worker: only `globalThis.crypto` is used.

use shared::pki::cert::pem_encode;
use shared::pki::key::{PrivateKey, PublicKeyInfo};

use crate::fields::PluginError;
use crate::ops::{CsrRequest, Generated, finish_csr};
use crate::webcsr::{self, WebAlgorithm};

/// A new key for `request` and its CSR.
pub async fn generate_csr(request: &CsrRequest) -> Result<Generated, PluginError> {
    if let Some(algorithm) = WebAlgorithm::for_key(request.key)
        && let Some(key) = webcrypto::generate(algorithm).await?
    {
        let public = PublicKeyInfo::from_spki_der(&key.spki)
            .map_err(|e| PluginError::new("keyType", format!("webcrypto's public key: {e}")))?;
        let info = webcsr::request_info(&request.subject, &request.sans, &public.spki_der)?;
        let signature = webcrypto::sign(&key, algorithm, &info).await?;
        let csr = webcsr::assemble(&info, algorithm, &signature)?;
        let pkcs8 = webcrypto::pkcs8(key).await?;
        return Ok(Generated {
            csr_pem: pem_encode("CERTIFICATE REQUEST", &csr),
            private_key_pem: pem_encode("PRIVATE KEY", &pkcs8),
            public_key_pem: public.to_pem(),
            key_type: public.key_type,
            key_bits: public.bits,
        });
    }
    let key = PrivateKey::generate(request.key.key_type, request.key.bits)
        .map_err(|e| PluginError::from_pki("keyBits", e))?;
    finish_csr(request, &key)
}

/// WebCrypto's key for `algorithm` as PKCS#8, for the browser tests.
#[cfg(all(test, target_arch = "wasm32"))]
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
    use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use shared::pki::key::Zeroizing;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use crate::fields::PluginError;
    use crate::webcsr::WebAlgorithm;

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

    fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
    }

    fn object(fields: &[(&str, JsValue)]) -> Result<Object, JsValue> {
        let o = Object::new();
        for (k, v) in fields {
            Reflect::set(&o, &JsValue::from_str(k), v)?;
        }
        Ok(o)
    }

    /// `crypto.subtle`, if this global has one (secure contexts only).
    fn subtle() -> Option<JsValue> {
        let crypto = get(&js_sys::global(), "crypto").ok()?;
        if crypto.is_undefined() || crypto.is_null() {
            return None;
        }
        let subtle = get(&crypto, "subtle").ok()?;
        (!subtle.is_undefined() && !subtle.is_null()).then_some(subtle)
    }

    /// Calls `crypto.subtle[name](...args)`; the promise, not yet awaited.
    fn start(subtle: &JsValue, name: &str, args: &[JsValue]) -> Result<Promise, JsValue> {
        let f: Function = get(subtle, name)?
            .dyn_into()
            .map_err(|_| JsValue::from_str(&format!("crypto.subtle.{name} is not a function")))?;
        let args: Array = args.iter().collect();
        f.apply(subtle, &args)?.dyn_into()
    }

    /// Copies an ArrayBuffer out, then zeroes the JS copy.
    fn take_bytes(buffer: &JsValue) -> Vec<u8> {
        let view = Uint8Array::new(buffer);
        let bytes = view.to_vec();
        view.fill(0, 0, view.length());
        bytes
    }

    /// The `generateKey` parameters for `algorithm`.
    fn key_params(algorithm: WebAlgorithm) -> Result<Object, JsValue> {
        match (algorithm, algorithm.named_curve()) {
            (WebAlgorithm::Rsa(bits), _) => object(&[
                ("name", JsValue::from_str("RSASSA-PKCS1-v1_5")),
                ("modulusLength", JsValue::from(bits)),
                ("publicExponent", Uint8Array::from(&[1u8, 0, 1][..]).into()),
                ("hash", JsValue::from_str(algorithm.hash())),
            ]),
            (_, curve) => object(&[
                ("name", JsValue::from_str("ECDSA")),
                ("namedCurve", JsValue::from_str(curve.unwrap_or_default())),
            ]),
        }
    }

    /// The `sign` parameters for `algorithm`.
    fn sign_params(algorithm: WebAlgorithm) -> Result<Object, JsValue> {
        match algorithm {
            WebAlgorithm::Rsa(_) => object(&[("name", JsValue::from_str("RSASSA-PKCS1-v1_5"))]),
            _ => object(&[
                ("name", JsValue::from_str("ECDSA")),
                ("hash", JsValue::from_str(algorithm.hash())),
            ]),
        }
    }

    /// A fresh extractable key pair for `algorithm`, or `None` when there is no WebCrypto
    /// here or it does not support the algorithm (Rust makes the key then).
    pub async fn generate(algorithm: WebAlgorithm) -> Result<Option<WebKey>, PluginError> {
        let Some(subtle) = subtle() else {
            return Ok(None);
        };
        let usages: Array = ["sign", "verify"]
            .iter()
            .map(|u| JsValue::from_str(u))
            .collect();
        let generating = start(
            &subtle,
            "generateKey",
            &[
                key_params(algorithm).map_err(failed)?.into(),
                JsValue::TRUE,
                usages.into(),
            ],
        )
        .map_err(failed)?;
        let pair = match JsFuture::from(generating).await {
            Ok(pair) => pair,
            Err(e)
                if get(&e, "name").ok().and_then(|n| n.as_string()).as_deref()
                    == Some("NotSupportedError") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(failed(e)),
        };
        let private = get(&pair, "privateKey").map_err(failed)?;
        let public = get(&pair, "publicKey").map_err(failed)?;
        let pkcs8 = start(
            &subtle,
            "exportKey",
            &[JsValue::from_str("pkcs8"), private.clone()],
        )
        .map_err(failed)?;
        let spki =
            start(&subtle, "exportKey", &[JsValue::from_str("spki"), public]).map_err(failed)?;
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
        let subtle = subtle().ok_or_else(|| failed(JsValue::from_str("crypto.subtle is gone")))?;
        let signing = start(
            &subtle,
            "sign",
            &[
                sign_params(algorithm).map_err(failed)?.into(),
                key.private.clone(),
                Uint8Array::from(data).into(),
            ],
        )
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
