//! A Vault API endpoint under test, the same way for the embedded engine (our server)
//! and for the real OpenBao: its base URL, its root token, and one call helper that
//! answers status and JSON whatever the status (the differential and adversarial tables
//! compare failures too).

use serde_json::Value;

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

/// One answer: the status and the JSON body (`Null` when empty or not JSON; `text` has
/// the raw body).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
    /// `Location`, for redirects.
    pub location: Option<String>,
}

impl From<http::Response> for Reply {
    fn from(res: http::Response) -> Reply {
        let text = res.text();
        Reply {
            status: res.status.as_u16(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            location: res.header("location").map(String::from),
            text,
        }
    }
}

impl Reply {
    /// Vault's `errors` joined with "; " (empty when there are none).
    pub fn errors(&self) -> String {
        self.body["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.body["warnings"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

impl Target {
    /// Our server (embedded mode) with its root token.
    pub fn engine(server: &crate::Server) -> anyhow::Result<Target> {
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
        let res = http::vault_typed(method, &url, token, content_type, &body).await?;
        Ok(Reply::from(res))
    }

    /// As [`Target::call`] with the root token.
    pub async fn root(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Reply> {
        let token = self.root_token.clone();
        self.call(method, path, Some(&token), body).await
    }

    /// As [`Target::root`], failing unless the status is 2xx.
    pub async fn root_ok(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Reply> {
        let r = self.root(method.clone(), path, body).await?;
        if !(200..300).contains(&r.status) {
            anyhow::bail!("{} {method} {path}: {} {}", self.name(), r.status, r.text);
        }
        Ok(r)
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
