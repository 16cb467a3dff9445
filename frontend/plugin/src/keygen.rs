//! Key generation and the CSR. EC and Ed25519 keys are made and used in Rust (RustCrypto,
//! through `shared`). RSA keys are made by the browser's WebCrypto when it has one
//! (BoringSSL's prime search is several times faster than WebAssembly's) and the CSR is
//! signed there too (`webcsr`); the key is exported once, as PKCS#8, for the caller.
//! Without `crypto.subtle` (an insecure origin, a host build) the pure-Rust generator
//! takes over. Works in a window and in a worker: only `globalThis.crypto` is used.

use shared::pki::cert::pem_encode;
use shared::pki::key::{KeyType, PrivateKey, PublicKeyInfo};

use crate::fields::PluginError;
use crate::ops::{CsrRequest, Generated, finish_csr};
use crate::webcsr;

/// A new key for `request` and its CSR.
pub async fn generate_csr(request: &CsrRequest) -> Result<Generated, PluginError> {
    if request.key.key_type == KeyType::Rsa
        && let Some(key) = webcrypto::rsa_key(request.key.bits).await?
    {
        let public = PublicKeyInfo::from_spki_der(&key.spki)
            .map_err(|e| PluginError::new("keyType", format!("webcrypto's rsa key: {e}")))?;
        let info = webcsr::request_info(&request.subject, &request.sans, &public.spki_der)?;
        let signature = webcrypto::sign(&key, &info).await?;
        return Ok(Generated {
            csr_pem: pem_encode("CERTIFICATE REQUEST", &webcsr::assemble(&info, &signature)),
            private_key_pem: pem_encode("PRIVATE KEY", &key.pkcs8),
            public_key_pem: public.to_pem(),
            key_type: KeyType::Rsa,
            key_bits: public.bits,
        });
    }
    let key = PrivateKey::generate(request.key.key_type, request.key.bits)
        .map_err(|e| PluginError::from_pki("keyBits", e))?;
    finish_csr(request, &key)
}

/// WebCrypto's RSA key as PKCS#8, for the browser tests.
#[cfg(all(test, target_arch = "wasm32"))]
pub async fn webcrypto_rsa_pkcs8_for_tests(
    bits: u32,
) -> Result<Option<shared::pki::key::Zeroizing<Vec<u8>>>, PluginError> {
    Ok(webcrypto::rsa_key(bits).await?.map(|k| k.pkcs8))
}

#[cfg(target_arch = "wasm32")]
mod webcrypto {
    use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use shared::pki::key::Zeroizing;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use crate::fields::PluginError;

    /// An RSA key pair in WebCrypto, with its exports.
    pub struct RsaKey {
        /// The private `CryptoKey`, which signs the CSR.
        private: JsValue,
        /// PKCS#8 PrivateKeyInfo DER.
        pub pkcs8: Zeroizing<Vec<u8>>,
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
        PluginError::new("keyType", format!("webcrypto rsa: {}", message(&e)))
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

    /// Calls `crypto.subtle[name](...args)` and awaits the promise.
    async fn call(subtle: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = get(subtle, name)?
            .dyn_into()
            .map_err(|_| JsValue::from_str(&format!("crypto.subtle.{name} is not a function")))?;
        let args: Array = args.iter().collect();
        let promise: Promise = f.apply(subtle, &args)?.dyn_into()?;
        JsFuture::from(promise).await
    }

    /// Copies an ArrayBuffer out, then zeroes the JS copy.
    fn take_bytes(buffer: &JsValue) -> Vec<u8> {
        let view = Uint8Array::new(buffer);
        let bytes = view.to_vec();
        view.fill(0, 0, view.length());
        bytes
    }

    /// A fresh RSASSA-PKCS1-v1_5 / SHA-256 key of `bits`, or `None` when there is no
    /// WebCrypto here.
    pub async fn rsa_key(bits: u32) -> Result<Option<RsaKey>, PluginError> {
        let Some(subtle) = subtle() else {
            return Ok(None);
        };
        let algorithm = object(&[
            ("name", JsValue::from_str("RSASSA-PKCS1-v1_5")),
            ("modulusLength", JsValue::from(bits)),
            ("publicExponent", Uint8Array::from(&[1u8, 0, 1][..]).into()),
            ("hash", JsValue::from_str("SHA-256")),
        ])
        .map_err(failed)?;
        let usages: Array = ["sign", "verify"]
            .iter()
            .map(|u| JsValue::from_str(u))
            .collect();
        let pair = call(
            &subtle,
            "generateKey",
            &[algorithm.into(), JsValue::TRUE, usages.into()],
        )
        .await
        .map_err(failed)?;
        let private = get(&pair, "privateKey").map_err(failed)?;
        let public = get(&pair, "publicKey").map_err(failed)?;
        let pkcs8 = call(
            &subtle,
            "exportKey",
            &[JsValue::from_str("pkcs8"), private.clone()],
        )
        .await
        .map_err(failed)?;
        let spki = call(&subtle, "exportKey", &[JsValue::from_str("spki"), public])
            .await
            .map_err(failed)?;
        Ok(Some(RsaKey {
            private,
            pkcs8: Zeroizing::new(take_bytes(&pkcs8)),
            spki: take_bytes(&spki),
        }))
    }

    /// PKCS#1 v1.5 / SHA-256 signature of `data` by `key`.
    pub async fn sign(key: &RsaKey, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let subtle = subtle().ok_or_else(|| failed(JsValue::from_str("crypto.subtle is gone")))?;
        let algorithm =
            object(&[("name", JsValue::from_str("RSASSA-PKCS1-v1_5"))]).map_err(failed)?;
        let signature = call(
            &subtle,
            "sign",
            &[
                algorithm.into(),
                key.private.clone(),
                Uint8Array::from(data).into(),
            ],
        )
        .await
        .map_err(failed)?;
        Ok(Uint8Array::new(&signature).to_vec())
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod webcrypto {
    use shared::pki::key::Zeroizing;

    use crate::fields::PluginError;

    /// Never made: there is no WebCrypto outside the browser.
    pub struct RsaKey {
        pub pkcs8: Zeroizing<Vec<u8>>,
        pub spki: Vec<u8>,
    }

    pub async fn rsa_key(_bits: u32) -> Result<Option<RsaKey>, PluginError> {
        Ok(None)
    }

    pub async fn sign(_key: &RsaKey, _data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::new(
            "keyType",
            "no webcrypto outside the browser",
        ))
    }
}
