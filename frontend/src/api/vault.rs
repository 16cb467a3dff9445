//! Typed calls to the Vault API (`/v1/*`) for the request page: PKI mounts, roles and
//! signing. The same calls work against the embedded engine and a real Vault (through
//! the console's proxy), because both speak Vault's API.

use gloo_net::http::Method;
use serde::{Deserialize, Serialize};
use shared::api::Envelope;
use shared::pki::role::Role;

use super::{ApiError, get_json, send};

/// A secrets-engine mount of type `pki`, as `sys/mounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiMount {
    /// Without the trailing slash: `pki_int`.
    pub path: String,
    pub description: String,
}

/// PKI mounts the signed-in token can see, sorted by path.
pub async fn pki_mounts() -> Result<Vec<PkiMount>, ApiError> {
    let env: Envelope<serde_json::Map<String, serde_json::Value>> =
        get_json("/v1/sys/mounts").await?;
    let mut mounts: Vec<PkiMount> = env
        .data
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, m)| m["type"] == "pki")
        .map(|(path, m)| PkiMount {
            path: path.trim_end_matches('/').to_string(),
            description: m["description"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    mounts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(mounts)
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Keys {
    #[serde(default)]
    keys: Vec<String>,
}

/// Role names on `mount` (an empty list where Vault answers 404).
pub async fn roles(mount: &str) -> Result<Vec<String>, ApiError> {
    match get_json::<Envelope<Keys>>(&format!("/v1/{mount}/roles?list=true")).await {
        Ok(env) => Ok(env.data.unwrap_or_default().keys),
        Err(e) if e.status() == Some(404) => Ok(vec![]),
        Err(e) => Err(e),
    }
}

pub async fn role(mount: &str, name: &str) -> Result<Role, ApiError> {
    let env: Envelope<Role> = get_json(&format!("/v1/{mount}/roles/{name}")).await?;
    env.data
        .ok_or_else(|| ApiError::Decode("the role read returned no data".into()))
}

/// The body of `<mount>/sign/<role>`: strings, as cert-manager and the CLI send them.
#[derive(Debug, Clone, Serialize)]
pub struct SignRequest {
    pub csr: String,
    pub common_name: String,
    pub alt_names: String,
    pub ip_sans: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignedCertificate {
    pub certificate: String,
    pub issuing_ca: String,
    #[serde(default)]
    pub ca_chain: Vec<String>,
    pub serial_number: String,
    pub expiration: i64,
}

/// Signs a CSR with a role. Returns the certificate and Vault's warnings.
pub async fn sign(
    mount: &str,
    role: &str,
    req: &SignRequest,
) -> Result<(SignedCertificate, Vec<String>), ApiError> {
    let env: Envelope<SignedCertificate> =
        send(Method::POST, &format!("/v1/{mount}/sign/{role}"), Some(req)).await?;
    let warnings = env.warnings.unwrap_or_default();
    let data = env
        .data
        .ok_or_else(|| ApiError::Decode("the sign response has no data".into()))?;
    Ok((data, warnings))
}
