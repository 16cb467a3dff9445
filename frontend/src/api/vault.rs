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

/// What the signed-in token may do on each of `paths` (`sys/capabilities-self`).
pub async fn capabilities_self(
    paths: &[String],
) -> Result<std::collections::HashMap<String, Vec<String>>, ApiError> {
    if paths.is_empty() {
        return Ok(Default::default());
    }
    let env: Envelope<serde_json::Map<String, serde_json::Value>> = send(
        Method::POST,
        "/v1/sys/capabilities-self",
        Some(&serde_json::json!({ "paths": paths })),
    )
    .await?;
    let data = env.data.unwrap_or_default();
    Ok(paths
        .iter()
        .map(|p| {
            let caps = data
                .get(p)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (p.clone(), caps)
        })
        .collect())
}

/// A PKI mount with its roles, and which of them the token may sign with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountChoice {
    pub path: String,
    pub roles: Vec<String>,
    /// Roles whose `sign` path the token has `create`/`update` (or root) on.
    pub usable: Vec<String>,
}

/// Every PKI mount the token can see, with its roles and the usable ones; roles that
/// cannot be listed count as none.
pub async fn mount_choices() -> Result<Vec<MountChoice>, ApiError> {
    let mounts = pki_mounts().await?;
    // List roles only where the token may (a refused LIST would be a 403 in the log and
    // make the session layer wonder whether the session ended).
    let list_paths: Vec<String> = mounts.iter().map(|m| format!("{}/roles", m.path)).collect();
    let may_list = capabilities_self(&list_paths).await.ok();
    let lists = futures::future::join_all(mounts.iter().map(|m| async {
        let allowed = may_list.as_ref().is_none_or(|caps| {
            caps.get(&format!("{}/roles", m.path))
                .is_some_and(|v| v.iter().any(|x| matches!(x.as_str(), "list" | "root")))
        });
        if allowed {
            roles(&m.path).await
        } else {
            Ok(vec![])
        }
    }))
    .await;
    let mut choices: Vec<MountChoice> = mounts
        .into_iter()
        .zip(lists)
        .map(|(m, roles)| MountChoice {
            path: m.path,
            roles: roles.unwrap_or_default(),
            usable: vec![],
        })
        .collect();
    let paths: Vec<String> = choices
        .iter()
        .flat_map(|c| c.roles.iter().map(move |r| format!("{}/sign/{r}", c.path)))
        .collect();
    // Without the capabilities answer every listed role counts as usable.
    let caps = capabilities_self(&paths).await.ok();
    for c in &mut choices {
        c.usable = c
            .roles
            .iter()
            .filter(|r| {
                caps.as_ref().is_none_or(|caps| {
                    caps.get(&format!("{}/sign/{r}", c.path)).is_some_and(|v| {
                        v.iter()
                            .any(|x| matches!(x.as_str(), "create" | "update" | "root"))
                    })
                })
            })
            .cloned()
            .collect();
    }
    Ok(choices)
}

/// The mount and role to preselect: the first mount with a role the token may sign
/// with, else the first with any role, else the first mount.
pub fn preferred(choices: &[MountChoice]) -> Option<(String, String)> {
    choices
        .iter()
        .find_map(|c| c.usable.first().map(|r| (c.path.clone(), r.clone())))
        .or_else(|| {
            choices
                .iter()
                .find_map(|c| c.roles.first().map(|r| (c.path.clone(), r.clone())))
        })
        .or_else(|| choices.first().map(|c| (c.path.clone(), String::new())))
}
