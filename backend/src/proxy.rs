//! Upstream mode: `/v1/*` forwarded to a real Vault or OpenBao. The only module that
//! knows the upstream's address.
//!
//! Every Vault method passes (including `LIST`), with the path as `vault.rs` checked it
//! (no way out of `/v1/`), the query as sent, and the client's headers minus `Cookie`,
//! the CSRF header and hop-by-hop headers. The token is the client's own
//! (`X-Vault-Token` / `Authorization`) or the session's, added here. The answer streams
//! back as it comes. Unreachable upstream: 502; no answer in time: 504; both in Vault's
//! `{"errors": [...]}` naming the upstream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use axum::response::Response;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_rustls::{ConfigBuilderExt as _, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

use crate::config::Config;
use crate::session::{self, Credential};
use crate::vault::error;

/// Largest answer [`Upstream::call`] reads (the server's own calls are small JSON).
const CALL_ANSWER_LIMIT: usize = 1024 * 1024;

/// Request headers never forwarded: hop-by-hop (RFC 9110 §7.6.1), the console's own
/// (`Cookie`, the CSRF header), and those the client library sets itself.
const DROP_REQUEST: [&str; 13] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "expect",
    "cookie",
];

/// Response headers never passed back: hop-by-hop, and cookies (the upstream has no say
/// over the console's cookies).
const DROP_RESPONSE: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
];

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// `scheme://authority`, without a trailing slash.
    base: String,
    namespace: Option<HeaderValue>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `http(s)://host[:port]` from `--vault-addr`, or why not.
fn parse_addr(addr: &str) -> anyhow::Result<(String, bool)> {
    let uri: Uri = addr
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("--vault-addr {addr:?} is not a URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => anyhow::bail!("--vault-addr {addr:?} must start with http:// or https://"),
    };
    let Some(authority) = uri.authority() else {
        anyhow::bail!("--vault-addr {addr:?} has no host");
    };
    if authority.as_str().contains('@') {
        anyhow::bail!("--vault-addr {addr:?} must not carry credentials");
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        anyhow::bail!(
            "--vault-addr {addr:?} must be only scheme, host and port (the console adds /v1/...)"
        );
    }
    let scheme = if https { "https" } else { "http" };
    Ok((format!("{scheme}://{authority}"), https))
}

fn load_roots(file: &std::path::Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        roots
            .add(cert)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    if roots.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", file.display());
    }
    Ok(roots)
}

fn tls_config(config: &Config, https: bool) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS client setup: {e}"))?;
    if config.vault_skip_verify {
        tracing::warn!(
            "!!! --vault-skip-verify: the upstream's TLS certificate is NOT verified. Anyone on the \
             network path can pose as Vault and collect every token the console forwards. Use \
             --vault-ca-file with the upstream's CA instead. !!!"
        );
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth());
    }
    if let Some(file) = &config.vault_ca_file {
        return Ok(builder
            .with_root_certificates(load_roots(file)?)
            .with_no_client_auth());
    }
    if https {
        return Ok(builder
            .with_native_roots()
            .map_err(|e| {
                anyhow::anyhow!(
                    "no system CA certificates to verify the upstream with ({e}); use --vault-ca-file"
                )
            })?
            .with_no_client_auth());
    }
    // Plain HTTP upstream: TLS is never used.
    Ok(builder
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

impl Upstream {
    pub fn new(config: &Config) -> anyhow::Result<Upstream> {
        let addr = config.vault_addr.as_deref().unwrap_or_default();
        let (base, https) = parse_addr(addr)?;
        let namespace = match config.vault_namespace.as_deref().map(str::trim) {
            Some(ns) if !ns.is_empty() => Some(HeaderValue::from_str(ns).map_err(|_| {
                anyhow::anyhow!("--vault-namespace {ns:?} is not a valid header value")
            })?),
            _ => None,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.upstream_connect_timeout));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(config, https)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let host = base
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default();
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1");
        if !https && !loopback {
            tracing::warn!(
                upstream = %base,
                "the upstream is plain HTTP: tokens travel unencrypted between the console and Vault"
            );
        }
        Ok(Upstream {
            client,
            base,
            namespace,
            timeout: config.upstream_timeout,
            connect_timeout: config.upstream_connect_timeout,
        })
    }

    /// The upstream's address, for logs.
    pub fn address(&self) -> &str {
        &self.base
    }

    fn target(&self, path: &str, trailing_slash: bool, query: Option<&str>) -> String {
        let mut t = format!("{}/v1/{}", self.base, encode_path(path));
        if trailing_slash && !path.is_empty() {
            t.push('/');
        }
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            t.push('?');
            t.push_str(q);
        }
        t
    }

    /// Forwards one `/v1/*` request. `path` is the checked path below `/v1/`.
    pub async fn forward(
        &self,
        method: Method,
        uri: &Uri,
        path: &str,
        headers: HeaderMap,
        credential: &Credential,
        body: Bytes,
    ) -> Response {
        let target = self.target(path, uri.path().ends_with('/'), uri.query());
        let mut out = HeaderMap::with_capacity(headers.len() + 2);
        let named_by_connection: Vec<String> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        for (name, value) in &headers {
            let n = name.as_str();
            if DROP_REQUEST.contains(&n)
                || n == session::CSRF_HEADER
                || named_by_connection.iter().any(|c| c == n)
            {
                continue;
            }
            out.append(name.clone(), value.clone());
        }
        if let Credential::Cookie(s) = credential {
            out.remove(header::AUTHORIZATION);
            match HeaderValue::from_str(&s.token) {
                Ok(v) => {
                    out.insert(HeaderName::from_static("x-vault-token"), v);
                }
                Err(_) => {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        vec!["the session's token cannot be sent; sign in again".into()],
                    );
                }
            }
        }
        self.add_namespace(&mut out);
        let head = method == Method::HEAD;
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.headers_mut() = out;
        match target.parse() {
            Ok(u) => *req.uri_mut() = u,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    vec![format!("invalid request path \"{path}\"")],
                );
            }
        }
        let res = match self.send(req).await {
            Ok(r) => r,
            Err(res) => return res,
        };
        let (mut parts, incoming) = res.into_parts();
        let connection_named: Vec<String> = parts
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        for name in DROP_RESPONSE
            .iter()
            .copied()
            .map(String::from)
            .chain(connection_named)
        {
            parts.headers.remove(name.as_str());
        }
        let body = if head {
            Body::empty()
        } else {
            Body::new(IdleTimeout::new(incoming, self.timeout))
        };
        Response::from_parts(parts, body)
    }

    fn add_namespace(&self, headers: &mut HeaderMap) {
        if let Some(ns) = &self.namespace {
            headers
                .entry(HeaderName::from_static("x-vault-namespace"))
                .or_insert_with(|| ns.clone());
        }
    }

    /// Sends `req`, waiting at most the request timeout for the answer's head.
    #[allow(clippy::result_large_err)]
    async fn send(&self, req: Request<Full<Bytes>>) -> Result<hyper::Response<Incoming>, Response> {
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Ok(Ok(res)) => Ok(res),
            Ok(Err(e)) => Err(self.failure(&e)),
            Err(_) => Err(error(
                StatusCode::GATEWAY_TIMEOUT,
                vec![format!(
                    "upstream Vault at {} did not answer within {:?}",
                    self.base, self.timeout
                )],
            )),
        }
    }

    fn failure(&self, e: &hyper_util::client::legacy::Error) -> Response {
        let mut detail = Vec::new();
        let mut timed_out = false;
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
            }
            let text = s.to_string();
            if !detail.iter().any(|d: &String| d.contains(&text)) {
                detail.push(text);
            }
            source = s.source();
        }
        let detail = if detail.is_empty() {
            e.to_string()
        } else {
            detail.join(": ")
        };
        tracing::warn!(upstream = %self.base, error = %detail, "upstream request failed");
        if e.is_connect() && timed_out {
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                vec![format!(
                    "upstream Vault at {} did not accept a connection within {:?}",
                    self.base, self.connect_timeout
                )],
            );
        }
        error(
            StatusCode::BAD_GATEWAY,
            vec![format!(
                "upstream Vault at {} is unreachable: {detail}",
                self.base
            )],
        )
    }

    /// One call for the server itself (sign-in): JSON in, status and JSON out.
    #[allow(clippy::result_large_err)]
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), Response> {
        let mut req = Request::new(Full::new(match &body {
            Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Bytes::new(),
        }));
        *req.method_mut() = method;
        *req.uri_mut() = self.target(path, false, None).parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                vec![format!("invalid request path \"{path}\"")],
            )
        })?;
        let h = req.headers_mut();
        if let Some(t) = token {
            let v = HeaderValue::from_str(t).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    vec!["the token contains characters a header cannot carry".into()],
                )
            })?;
            h.insert(HeaderName::from_static("x-vault-token"), v);
        }
        if body.is_some() {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        h.insert(
            HeaderName::from_static("x-vault-request"),
            HeaderValue::from_static("true"),
        );
        self.add_namespace(h);
        let res = self.send(req).await?;
        let status = res.status();
        let collected = tokio::time::timeout(
            self.timeout,
            Limited::new(res.into_body(), CALL_ANSWER_LIMIT).collect(),
        )
        .await;
        let bytes = match collected {
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(e)) => {
                return Err(error(
                    StatusCode::BAD_GATEWAY,
                    vec![format!(
                        "upstream Vault at {} broke off its answer: {e}",
                        self.base
                    )],
                ));
            }
            Err(_) => {
                return Err(error(
                    StatusCode::GATEWAY_TIMEOUT,
                    vec![format!(
                        "upstream Vault at {} did not finish its answer within {:?}",
                        self.base, self.timeout
                    )],
                ));
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok((status, Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(|v| (status, v))
            .map_err(|_| {
                error(
                    StatusCode::BAD_GATEWAY,
                    vec![format!(
                        "upstream Vault at {} answered {status} with a body that is not JSON",
                        self.base
                    )],
                )
            })
    }
}

/// Percent-encodes a checked API path for the request line: unreserved characters, `/`
/// and the sub-delimiters Vault paths use stay as they are.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The upstream's answer body, failing if it stalls longer than the request timeout
/// between two frames (the answer then ends early rather than hanging forever).
struct IdleTimeout {
    inner: Incoming,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimeout {
    fn new(inner: Incoming, timeout: Duration) -> IdleTimeout {
        IdleTimeout {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl HttpBody for IdleTimeout {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                    "the upstream's answer stalled for {:?}",
                    this.timeout
                )
                .into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `--vault-skip-verify`: accepts any certificate, but still checks that the server
/// holds the key of the certificate it shows.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_addresses() {
        assert_eq!(
            parse_addr("https://vault.example:8200").unwrap(),
            ("https://vault.example:8200".into(), true)
        );
        assert_eq!(
            parse_addr("http://127.0.0.1:8200/").unwrap(),
            ("http://127.0.0.1:8200".into(), false)
        );
        for bad in [
            "vault:8200",
            "ftp://vault",
            "https://vault/v1",
            "https://user:pw@vault",
            "https://vault?x=1",
            "",
        ] {
            assert!(parse_addr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_encoded_for_the_request_line() {
        assert_eq!(encode_path("pki/roles/web"), "pki/roles/web");
        assert_eq!(encode_path("kv/a b/%"), "kv/a%20b/%25");
        assert_eq!(encode_path("kv/?#"), "kv/%3F%23");
        assert_eq!(encode_path("x/\u{e9}"), "x/%C3%A9");
    }
}
