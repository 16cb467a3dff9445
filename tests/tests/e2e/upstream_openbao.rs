//! Upstream mode in front of the real OpenBao 2.7.2: the self-service request flow in the
//! browser and the cert-manager replay run through a console whose `--vault-addr` is an
//! OpenBao dev server (the same flows `request.rs` and `kubernetes.rs` run against the
//! embedded engine), and the session token stays out of page script: a cookie request's
//! answer is never compressed (so the redaction sees it) nor wrapped (unwrapping it
//! would show the token). OpenBao does not compress API answers itself; a reverse proxy
//! in front of it (nginx with `gzip on`) does, so the compression tests put one there.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tests::openbao::OpenBao;
use tests::{Server, http, recipe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A reverse proxy in front of `upstream` that gzips every answer when the request
/// accepts gzip (as nginx with `gzip on; gzip_proxied any`), or always when `always`
/// is set (a broken one). One request per connection.
struct GzipProxy {
    base: String,
    always: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GzipProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<String> {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut out)?;
    Ok(out)
}

/// Reads one request (head and `Content-Length` body) from `tcp`.
async fn read_request(
    tcp: &mut tokio::net::TcpStream,
) -> anyhow::Result<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = tcp.read(&mut chunk).await?;
        ensure!(n > 0, "closed before the request head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse())
        .transpose()?
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = tcp.read(&mut chunk).await?;
        ensure!(n > 0, "closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((method, target, headers, body))
}

impl GzipProxy {
    async fn start(upstream: &str) -> anyhow::Result<GzipProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let always = Arc::new(AtomicBool::new(false));
        let (upstream, flag) = (upstream.to_string(), always.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let (upstream, flag) = (upstream.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok((method, target, headers, body)) = read_request(&mut tcp).await else {
                        return;
                    };
                    let pass: Vec<(&str, &str)> = headers
                        .iter()
                        .filter(|(k, _)| {
                            !matches!(
                                k.as_str(),
                                "host" | "content-length" | "connection" | "accept-encoding"
                            )
                        })
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let accepts_gzip = headers
                        .iter()
                        .any(|(k, v)| k == "accept-encoding" && v.contains("gzip"));
                    let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
                        return;
                    };
                    let answer =
                        http::send(method, &format!("{upstream}{target}"), &pass, body).await;
                    let Ok(res) = answer else {
                        let _ = tcp
                            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    };
                    let compress = accepts_gzip || flag.load(Ordering::SeqCst);
                    let (body, coding) = if compress {
                        (
                            gzip(&res.body).unwrap_or_default(),
                            "content-encoding: gzip\r\n",
                        )
                    } else {
                        (res.body.to_vec(), "")
                    };
                    let head = format!(
                        "HTTP/1.1 {}\r\ncontent-type: application/json\r\n{coding}content-length: {}\r\nconnection: close\r\n\r\n",
                        res.status,
                        body.len()
                    );
                    let _ = tcp.write_all(head.as_bytes()).await;
                    let _ = tcp.write_all(&body).await;
                });
            }
        });
        Ok(GzipProxy { base, always, task })
    }
}

/// A token of `bao`'s with the default policy (its lookup-self is what page script
/// could ask for).
async fn user_token(bao: &OpenBao) -> anyhow::Result<String> {
    let res = http::send(
        http::Method::POST,
        &format!("{}/v1/auth/token/create", bao.addr),
        &[("x-vault-token", &bao.root_token)],
        json!({"policies": ["default"], "ttl": "1h", "meta": {"owner": "upstream-openbao-e2e"}})
            .to_string()
            .into_bytes(),
    )
    .await?;
    ensure!(res.status == 200, "token create: {}", res.text());
    Ok(res.json()?["auth"]["client_token"]
        .as_str()
        .context("client_token")?
        .to_string())
}

/// The body as text, gunzipped when the answer says gzip.
fn body_text(res: &http::Response) -> anyhow::Result<String> {
    match res.header("content-encoding") {
        Some("gzip") => gunzip(&res.body),
        Some(other) => bail!("unexpected Content-Encoding {other}"),
        None => Ok(res.text()),
    }
}

#[tokio::test]
async fn a_compressing_proxy_before_openbao_does_not_let_the_session_token_through()
-> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let gz = GzipProxy::start(&bao.addr).await?;
    let console = Server::upstream(&gz.base, &[]).await?;
    let token = user_token(&bao).await?;

    // The proxy does compress for whoever accepts gzip: a token request gets gzip, and
    // its own lookup-self (the token is the client's own) in it.
    let res = http::send(
        http::Method::GET,
        &console.url("/v1/auth/token/lookup-self"),
        &[("x-vault-token", &token), ("accept-encoding", "gzip")],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.header("content-encoding"),
        Some("gzip"),
        "the test bed compresses"
    );
    assert!(body_text(&res)?.contains(&token));

    // A cookie request accepting gzip (as every browser does): the console asks for
    // identity, so the answer is plain and redacted.
    let (cookie, _) = console.sign_in(&token).await?;
    let res = http::send(
        http::Method::GET,
        &console.url("/v1/auth/token/lookup-self"),
        &[
            ("cookie", &cookie),
            ("accept-encoding", "gzip, deflate, br"),
        ],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    let text = body_text(&res)?;
    assert!(
        !text.contains(&token),
        "the session token reached the page: {text}"
    );
    let body: Value = serde_json::from_str(&text)?;
    assert_eq!(
        body["data"]["meta"]["owner"], "upstream-openbao-e2e",
        "{body}"
    );
    assert_ne!(body["data"]["id"], token.as_str());
    assert_eq!(res.header("content-encoding"), None);

    // A proxy that compresses what nobody asked for: refused, never passed on.
    gz.always.store(true, Ordering::SeqCst);
    let res = http::send(
        http::Method::GET,
        &console.url("/v1/auth/token/lookup-self"),
        &[("cookie", &cookie)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 502, "{}", res.text());
    let said = res.json()?["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains("Content-Encoding") && said.contains(&gz.base),
        "{said}"
    );
    Ok(())
}

#[tokio::test]
async fn a_cookie_request_cannot_wrap_its_answer() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    let token = user_token(&bao).await?;

    // With its own token, a client may wrap (hvac, the CLI do): the wrapped answer
    // unwraps to the token's lookup-self, token included.
    let res = http::send(
        http::Method::GET,
        &console.url("/v1/auth/token/lookup-self"),
        &[("x-vault-token", &token), ("x-vault-wrap-ttl", "60s")],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    let wrapping = res.json()?["wrap_info"]["token"]
        .as_str()
        .context("a wrapped answer")?
        .to_string();
    let res = http::send(
        http::Method::POST,
        &console.url("/v1/sys/wrapping/unwrap"),
        &[("x-vault-token", &wrapping)],
        vec![],
    )
    .await?;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()?["data"]["id"], token.as_str());

    // With the session cookie the wrap header is dropped: a plain, redacted answer.
    let (cookie, _) = console.sign_in(&token).await?;
    for ttl in ["60s", "5m"] {
        let res = http::send(
            http::Method::GET,
            &console.url("/v1/auth/token/lookup-self"),
            &[("cookie", &cookie), ("x-vault-wrap-ttl", ttl)],
            vec![],
        )
        .await?;
        assert_eq!(res.status, 200, "{}", res.text());
        let body = res.json()?;
        assert_eq!(
            body["wrap_info"],
            Value::Null,
            "a cookie request was wrapped: {body}"
        );
        assert!(!res.text().contains(&token), "{}", res.text());
        assert_eq!(
            body["data"]["meta"]["owner"], "upstream-openbao-e2e",
            "{body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn p256_request_flow_through_upstream_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    let recipe = recipe::setup_with(
        &console,
        &bao.root_token,
        crate::request::ROLE,
        crate::request::role_body(),
    )
    .await?;
    crate::request::issue_and_download_through(&console, &recipe, "ec:256", "bao.testlab.local")
        .await
}

#[tokio::test]
async fn cert_manager_replay_through_upstream_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    crate::kubernetes::cert_manager_replay(&console, bao.root_token.clone()).await
}
