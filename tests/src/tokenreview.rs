//! A stand-in for a Kubernetes API server's TokenReview endpoint, for the Kubernetes auth
//! tests: HTTPS with its own test CA (made with `shared::pki`), `POST
//! /apis/authentication.k8s.io/v1/tokenreviews` answered the way kube-apiserver answers
//! (201 with a TokenReview, `401` `Status` for a bearer it does not accept, `status.error`
//! for tokens it does not know or whose audiences do not fit), and every call recorded
//! (headers and body) so tests can assert what the engine sent. [`SilentServer`] accepts
//! connections and never answers, for timeout tests. [`jwt`] mints service account tokens.

pub mod jwt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, bail};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// A service account as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The audiences the token was issued for (`TokenRequest.spec.audiences`).
    pub audiences: Vec<String>,
    /// The pod it is bound to (projected tokens), if any.
    pub pod: Option<(String, String)>,
}

impl Account {
    pub fn new(namespace: &str, name: &str, uid: &str, audiences: &[&str]) -> Account {
        Account {
            namespace: namespace.into(),
            name: name.into(),
            uid: uid.into(),
            audiences: audiences.iter().map(|a| a.to_string()).collect(),
            pod: None,
        }
    }

    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    /// Bearers allowed to create TokenReviews (those with `system:auth-delegator`).
    reviewers: Vec<String>,
    /// Tokens the cluster issued and still honours.
    tokens: HashMap<String, Account>,
    calls: Vec<Call>,
}

/// The TokenReview stub; stops when dropped.
pub struct TokenReviewStub {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The test CA that issued the stub's certificate, PEM: `kubernetes_ca_cert`.
    pub ca_pem: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for TokenReviewStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A test CA and a certificate for `127.0.0.1`/`localhost` signed by it: (CA PEM,
/// server chain DER, server key PKCS#8 DER).
fn test_pki() -> anyhow::Result<(String, Vec<Vec<u8>>, Vec<u8>)> {
    let pki = crate::raw::ServerPki::new(
        "tokenreview-stub test CA",
        "kube-apiserver",
        &["localhost", "kubernetes.default.svc"],
        86_400,
    )?;
    Ok((
        pki.ca_pem(),
        vec![pki.leaf_der.clone(), pki.ca_der.clone()],
        pki.leaf_key.to_pkcs8_der()?.to_vec(),
    ))
}

impl TokenReviewStub {
    pub async fn start() -> anyhow::Result<TokenReviewStub> {
        let (ca_pem, chain, key) = test_pki()?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            chain.into_iter().map(CertificateDer::from).collect(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        let _ = serve(tls, &state).await;
                    }
                });
            }
        });
        Ok(TokenReviewStub {
            url,
            ca_pem,
            state,
            task,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets `bearer` create TokenReviews (a reviewer bound to `system:auth-delegator`).
    pub fn allow_reviewer(&self, bearer: &str) {
        self.state().reviewers.push(bearer.to_string());
    }

    /// The cluster issued `jwt` for `account` and honours it.
    pub fn register(&self, jwt: &str, account: Account) {
        self.state().tokens.insert(jwt.to_string(), account);
    }

    /// The token was invalidated (its pod or service account deleted).
    pub fn invalidate(&self, jwt: &str) {
        self.state().tokens.remove(jwt);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }
}

/// A TCP listener that accepts connections and never says a word; holds them open.
pub struct SilentServer {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    task: JoinHandle<()>,
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SilentServer {
    pub async fn start() -> anyhow::Result<SilentServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let mut held: Vec<TcpStream> = vec![];
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        Ok(SilentServer { addr, task })
    }
}

/// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes).
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> anyhow::Result<Call> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 64 * 1024 {
            bail!("request head too large");
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the request head ended");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse())
        .transpose()
        .context("bad content-length")?
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the body ended");
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&body[..length]).unwrap_or(Value::Null);
    Ok(Call {
        method,
        path,
        headers,
        body,
    })
}

fn status_object(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// kube-apiserver's answer to one call.
fn answer(call: &Call, state: &State) -> (u16, Value) {
    if call.path != REVIEW_PATH {
        return (
            404,
            status_object(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    }
    if call.method != "POST" {
        return (
            405,
            status_object(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
        );
    }
    let bearer = call
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !state.reviewers.iter().any(|r| r == bearer) {
        return (401, status_object(401, "Unauthorized", "Unauthorized"));
    }
    let spec = &call.body["spec"];
    let token = spec["token"].as_str().unwrap_or_default();
    let wanted: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut review = json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
    });
    let Some(account) = state.tokens.get(token) else {
        review["status"] = json!({
            "user": {},
            "error": "[invalid bearer token, service account token has been invalidated]",
        });
        return (201, review);
    };
    if !wanted.is_empty() && !wanted.iter().any(|w| account.audiences.contains(w)) {
        review["status"] = json!({
            "user": {},
            "error": format!(
                "[invalid bearer token, token audiences {:?} is invalid for the target audiences {:?}]",
                account.audiences, wanted
            ),
        });
        return (201, review);
    }
    let audiences = if wanted.is_empty() {
        account.audiences.clone()
    } else {
        wanted
    };
    let mut user = json!({
        "username": account.username(),
        "uid": account.uid,
        "groups": [
            "system:serviceaccounts",
            format!("system:serviceaccounts:{}", account.namespace),
            "system:authenticated",
        ],
    });
    if let Some((pod, pod_uid)) = &account.pod {
        user["extra"] = json!({
            "authentication.kubernetes.io/pod-name": [pod],
            "authentication.kubernetes.io/pod-uid": [pod_uid],
        });
    }
    review["status"] = json!({
        "authenticated": true,
        "user": user,
        "audiences": audiences,
    });
    (201, review)
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    state: &Mutex<State>,
) -> anyhow::Result<()> {
    let call = read_request(&mut stream).await?;
    let (status, body) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push(call.clone());
        answer(&call, &s)
    };
    let reason = match status {
        201 => "Created",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}
