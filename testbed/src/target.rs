//! A Vault API endpoint under test, the same way for the embedded engine (our server)
//! and for the real OpenBao: its base URL, its root token, and one call helper that
//! answers status and JSON whatever the status (the differential and adversarial tables
//! compare failures too).
//! [`Target::new`] is any Vault API at a base URL with a token (the recipe builds on it).

use serde_json::Value;

pub use crate::http::Reply;
use crate::http::{self, Method};

/// Which server a [`Target`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our server, embedded mode.
    Engine,
    /// OpenBao 2.7.2 from the test bed.
    OpenBao,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    /// `http://127.0.0.1:<port>`, without `/v1`.
    pub base: String,
    pub root_token: String,
}

impl Target {
    /// A Vault API at `base` (without `/v1`) with `root_token`.
    pub fn new(kind: Kind, base: &str, root_token: &str) -> Target {
        Target {
            kind,
            base: base.to_string(),
            root_token: root_token.to_string(),
        }
    }

    /// Our server (embedded mode) with its root token.
    pub fn engine(server: &crate::server::Server) -> anyhow::Result<Target> {
        Ok(Target {
            kind: Kind::Engine,
            base: server.base.clone(),
            root_token: server.root_token()?,
        })
    }

    /// A dev OpenBao with its root token.
    pub fn openbao(bao: &crate::openbao::OpenBao) -> Target {
        Target {
            kind: Kind::OpenBao,
            base: bao.addr.clone(),
            root_token: bao.root_token.clone(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Engine => "engine",
            Kind::OpenBao => "openbao",
        }
    }

    /// `method /v1/<path>` with `token` (none when `None`) and a JSON body (none when
    /// `Null`). Never fails on a status; fails only when the server cannot be reached.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Reply> {
        let path = path.trim_start_matches('/');
        self.call_typed(method, path, token, "application/json", body)
            .await
    }

    /// As [`Target::call`] with a chosen `Content-Type`, and `path` taken as given.
    pub async fn call_typed(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Value,
    ) -> anyhow::Result<Reply> {
        let url = format!("{}/v1/{path}", self.base);
        Ok(http::vault_typed(method, &url, token, content_type, &body)
            .await?
            .into())
    }

    /// As [`Target::call`] with the root token.
    pub async fn root(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Reply> {
        let token = self.root_token.clone();
        self.call(method, path, Some(&token), body).await
    }

    /// As [`Target::root`], failing unless the status is 2xx.
    pub async fn root_ok(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Reply> {
        let what = format!("{} {method} {path}", self.name());
        self.root(method, path, body).await?.ok(&what)
    }

    /// A token with exactly these policies (plus `default`), from the root token.
    pub async fn token_with(&self, policies: &[&str], extra: Value) -> anyhow::Result<String> {
        let mut body = serde_json::json!({"policies": policies, "ttl": "1h"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let r = self
            .root_ok(Method::POST, "auth/token/create", body)
            .await?;
        r.body["auth"]["client_token"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow::anyhow!("{}: no client_token in {}", self.name(), r.text))
    }

    /// Writes an ACL policy with the root token.
    pub async fn policy(&self, name: &str, hcl: &str) -> anyhow::Result<()> {
        self.root_ok(
            Method::PUT,
            &format!("sys/policies/acl/{name}"),
            serde_json::json!({ "policy": hcl }),
        )
        .await?;
        Ok(())
    }
}
