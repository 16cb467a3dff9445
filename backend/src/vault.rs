//! `/v1/*`: the Vault HTTP API, answered by the embedded engine or forwarded to the
//! upstream Vault (`proxy.rs`). For the engine it turns an HTTP request into an engine
//! request (operation from the method, token from `X-Vault-Token`, `Authorization:
//! Bearer` or the session cookie, JSON body or query parameters as data) and renders the
//! engine's answer in Vault's envelope, status codes and `{"errors": [...]}`.
//!
//! [`call`] is the same path for the server's own use (sign-in checks a token with
//! `lookup-self` through it).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::engine::{self, Engine, EngineError, Operation};
use crate::session::{self, Credential};

pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                vec!["http: request body too large".into()],
            );
        }
        Err(rej) => return error(StatusCode::BAD_REQUEST, vec![rej.body_text()]),
    };
    let path = match api_path(&uri) {
        Ok(p) => p,
        Err(e) => return engine_error(&e),
    };
    let credential = match session::credential(&state, &method, &headers) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let res = if let Some(upstream) = &state.upstream {
        upstream
            .forward(method, &uri, &path, headers, &credential, body)
            .await
    } else if let Some(engine) = state.engine.clone() {
        embedded(engine, method, &uri, credential.token(), body).await
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            vec!["the embedded engine is not running".into()],
        )
    };
    match &credential {
        Credential::Cookie(s) => session::redact(res, &s.token),
        _ => res,
    }
}

async fn embedded(
    engine: Arc<Engine>,
    method: Method,
    uri: &Uri,
    token: Option<&str>,
    body: Bytes,
) -> Response {
    let query = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(q)) => q,
        Err(rej) => return error(StatusCode::BAD_REQUEST, vec![rej.body_text()]),
    };
    let req = match parse(&method, uri, token, query, &body) {
        Ok(r) => r,
        Err(e) => return engine_error(&e),
    };
    let head = method == Method::HEAD;
    let result = tokio::task::spawn_blocking(move || engine_handle(&engine, req)).await;
    let mut res = match result {
        Ok(Ok(r)) => render(r),
        Ok(Err(e)) => engine_error(&e),
        Err(join) => {
            tracing::error!(error = %join, "engine task failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec!["internal error".into()],
            )
        }
    };
    if head {
        *res.body_mut() = Body::empty();
    }
    res
}

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
    match tokio::task::spawn_blocking(move || engine_handle(&engine, req)).await {
        Ok(Ok(r)) => Ok(json_answer(r)),
        Ok(Err(e)) => Ok((
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            json!({ "errors": e.messages() }),
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

fn envelope(data: Option<Value>, auth: Option<Value>, warnings: Vec<String>) -> Value {
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

fn engine_handle(
    engine: &Arc<Engine>,
    req: engine::Request,
) -> Result<engine::Response, EngineError> {
    engine.handle(req)
}

/// The request path below `/v1/`, refusing anything that could step outside it.
pub fn api_path(uri: &Uri) -> Result<String, EngineError> {
    let raw = uri.path().strip_prefix("/v1").unwrap_or("");
    let decoded =
        percent_decode(raw).ok_or_else(|| EngineError::bad("invalid percent-encoding in path"))?;
    if decoded.split('/').any(|s| s == ".." || s == ".")
        || decoded.contains('\\')
        || decoded.contains('\0')
    {
        return Err(EngineError::bad(format!("invalid path \"{decoded}\"")));
    }
    Ok(decoded.trim_matches('/').to_string())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The token a client sent itself: `X-Vault-Token`, else `Authorization: Bearer`.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

fn parse(
    method: &Method,
    uri: &Uri,
    token: Option<&str>,
    query: Vec<(String, String)>,
    body: &Bytes,
) -> Result<engine::Request, EngineError> {
    let path = api_path(uri)?;
    let list_query = query.iter().any(|(k, v)| k == "list" && v == "true");
    let operation = match method.as_str() {
        "GET" | "HEAD" if list_query => Operation::List,
        "GET" | "HEAD" => Operation::Read,
        "LIST" => Operation::List,
        "POST" | "PUT" => Operation::Update,
        "PATCH" => Operation::Patch,
        "DELETE" => Operation::Delete,
        _ => return Err(EngineError::Unsupported),
    };
    let mut data = Map::new();
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    if has_body
        && matches!(
            operation,
            Operation::Update | Operation::Patch | Operation::Delete | Operation::List
        )
    {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => data = m,
            Ok(Value::Null) => {}
            Ok(_) => {
                return Err(EngineError::bad(
                    "failed to parse JSON input: the body must be a JSON object",
                ));
            }
            Err(e) => return Err(EngineError::bad(format!("failed to parse JSON input: {e}"))),
        }
    }
    if matches!(operation, Operation::Read | Operation::List) {
        for (k, v) in query {
            if k != "list" {
                data.insert(k, Value::String(v));
            }
        }
    }
    Ok(engine::Request {
        operation,
        path,
        data,
        token: token.map(String::from),
        remote_addr: None,
        id: engine::uuid(),
    })
}

fn render(r: engine::Response) -> Response {
    if let Some(raw) = r.raw {
        let mut res = Response::new(Body::from(raw.body));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(raw.content_type),
        );
        return res;
    }
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    if r.bare {
        let status = if r.status == 0 {
            StatusCode::OK
        } else {
            status
        };
        return (status, axum::Json(r.data.unwrap_or(Value::Null))).into_response();
    }
    if r.data.is_none() && r.auth.is_none() && r.warnings.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let body = envelope(r.data, r.auth, r.warnings);
    let status = if r.status == 0 {
        StatusCode::OK
    } else {
        status
    };
    (status, axum::Json(body)).into_response()
}

fn engine_error(e: &EngineError) -> Response {
    error(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.messages(),
    )
}

pub fn error(status: StatusCode, errors: Vec<String>) -> Response {
    (status, axum::Json(json!({ "errors": errors }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_v1() {
        let check = |p: &str, ok: Option<&str>| {
            let uri: Uri = p.parse().unwrap();
            assert_eq!(api_path(&uri).ok().as_deref(), ok, "{p}");
        };
        check("/v1/sys/health", Some("sys/health"));
        check("/v1/pki/ca/pem/", Some("pki/ca/pem"));
        check("/v1/../api/session", None);
        check("/v1/pki/%2e%2e/x", None);
        check("/v1/pki/%2E%2E/x", None);
        check("/v1/pki/./x", None);
        check("/v1/pki/%zz", None);
        check("/v1/pki/a%2Fb", Some("pki/a/b"));
    }
}
