//! The recipe's PKI, set up through the Vault API of a running server: root CA (`pki`),
//! intermediate CA (`pki_int`) signed by it, a role, a policy that allows signing with
//! it, and a token with only that policy.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Server;
use crate::http::{self, Method};

/// What the recipe created.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub root_token: String,
    /// A token whose only policy (besides `default`) allows `pki_int/sign/<role>`.
    pub signer_token: String,
    pub role: String,
    pub root_pem: String,
    pub intermediate_pem: String,
}

pub fn root_token(server: &Server) -> anyhow::Result<String> {
    let path = server.data_dir.join("root-token");
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("read {}", path.display()))?
        .trim()
        .to_string())
}

/// One Vault API call with a token; fails unless the status is 2xx.
pub async fn vault(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = http::vault(
        method.clone(),
        &server.url(&format!("/v1/{path}")),
        Some(token),
        &body,
    )
    .await?;
    if !res.status.is_success() {
        bail!("{method} {path}: {} {}", res.status, res.text());
    }
    if res.body.is_empty() {
        Ok(Value::Null)
    } else {
        res.json()
    }
}

/// Builds the recipe with `role_body` as the role (e.g. allowed_domains, max_ttl).
pub async fn setup(server: &Server, role: &str, role_body: Value) -> anyhow::Result<Recipe> {
    setup_with(server, &root_token(server)?, role, role_body).await
}

/// As [`setup`], through `server` with the root token `t` (a console in upstream mode:
/// the Vault behind it has the root token, not the console's data directory).
pub async fn setup_with(
    server: &Server,
    t: &str,
    role: &str,
    role_body: Value,
) -> anyhow::Result<Recipe> {
    vault(
        server,
        t,
        Method::POST,
        "sys/mounts/pki",
        json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}}),
    )
    .await?;
    vault(
        server,
        t,
        Method::POST,
        "sys/mounts/pki_int",
        json!({"type": "pki", "config": {"max_lease_ttl": "43800h"}}),
    )
    .await?;
    let root = vault(server, t, Method::POST, "pki/root/generate/internal", json!({"common_name": "testlab.local Root CA", "ttl": "87600h", "key_type": "ec", "key_bits": 384})).await?;
    let root_pem = root["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let csr = vault(
        server,
        t,
        Method::POST,
        "pki_int/intermediate/generate/internal",
        json!({"common_name": "testlab.local Intermediate CA", "key_type": "ec"}),
    )
    .await?;
    let signed = vault(
        server,
        t,
        Method::POST,
        "pki/root/sign-intermediate",
        json!({"csr": csr["data"]["csr"], "format": "pem_bundle", "ttl": "43800h"}),
    )
    .await?;
    let intermediate_pem = signed["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bundle = format!("{}\n{}", intermediate_pem.trim_end(), root_pem.trim_end());
    vault(
        server,
        t,
        Method::POST,
        "pki_int/intermediate/set-signed",
        json!({"certificate": bundle}),
    )
    .await?;
    vault(
        server,
        t,
        Method::POST,
        &format!("pki_int/roles/{role}"),
        role_body,
    )
    .await?;
    let policy = format!(
        "path \"pki_int/sign/{role}\" {{ capabilities = [\"create\", \"update\"] }}\npath \"pki_int/roles\" {{ capabilities = [\"list\"] }}\npath \"pki_int/roles/{role}\" {{ capabilities = [\"read\"] }}\npath \"sys/mounts\" {{ capabilities = [\"read\"] }}\n"
    );
    vault(
        server,
        t,
        Method::PUT,
        &format!("sys/policies/acl/{role}"),
        json!({"policy": policy}),
    )
    .await?;
    let tok = vault(
        server,
        t,
        Method::POST,
        "auth/token/create",
        json!({"policies": [role], "ttl": "1h"}),
    )
    .await?;
    let signer_token = tok["auth"]["client_token"]
        .as_str()
        .context("no client_token")?
        .to_string();
    Ok(Recipe {
        root_token: t.to_string(),
        signer_token,
        role: role.to_string(),
        root_pem,
        intermediate_pem,
    })
}
