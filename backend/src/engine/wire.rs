//! The engine's request and response, independent of HTTP: what the `/v1/*` layer hands
//! in and renders back in Vault's envelope.

use serde_json::{Map, Value};

/// What a request does, once the HTTP method (and for POST/PUT the existence check) is
/// mapped. Vault's renew/revoke/rollback operations are checked as `Update`; help is
/// always allowed and never reaches the ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
}

impl Operation {
    /// Vault's name for the operation (as in audit logs and capabilities).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend's special paths, as Vault's `logical.Paths` declares them: which paths it
/// serves without a token, and which need `sudo` besides the operation's own capability.
/// Each backend module declares its own; the engine's request path reads only this
/// declaration (the router knows no backend's paths).
#[derive(Debug, Clone, Copy)]
pub struct SpecialPaths {
    pub unauthenticated: &'static [PathRule],
    pub sudo: &'static [PathRule],
}

/// Paths, relative to the mount, and the operations a rule covers (empty: all).
/// A pattern's segments match literally, `+` matches any one segment, and a final `*`
/// matches the rest (one or more segments), as in Vault's path patterns.
#[derive(Debug, Clone, Copy)]
pub struct PathRule {
    pub patterns: &'static [&'static str],
    pub operations: &'static [Operation],
}

impl SpecialPaths {
    pub const NONE: SpecialPaths = SpecialPaths {
        unauthenticated: &[],
        sudo: &[],
    };

    pub fn unauthenticated(&self, rel: &str, op: Operation) -> bool {
        self.unauthenticated.iter().any(|r| r.matches(rel, op))
    }

    pub fn needs_sudo(&self, rel: &str, op: Operation) -> bool {
        self.sudo.iter().any(|r| r.matches(rel, op))
    }
}

impl PathRule {
    fn matches(&self, rel: &str, op: Operation) -> bool {
        (self.operations.is_empty() || self.operations.contains(&op))
            && self.patterns.iter().any(|p| path_matches(p, rel))
    }
}

fn path_matches(pattern: &str, rel: &str) -> bool {
    let mut path = rel.split('/');
    let mut segs = pattern.split('/').peekable();
    while let Some(seg) = segs.next() {
        if seg == "*" && segs.peek().is_none() {
            return path.next().is_some_and(|s| !s.is_empty());
        }
        match path.next() {
            Some(p) if seg == "+" && !p.is_empty() => {}
            Some(p) if p == seg => {}
            _ => return false,
        }
    }
    path.next().is_none()
}

#[derive(Debug, Clone)]
pub struct Request {
    pub operation: Operation,
    /// The path below `/v1/`, without leading or trailing slashes.
    pub path: String,
    /// The JSON body (writes) or the query parameters (reads and lists).
    pub data: Map<String, Value>,
    pub token: Option<String>,
    pub remote_addr: Option<String>,
    pub id: String,
}

/// Bytes answered as they are (`ca/pem`, `crl`, ...), outside the JSON envelope.
#[derive(Debug, Clone)]
pub struct Raw {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct Response {
    /// HTTP status; 0 means "200 with a body, 204 without".
    pub status: u16,
    pub data: Option<Value>,
    pub warnings: Vec<String>,
    pub auth: Option<Value>,
    pub raw: Option<Raw>,
    /// Answer `data` itself as the body, without the envelope (`sys/health`, ...).
    pub bare: bool,
}

impl Response {
    pub fn data(data: Value) -> Response {
        Response {
            data: Some(data),
            ..Default::default()
        }
    }

    pub fn empty() -> Response {
        Response::default()
    }

    /// `data` from one of `shared::api`'s wire types: the engine answers with the types
    /// its clients (the SPA, the tests, the server's own calls) read.
    pub fn typed<T: serde::Serialize>(data: &T) -> Result<Response, EngineError> {
        Ok(Response::data(to_value(data)?))
    }

    pub fn bare(status: u16, body: Value) -> Response {
        Response {
            status,
            data: Some(body),
            bare: true,
            ..Default::default()
        }
    }

    pub fn raw(content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            raw: Some(Raw { content_type, body }),
            ..Default::default()
        }
    }

    pub fn with_warning(mut self, w: impl Into<String>) -> Response {
        self.warnings.push(w.into());
        self
    }

    /// A LIST answer: Vault's `{"keys": [...]}`, or 404 with no errors when empty.
    pub fn list(keys: Vec<String>) -> Result<Response, EngineError> {
        if keys.is_empty() {
            return Err(EngineError::NotFound(String::new()));
        }
        Response::typed(&shared::api::KeyList { keys })
    }
}

/// A wire type as JSON (a failure would be a bug in a `Serialize` impl: answered 500).
pub fn to_value<T: serde::Serialize>(data: &T) -> Result<Value, EngineError> {
    serde_json::to_value(data)
        .map_err(|e| EngineError::Internal(format!("encoding the answer: {e}")))
}

/// Errors as Vault reports them: status code and the `errors` list.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    BadRequest(String),
    #[error("permission denied")]
    PermissionDenied,
    /// A valid token whose policies do not allow the request: `permission denied` in the
    /// audit log, and in the answer Go's multierror wording, as OpenBao words this one
    /// (a missing or unknown token is plain [`EngineError::PermissionDenied`]).
    #[error("permission denied")]
    AclDenied,
    /// 403 with the reason, as Vault's `CodedError(403, ...)` (an auth method's refusal).
    #[error("{0}")]
    Forbidden(String),
    /// Empty message: Vault's bare 404 (`{"errors":[]}`).
    #[error("{0}")]
    NotFound(String),
    #[error("unsupported operation")]
    Unsupported,
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    pub fn status(&self) -> u16 {
        match self {
            EngineError::BadRequest(_) => 400,
            EngineError::PermissionDenied | EngineError::AclDenied | EngineError::Forbidden(_) => {
                403
            }
            EngineError::NotFound(_) => 404,
            EngineError::Unsupported => 405,
            EngineError::Internal(_) => 500,
        }
    }

    pub fn messages(&self) -> Vec<String> {
        match self {
            EngineError::NotFound(m) if m.is_empty() => vec![],
            EngineError::AclDenied => vec!["1 error occurred:\n\t* permission denied\n\n".into()],
            e => vec![e.to_string()],
        }
    }

    pub fn bad(msg: impl Into<String>) -> EngineError {
        EngineError::BadRequest(msg.into())
    }

    pub fn no_route(path: &str) -> EngineError {
        EngineError::NotFound(format!(
            "no handler for route \"{path}\". route entry not found."
        ))
    }
}

impl From<crate::engine::storage::StorageError> for EngineError {
    fn from(e: crate::engine::storage::StorageError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

impl From<crate::engine::barrier::BarrierError> for EngineError {
    fn from(e: crate::engine::barrier::BarrierError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_path_patterns() {
        let cases = [
            ("ca", "ca", true),
            ("ca", "ca/pem", false),
            ("cert/+", "cert/1a-2b", true),
            ("cert/+", "cert", false),
            ("cert/+", "cert/1a/x", false),
            ("cert/+", "cert/", false),
            ("issuer/+/crl/pem", "issuer/default/crl/pem", true),
            ("auth/*", "auth/kubernetes", true),
            ("auth/*", "auth/kubernetes/x", true),
            ("auth/*", "auth", false),
            ("auth/*", "auth/", false),
            ("login", "login", true),
            ("login", "login/x", false),
        ];
        for (pattern, rel, want) in cases {
            assert_eq!(path_matches(pattern, rel), want, "{pattern} ~ {rel}");
        }
        let paths = SpecialPaths {
            unauthenticated: &[PathRule {
                patterns: &["ca"],
                operations: &[Operation::Read],
            }],
            sudo: &[PathRule {
                patterns: &["audit/*"],
                operations: &[],
            }],
        };
        assert!(paths.unauthenticated("ca", Operation::Read));
        assert!(!paths.unauthenticated("ca", Operation::Update));
        assert!(paths.needs_sudo("audit/file", Operation::List));
        assert!(!SpecialPaths::NONE.unauthenticated("ca", Operation::Read));
    }
}
