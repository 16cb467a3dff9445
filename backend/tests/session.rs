//! Handler tests for console sessions and the upstream proxy through `app(..).oneshot(..)`:
//! sign-in, the sealed cookie, CSRF, redaction of the session's token, and what the proxy
//! forwards (against a small fake Vault on a loopback port, which records what it saw).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use backend::config::Config;
use backend::{AppState, routes};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: String,
}

impl Answer {
    fn set_cookie(&self) -> Option<&str> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
    }

    /// `name=value` of the session cookie this answer sets.
    fn cookie_pair(&self) -> String {
        self.set_cookie()
            .expect("a Set-Cookie header")
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }
}

async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn embedded() -> (axum::Router, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data"));
    let state = AppState::new(config).unwrap();
    let root = std::fs::read_to_string(dir.path().join("data/root-token"))
        .unwrap()
        .trim()
        .to_string();
    (routes::app(state), root, dir)
}

#[tokio::test]
async fn sign_in_cookie_csrf_and_sign_out_in_embedded_mode() {
    let (app, root, dir) = embedded();
    // The sealing key is kept beside the engine's files, readable by its owner only.
    let key_file = dir.path().join("data/session-key");
    assert!(key_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Not signed in is an answer, not an error.
    let a = send(&app, "GET", "/api/session", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["signed_in"], false);
    assert_eq!(a.body["mode"], "embedded");

    // A wrong token is refused, with no cookie.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"token": "hvs.wrong"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.raw);
    assert!(
        a.body["errors"][0]
            .as_str()
            .unwrap()
            .contains("does not accept this token")
    );
    assert!(a.set_cookie().is_none());

    // The root token signs in.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"token": root})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert!(
        !a.raw.contains(&root),
        "the answer holds the token: {}",
        a.raw
    );
    let set = a.set_cookie().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    assert!(!set.contains(&root), "the cookie shows the token: {set}");
    assert_eq!(a.body["display_name"], "root");
    assert_eq!(a.body["policies"], json!(["root"]));
    let csrf = a.body["csrf_token"].as_str().unwrap().to_string();
    let cookie = a.cookie_pair();

    // GET /api/session reads the cookie.
    let a = send(&app, "GET", "/api/session", &[("cookie", &cookie)], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["signed_in"], true);
    assert_eq!(a.body["csrf_token"], csrf.as_str());
    assert!(a.body["accessor"].as_str().unwrap().len() > 8);
    assert!(!a.raw.contains(&root));

    // Reads with the cookie need no CSRF token; the session's token never comes back.
    let a = send(
        &app,
        "GET",
        "/v1/auth/token/lookup-self",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["data"]["display_name"], "root");
    assert!(
        !a.raw.contains(&root),
        "lookup-self echoed the token: {}",
        a.raw
    );
    assert!(
        a.body["data"]["id"].as_str().unwrap().contains("redacted"),
        "{}",
        a.raw
    );

    // Writes (and LIST) with the cookie need the CSRF token.
    let policy = json!({"policy": "path \"x/*\" { capabilities = [\"read\"] }"});
    for (method, path) in [
        ("POST", "/v1/sys/policy/p1"),
        ("PUT", "/v1/sys/policy/p1"),
        ("DELETE", "/v1/sys/policy/p1"),
        ("LIST", "/v1/sys/policy"),
        ("PATCH", "/v1/sys/policy/p1"),
    ] {
        for bad in [None, Some("AAAA"), Some("")] {
            let mut h = vec![("cookie", cookie.as_str()), JSON];
            if let Some(b) = bad {
                h.push(("x-csrf-token", b));
            }
            let a = send(&app, method, path, &h, Some(policy.clone())).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} {bad:?}");
            assert_eq!(a.body, json!({"errors": ["missing or invalid CSRF token"]}));
        }
    }
    let a = send(
        &app,
        "POST",
        "/v1/sys/policy/p1",
        &[("cookie", &cookie), ("x-csrf-token", &csrf), JSON],
        Some(policy.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);

    // X-Vault-Token passes without cookie or CSRF token.
    let a = send(
        &app,
        "POST",
        "/v1/sys/policy/p2",
        &[("x-vault-token", &root), JSON],
        Some(policy),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);

    // A tampered cookie is 401 and cleared.
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let a = send(
        &app,
        "GET",
        "/v1/sys/mounts",
        &[("cookie", &tampered)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(
        a.body["errors"][0]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
    assert!(a.set_cookie().unwrap().contains("Max-Age=0"));
    // ... and GET /api/session says "not signed in" (a 200, so the SPA logs no error).
    let a = send(&app, "GET", "/api/session", &[("cookie", &tampered)], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["signed_in"], false);

    // Sign-out needs the CSRF token too, then clears the cookie.
    let a = send(&app, "DELETE", "/api/session", &[("cookie", &cookie)], None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &app,
        "DELETE",
        "/api/session",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.set_cookie().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn sign_in_refuses_other_sites_and_bad_bodies() {
    let (app, root, _dir) = embedded();
    let body = json!({"token": root});
    let cases: [(&[(&str, &str)], StatusCode); 5] = [
        (&[], StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            &[("content-type", "text/plain")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            &[JSON, ("sec-fetch-site", "same-site")],
            StatusCode::FORBIDDEN,
        ),
        (
            &[JSON, ("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
        ),
        (
            &[
                JSON,
                ("sec-fetch-site", "same-origin"),
                // Behind a proxy that rewrites Host, Origin differs: still this site.
                ("origin", "https://console.example"),
                ("host", "127.0.0.1:8210"),
            ],
            StatusCode::OK,
        ),
    ];
    for (headers, want) in cases {
        let a = send(&app, "POST", "/api/session", headers, Some(body.clone())).await;
        assert_eq!(a.status, want, "{headers:?}: {}", a.raw);
        if want != StatusCode::OK {
            assert!(
                a.body["errors"].as_array().is_some_and(|e| !e.is_empty()),
                "{}",
                a.raw
            );
            assert!(a.set_cookie().is_none());
        }
    }
    for bad in [
        json!({}),
        json!({"token": ""}),
        json!({"token": "with space"}),
        json!({"token": root, "username": "a", "password": "b"}),
        json!({"username": "alice"}),
        json!({"username": "../x", "password": "pw"}),
        json!({"tokens": root}),
    ] {
        let a = send(&app, "POST", "/api/session", &[JSON], Some(bad.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.raw);
    }
    // Userpass is not part of the embedded engine: a clear refusal.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"username": "alice", "password": "pw"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
    let msg = a.body["errors"][0].as_str().unwrap();
    assert!(msg.contains("embedded engine has no userpass"), "{msg}");
    // Other methods: 405 in Vault's shape.
    let a = send(&app, "PUT", "/api/session", &[JSON], Some(body)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.body["errors"].is_array());
}

#[tokio::test]
async fn a_session_ends_with_a_short_lived_token() {
    let (app, root, _dir) = embedded();
    let created = send(
        &app,
        "POST",
        "/v1/auth/token/create",
        &[("x-vault-token", &root), JSON],
        Some(json!({"policies": ["default"], "ttl": "90s"})),
    )
    .await;
    let token = created.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let set = a.set_cookie().unwrap();
    let max_age: i64 = set
        .split("; ")
        .find_map(|p| p.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((85..=90).contains(&max_age), "{set}");
    assert!(a.body["ttl"].as_i64().unwrap() <= 90);
    assert!(a.body["expire_time"].is_string());
    assert_eq!(a.body["policies"], json!(["default"]));
    // Revoking the token ends the session: GET /api/session says so and clears it.
    let cookie = a.cookie_pair();
    let r = send(
        &app,
        "POST",
        "/v1/auth/token/revoke",
        &[("x-vault-token", &root), JSON],
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    let a = send(&app, "GET", "/api/session", &[("cookie", &cookie)], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["signed_in"], false);
    assert!(
        a.body["reason"]
            .as_str()
            .unwrap()
            .contains("no longer accepts")
    );
    assert!(a.set_cookie().unwrap().contains("Max-Age=0"));
}

// ----------------------------------------------------------------------------------------
// Upstream mode against a fake Vault

/// What the fake Vault saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: String,
}

async fn fake_vault() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: AxumRequest| {
        let log = log.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = String::from_utf8_lossy(&body.collect().await.unwrap().to_bytes()).into_owned();
            log.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts.headers.clone(),
                body: body.clone(),
            });
            let token = parts.headers.get("x-vault-token").and_then(|v| v.to_str().ok());
            match (parts.method.as_str(), parts.uri.path()) {
                ("POST", "/v1/auth/userpass/login/alice") => {
                    if body.contains("\"pw\"") {
                        axum::Json(json!({"auth": {"client_token": "hvs.alice-token", "policies": ["default"]}})).into_response()
                    } else {
                        (StatusCode::BAD_REQUEST, axum::Json(json!({"errors": ["invalid username or password"]}))).into_response()
                    }
                }
                ("GET", "/v1/auth/token/lookup-self") if token == Some("hvs.alice-token") => axum::Json(json!({
                    "data": {"display_name": "userpass-alice", "policies": ["default", "dev"], "ttl": 3600,
                             "expire_time": null, "accessor": "acc-alice", "id": "hvs.alice-token"}
                }))
                .into_response(),
                ("GET", "/v1/auth/token/lookup-self") => {
                    (StatusCode::FORBIDDEN, axum::Json(json!({"errors": ["permission denied"]}))).into_response()
                }
                _ => (
                    [(header::SET_COOKIE, "pki_console_session=from-upstream; Path=/"), (header::CONNECTION, "x-secret-hop"), (header::HeaderName::from_static("x-secret-hop"), "1")],
                    axum::Json(json!({"data": {"echo": parts.uri.to_string(), "token": token}})),
                )
                    .into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn upstream(addr: &str, namespace: Option<&str>) -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data"));
    config.vault_addr = Some(addr.to_string());
    config.vault_namespace = namespace.map(String::from);
    let state = AppState::new(config).unwrap();
    assert!(state.engine.is_none());
    (routes::app(state), dir)
}

#[tokio::test]
async fn upstream_mode_forwards_what_vault_needs_and_nothing_of_the_console() {
    let (addr, seen) = fake_vault().await;
    let (app, dir) = upstream(&addr, Some("team-a"));
    assert!(
        !dir.path().join("data").exists(),
        "upstream mode opened a data directory"
    );

    let a = send(&app, "GET", "/healthz", &[], None).await;
    assert_eq!(a.body["mode"], "upstream");

    // Userpass sign-in: login upstream, then lookup-self with the token it returned.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"username": "alice", "password": "wrong"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.raw);
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"username": "alice", "password": "pw"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["display_name"], "userpass-alice");
    assert_eq!(a.body["mode"], "upstream");
    assert!(!a.raw.contains("hvs.alice-token"));
    let cookie = a.cookie_pair();
    let csrf = a.body["csrf_token"].as_str().unwrap().to_string();
    {
        let log = seen.lock().unwrap();
        let login = log
            .iter()
            .find(|s| s.uri.contains("userpass/login"))
            .unwrap();
        assert_eq!(login.headers["x-vault-namespace"], "team-a");
        let lookup = log
            .iter()
            .rev()
            .find(|s| s.uri.contains("lookup-self"))
            .unwrap();
        assert_eq!(lookup.headers["x-vault-token"], "hvs.alice-token");
    }

    // A cookie LIST: the session's token goes upstream, the console's headers do not.
    seen.lock().unwrap().clear();
    let a = send(
        &app,
        "LIST",
        "/v1/pki/roles/?x=1",
        &[
            ("cookie", &format!("other=1; {cookie}")),
            ("x-csrf-token", &csrf),
            ("connection", "keep-alive, x-drop-me"),
            ("x-drop-me", "1"),
            ("x-vault-request", "true"),
        ],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    // The session's token is echoed by the fake Vault, and redacted on the way back.
    assert!(!a.raw.contains("hvs.alice-token"), "{}", a.raw);
    assert!(
        a.headers.get(header::SET_COOKIE).is_none(),
        "the upstream set a cookie"
    );
    assert!(
        a.headers.get("x-secret-hop").is_none(),
        "a hop-by-hop header passed"
    );
    assert!(a.headers.get("content-security-policy").is_some());
    let s = seen.lock().unwrap()[0].clone();
    assert_eq!(s.method, "LIST");
    assert_eq!(s.uri, "/v1/pki/roles/?x=1");
    assert_eq!(s.headers["x-vault-token"], "hvs.alice-token");
    assert_eq!(s.headers["x-vault-namespace"], "team-a");
    assert_eq!(s.headers["x-vault-request"], "true");
    for gone in ["cookie", "x-csrf-token", "x-drop-me"] {
        assert!(s.headers.get(gone).is_none(), "{gone} was forwarded");
    }

    // A client with its own token and namespace: both pass as they are.
    seen.lock().unwrap().clear();
    let a = send(
        &app,
        "POST",
        "/v1/pki/sign/web",
        &[
            ("x-vault-token", "hvs.cli"),
            ("x-vault-namespace", "team-b"),
            JSON,
        ],
        Some(json!({"csr": "x"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body["data"]["token"], "hvs.cli",
        "a client's own token is not redacted"
    );
    let s = seen.lock().unwrap()[0].clone();
    assert_eq!(s.headers["x-vault-token"], "hvs.cli");
    assert_eq!(s.headers["x-vault-namespace"], "team-b");
    assert_eq!(s.body, json!({"csr": "x"}).to_string());

    // Encoded names are decoded once and re-encoded; dot segments never leave.
    seen.lock().unwrap().clear();
    let a = send(&app, "GET", "/v1/kv/a%20b", &[("x-vault-token", "t")], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(seen.lock().unwrap()[0].uri, "/v1/kv/a%20b");
    for escape in [
        "/v1/../api/session",
        "/v1/%2e%2e/api/session",
        "/v1/..%2fapi/session",
        "/v1/pki/%2E%2E/%2E%2E/x",
    ] {
        let a = send(&app, "GET", escape, &[("x-vault-token", "t")], None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{escape}: {}", a.raw);
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "an escaping path reached the upstream"
    );

    // A token the upstream refuses: 401, no cookie.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"token": "hvs.nope"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.set_cookie().is_none());
}

#[tokio::test]
async fn upstream_mode_without_a_reachable_vault_is_a_502_naming_it() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("http://127.0.0.1:{port}");
    let (app, _dir) = upstream(&addr, None);
    let a = send(&app, "GET", "/v1/sys/health", &[], None).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{}", a.raw);
    let msg = a.body["errors"][0].as_str().unwrap();
    assert!(msg.contains(&addr), "{msg}");
    // Sign-in cannot check the token either, and says why.
    let a = send(
        &app,
        "POST",
        "/api/session",
        &[JSON],
        Some(json!({"token": "hvs.x"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{}", a.raw);
    assert!(a.set_cookie().is_none());
}

/// Signs in with `body` and answers (cookie pair, CSRF token).
async fn sign_in(app: &axum::Router, body: Value) -> (String, String) {
    let a = send(app, "POST", "/api/session", &[JSON], Some(body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    (
        a.cookie_pair(),
        a.body["csrf_token"].as_str().unwrap().to_string(),
    )
}

async fn sign_out(app: &axum::Router, cookie: &str, csrf: &str) {
    let a = send(
        app,
        "DELETE",
        "/api/session",
        &[("cookie", cookie), ("x-csrf-token", csrf)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert!(a.set_cookie().unwrap().contains("Max-Age=0"));
}

/// Captures what the server logs, for the duration of a (current-thread) test.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_signed_out_cookie_is_refused_at_once_here_and_on_another_server() {
    let (app, root, dir) = embedded();
    // A second server on the same data directory (and so the same session key).
    let other = routes::app(AppState::new(Config::for_tests(dir.path().join("data"))).unwrap());
    let (cookie, csrf) = sign_in(&app, json!({"token": root})).await;
    for a in [&app, &other] {
        let r = send(a, "GET", "/v1/sys/mounts", &[("cookie", &cookie)], None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    }
    // A second session of the same token is not touched by the sign-out of the first.
    let (cookie2, _) = sign_in(&app, json!({"token": root})).await;

    sign_out(&app, &cookie, &csrf).await;

    for a in [&app, &other] {
        let r = send(a, "GET", "/v1/sys/mounts", &[("cookie", &cookie)], None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);
        assert!(r.raw.contains("signed out"), "{}", r.raw);
        assert!(r.set_cookie().unwrap().contains("Max-Age=0"));
        let r = send(a, "GET", "/api/session", &[("cookie", &cookie)], None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["signed_in"], false, "{}", r.raw);
        let r = send(
            a,
            "POST",
            "/v1/sys/policy/after-sign-out",
            &[("cookie", &cookie), ("x-csrf-token", &csrf), JSON],
            Some(json!({"policy": "path \"x\" { capabilities = [\"read\"] }"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);
        let r = send(a, "GET", "/v1/sys/mounts", &[("cookie", &cookie2)], None).await;
        assert_eq!(r.status, StatusCode::OK, "the other session: {}", r.raw);
    }
    // The token itself was the user's: still valid.
    let r = send(
        &app,
        "GET",
        "/v1/auth/token/lookup-self",
        &[("x-vault-token", &root)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // The revocation outlives the process: a server started afterwards refuses it too.
    drop(other);
    let third = routes::app(AppState::new(Config::for_tests(dir.path().join("data"))).unwrap());
    let r = send(
        &third,
        "GET",
        "/v1/sys/mounts",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);
}

#[tokio::test]
async fn upstream_sign_out_revokes_only_a_token_the_console_minted() {
    let (addr, seen) = fake_vault().await;
    let (app, _dir) = upstream(&addr, None);
    let revokes = |seen: &Arc<Mutex<Vec<Seen>>>| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|s| s.uri.ends_with("/v1/auth/token/revoke-self"))
            .map(|s| {
                s.headers
                    .get("x-vault-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };

    // The user's own token: the session ends, the token is left alone.
    let (cookie, csrf) = sign_in(&app, json!({"token": "hvs.alice-token"})).await;
    sign_out(&app, &cookie, &csrf).await;
    assert!(revokes(&seen).is_empty());
    let r = send(&app, "GET", "/v1/sys/mounts", &[("cookie", &cookie)], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);

    // A userpass sign-in: the console minted the token, signing out revokes it upstream,
    // which ends the session on every replica.
    let (cookie, csrf) = sign_in(&app, json!({"username": "alice", "password": "pw"})).await;
    sign_out(&app, &cookie, &csrf).await;
    assert_eq!(revokes(&seen), vec!["hvs.alice-token".to_string()]);
    let r = send(&app, "GET", "/v1/sys/mounts", &[("cookie", &cookie)], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);
}

#[tokio::test]
async fn sign_in_logs_the_accessor_as_an_hmac() {
    // A global subscriber (a thread-local one misses callsites that another test thread
    // registered first); it sees every test's sign-ins, and each must show an HMAC.
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    tracing::callsite::rebuild_interest_cache();

    let (app, root, _dir) = embedded();
    sign_in(&app, json!({"token": root})).await;
    let (addr, _) = fake_vault().await;
    let (upstream_app, _dir2) = upstream(&addr, None);
    sign_in(&upstream_app, json!({"token": "hvs.alice-token"})).await;

    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("signed in")).collect();
    assert!(lines.len() >= 2, "{text:?}");
    for line in lines {
        assert!(line.contains("accessor=\"hmac-sha256:"), "{line}");
    }
    assert!(
        !text.contains("acc-alice"),
        "the upstream accessor is in the log: {text}"
    );
    let r = send(
        &app,
        "GET",
        "/v1/auth/token/lookup-self",
        &[("x-vault-token", &root)],
        None,
    )
    .await;
    let accessor = r.body["data"]["accessor"].as_str().unwrap();
    assert!(
        !text.contains(accessor),
        "the accessor is in the log: {text}"
    );
}

#[tokio::test]
async fn upstream_mode_normalises_paths_before_forwarding() {
    let (addr, seen) = fake_vault().await;
    let (app, _dir) = upstream(&addr, None);
    let token = ("x-vault-token", "hvs.alice-token");
    let a = send(
        &app,
        "POST",
        "/v1/sys//policies/acl/x?a=b",
        &[token, JSON],
        Some(json!({})),
    )
    .await;
    assert_eq!(a.status, StatusCode::TEMPORARY_REDIRECT, "{}", a.raw);
    assert_eq!(
        a.headers.get(header::LOCATION).unwrap(),
        "/v1/sys/policies/acl/x?a=b"
    );
    let a = send(&app, "GET", "/v1/sys/policies/acl/%2e%2e/x", &[token], None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
    assert_eq!(a.body, json!({"errors": ["relative paths not supported"]}));
    let a = send(
        &app,
        "PUT",
        "/v1/sys/policies/acl/x/",
        &[token, JSON],
        Some(json!({})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
    assert_eq!(
        a.body,
        json!({"errors": ["cannot write to a path ending in '/'"]})
    );
    assert!(seen.lock().unwrap().is_empty(), "forwarded an unclean path");
}
