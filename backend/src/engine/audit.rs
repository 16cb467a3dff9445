//! The audit log: one JSON line per request and per response, like Vault's file audit
//! device. Tokens, accessors and every string value in request and response data are
//! replaced by `hmac-sha256:<hex>` under a per-installation salt, so the log can be
//! shared without leaking secrets yet still correlated by anyone holding the salt.
//! Like Vault, a request whose audit entry cannot be written fails. Refused requests
//! (permission denied, no or unknown token, no route) are logged too, and every entry
//! carries the client's `remote_address`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::engine::storage::Store;
use crate::engine::{Caller, EngineError, Request, Response};

pub struct Audit {
    file: Mutex<File>,
    salt: Vec<u8>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audit(..)")
    }
}

/// Response fields that are not secrets and stay readable, as in Vault's defaults.
const PLAIN_KEYS: &[&str] = &[
    "serial_number",
    "expiration",
    "issuer_id",
    "key_id",
    "revocation_time",
    "lease_duration",
    "renewable",
];

impl Audit {
    pub fn open(path: &Path, store: &Store) -> anyhow::Result<Audit> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot open audit log {}: {e}", path.display()))?;
        crate::engine::barrier::tighten(path).map_err(|e| {
            anyhow::anyhow!("cannot make audit log {} private: {e}", path.display())
        })?;
        let salt = match store.get::<String>("audit/salt")? {
            Some(s) => s.into_bytes(),
            None => {
                let s = crate::engine::uuid();
                store.put("audit/salt", &s)?;
                s.into_bytes()
            }
        };
        Ok(Audit {
            file: Mutex::new(file),
            salt,
        })
    }

    pub fn hmac(&self, value: &str) -> String {
        hmac_tag(&self.salt, value)
    }

    fn hash_value(&self, v: &Value, plain: bool) -> Value {
        match v {
            Value::String(s) if !plain => Value::String(self.hmac(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.hash_value(x, plain)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        (
                            k.clone(),
                            self.hash_value(x, plain || PLAIN_KEYS.contains(&k.as_str())),
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn auth_json(&self, caller: &Caller, req: &Request) -> Value {
        match &caller.token {
            Some(t) => json!({
                "client_token": req.token.as_deref().map(|t| self.hmac(t)),
                "accessor": self.hmac(&t.accessor),
                "display_name": t.display_name,
                "policies": t.policies,
                "token_policies": t.policies,
                "token_type": "service",
            }),
            None => json!({}),
        }
    }

    fn request_json(&self, req: &Request) -> Value {
        json!({
            "id": req.id,
            "operation": operation_name(req.operation),
            "path": req.path,
            "client_token": req.token.as_deref().map(|t| self.hmac(t)),
            "data": self.hash_value(&Value::Object(req.data.clone()), false),
            "remote_address": req.remote_addr,
            "namespace": { "id": "root" },
        })
    }

    fn write(&self, line: Value) -> Result<(), EngineError> {
        let mut text = line.to_string();
        text.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(text.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| {
                EngineError::Internal(format!("audit log write failed, request refused: {e}"))
            })
    }

    /// The `request` entry, before the handler runs; or, with `error`, the one entry of a
    /// request refused before it (no route, no or unknown token, ACL denial), as Vault
    /// logs a request that fails its checks.
    pub fn request(
        &self,
        caller: &Caller,
        req: &Request,
        error: Option<&EngineError>,
    ) -> Result<(), EngineError> {
        self.write(json!({
            "time": crate::engine::rfc3339(crate::engine::now()),
            "type": "request",
            "auth": self.auth_json(caller, req),
            "request": self.request_json(req),
            "error": error.map(ToString::to_string).unwrap_or_default(),
        }))
    }

    pub fn response(
        &self,
        caller: &Caller,
        req: &Request,
        result: &Result<Response, EngineError>,
    ) -> Result<(), EngineError> {
        let (response, error) = match result {
            Ok(r) => {
                let mut out = Map::new();
                if let Some(d) = &r.data {
                    out.insert("data".into(), self.hash_value(d, false));
                }
                if let Some(a) = &r.auth {
                    out.insert("auth".into(), self.hash_value(a, false));
                }
                if let Some(raw) = &r.raw {
                    out.insert("raw_content_type".into(), json!(raw.content_type));
                }
                if !r.warnings.is_empty() {
                    out.insert("warnings".into(), json!(r.warnings));
                }
                (Value::Object(out), String::new())
            }
            Err(e) => (json!({}), e.to_string()),
        };
        self.write(json!({
            "time": crate::engine::rfc3339(crate::engine::now()),
            "type": "response",
            "auth": self.auth_json(caller, req),
            "request": self.request_json(req),
            "response": response,
            "error": error,
        }))
    }
}

/// Vault's names for operations, as its audit log writes them.
pub fn operation_name(op: crate::engine::Operation) -> &'static str {
    use crate::engine::Operation::*;
    match op {
        Create => "create",
        Read => "read",
        Update => "update",
        Patch => "patch",
        Delete => "delete",
        List => "list",
    }
}

/// `hmac-sha256:<hex>` of `value` under `key`: how a secret (token, accessor) appears in
/// the audit log and the server's logs, as Vault prints its audit HMACs.
pub fn hmac_tag(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("hmac-sha256:{hex}")
}
