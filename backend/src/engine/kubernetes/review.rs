//! The cluster's TokenReview API, as Vault's `token_review.go` calls it: `POST
//! {kubernetes_host}/apis/authentication.k8s.io/v1/tokenreviews` over TLS verified with
//! `kubernetes_ca_cert` only (never the system roots), the reviewer JWT as bearer, and
//! the answer read the same way (Kubernetes `Status` errors, `status.error`,
//! `status.authenticated`, a `system:serviceaccount:<ns>:<name>` user).
//!
//! The engine is synchronous, so one review runs on its own thread with a small
//! current-thread runtime, and the whole exchange (connect, TLS, request, answer) is
//! bounded by the configured timeout.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use shared::pki::cert::certificates_from_pem;
use tokio::net::TcpStream;

const REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
/// A TokenReview answer is a few KiB; anything past this is not one.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("invalid kubernetes_host {host:?}: {reason}")]
    Host { host: String, reason: String },
    #[error("invalid kubernetes_ca_cert: {0}")]
    CaCert(String),
    /// The API could not be asked: connection, TLS, timeout, or a broken answer.
    #[error("kubernetes tokenreview request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    /// The API answered and did not vouch for the token (Vault's "lookup failed: ...").
    #[error("{0}")]
    Rejected(String),
}

/// Where the TokenReview API is, from `kubernetes_host` (a URL, `host:port` or a host;
/// `https` unless the URL says `http`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// Without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// For the `Host` header: the authority as configured.
    pub authority: String,
    /// The request path: the configured base path plus the TokenReview path.
    pub path: String,
}

impl Endpoint {
    pub fn parse(kubernetes_host: &str) -> Result<Endpoint, ReviewError> {
        let bad = |reason: &str| ReviewError::Host {
            host: kubernetes_host.to_string(),
            reason: reason.to_string(),
        };
        let raw = kubernetes_host.trim();
        let full = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        let uri: Uri = full.parse().map_err(|e| bad(&format!("{e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("the scheme must be https or http")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host in it"))?.clone();
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the url are not supported"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(bad("no host in it"));
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not allowed"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Endpoint {
            https,
            host,
            port,
            authority: authority.to_string(),
            path: format!("{}{REVIEW_PATH}", uri.path().trim_end_matches('/')),
        })
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.path)
    }
}

/// One TokenReview call.
#[derive(Debug, Clone)]
pub struct ReviewRequest<'a> {
    pub kubernetes_host: &'a str,
    /// PEM; required for `https`.
    pub ca_cert: &'a str,
    /// The `Authorization: Bearer` token.
    pub bearer: &'a str,
    /// The JWT under review.
    pub jwt: &'a str,
    /// `spec.audiences`; omitted when empty.
    pub audiences: &'a [String],
    pub timeout: Duration,
}

/// The service account the cluster says the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewed {
    pub name: String,
    pub namespace: String,
    pub uid: String,
}

fn tls_config(ca_pem: &str) -> Result<Arc<rustls::ClientConfig>, ReviewError> {
    if ca_pem.trim().is_empty() {
        return Err(ReviewError::CaCert(
            "it is not set, and an https kubernetes_host cannot be verified without it".into(),
        ));
    }
    let certs = certificates_from_pem(ca_pem).map_err(|e| ReviewError::CaCert(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for der in certs {
        roots
            .add(CertificateDer::from(der))
            .map_err(|e| ReviewError::CaCert(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ReviewError::CaCert("no CERTIFICATE block in it".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ReviewError::CaCert(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{d:?}")
    }
}

/// Asks the cluster about `req.jwt`.
pub fn review(req: &ReviewRequest<'_>) -> Result<Reviewed, ReviewError> {
    let endpoint = Endpoint::parse(req.kubernetes_host)?;
    let tls = if endpoint.https {
        Some(tls_config(req.ca_cert)?)
    } else {
        None
    };
    let mut spec = json!({ "token": req.jwt });
    if !req.audiences.is_empty() {
        spec["audiences"] = json!(req.audiences);
    }
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    });
    let url = endpoint.url();
    let transport = |reason: String| ReviewError::Transport {
        url: url.clone(),
        reason,
    };
    let request = Request::post(endpoint.path.as_str())
        .header(header::HOST, endpoint.authority.as_str())
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", req.bearer.trim()),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| transport(format!("cannot build the request: {e}")))?;
    let timeout = req.timeout;
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| exchange_blocking(&endpoint, tls, request, timeout))
            .join()
    });
    let (status, answer) = match outcome {
        Ok(result) => result.map_err(transport)?,
        Err(_) => return Err(transport("the client thread failed".into())),
    };
    interpret(status, &answer)
}

fn exchange_blocking(
    endpoint: &Endpoint,
    tls: Option<Arc<rustls::ClientConfig>>,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the http client: {e}"))?;
    let result = runtime.block_on(async {
        match tokio::time::timeout(timeout, exchange(endpoint, tls, request)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "timed out after {} waiting for {}:{}",
                seconds(timeout),
                endpoint.host,
                endpoint.port
            )),
        }
    });
    // A stalled connection task must not hold this thread.
    runtime.shutdown_background();
    result
}

async fn exchange(
    endpoint: &Endpoint,
    tls: Option<Arc<rustls::ClientConfig>>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| {
            format!(
                "could not connect to {}:{}: {e}",
                endpoint.host, endpoint.port
            )
        })?;
    match tls {
        Some(config) => {
            let name = ServerName::try_from(endpoint.host.clone())
                .map_err(|e| format!("{:?} is not a valid tls server name: {e}", endpoint.host))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("tls handshake with {} failed: {e}", endpoint.host))?;
            send(TokioIo::new(stream), request).await
        }
        None => send(TokioIo::new(tcp), request).await,
    }
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("http handshake failed: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

/// Vault's `parseResponse` and `Review`: what the answer says about the token.
pub fn interpret(status: StatusCode, body: &[u8]) -> Result<Reviewed, ReviewError> {
    let rejected = |m: String| Err(ReviewError::Rejected(m));
    let text = String::from_utf8_lossy(body);
    if status == StatusCode::UNAUTHORIZED {
        return rejected(
            "lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token".into(),
        );
    }
    if !(200..=206).contains(&status.as_u16()) {
        return rejected(format!(
            "the kubernetes api answered {status}: {}",
            text.trim()
        ));
    }
    let answer: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return rejected(format!("the tokenreview answer is not json: {e}")),
    };
    // A Kubernetes `Status` object in place of a TokenReview is an error report.
    if let Some(Value::String(s)) = answer.get("status")
        && s != "Success"
    {
        let message = answer.get("message").and_then(Value::as_str).unwrap_or(s);
        return rejected(format!("lookup failed: {message}"));
    }
    let status = answer.get("status").cloned().unwrap_or(Value::Null);
    if let Some(e) = status.get("error").and_then(Value::as_str)
        && !e.is_empty()
    {
        return rejected(format!("lookup failed: {e}"));
    }
    if status.get("authenticated").and_then(Value::as_bool) != Some(true) {
        return rejected("lookup failed: service account jwt not valid".into());
    }
    let user = status.get("user").cloned().unwrap_or(Value::Null);
    let username = user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let parts: Vec<&str> = username.split(':').collect();
    let [system, kind, namespace, name] = parts.as_slice() else {
        return rejected("lookup failed: unexpected username format".into());
    };
    if *system != "system" || *kind != "serviceaccount" {
        return rejected("lookup failed: username returned is not a service account".into());
    }
    Ok(Reviewed {
        name: name.to_string(),
        namespace: namespace.to_string(),
        uid: user
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_every_host_form() {
        let e = Endpoint::parse("https://10.0.0.1:6443").expect("url");
        assert_eq!(
            (e.https, e.host.as_str(), e.port, e.authority.as_str()),
            (true, "10.0.0.1", 6443, "10.0.0.1:6443")
        );
        assert_eq!(
            e.url(),
            "https://10.0.0.1:6443/apis/authentication.k8s.io/v1/tokenreviews"
        );
        let e = Endpoint::parse("kubernetes.default.svc").expect("bare host");
        assert_eq!((e.https, e.port), (true, 443));
        let e = Endpoint::parse("http://127.0.0.1:8080/").expect("http");
        assert_eq!((e.https, e.port), (false, 8080));
        assert_eq!(e.path, REVIEW_PATH);
        let e = Endpoint::parse("https://proxy.example/k8s/").expect("base path");
        assert_eq!(e.path, format!("/k8s{REVIEW_PATH}"));
        let e = Endpoint::parse("https://[::1]:6443").expect("ipv6");
        assert_eq!(
            (e.host.as_str(), e.authority.as_str()),
            ("::1", "[::1]:6443")
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@h",
            "https://h?x=1",
            "a b",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_read_as_vault_reads_them() {
        let ok = |username: &str| {
            json!({
                "kind": "TokenReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "spec": {"token": "x", "audiences": ["vault://a"]},
                "status": {
                    "authenticated": true,
                    "user": {
                        "username": username,
                        "uid": "6b4c3f4e-1111-2222-3333-444455556666",
                        "groups": ["system:serviceaccounts", "system:authenticated"],
                    },
                    "audiences": ["vault://a"],
                },
            })
            .to_string()
        };
        assert_eq!(
            interpret(
                StatusCode::CREATED,
                ok("system:serviceaccount:cert-manager:cert-manager").as_bytes()
            ),
            Ok(Reviewed {
                name: "cert-manager".into(),
                namespace: "cert-manager".into(),
                uid: "6b4c3f4e-1111-2222-3333-444455556666".into(),
            })
        );
        let rejected = |status: StatusCode, body: &str| match interpret(status, body.as_bytes()) {
            Err(ReviewError::Rejected(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            rejected(StatusCode::CREATED, &ok("system:node:worker-1"))
                .contains("unexpected username")
        );
        assert!(rejected(StatusCode::CREATED, &ok("admin")).contains("unexpected username"));
        assert!(
            rejected(StatusCode::CREATED, &ok("system:user:a:b")).contains("not a service account")
        );
        let invalid = json!({
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "spec": {"token": "x"},
            "status": {"user": {}, "error": "[invalid bearer token, token has been invalidated]"},
        })
        .to_string();
        assert_eq!(
            rejected(StatusCode::CREATED, &invalid),
            "lookup failed: [invalid bearer token, token has been invalidated]"
        );
        let unauthenticated = json!({"status": {"authenticated": false, "user": {}}}).to_string();
        assert_eq!(
            rejected(StatusCode::CREATED, &unauthenticated),
            "lookup failed: service account jwt not valid"
        );
        let forbidden = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "tokenreviews.authentication.k8s.io is forbidden",
            "reason": "Forbidden", "code": 403,
        })
        .to_string();
        assert!(rejected(StatusCode::FORBIDDEN, &forbidden).contains("403"));
        assert!(rejected(StatusCode::OK, &forbidden).contains("is forbidden"));
        assert!(rejected(StatusCode::UNAUTHORIZED, "").contains("unauthorized"));
        assert!(rejected(StatusCode::OK, "<html>").contains("not json"));
    }

    #[test]
    fn https_needs_a_ca() {
        assert!(matches!(tls_config(""), Err(ReviewError::CaCert(_))));
        assert!(matches!(tls_config("junk"), Err(ReviewError::CaCert(_))));
    }

    #[test]
    fn an_unreachable_api_fails_within_the_timeout() {
        // A listener that accepts and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let host = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = review(&ReviewRequest {
            kubernetes_host: &host,
            ca_cert: "",
            bearer: "b",
            jwt: "j",
            audiences: &[],
            timeout: Duration::from_millis(300),
        })
        .expect_err("no answer");
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("timed out"), "{text}");
        drop(listener);
        // Nothing listening any more: refused.
        let err = review(&ReviewRequest {
            kubernetes_host: &host,
            ca_cert: "",
            bearer: "b",
            jwt: "j",
            audiences: &[],
            timeout: Duration::from_secs(2),
        })
        .expect_err("refused");
        assert!(err.to_string().contains("could not connect"), "{err}");
    }
}
