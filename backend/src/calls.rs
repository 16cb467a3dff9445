//! The server's own Vault API calls (sign-in's `lookup-self`, sign-out's `revoke-self`):
//! through the embedded engine or the upstream, the way `/v1/*` requests go, but with no
//! HTTP request, cookie or CSRF check around them. Also Vault's response envelope, which
//! `vault.rs` renders for the engine's answers too.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::engine::{self, Operation};
use crate::error::error;

/// One Vault API call for the server itself, through the path `/v1/*` uses: the engine,
/// or the upstream. Answers the status and JSON body (`null` for none), or the error
/// response to send when Vault could not be asked (upstream down, ...).
#[allow(clippy::result_large_err)]
pub async fn call(
    state: &AppState,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(StatusCode, Value), Response> {
    if let Some(upstream) = &state.upstream {
        return upstream.call(method, path, token, body).await;
    }
    let Some(engine) = state.engine.clone() else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            vec!["the embedded engine is not running".into()],
        ));
    };
    let operation = match method.as_str() {
        "GET" => Operation::Read,
        "LIST" => Operation::List,
        "DELETE" => Operation::Delete,
        _ => Operation::Update,
    };
    let data = match body {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let req = engine::Request {
        operation,
        path: path.to_string(),
        data,
        token: token.map(String::from),
        remote_addr: None,
        id: engine::uuid(),
    };
    match tokio::task::spawn_blocking(move || engine.handle(req)).await {
        Ok(Ok(r)) => Ok(json_answer(r)),
        Ok(Err(e)) => Ok((
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            crate::error::body(e.messages()),
        )),
        Err(join) => {
            tracing::error!(error = %join, "engine task failed");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec!["internal error".into()],
            ))
        }
    }
}

/// An engine answer as status and JSON, the way [`render`] would put it on the wire.
fn json_answer(r: engine::Response) -> (StatusCode, Value) {
    let status = match StatusCode::from_u16(r.status) {
        Ok(s) if r.status != 0 => s,
        _ => StatusCode::OK,
    };
    if r.raw.is_some() {
        return (StatusCode::OK, Value::Null);
    }
    if r.bare {
        return (status, r.data.unwrap_or(Value::Null));
    }
    if r.data.is_none() && r.auth.is_none() && r.warnings.is_empty() {
        return (StatusCode::NO_CONTENT, Value::Null);
    }
    (status, envelope(r.data, r.auth, r.warnings))
}

pub(crate) fn envelope(data: Option<Value>, auth: Option<Value>, warnings: Vec<String>) -> Value {
    json!({
        "request_id": engine::uuid(),
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) },
        "auth": auth,
        "mount_type": "",
    })
}
