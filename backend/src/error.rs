//! The server's one error type, answered in Vault's shape: `{"errors": ["..."]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use shared::api::ErrorBody;

/// Vault's error body, `{"errors": [...]}`, as JSON (for answers built as values).
pub fn body(errors: Vec<String>) -> Value {
    serde_json::to_value(ErrorBody { errors }).unwrap_or(Value::Null)
}

/// A response with `status` and Vault's error body.
pub fn error(status: StatusCode, errors: Vec<String>) -> Response {
    (status, Json(ErrorBody { errors })).into_response()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("permission denied")]
    PermissionDenied,
    #[error("{0}")]
    NotFound(String),
    #[error("unsupported operation")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PermissionDenied => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        // Vault answers an unknown path with an empty error list.
        let errors = match &self {
            ApiError::NotFound(m) if m.is_empty() => vec![],
            other => vec![other.to_string()],
        };
        error(status, errors)
    }
}
