//! Unauthenticated Kubernetes logins cannot starve the engine: hundreds of concurrent
//! logins against a cluster API that never answers leave an ordinary sign request
//! answering within a second (the logins past the rate limit or past the bound on
//! TokenReview calls in flight answer 429 at once instead of holding threads), and one
//! source's logins are rate-limited with Vault's 429 and `errors`, recovering as the
//! bucket refills.

use std::time::{Duration, Instant};

use anyhow::ensure;
use serde_json::{Value, json};
use shared::pki::key::{KeyType, PrivateKey};
use tests::Server;
use tests::http::{self, Method};
use tests::recipe;
use tests::tokenreview::jwt::projected;
use tests::tokenreview::{Account, SilentServer, TokenReviewStub};

const REVIEWER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.login-limits-reviewer.signature";
const AUDIENCE: &str = "vault://login-limits";
const RATE_LIMITED: &str = "request path \"auth/kubernetes/login\": rate limit quota exceeded";
const IN_FLIGHT: &str = "too many Kubernetes logins are waiting";

async fn call(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let res = http::vault(method, &server.url(&format!("/v1/{path}")), token, &body).await?;
    let json = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    Ok((res.status.as_u16(), json))
}

/// `auth/kubernetes` pointed at `host` (verified with `ca_pem`), with role `app`.
async fn enable_kubernetes(
    server: &Server,
    root: &str,
    host: &str,
    ca_pem: &str,
) -> anyhow::Result<()> {
    for (path, body) in [
        ("sys/auth/kubernetes", json!({"type": "kubernetes"})),
        (
            "auth/kubernetes/config",
            json!({
                "kubernetes_host": host,
                "kubernetes_ca_cert": ca_pem,
                "token_reviewer_jwt": REVIEWER_JWT,
                "disable_local_ca_jwt": true,
            }),
        ),
        (
            "auth/kubernetes/role/app",
            json!({
                "bound_service_account_names": ["app"],
                "bound_service_account_namespaces": ["apps"],
                "audience": AUDIENCE,
                "token_policies": ["default"],
            }),
        ),
    ] {
        let (status, answer) = call(server, Method::POST, path, Some(root), body).await?;
        ensure!((200..300).contains(&status), "{path}: {status} {answer}");
    }
    Ok(())
}

fn account() -> Account {
    Account::new(
        "apps",
        "app",
        "0b7f6a51-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        &[AUDIENCE],
    )
}

async fn login(server: &Server, jwt: &str) -> anyhow::Result<(u16, Value)> {
    call(
        server,
        Method::POST,
        "auth/kubernetes/login",
        None,
        json!({"role": "app", "jwt": jwt}),
    )
    .await
}

fn errors(body: &Value) -> String {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_against_a_slow_cluster_do_not_delay_signing() -> anyhow::Result<()> {
    let silent = SilentServer::start().await?;
    let stub = TokenReviewStub::start().await?;
    let server = Server::start_args(&["--kubernetes-timeout-secs", "5"]).await?;
    let pki = recipe::setup(
        &server,
        "web",
        json!({"allowed_domains": ["example.test"], "allow_subdomains": true, "key_type": "any", "max_ttl": "72h"}),
    )
    .await?;
    // The cluster accepts the TCP connection and never says a word.
    enable_kubernetes(
        &server,
        &pki.root_token,
        &format!("https://{}", silent.addr),
        &stub.ca_pem,
    )
    .await?;
    let jwt = projected(&PrivateKey::generate(KeyType::Ec, 256)?, &account())?;

    const LOGINS: usize = 600;
    let mut logins = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS {
        let base = server.base.clone();
        let jwt = jwt.clone();
        logins.push(tokio::spawn(async move {
            let started = Instant::now();
            let res = http::send(
                Method::POST,
                &format!("{base}/v1/auth/kubernetes/login"),
                &[("content-type", "application/json")],
                json!({"role": "app", "jwt": jwt}).to_string().into_bytes(),
            )
            .await;
            res.map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                (r.status.as_u16(), errors(&body), started.elapsed())
            })
        }));
    }
    // Let the logins reach the server and pile up on the cluster.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let csr = tests::csr_pem("busy.example.test")?;
    let started = Instant::now();
    let (status, signed) = call(
        &server,
        Method::POST,
        "pki_int/sign/web",
        Some(&pki.signer_token),
        json!({"csr": csr, "common_name": "busy.example.test", "ttl": "1h"}),
    )
    .await?;
    let took = started.elapsed();
    assert_eq!(status, 200, "{signed}");
    assert!(
        took < Duration::from_secs(1),
        "a sign request took {took:?} while {LOGINS} logins waited on the cluster"
    );

    let (mut timed_out, mut rate_limited, mut busy, mut other) = (0, 0, 0, vec![]);
    for login in logins {
        let (status, message, took) = login.await??;
        match status {
            500 if message.contains("timed out") => timed_out += 1,
            429 if message == RATE_LIMITED => rate_limited += 1,
            429 if message.contains(IN_FLIGHT) => busy += 1,
            _ => other.push(format!("{status} {message}")),
        }
        assert!(took < Duration::from_secs(12), "a login took {took:?}");
    }
    eprintln!(
        "{LOGINS} logins: {timed_out} timed out on the cluster, {busy} refused with all TokenReview slots taken, {rate_limited} rate-limited; signing took {took:?}"
    );
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert!(timed_out >= 1, "no login reached the cluster");
    assert!(
        busy >= 1,
        "the bound on TokenReview calls in flight never applied"
    );
    assert!(rate_limited >= 1, "the rate limit never applied");
    Ok(())
}

#[tokio::test]
async fn logins_are_rate_limited_per_source() -> anyhow::Result<()> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let server = Server::start().await?;
    let root = server.root_token()?;
    enable_kubernetes(&server, &root, &stub.url, &stub.ca_pem).await?;
    let jwt = projected(&PrivateKey::generate(KeyType::Ec, 256)?, &account())?;
    stub.register(&jwt, account());

    // One source logs in as fast as it can: the first ones pass, then 429.
    let mut accepted = 0;
    let mut refused = None;
    for _ in 0..400 {
        let (status, body) = login(&server, &jwt).await?;
        match status {
            200 => accepted += 1,
            _ => {
                refused = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = refused.ok_or_else(|| {
        anyhow::anyhow!("{accepted} logins in a row were accepted: no rate limit")
    })?;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body, json!({"errors": [RATE_LIMITED]}));
    // The burst (40) passed first.
    assert!(
        accepted >= 40,
        "only {accepted} logins passed before the limit"
    );
    // Still limited right away; other requests are not.
    assert_eq!(login(&server, &jwt).await?.0, 429);
    let (status, answer) = call(
        &server,
        Method::GET,
        "auth/token/lookup-self",
        Some(&root),
        Value::Null,
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    // The bucket refills (10 a second): a login passes again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = login(&server, &jwt).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}
