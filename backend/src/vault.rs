//! `/v1/*`: the Vault HTTP API, answered by the embedded engine or forwarded to the
//! upstream Vault (`proxy.rs`). For the engine it turns an HTTP request into an engine
//! request (operation from the method, token from `X-Vault-Token`, `Authorization:
//! Bearer` or the session cookie, JSON body or query parameters as data) and renders the
//! engine's answer in Vault's envelope, status codes and `{"errors": [...]}`.
//!
//! The server's own calls (sign-in's `lookup-self`) take the same path through
//! `calls.rs`, which knows nothing of HTTP requests or cookies.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::AppState;
use crate::calls;
use crate::engine::{self, Engine, EngineError, Operation};
use crate::error::error;
use crate::session::{self, Credential};

pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // The one normalisation, before anything looks at the path (credential, ACL, router,
    // upstream): an unclean path is redirected, a bad one refused.
    let path = match api_path(&uri) {
        Ok(ApiPath::Path(p)) => p,
        Ok(ApiPath::Redirect(location)) => return redirect(&location),
        Err(e) => return engine_error(&e),
    };
    if matches!(method, Method::POST | Method::PUT | Method::PATCH) && ends_with_slash(&uri) {
        return error(
            StatusCode::BAD_REQUEST,
            vec!["cannot write to a path ending in '/'".into()],
        );
    }
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
    let credential = match session::credential(&state, &method, &headers) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let res = if let Some(upstream) = &state.upstream {
        upstream
            .forward(method, &uri, &path, headers, &credential, body)
            .await
    } else if let Some(engine) = state.engine.clone() {
        if method == Method::PATCH
            && let Some(refused) = patch_content_type(&headers)
        {
            return refused;
        }
        let remote = peer.map(|Extension(ConnectInfo(addr))| addr.ip().to_string());
        embedded(engine, method, &uri, path, credential.token(), remote, body).await
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

/// OpenBao's refusal of a PATCH whose body is not declared a JSON merge patch (RFC 7396,
/// what the Vault CLI and hvac send): 415, before the request is routed.
fn patch_content_type(headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = given.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/merge-patch+json") {
        return None;
    }
    Some(error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        vec![format!(
            "PATCH requires Content-Type of application/merge-patch+json, provided {given}"
        )],
    ))
}

/// OpenBao's answer to an unclean path (its HTTP mux cleans `//`, `/./` and `/../`
/// before Vault's handler runs): 307 to the clean path, query kept, same method and body.
fn redirect(location: &str) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return error(StatusCode::BAD_REQUEST, vec!["invalid path".into()]);
    };
    let href: String = location
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&#34;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let mut res = Response::new(Body::from(format!(
        "<a href=\"{href}\">Temporary Redirect</a>.\n\n"
    )));
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    res.headers_mut().insert(header::LOCATION, value);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

async fn embedded(
    engine: Arc<Engine>,
    method: Method,
    uri: &Uri,
    path: String,
    token: Option<&str>,
    remote_addr: Option<String>,
    body: Bytes,
) -> Response {
    let query = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(q)) => q,
        Err(rej) => return error(StatusCode::BAD_REQUEST, vec![rej.body_text()]),
    };
    let mut req = match parse(&method, path, token, query, &body) {
        Ok(r) => r,
        Err(e) => return engine_error(&e),
    };
    req.remote_addr = remote_addr;
    let head = method == Method::HEAD;
    let result = tokio::task::spawn_blocking(move || engine.handle(req)).await;
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

/// What the one normalisation of a `/v1/...` request path decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiPath {
    /// The path below `/v1/`, percent-decoded, without leading or trailing `/`: the one
    /// string the credential check, the ACL, the router and the upstream all see.
    Path(String),
    /// The path as sent is not clean (`//`, `/./`, `/../`): answer 307 to this location
    /// (the clean path and the query), as OpenBao does; the redirected request is then
    /// checked as usual.
    Redirect(String),
}

/// The single place request paths are normalised, Vault's way: first the path as sent
/// (still percent-encoded) is cleaned like Go's `path.Clean` (keeping a trailing `/`) and,
/// when that changes it, redirected ([`ApiPath::Redirect`]; a path that would leave
/// `/v1/` is refused). Then it is decoded: a decoded `.`/`..` segment is refused with
/// Vault's "relative paths not supported", a backslash or NUL as an invalid path, and an
/// empty segment (from `%2F%2F`) finds no route; a trailing `/` is dropped.
pub fn api_path(uri: &Uri) -> Result<ApiPath, EngineError> {
    let raw = uri.path();
    let clean = clean_path(raw);
    if clean != raw {
        if clean != "/v1" && !clean.starts_with("/v1/") {
            return Err(EngineError::bad(engine::RELATIVE_PATH));
        }
        return Ok(ApiPath::Redirect(match uri.query() {
            Some(q) => format!("{clean}?{q}"),
            None => clean,
        }));
    }
    let rest = raw.strip_prefix("/v1").unwrap_or("");
    let decoded =
        percent_decode(rest).ok_or_else(|| EngineError::bad("invalid percent-encoding in path"))?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return Err(EngineError::bad(format!(
            "invalid path {:?}: backslashes and NUL are refused",
            decoded
        )));
    }
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let path = path.trim_end_matches('/');
    engine::check_canonical(path)?;
    Ok(ApiPath::Path(lower_policy_name(path)))
}

/// Policy names are case-insensitive (stored lower-cased), so OpenBao lower-cases the name
/// in `sys/policies/acl/<name>` and `sys/policy/<name>` before the ACL sees the path: a
/// rule on one spelling then covers every spelling (`.../ADMIN` cannot dodge a deny on
/// `.../admin`).
fn lower_policy_name(path: &str) -> String {
    for prefix in ["sys/policies/acl/", "sys/policy/"] {
        if let Some(name) = path.strip_prefix(prefix) {
            return format!("{prefix}{}", name.to_lowercase());
        }
    }
    path.to_string()
}

/// Whether the path as sent ends in `/`, literally or percent-encoded (Vault refuses
/// writes there; [`api_path`] drops the slash for everything else).
fn ends_with_slash(uri: &Uri) -> bool {
    let raw = uri.path();
    raw.ends_with('/') || raw.len() >= 3 && raw[raw.len() - 3..].eq_ignore_ascii_case("%2f")
}

/// Go's `path.Clean` on an absolute path, keeping a trailing `/` as Go's HTTP mux does.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in p.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut clean = format!("/{}", out.join("/"));
    if p.ends_with('/') && clean != "/" {
        clean.push('/');
    }
    clean
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

fn parse(
    method: &Method,
    path: String,
    token: Option<&str>,
    query: Vec<(String, String)>,
    body: &Bytes,
) -> Result<engine::Request, EngineError> {
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
    let body = calls::envelope(r.data, r.auth, r.warnings);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_normalisation_of_request_paths() {
        let check = |p: &str, expected: Result<ApiPath, &str>| {
            let uri: Uri = p.parse().unwrap();
            let got = api_path(&uri).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(String::from), "{p}");
        };
        let path = |s: &str| Ok(ApiPath::Path(s.into()));
        let redirect = |s: &str| Ok(ApiPath::Redirect(s.into()));
        check("/v1/sys/health", path("sys/health"));
        check("/v1/pki/ca/pem/", path("pki/ca/pem"));
        check("/v1", path(""));
        check("/v1/pki/a%2Fb", path("pki/a/b"));
        check("/v1/sys/policies/acl/Admin", path("sys/policies/acl/admin"));
        check("/v1/sys/policy/ADMIN", path("sys/policy/admin"));
        check("/v1/PKI/roles/Web", path("PKI/roles/Web"));
        // Unclean as sent: redirected to the clean path, query kept (OpenBao's 307).
        check(
            "/v1/sys//policies/acl/x",
            redirect("/v1/sys/policies/acl/x"),
        );
        check("/v1//sys/health?a=b", redirect("/v1/sys/health?a=b"));
        check("/v1/auth/token//create", redirect("/v1/auth/token/create"));
        check("/v1/pki/./x", redirect("/v1/pki/x"));
        check("/v1/pki/a/../x/", redirect("/v1/pki/x/"));
        check("/v1/sys/health//", redirect("/v1/sys/health/"));
        // Redirected out of /v1/: refused.
        check("/v1/../api/session", Err(engine::RELATIVE_PATH));
        // Decoded dot segments, backslashes, NUL, bad escapes: refused.
        check("/v1/pki/%2e%2e/x", Err(engine::RELATIVE_PATH));
        check("/v1/pki/%2E/x", Err(engine::RELATIVE_PATH));
        check("/v1/pki/%2E%2E", Err(engine::RELATIVE_PATH));
        assert!(api_path(&"/v1/pki/%zz".parse().unwrap()).is_err());
        assert!(api_path(&"/v1/pki/a%5Cb".parse().unwrap()).is_err());
        assert!(api_path(&"/v1/pki/a%00b".parse().unwrap()).is_err());
        // Encoded empty segments find no route (the router never strips them).
        check(
            "/v1/sys%2F%2Fpolicies/acl/x",
            Err("no handler for route \"sys//policies/acl/x\". route entry not found."),
        );
        check(
            "/v1/%2Fsys/health",
            Err("no handler for route \"/sys/health\". route entry not found."),
        );
    }
}
