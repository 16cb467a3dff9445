//! The engine's request and response, independent of HTTP: what the `/v1/*` layer hands
//! in and renders back in Vault's envelope.

use serde_json::{Map, Value};

use crate::engine::policy::Operation;

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
        Ok(Response::data(serde_json::json!({ "keys": keys })))
    }
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
