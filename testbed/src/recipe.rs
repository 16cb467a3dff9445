//! The recipe's PKI, set up through the Vault API of a running server (the engine, or a
//! Vault behind a console in upstream mode): root CA (`pki`), intermediate CA
//! (`pki_int`) signed by it, a role, a policy that allows signing with it, and a token
//! with only that policy. Used by the e2e tests and the proxy benchmark alike.

use anyhow::Context;
use serde_json::{Value, json};

use crate::http::{self, Method};
use crate::server::Server;
use crate::target::{Kind, Target};

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
    server.root_token()
}

/// One Vault API call to `server` with a token: the JSON body (`Null` when empty);
/// fails unless the status is 2xx.
pub async fn vault(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let what = format!("{method} {path}");
    let url = server.url(&format!("/v1/{path}"));
    Ok(http::call(method, &url, Some(token), body)
        .await?
        .ok(&what)?
        .body)
}

/// Builds the recipe with `role_body` as the role (e.g. allowed_domains, max_ttl).
pub async fn setup(server: &Server, role: &str, role_body: Value) -> anyhow::Result<Recipe> {
    setup_with(server, &server.root_token()?, role, role_body).await
}

/// As [`setup`], through `server` with the root token `t` (a console in upstream mode:
/// the Vault behind it has the root token, not the console's data directory).
pub async fn setup_with(
    server: &Server,
    t: &str,
    role: &str,
    role_body: Value,
) -> anyhow::Result<Recipe> {
    build(&Target::new(Kind::Engine, &server.base, t), role, role_body).await
}

/// The recipe on any Vault API, with the target's root token.
pub async fn build(target: &Target, role: &str, role_body: Value) -> anyhow::Result<Recipe> {
    let post = |path: String, body: Value| async move {
        Ok::<Value, anyhow::Error>(target.root_ok(Method::POST, &path, body).await?.body)
    };
    post(
        "sys/mounts/pki".into(),
        json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}}),
    )
    .await?;
    post(
        "sys/mounts/pki_int".into(),
        json!({"type": "pki", "config": {"max_lease_ttl": "43800h"}}),
    )
    .await?;
    let root = post(
        "pki/root/generate/internal".into(),
        json!({"common_name": "testlab.local Root CA", "ttl": "87600h", "key_type": "ec", "key_bits": 384}),
    )
    .await?;
    let root_pem = root["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let csr = post(
        "pki_int/intermediate/generate/internal".into(),
        json!({"common_name": "testlab.local Intermediate CA", "key_type": "ec"}),
    )
    .await?;
    let signed = post(
        "pki/root/sign-intermediate".into(),
        json!({"csr": csr["data"]["csr"], "format": "pem_bundle", "ttl": "43800h"}),
    )
    .await?;
    let intermediate_pem = signed["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bundle = format!("{}\n{}", intermediate_pem.trim_end(), root_pem.trim_end());
    post(
        "pki_int/intermediate/set-signed".into(),
        json!({"certificate": bundle}),
    )
    .await?;
    post(format!("pki_int/roles/{role}"), role_body).await?;
    let policy = format!(
        "path \"pki_int/sign/{role}\" {{ capabilities = [\"create\", \"update\"] }}\npath \"pki_int/roles\" {{ capabilities = [\"list\"] }}\npath \"pki_int/roles/{role}\" {{ capabilities = [\"read\"] }}\npath \"sys/mounts\" {{ capabilities = [\"read\"] }}\n"
    );
    target.policy(role, &policy).await?;
    let signer_token = target
        .token_with(&[role], Value::Null)
        .await
        .context("the signer token")?;
    Ok(Recipe {
        root_token: target.root_token.clone(),
        signer_token,
        role: role.to_string(),
        root_pem,
        intermediate_pem,
    })
}

/// A fresh P-256 key's CSR for `common_name` (with it as DNS SAN), as PEM.
pub fn csr_pem(common_name: &str) -> anyhow::Result<String> {
    use shared::pki::{cert, csr, key};
    let k = key::PrivateKey::generate(key::KeyType::Ec, 256)?;
    let subject = cert::Subject::with_common_name(common_name);
    let sans = cert::Sans {
        dns: vec![common_name.to_string()],
        ..Default::default()
    };
    Ok(csr::build_csr(&k, &subject, &sans, &Default::default())?)
}

/// What one `<mount>/issue/<role>` answered that the index tests compare.
#[derive(Debug, Clone)]
pub struct Issued {
    pub serial: String,
    /// `expiration`, Unix seconds.
    pub not_after: i64,
}

/// Issues a certificate for `cn` (and the comma-separated `alt` names, if any) with the
/// root token through `pki_int/issue/<role>`.
pub async fn issue(
    target: &Target,
    role: &str,
    cn: &str,
    alt: &str,
    ttl: &str,
) -> anyhow::Result<Issued> {
    let mut body = json!({"common_name": cn, "ttl": ttl});
    if !alt.is_empty() {
        body["alt_names"] = json!(alt);
    }
    let r = target
        .root_ok(Method::POST, &format!("pki_int/issue/{role}"), body)
        .await
        .with_context(|| format!("issue {cn}"))?;
    let d = r.data();
    Ok(Issued {
        serial: d["serial_number"].as_str().unwrap_or_default().into(),
        not_after: d["expiration"].as_i64().unwrap_or_default(),
    })
}
