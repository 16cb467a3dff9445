//! `auth/<kubernetes>/config`: where the cluster's API is (`kubernetes_host`), how to
//! trust it (`kubernetes_ca_cert`), the bearer for TokenReview (`token_reviewer_jwt`,
//! sealed at rest with the engine's key as Vault seal-wraps it), the keys that verify
//! service account JWTs locally (`pem_keys`) and the issuer check. Also the pod-local
//! fallbacks Vault uses when it runs inside the cluster.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::pki::cert::{certificates_from_pem, parse_certificate, pem_decode_all};
use shared::pki::key::{KeyType, PublicKeyInfo};

use crate::engine::mounts::Mount;
use crate::engine::pki::issuers::{bool_field, list_field};
use crate::engine::{Engine, EngineError, Response, field_str};

/// Where a pod finds its cluster's CA and its own service account token.
pub const LOCAL_CA_CERT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
pub const LOCAL_JWT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeConfig {
    pub kubernetes_host: String,
    #[serde(default)]
    pub kubernetes_ca_cert: String,
    /// Base64 of the barrier-sealed reviewer JWT; empty when none is set.
    #[serde(default)]
    pub token_reviewer_jwt_sealed: String,
    #[serde(default)]
    pub pem_keys: Vec<String>,
    #[serde(default)]
    pub issuer: String,
    #[serde(default = "yes")]
    pub disable_iss_validation: bool,
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
}

fn yes() -> bool {
    true
}

fn key(mount: &Mount) -> String {
    format!("{}config", mount.storage_prefix())
}

/// Reads one `pem_keys` entry as Vault's `certutil.ParsePublicKeyPEM`: a single PEM block
/// holding a public key (SubjectPublicKeyInfo) or a certificate, whose key is taken.
pub fn parse_pem_key(pem: &str) -> Result<PublicKeyInfo, String> {
    let blocks = pem_decode_all(pem).map_err(|e| e.to_string())?;
    let [(_, der)] = blocks.as_slice() else {
        return Err("unexpected trailing data after parsed PEM block".into());
    };
    let info = PublicKeyInfo::from_spki_der(der)
        .or_else(|_| {
            parse_certificate(der)
                .map_err(|e| e.to_string())
                .and_then(|c| PublicKeyInfo::from_spki_der(&c.spki_der).map_err(|e| e.to_string()))
        })
        .map_err(|_| "data does not contain any valid public keys".to_string())?;
    match info.key_type {
        KeyType::Rsa | KeyType::Ec => Ok(info),
        KeyType::Ed25519 => Err(
            "ed25519 keys do not sign kubernetes service account tokens: use an rsa or ecdsa key"
                .into(),
        ),
    }
}

impl KubeConfig {
    pub fn public_keys(&self) -> Result<Vec<PublicKeyInfo>, EngineError> {
        self.pem_keys
            .iter()
            .map(|p| {
                parse_pem_key(p).map_err(|e| EngineError::Internal(format!("stored pem_keys: {e}")))
            })
            .collect()
    }

    fn reviewer_jwt(&self, engine: &Engine, mount: &Mount) -> Result<String, EngineError> {
        if self.token_reviewer_jwt_sealed.is_empty() {
            return Ok(String::new());
        }
        let sealed = B64
            .decode(&self.token_reviewer_jwt_sealed)
            .map_err(|e| EngineError::Internal(format!("stored token_reviewer_jwt: {e}")))?;
        let plain = engine.barrier.open(&key(mount), &sealed)?;
        String::from_utf8(plain)
            .map_err(|e| EngineError::Internal(format!("stored token_reviewer_jwt: {e}")))
    }

    /// What a login uses, with Vault's `loadConfig` fallbacks: unless
    /// `disable_local_ca_jwt`, a pod's own CA file and token stand in for an unset
    /// `kubernetes_ca_cert` and `token_reviewer_jwt`.
    pub fn effective(&self, engine: &Engine, mount: &Mount) -> Result<Effective, EngineError> {
        let mut reviewer_jwt = self.reviewer_jwt(engine, mount)?;
        let mut ca_cert = self.kubernetes_ca_cert.clone();
        if !self.disable_local_ca_jwt {
            if reviewer_jwt.is_empty() {
                reviewer_jwt = std::fs::read_to_string(LOCAL_JWT_PATH).unwrap_or_default();
            }
            if ca_cert.is_empty() {
                ca_cert = std::fs::read_to_string(LOCAL_CA_CERT_PATH).unwrap_or_default();
            }
        }
        Ok(Effective {
            host: self.kubernetes_host.clone(),
            ca_cert,
            reviewer_jwt: reviewer_jwt.trim().to_string(),
        })
    }
}

/// The connection settings a login uses.
#[derive(Debug, Clone)]
pub struct Effective {
    pub host: String,
    pub ca_cert: String,
    /// Empty: the client's own JWT is the bearer (Vault's fallback).
    pub reviewer_jwt: String,
}

pub fn load(engine: &Engine, mount: &Mount) -> Result<Option<KubeConfig>, EngineError> {
    Ok(engine.store.get(&key(mount))?)
}

pub fn read(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let c = load(engine, mount)?.ok_or_else(|| EngineError::NotFound(String::new()))?;
    Response::typed(&shared::api::kubernetes::KubernetesConfigRead {
        token_reviewer_jwt_set: !c.token_reviewer_jwt_sealed.is_empty(),
        kubernetes_host: c.kubernetes_host,
        kubernetes_ca_cert: c.kubernetes_ca_cert,
        pem_keys: c.pem_keys,
        issuer: c.issuer,
        disable_iss_validation: c.disable_iss_validation,
        disable_local_ca_jwt: c.disable_local_ca_jwt,
    })
}

/// Vault replaces the whole configuration on every write.
pub fn write(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let host = field_str(data, "kubernetes_host").unwrap_or_default();
    let host = host.trim().to_string();
    if host.is_empty() {
        return Err(EngineError::bad("no host provided"));
    }
    super::review::Endpoint::parse(&host).map_err(|e| EngineError::bad(e.to_string()))?;
    let ca_cert = field_str(data, "kubernetes_ca_cert").unwrap_or_default();
    if !ca_cert.trim().is_empty() {
        let certs = certificates_from_pem(&ca_cert)
            .map_err(|e| EngineError::bad(format!("invalid kubernetes_ca_cert: {e}")))?;
        if certs.is_empty() {
            return Err(EngineError::bad(
                "invalid kubernetes_ca_cert: no CERTIFICATE block in it",
            ));
        }
        for der in &certs {
            parse_certificate(der)
                .map_err(|e| EngineError::bad(format!("invalid kubernetes_ca_cert: {e}")))?;
        }
    }
    let disable_local_ca_jwt = bool_field(data, "disable_local_ca_jwt", false)?;
    if disable_local_ca_jwt && ca_cert.trim().is_empty() && !host.starts_with("http://") {
        return Err(EngineError::bad(
            "kubernetes_ca_cert must be given when disable_local_ca_jwt is true",
        ));
    }
    let pem_keys = list_field(data, "pem_keys")?;
    for (i, pem) in pem_keys.iter().enumerate() {
        parse_pem_key(pem).map_err(|e| EngineError::bad(format!("invalid pem_keys[{i}]: {e}")))?;
    }
    let reviewer = field_str(data, "token_reviewer_jwt").unwrap_or_default();
    let reviewer = reviewer.trim();
    let config = KubeConfig {
        kubernetes_host: host,
        kubernetes_ca_cert: ca_cert,
        token_reviewer_jwt_sealed: if reviewer.is_empty() {
            String::new()
        } else {
            B64.encode(engine.barrier.seal(&key(mount), reviewer.as_bytes()))
        },
        pem_keys,
        issuer: field_str(data, "issuer").unwrap_or_default(),
        disable_iss_validation: bool_field(data, "disable_iss_validation", true)?,
        disable_local_ca_jwt,
    };
    engine.store.put(&key(mount), &config)?;
    Ok(Response::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::pki::cert::{CertSpec, Subject, pem_encode, self_sign};
    use shared::pki::key::PrivateKey;

    #[test]
    fn pem_keys_take_public_keys_and_certificates() {
        let ec = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let spki_pem = ec.public_key_info().to_pem();
        assert_eq!(
            parse_pem_key(&spki_pem).expect("spki"),
            ec.public_key_info()
        );
        let spec = CertSpec {
            serial: vec![1],
            not_before: 0,
            not_after: 4_000_000_000,
            subject: Subject::with_common_name("sa-signer"),
            ..CertSpec::default()
        };
        let cert = pem_encode("CERTIFICATE", &self_sign(&spec, &ec, 0).expect("cert"));
        assert_eq!(
            parse_pem_key(&cert).expect("cert").spki_der,
            ec.public_key_info().spki_der
        );
        let two = format!("{spki_pem}{spki_pem}");
        assert!(parse_pem_key(&two).unwrap_err().contains("trailing data"));
        assert!(parse_pem_key("not pem").is_err());
        let junk = pem_encode("PUBLIC KEY", b"junk");
        assert_eq!(
            parse_pem_key(&junk).unwrap_err(),
            "data does not contain any valid public keys"
        );
        let ed = PrivateKey::generate(KeyType::Ed25519, 0).expect("ed25519");
        assert!(parse_pem_key(&ed.public_key_info().to_pem()).is_err());
    }
}
