//! Upstream mode: a console (B) in front of another (A, embedded) or of something worse,
//! over real sockets. Each fault must end in a clear JSON error in Vault's shape, in
//! time: upstream gone (502), upstream silent (504 at the configured timeout), body too
//! large (413), cookie without CSRF token (403), altered cookie (401), paths that try to
//! leave `/v1/`. Plus TLS: the console serving HTTPS itself, and trusting (or refusing)
//! an upstream's certificate.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::raw::{self, RawResponse};
use tests::{Server, http};

/// The one error message of a Vault-shaped error body.
fn only_error(body: &Value) -> String {
    let errors = body["errors"].as_array().expect("an errors array");
    assert_eq!(errors.len(), 1, "{body}");
    errors[0].as_str().expect("a string").to_string()
}

#[tokio::test]
async fn a_stopped_upstream_is_a_502_naming_it_within_2_s() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let b = Server::upstream(&a.base, &[]).await?;
    // B was given a data directory, and left it alone.
    assert!(
        !b.data_dir.exists(),
        "upstream mode created {}",
        b.data_dir.display()
    );
    let health = http::get(&b.url("/healthz")).await?.json()?;
    assert_eq!(health["mode"], "upstream");
    // Through B while A runs (this also leaves a pooled connection to A behind).
    let ok = http::get(&b.url("/v1/sys/health")).await?;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()?["initialized"], true);

    let a_addr = a.authority().to_string();
    a.stop().await?;
    let started = Instant::now();
    let res = http::get(&b.url("/v1/sys/health")).await?;
    let took = started.elapsed();
    assert_eq!(res.status, 502, "{}", res.text());
    assert!(took < Duration::from_secs(2), "502 took {took:?}");
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "Vault's error shape"
    );
    let msg = only_error(&res.json()?);
    assert!(msg.contains(&a_addr), "the error names the upstream: {msg}");
    assert!(msg.contains("unreachable"), "{msg}");
    // B itself is alive and says so.
    assert_eq!(http::get(&b.url("/healthz")).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_silent_upstream_is_a_504_at_the_configured_timeout() -> anyhow::Result<()> {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let silent_addr = silent.local_addr()?;
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let b = Server::upstream(
        &format!("http://{silent_addr}"),
        &["--upstream-timeout", "1500ms"],
    )
    .await?;
    for (method, path, body) in [
        (http::Method::GET, "/v1/sys/health", Vec::new()),
        (
            http::Method::POST,
            "/api/session",
            json!({"token": "hvs.anything"}).to_string().into_bytes(),
        ),
    ] {
        let started = Instant::now();
        let res = tokio::time::timeout(
            Duration::from_secs(10),
            http::send(
                method.clone(),
                &b.url(path),
                &[("content-type", "application/json")],
                body,
            ),
        )
        .await??;
        let took = started.elapsed();
        assert_eq!(res.status, 504, "{path}: {}", res.text());
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
            "{path}: 504 after {took:?}, configured 1.5 s"
        );
        let msg = only_error(&res.json()?);
        assert!(msg.contains(&silent_addr.to_string()), "{msg}");
        assert!(msg.contains("did not answer within 1.5s"), "{msg}");
        assert!(
            res.header("set-cookie").is_none(),
            "no session without Vault's word"
        );
    }
    holder.abort();
    Ok(())
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_before_reaching_the_upstream() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let root = a.root_token()?;
    let b = Server::upstream(&a.base, &["--max-body-bytes", "4096"]).await?;
    let policy = |padding: usize| {
        json!({"policy": format!("# {}\npath \"x/*\" {{ capabilities = [\"read\"] }}", "a".repeat(padding))})
            .to_string()
            .into_bytes()
    };
    // Under B's limit: forwarded, and A (limit 1 MiB) takes it.
    let small = policy(3000);
    assert!(small.len() < 4096);
    let res = http::send(
        http::Method::PUT,
        &b.url("/v1/sys/policy/small"),
        &[("x-vault-token", &root)],
        small,
    )
    .await?;
    assert_eq!(res.status, 204, "{}", res.text());

    // Over it with Content-Length: 413 from B, in Vault's shape.
    let big = policy(5000);
    let res = http::send(
        http::Method::PUT,
        &b.url("/v1/sys/policy/big"),
        &[("x-vault-token", &root)],
        big.clone(),
    )
    .await?;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(!only_error(&res.json()?).is_empty());

    // Over it in chunks (no length announced): still 413.
    let head = format!(
        "PUT /v1/sys/policy/big HTTP/1.1\r\nX-Vault-Token: {root}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    );
    let res = raw::request(b.authority(), &head, &raw::chunked(&big, 1000)).await?;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(!only_error(&res.json()?).is_empty());

    // Nothing of the refused bodies reached A.
    let res = http::send(
        http::Method::GET,
        &a.url("/v1/sys/policy/big"),
        &[("x-vault-token", &root)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 404, "{}", res.text());
    Ok(())
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_tampered_cookies_are_401() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let root = a.root_token()?;
    let b = Server::upstream(&a.base, &[]).await?;
    let (cookie, csrf) = b.sign_in(&root).await?;
    let policy = json!({"policy": "path \"x/*\" { capabilities = [\"read\"] }"})
        .to_string()
        .into_bytes();

    // Reads with the cookie alone work.
    let res = http::send(
        http::Method::GET,
        &b.url("/v1/sys/mounts"),
        &[("cookie", &cookie)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());

    // Every write, and LIST, without (or with a wrong) CSRF token: 403.
    let list = http::Method::from_bytes(b"LIST")?;
    for method in [
        http::Method::POST,
        http::Method::PUT,
        http::Method::PATCH,
        http::Method::DELETE,
        list,
    ] {
        for bad in [None, Some("bm90LXRoZS10b2tlbg")] {
            let mut headers = vec![("cookie", cookie.as_str())];
            if let Some(b) = bad {
                headers.push(("x-csrf-token", b));
            }
            let res = http::send(
                method.clone(),
                &b.url("/v1/sys/policy/p1"),
                &headers,
                policy.clone(),
            )
            .await?;
            assert_eq!(res.status, 403, "{method} {bad:?}: {}", res.text());
            assert_eq!(
                res.json()?,
                json!({"errors": ["missing or invalid CSRF token"]})
            );
        }
    }
    // Nothing was written.
    let res = http::send(
        http::Method::GET,
        &a.url("/v1/sys/policy/p1"),
        &[("x-vault-token", &root)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 404, "a refused write reached A: {}", res.text());

    // With the token: through.
    let res = http::send(
        http::Method::PUT,
        &b.url("/v1/sys/policy/p1"),
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        policy.clone(),
    )
    .await?;
    assert_eq!(res.status, 204, "{}", res.text());

    // A CLI client with X-Vault-Token needs neither cookie nor CSRF token.
    let res = http::send(
        http::Method::PUT,
        &b.url("/v1/sys/policy/p2"),
        &[("x-vault-token", &root)],
        policy,
    )
    .await?;
    assert_eq!(res.status, 204, "{}", res.text());

    // Sign-out is a write too.
    let res = http::send(
        http::Method::DELETE,
        &b.url("/api/session"),
        &[("cookie", &cookie)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 403, "{}", res.text());

    // One altered character in the cookie: 401, and the cookie is cleared.
    let (name, value) = cookie.split_once('=').unwrap();
    let mut chars: Vec<char> = value.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{name}={}", chars.into_iter().collect::<String>());
    for method in [http::Method::GET, http::Method::POST] {
        let res = http::send(
            method.clone(),
            &b.url("/v1/sys/mounts"),
            &[("cookie", &tampered), ("x-csrf-token", &csrf)],
            vec![],
        )
        .await?;
        assert_eq!(res.status, 401, "{method}: {}", res.text());
        assert!(
            only_error(&res.json()?).contains("sign in again"),
            "{}",
            res.text()
        );
        assert!(
            res.header("set-cookie")
                .is_some_and(|c| c.contains("Max-Age=0")),
            "the bad cookie is cleared"
        );
    }
    // A cookie from another console (another key) is no better.
    let (a_cookie, _) = a.sign_in(&root).await?;
    let res = http::send(
        http::Method::GET,
        &b.url("/v1/sys/mounts"),
        &[("cookie", &a_cookie)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 401, "{}", res.text());
    Ok(())
}

#[tokio::test]
async fn replicas_with_one_session_key_share_sessions() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let root = a.root_token()?;
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    let b1 = Server::upstream(&a.base, &["--session-key", key]).await?;
    let b2 = Server::upstream(&a.base, &["--session-key", key]).await?;
    let (cookie, csrf) = b1.sign_in(&root).await?;
    let res = http::send(
        http::Method::GET,
        &b2.url("/api/session"),
        &[("cookie", &cookie)],
        vec![],
    )
    .await?;
    let body = res.json()?;
    assert_eq!(body["signed_in"], true, "{body}");
    assert_eq!(
        body["csrf_token"],
        csrf.as_str(),
        "the CSRF token is the same"
    );
    let res = http::send(
        http::Method::GET,
        &b2.url("/v1/auth/token/lookup-self"),
        &[("cookie", &cookie)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        !res.text().contains(&root),
        "lookup-self showed the session's token to the browser"
    );
    assert_eq!(res.json()?["data"]["display_name"], "root");
    Ok(())
}

/// Request targets that try to leave `/v1/` for `/api/session` (raw, so nothing
/// normalises them on the way).
const ESCAPES: [&str; 12] = [
    "/v1/../api/session",
    "/v1/%2e%2e/api/session",
    "/v1/%2E%2E/api/session",
    "/v1/..%2fapi/session",
    "/v1/..%2Fapi%2Fsession",
    "/v1/%2e%2e%2fapi%2fsession",
    "/v1/.%2e/api/session",
    "/v1/sys/../../api/session",
    "/v1/sys/%2e%2e/%2e%2e/api/session",
    "/v1/./../api/session",
    "/v1//../api/session",
    "/v1/..%5capi%5csession",
];

fn assert_not_escaped(target: &str, res: &RawResponse) {
    let text = res.text();
    assert!(
        !text.contains("signed_in") && !text.contains("csrf_token"),
        "{target} reached /api/session: {text}"
    );
    assert!(
        matches!(res.status, 400 | 404),
        "{target}: status {} {text}",
        res.status
    );
}

#[tokio::test]
async fn paths_never_escape_v1() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let root = a.root_token()?;
    let b = Server::upstream(&a.base, &[]).await?;
    for server in [&a, &b] {
        let (cookie, csrf) = server.sign_in(&root).await?;
        // Control: the same request to the real path answers with the session.
        let head = format!("GET /api/session HTTP/1.1\r\nCookie: {cookie}");
        let res = raw::request(server.authority(), &head, b"").await?;
        assert!(res.text().contains("\"signed_in\":true"), "{}", res.text());
        for target in ESCAPES {
            for method in ["GET", "DELETE"] {
                let head = format!(
                    "{method} {target} HTTP/1.1\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}"
                );
                let res = raw::request(server.authority(), &head, b"").await?;
                assert_not_escaped(target, &res);
                if res.status == 400 {
                    // Refused by the console, in Vault's shape.
                    assert!(!only_error(&res.json()?).is_empty(), "{target}");
                }
            }
        }
        // The session survived all of it (no DELETE reached /api/session).
        let head = format!("GET /api/session HTTP/1.1\r\nCookie: {cookie}");
        let res = raw::request(server.authority(), &head, b"").await?;
        assert!(res.text().contains("\"signed_in\":true"), "{}", res.text());
    }
    Ok(())
}

#[tokio::test]
async fn tls_serving_and_upstream_certificate_checks() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca_der = raw::write_tls_files(dir.path(), "Test Upstream CA")?;
    let other = tempfile::tempdir()?;
    raw::write_tls_files(other.path(), "Some Other CA")?;
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server-key.pem");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());

    // A serves HTTPS itself; its ready line says so.
    let a = Server::start_args(&["--tls-cert", cert, "--tls-key", key]).await?;
    assert!(a.base.starts_with("https://127.0.0.1:"), "{}", a.base);
    let res = raw::request_tls(
        a.authority(),
        "127.0.0.1",
        &ca_der,
        "GET /healthz HTTP/1.1",
        b"",
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert!(
        res.header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    // Over TLS the session cookie is Secure.
    let root = a.root_token()?;
    let body = json!({ "token": root }).to_string();
    let head = format!(
        "POST /api/session HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
        body.len()
    );
    let res = raw::request_tls(a.authority(), "127.0.0.1", &ca_der, &head, body.as_bytes()).await?;
    assert_eq!(res.status, 200, "{}", res.text());
    let set = res.header("set-cookie").unwrap_or_default();
    assert!(
        set.contains("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    // Plain HTTP to the TLS port gets no answer from the console.
    let plain = raw::request(a.authority(), "GET /healthz HTTP/1.1", b"").await;
    assert!(
        plain.is_err() || plain.as_ref().is_ok_and(|r| r.status != 200),
        "{plain:?}"
    );

    // B trusts A's CA: the API passes.
    let ca_file = dir.path().join("ca.pem");
    let b = Server::upstream(&a.base, &["--vault-ca-file", ca_file.to_str().unwrap()]).await?;
    let res = http::get(&b.url("/v1/sys/health")).await?;
    assert_eq!(res.status, 200, "{}", res.text());

    // C trusts another CA: 502, and the certificate is named as the reason.
    let other_ca = other.path().join("ca.pem");
    let c = Server::upstream(&a.base, &["--vault-ca-file", other_ca.to_str().unwrap()]).await?;
    let res = http::get(&c.url("/v1/sys/health")).await?;
    assert_eq!(res.status, 502, "{}", res.text());
    let msg = only_error(&res.json()?);
    assert!(msg.contains(a.authority()), "{msg}");
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");

    // D skips verification (explicitly): it passes.
    let d = Server::upstream(&a.base, &["--vault-skip-verify"]).await?;
    let res = http::get(&d.url("/v1/sys/health")).await?;
    assert_eq!(res.status, 200, "{}", res.text());

    // Graceful shutdown of the TLS server.
    let status = a.stop().await?;
    assert!(status.success(), "{status}");
    Ok(())
}
