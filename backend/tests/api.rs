//! Handler tests for the `/v1` layer through `app(..).oneshot(..)`: Vault's methods,
//! envelope, status codes and error bodies, against a real engine in a temp directory.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::config::Config;
use backend::{AppState, routes};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Harness {
    app: axum::Router,
    root: String,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data"));
    let state = AppState::new(config).unwrap();
    let root = std::fs::read_to_string(dir.path().join("data/root-token"))
        .unwrap()
        .trim()
        .to_string();
    Harness {
        app: routes::app(state),
        root,
        _dir: dir,
    }
}

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("x-vault-token", t);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let res = h
        .app
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, json)
}

#[tokio::test]
async fn health_is_unauthenticated_and_bare() {
    let h = harness();
    let (s, body) = call(&h, "GET", "/v1/sys/health", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["initialized"], true);
    assert_eq!(body["sealed"], false);
    assert!(
        body.get("data").is_none(),
        "sys/health is not wrapped in the envelope"
    );
}

#[tokio::test]
async fn missing_or_wrong_token_is_permission_denied() {
    let h = harness();
    for token in [None, Some("hvs.not-a-token")] {
        let (s, body) = call(&h, "GET", "/v1/sys/mounts", token, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{token:?}");
        assert_eq!(body, json!({"errors": ["permission denied"]}));
    }
    let res = h
        .app
        .clone()
        .oneshot(
            Request::get("/v1/auth/token/lookup-self")
                .header("authorization", format!("Bearer {}", h.root))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "Authorization: Bearer is accepted"
    );
}

#[tokio::test]
async fn envelope_list_method_and_empty_list() {
    let h = harness();
    let t = Some(h.root.as_str());
    let (s, _) = call(
        &h,
        "POST",
        "/v1/sys/mounts/pki",
        t,
        Some(json!({"type": "pki"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = call(&h, "LIST", "/v1/pki/roles", t, None).await;
    assert_eq!(
        (s, body),
        (StatusCode::NOT_FOUND, json!({"errors": []})),
        "an empty LIST is a bare 404"
    );
    let (s, _) = call(
        &h,
        "POST",
        "/v1/pki/roles/web",
        t,
        Some(json!({"allowed_domains": "example.com", "allow_subdomains": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for (method, path) in [
        ("LIST", "/v1/pki/roles"),
        ("GET", "/v1/pki/roles?list=true"),
    ] {
        let (s, body) = call(&h, method, path, t, None).await;
        assert_eq!(s, StatusCode::OK, "{method} {path}");
        assert_eq!(body["data"]["keys"], json!(["web"]));
        for field in [
            "request_id",
            "lease_id",
            "renewable",
            "lease_duration",
            "wrap_info",
            "warnings",
            "auth",
        ] {
            assert!(body.get(field).is_some(), "envelope lacks {field}");
        }
    }
}

#[tokio::test]
async fn bad_bodies_are_400_and_413_with_vault_errors() {
    let h = harness();
    let req = Request::post("/v1/sys/mounts/pki")
        .header("x-vault-token", &h.root)
        .body(Body::from("{\"type\": "))
        .unwrap();
    let res = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("failed to parse JSON input"),
        "{body}"
    );

    let big = format!("{{\"policy\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let req = Request::post("/v1/sys/policies/acl/big")
        .header("x-vault-token", &h.root)
        .body(Body::from(big))
        .unwrap();
    let res = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        body["errors"][0].as_str().unwrap().contains("too large"),
        "{body}"
    );
    let (s, _) = call(&h, "GET", "/v1/sys/policies/acl/big", Some(&h.root), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored");
}

#[tokio::test]
async fn unknown_mount_names_the_route() {
    let h = harness();
    let (s, body) = call(
        &h,
        "POST",
        "/v1/nosuchmount/sign/x",
        Some(&h.root),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        body["errors"][0],
        "no handler for route \"nosuchmount/sign/x\". route entry not found."
    );
}

#[tokio::test]
async fn policy_limits_a_child_token() {
    let h = harness();
    let t = Some(h.root.as_str());
    call(
        &h,
        "POST",
        "/v1/sys/mounts/pki",
        t,
        Some(json!({"type": "pki"})),
    )
    .await;
    let (s, _) = call(
        &h,
        "PUT",
        "/v1/sys/policies/acl/reader",
        t,
        Some(json!({"policy": "path \"pki/roles/*\" { capabilities = [\"read\", \"list\"] }"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = call(
        &h,
        "POST",
        "/v1/auth/token/create",
        t,
        Some(json!({"policies": ["reader"], "ttl": "1h"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["auth"]["policies"], json!(["default", "reader"]));
    assert_eq!(body["auth"]["lease_duration"], 3600);
    let child = body["auth"]["client_token"].as_str().unwrap().to_string();
    let c = Some(child.as_str());
    call(
        &h,
        "POST",
        "/v1/pki/roles/web",
        t,
        Some(json!({"allow_any_name": true})),
    )
    .await;
    assert_eq!(
        call(&h, "GET", "/v1/pki/roles/web", c, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&h, "POST", "/v1/pki/roles/web", c, Some(json!({})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&h, "GET", "/v1/sys/mounts", c, None).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = call(&h, "GET", "/v1/auth/token/lookup-self", c, None).await;
    assert_eq!(s, StatusCode::OK, "the default policy allows lookup-self");
    assert_eq!(body["data"]["id"], child);
    // A broken policy is refused and the stored one is kept.
    let (s, body) = call(
        &h,
        "PUT",
        "/v1/sys/policies/acl/reader",
        t,
        Some(json!({"policy": "path \"x\" { capabilities = [\"fly\"] }"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (_, body) = call(&h, "GET", "/v1/sys/policies/acl/reader", t, None).await;
    assert!(
        body["data"]["policy"]
            .as_str()
            .unwrap()
            .contains("pki/roles/*")
    );
    // revoke-self ends the token.
    assert_eq!(
        call(&h, "POST", "/v1/auth/token/revoke-self", c, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&h, "GET", "/v1/auth/token/lookup-self", c, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

/// One request from `peer`, as the server's accept loop hands it over.
async fn call_from(
    h: &Harness,
    peer: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    let peer: std::net::SocketAddr = peer.parse().unwrap();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .extension(axum::extract::ConnectInfo(peer));
    if let Some(t) = token {
        req = req.header("x-vault-token", t);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    h.app
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap()
        .status()
}

fn audit_lines(h: &Harness) -> Vec<Value> {
    std::fs::read_to_string(h._dir.path().join("data/audit.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn denied_and_unauthenticated_requests_are_audited_with_the_remote_address() {
    let h = harness();
    let (s, _) = call(
        &h,
        "PUT",
        "/v1/sys/policies/acl/audited",
        Some(&h.root),
        Some(json!({"policy": r#"
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/policies/acl/audited-*" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "policy" = []
  }
}
"#})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, body) = call(
        &h,
        "POST",
        "/v1/auth/token/create",
        Some(&h.root),
        Some(json!({"policies": ["audited"]})),
    )
    .await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_string();

    let peer = "10.1.2.3:4444";
    // Allowed, for contrast.
    let s = call_from(&h, peer, "GET", "/v1/sys/mounts", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    // No token, an unknown token, a path the policy does not grant, a parameter it does
    // not allow.
    let s = call_from(&h, peer, "GET", "/v1/sys/auth", None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let s = call_from(&h, peer, "GET", "/v1/sys/auth", Some("hvs.unknown"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let s = call_from(&h, peer, "GET", "/v1/sys/auth", Some(&token), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let denied_body = json!({"policy": "path \"x\" { capabilities = [\"read\"] }", "extra": "no"});
    let s = call_from(
        &h,
        peer,
        "POST",
        "/v1/sys/policies/acl/audited-x",
        Some(&token),
        Some(denied_body),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let lines = audit_lines(&h);
    let text = std::fs::read_to_string(h._dir.path().join("data/audit.log")).unwrap();
    assert!(!text.contains(&token), "a token in the audit log");
    assert!(!text.contains("hvs.unknown"), "a token in the audit log");
    let from_peer: Vec<&Value> = lines
        .iter()
        .filter(|l| l["request"]["remote_address"] == "10.1.2.3")
        .collect();
    let denied: Vec<&Value> = from_peer
        .iter()
        .copied()
        .filter(|l| l["type"] == "request" && l["error"] == "permission denied")
        .collect();
    assert_eq!(denied.len(), 4, "{lines:#?}");
    assert_eq!(denied[0]["request"]["path"], "sys/auth");
    assert!(denied[0]["request"]["client_token"].is_null());
    assert!(
        denied[1]["request"]["client_token"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    assert_eq!(denied[2]["auth"]["policies"], json!(["audited", "default"]));
    assert_eq!(denied[3]["request"]["path"], "sys/policies/acl/audited-x");
    assert_eq!(denied[3]["request"]["operation"], "create");
    // A denied request has one entry, no response; the allowed one has both.
    assert_eq!(from_peer.len(), 4 + 2, "{from_peer:#?}");
}
