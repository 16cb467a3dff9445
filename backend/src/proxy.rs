//! Upstream mode: `/v1/*` forwarded to a real Vault or OpenBao. The only module that
//! knows the upstream's address.
//!
//! Every Vault method passes (including `LIST`), with the path as `vault.rs` checked it
//! (no way out of `/v1/`), the query as sent, and the client's headers minus `Cookie`,
//! the CSRF header and hop-by-hop headers. The token is the client's own
//! (`X-Vault-Token` / `Authorization`) or the session's, added here; a cookie request
//! also asks for an uncompressed answer (`Accept-Encoding: identity`, so that
//! `session::redact` sees the bytes) and cannot ask for response wrapping (its
//! `X-Vault-Wrap-TTL` is dropped: a wrapped `lookup-self` would carry the session token
//! past the redaction). The answer streams back as it comes. Unreachable upstream: 502;
//! no answer in time: 504; both in Vault's `{"errors": [...]}` naming the upstream.
//!
//! High availability: `--vault-addr` may list several nodes of one cluster. A background
//! task asks every node's `sys/health` each second (and at once after a failure), and a
//! request goes to the active node, else to a standby (which forwards to the active one).
//! An answer that says the node did not handle the request (a standby's `307` to a dead
//! leader, `local node not active but active cluster node not found`, `Vault is sealed`)
//! or a refused connection is never passed on: the request goes to another node, and
//! while the cluster elects a leader it waits (at most [`ELECTION_WAIT`]) for one. A
//! request that may have reached a node which then failed is sent again, once, to
//! another node only when it is idempotent (GET, HEAD, LIST); any other gets the 502/504.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::response::Parts;
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
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::error::error;
use crate::session::{self, Credential};

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

/// How often each node's `sys/health` is asked when `--vault-addr` lists several.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait for one `sys/health` answer.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest a request that no node handled yet waits for an active node (a leader
/// election; OpenBao's Raft with `performance_multiplier = 1` elects in 1-3 s). Never
/// more than the request timeout.
pub const ELECTION_WAIT: Duration = Duration::from_secs(10);
/// Shortest pause between two rounds of tries while waiting for an active node.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Largest error answer (500/503) read to tell "this node is not active" from the rest.
const ERROR_PEEK_LIMIT: usize = 64 * 1024;
/// What Vault/OpenBao answers (500/503) when the node it reached did not handle the
/// request: a standby that has no active node to forward to, or a sealed node.
const NOT_HANDLED: [&str; 3] = [
    "local node not active",
    "active cluster node not found",
    "vault is sealed",
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

/// What a node's last `sys/health` (or the last request to it) said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Health {
    /// Not asked yet.
    Unknown = 0,
    /// 200: initialised, unsealed, active.
    Active = 1,
    /// 429/473: a standby, which forwards to the active node when there is one.
    Standby = 2,
    /// No connection, sealed, not initialised, or any other answer.
    Down = 3,
}

impl Health {
    fn from_u8(v: u8) -> Health {
        match v {
            1 => Health::Active,
            2 => Health::Standby,
            3 => Health::Down,
            _ => Health::Unknown,
        }
    }

    /// Order of preference: the active node, then one not asked yet, then a standby.
    fn rank(self) -> u8 {
        match self {
            Health::Active => 0,
            Health::Unknown => 1,
            Health::Standby => 2,
            Health::Down => 3,
        }
    }

    fn from_status(status: StatusCode) -> Health {
        match status.as_u16() {
            200 => Health::Active,
            429 | 473 => Health::Standby,
            _ => Health::Down,
        }
    }
}

/// One upstream node.
struct Node {
    /// `scheme://authority`, without a trailing slash.
    base: String,
    health: AtomicU8,
}

/// The nodes, shared with the health task.
struct Nodes {
    list: Vec<Node>,
    /// Asks the health task for a round now.
    wake: Arc<Notify>,
    /// Counts the health task's finished rounds.
    rounds: watch::Sender<u64>,
}

impl Nodes {
    fn health(&self, i: usize) -> Health {
        Health::from_u8(self.list[i].health.load(Ordering::Relaxed))
    }

    fn set(&self, i: usize, h: Health) {
        let before = Health::from_u8(self.list[i].health.swap(h as u8, Ordering::Relaxed));
        if before != h && self.list.len() > 1 {
            let node = &self.list[i].base;
            match h {
                Health::Down => tracing::warn!(upstream = %node, "upstream node is down"),
                _ => tracing::info!(upstream = %node, health = ?h, "upstream node health"),
            }
        }
    }

    /// The nodes not `tried` yet, best first (config order among equals); nodes that are
    /// down only when every node is.
    fn next(&self, tried: &[usize]) -> Option<usize> {
        let all_down = (0..self.list.len()).all(|i| self.health(i) == Health::Down);
        (0..self.list.len())
            .filter(|i| !tried.contains(i))
            .filter(|&i| all_down || self.health(i) != Health::Down)
            .min_by_key(|&i| self.health(i).rank())
    }
}

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    nodes: Arc<Nodes>,
    namespace: Option<HeaderValue>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("nodes", &self.address())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What one try at one node came to.
enum Try {
    /// The node handled the request (whatever its status): pass this on.
    Answer(Parts, Answer),
    /// The node did not handle it (refused connection, standby without a leader, sealed):
    /// another node may, for any method. The response to give if none does, and whether
    /// the node answered (then an election may be under way: worth waiting for).
    NotHandled(Response, bool),
    /// The request may have reached the node, which then failed or went silent.
    Failed(Response),
}

/// An answer's body: streamed, or already read (an error answer that was looked into).
enum Answer {
    Stream(Incoming),
    Read(Bytes),
}

/// Splits `--vault-addr` into node bases, or says which entry is wrong.
fn parse_addrs(entries: &[String]) -> anyhow::Result<Vec<(String, bool)>> {
    if entries.is_empty() {
        anyhow::bail!("--vault-addr is empty");
    }
    let mut out: Vec<(String, bool)> = Vec::with_capacity(entries.len());
    for (n, entry) in entries.iter().enumerate() {
        if entry.is_empty() {
            anyhow::bail!(
                "--vault-addr: address {} of {} is empty (separate node addresses with single commas)",
                n + 1,
                entries.len()
            );
        }
        let parsed = parse_addr(entry)?;
        if out.iter().any(|(b, _)| *b == parsed.0) {
            anyhow::bail!("--vault-addr names {} twice", parsed.0);
        }
        if let Some((first, https)) = out.first()
            && *https != parsed.1
        {
            anyhow::bail!(
                "--vault-addr mixes http and https ({first} and {}): the nodes of one cluster speak the same",
                parsed.0
            );
        }
        out.push(parsed);
    }
    Ok(out)
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
        let addrs = parse_addrs(&config.vault_addrs())?;
        let https = addrs[0].1;
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
        for (base, _) in &addrs {
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
        }
        let nodes = Arc::new(Nodes {
            list: addrs
                .into_iter()
                .map(|(base, _)| Node {
                    base,
                    health: AtomicU8::new(Health::Unknown as u8),
                })
                .collect(),
            wake: Arc::new(Notify::new()),
            rounds: watch::Sender::new(0),
        });
        // The health task holds the nodes weakly: it ends when the Upstream is dropped.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(watch_health(
                Arc::downgrade(&nodes),
                nodes.wake.clone(),
                client.clone(),
            ));
        }
        Ok(Upstream {
            client,
            nodes,
            namespace,
            timeout: config.upstream_timeout,
            connect_timeout: config.upstream_connect_timeout,
        })
    }

    /// The upstream's address(es), for logs.
    pub fn address(&self) -> String {
        self.nodes
            .list
            .iter()
            .map(|n| n.base.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn target(base: &str, path: &str, trailing_slash: bool, query: Option<&str>) -> String {
        let mut t = format!("{base}/v1/{}", encode_path(path));
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
        let trailing = uri.path().ends_with('/');
        if Self::target(&self.nodes.list[0].base, path, trailing, uri.query())
            .parse::<Uri>()
            .is_err()
        {
            return error(
                StatusCode::BAD_REQUEST,
                vec![format!("invalid request path \"{path}\"")],
            );
        }
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
        let cookie = matches!(credential, Credential::Cookie(_));
        if let Credential::Cookie(s) = credential {
            out.remove(header::AUTHORIZATION);
            // The answer must reach `session::redact` as plain bytes, and unwrapped: a
            // compressed or wrapped `lookup-self` would carry the session token past it.
            out.remove(HeaderName::from_static("x-vault-wrap-ttl"));
            out.remove(HeaderName::from_static("x-vault-wrap-format"));
            out.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
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
        let build = |base: &str| {
            let mut req = Request::new(Full::new(body.clone()));
            *req.method_mut() = method.clone();
            *req.headers_mut() = out.clone();
            if let Ok(u) = Self::target(base, path, trailing, uri.query()).parse() {
                *req.uri_mut() = u;
            }
            req
        };
        let (node, mut parts, answer) = match self.exchange(&method, &build).await {
            Ok(r) => r,
            Err(res) => return res,
        };
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
        if cookie
            && let Some(coding) = parts.headers.get(header::CONTENT_ENCODING)
            && !coding.as_bytes().eq_ignore_ascii_case(b"identity")
        {
            // Asked for identity and got something else: the token could hide in it.
            return error(
                StatusCode::BAD_GATEWAY,
                vec![format!(
                    "upstream Vault at {} answered with Content-Encoding {:?} though the console asked for none",
                    self.nodes.list[node].base,
                    String::from_utf8_lossy(coding.as_bytes())
                )],
            );
        }
        let body = match answer {
            _ if head => Body::empty(),
            Answer::Stream(incoming) => Body::new(IdleTimeout::new(incoming, self.timeout)),
            Answer::Read(bytes) => Body::from(bytes),
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

    /// Sends the request `build` makes for a node to the best node, and on to others as
    /// the module documentation says. Answers the node that handled it and its answer,
    /// or the error response for the client.
    #[allow(clippy::result_large_err)]
    async fn exchange(
        &self,
        method: &Method,
        build: &(dyn Fn(&str) -> Request<Full<Bytes>> + Sync),
    ) -> Result<(usize, Parts, Answer), Response> {
        let nodes = &self.nodes;
        let idempotent = matches!(method.as_str(), "GET" | "HEAD" | "LIST");
        let deadline = Instant::now() + ELECTION_WAIT.min(self.timeout);
        let mut rounds = nodes.rounds.subscribe();
        // Nodes tried since the last health round, whether any said "not handled" (then
        // waiting for an election is worth it), and whether the one blind resend of an
        // idempotent request is still there.
        let mut tried: Vec<usize> = Vec::new();
        let mut not_handled = false;
        let mut resend = idempotent;
        let mut last: Option<Response> = None;
        loop {
            let Some(i) = nodes.next(&tried) else {
                let Some(res) = last.take() else {
                    unreachable!("there is at least one node, so one was tried");
                };
                if !not_handled || Instant::now() + RETRY_PAUSE >= deadline {
                    return Err(res);
                }
                // A standby without a leader (or a sealed node): wait for the next health
                // round, which tells whether a node became active, then try them again.
                let pause = tokio::time::sleep(RETRY_PAUSE);
                nodes.wake.notify_one();
                let _ = tokio::time::timeout_at(deadline, rounds.changed()).await;
                pause.await;
                rounds.borrow_and_update();
                tried.clear();
                not_handled = false;
                last = Some(res);
                continue;
            };
            tried.push(i);
            match self.try_node(i, build).await {
                Try::Answer(parts, answer) => return Ok((i, parts, answer)),
                Try::NotHandled(res, answered) => {
                    not_handled |= answered;
                    nodes.wake.notify_one();
                    last = Some(res);
                }
                Try::Failed(res) => {
                    nodes.wake.notify_one();
                    if resend && nodes.next(&tried).is_some() {
                        resend = false;
                        tracing::warn!(
                            upstream = %nodes.list[i].base,
                            "an idempotent request failed; sending it again to another node"
                        );
                        last = Some(res);
                        continue;
                    }
                    return Err(res);
                }
            }
        }
    }

    /// One try at node `i`.
    async fn try_node(
        &self,
        i: usize,
        build: &(dyn Fn(&str) -> Request<Full<Bytes>> + Sync),
    ) -> Try {
        let node = &self.nodes.list[i];
        let res = match tokio::time::timeout(self.timeout, self.client.request(build(&node.base)))
            .await
        {
            Ok(Ok(res)) => res,
            Ok(Err(e)) => {
                self.nodes.set(i, Health::Down);
                let res = self.failure(&node.base, &e);
                // A refused connection never carried the request.
                return if e.is_connect() {
                    Try::NotHandled(res, false)
                } else {
                    Try::Failed(res)
                };
            }
            Err(_) => {
                return Try::Failed(error(
                    StatusCode::GATEWAY_TIMEOUT,
                    vec![format!(
                        "upstream Vault at {} did not answer within {:?}",
                        node.base, self.timeout
                    )],
                ));
            }
        };
        let status = res.status();
        if status == StatusCode::TEMPORARY_REDIRECT {
            // A standby sends the client to the active node only when it cannot forward
            // (its leader is gone): never pass that on, the next leader is another node.
            self.nodes.set(i, Health::Standby);
            let to = res
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_string();
            return Try::NotHandled(
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    vec![format!(
                        "upstream Vault at {} is a standby without an active node (it redirected to {to}); \
                     no node became active within {:?}",
                        node.base,
                        ELECTION_WAIT.min(self.timeout)
                    )],
                ),
                true,
            );
        }
        let (parts, incoming) = res.into_parts();
        if !matches!(status.as_u16(), 500 | 503) {
            return Try::Answer(parts, Answer::Stream(incoming));
        }
        let read = tokio::time::timeout(
            self.timeout,
            Limited::new(incoming, ERROR_PEEK_LIMIT).collect(),
        )
        .await;
        let bytes = match read {
            Ok(Ok(c)) => c.to_bytes(),
            _ => {
                return Try::Failed(error(
                    StatusCode::BAD_GATEWAY,
                    vec![format!(
                        "upstream Vault at {} broke off its {status} answer",
                        node.base
                    )],
                ));
            }
        };
        let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
        if NOT_HANDLED.iter().any(|m| text.contains(m)) {
            // A sealed node needs a person; a standby without a leader needs an election.
            let sealed = text.contains("sealed");
            self.nodes.set(
                i,
                if sealed {
                    Health::Down
                } else {
                    Health::Standby
                },
            );
            let said = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["errors"].as_array().cloned())
                .map(|e| {
                    e.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
            return Try::NotHandled(
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    vec![format!(
                        "upstream Vault at {} did not handle the request ({said}); no node became active within {:?}",
                        node.base,
                        ELECTION_WAIT.min(self.timeout)
                    )],
                ),
                !sealed,
            );
        }
        Try::Answer(parts, Answer::Read(bytes))
    }

    fn failure(&self, base: &str, e: &hyper_util::client::legacy::Error) -> Response {
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
        tracing::warn!(upstream = %base, error = %detail, "upstream request failed");
        if e.is_connect() && timed_out {
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                vec![format!(
                    "upstream Vault at {base} did not accept a connection within {:?}",
                    self.connect_timeout
                )],
            );
        }
        error(
            StatusCode::BAD_GATEWAY,
            vec![format!("upstream Vault at {base} is unreachable: {detail}")],
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
        if Self::target(&self.nodes.list[0].base, path, false, None)
            .parse::<Uri>()
            .is_err()
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                vec![format!("invalid request path \"{path}\"")],
            ));
        }
        let mut headers = HeaderMap::new();
        if let Some(t) = token {
            let v = HeaderValue::from_str(t).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    vec!["the token contains characters a header cannot carry".into()],
                )
            })?;
            headers.insert(HeaderName::from_static("x-vault-token"), v);
        }
        if body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        headers.insert(
            HeaderName::from_static("x-vault-request"),
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        self.add_namespace(&mut headers);
        // Vault reads the fields of a GET or LIST from the query string (`after`, `limit`
        // of a paged LIST), so a body object given with one goes there.
        let reads = matches!(method.as_str(), "GET" | "LIST");
        let query = match &body {
            Some(Value::Object(fields)) if reads => Some(query_string(fields)),
            _ => None,
        };
        let bytes = match &body {
            Some(v) if !reads => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            _ => Bytes::new(),
        };
        let build = |base: &str| {
            let mut req = Request::new(Full::new(bytes.clone()));
            *req.method_mut() = method.clone();
            *req.headers_mut() = headers.clone();
            if let Ok(u) = Self::target(base, path, false, query.as_deref()).parse() {
                *req.uri_mut() = u;
            }
            req
        };
        let (node, parts, answer) = self.exchange(&method, &build).await?;
        let base = &self.nodes.list[node].base;
        let status = parts.status;
        let bytes = match answer {
            Answer::Read(bytes) => bytes,
            Answer::Stream(incoming) => {
                let collected = tokio::time::timeout(
                    self.timeout,
                    Limited::new(incoming, CALL_ANSWER_LIMIT).collect(),
                )
                .await;
                match collected {
                    Ok(Ok(c)) => c.to_bytes(),
                    Ok(Err(e)) => {
                        return Err(error(
                            StatusCode::BAD_GATEWAY,
                            vec![format!(
                                "upstream Vault at {base} broke off its answer: {e}"
                            )],
                        ));
                    }
                    Err(_) => {
                        return Err(error(
                            StatusCode::GATEWAY_TIMEOUT,
                            vec![format!(
                                "upstream Vault at {base} did not finish its answer within {:?}",
                                self.timeout
                            )],
                        ));
                    }
                }
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
                        "upstream Vault at {base} answered {status} with a body that is not JSON"
                    )],
                )
            })
    }
}

/// The health task: every node's `sys/health`, all at once, every [`HEALTH_INTERVAL`]
/// when there are several nodes, and whenever a request asks (`wake`). It holds the
/// nodes weakly and ends once the `Upstream` is gone.
async fn watch_health(
    nodes: Weak<Nodes>,
    wake: Arc<Notify>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
) {
    let mut check = true;
    loop {
        let Some(strong) = nodes.upgrade() else {
            return;
        };
        let periodic = strong.list.len() > 1;
        if check && (periodic || strong.rounds.receiver_count() > 0) {
            let mut checks = tokio::task::JoinSet::new();
            for (i, node) in strong.list.iter().enumerate() {
                let client = client.clone();
                let url = format!("{}/v1/sys/health", node.base);
                checks.spawn(async move {
                    let Ok(uri) = url.parse::<Uri>() else {
                        return (i, Health::Down);
                    };
                    let mut req = Request::new(Full::new(Bytes::new()));
                    *req.uri_mut() = uri;
                    let health =
                        match tokio::time::timeout(HEALTH_TIMEOUT, client.request(req)).await {
                            Ok(Ok(res)) => Health::from_status(res.status()),
                            _ => Health::Down,
                        };
                    (i, health)
                });
            }
            while let Some(done) = checks.join_next().await {
                if let Ok((i, health)) = done {
                    strong.set(i, health);
                }
            }
            strong.rounds.send_modify(|n| *n = n.wrapping_add(1));
        }
        drop(strong);
        // A single node is asked only when a request waits for it; the long sleep just
        // notices that the Upstream is gone.
        let interval = if periodic {
            HEALTH_INTERVAL
        } else {
            Duration::from_secs(30)
        };
        check = tokio::select! {
            () = tokio::time::sleep(interval) => periodic,
            () = wake.notified() => true,
        };
    }
}

/// Percent-encodes a checked API path for the request line: unreserved characters, `/`
/// and the sub-delimiters Vault paths use stay as they are.
/// Fields as a query string: strings as they are, other values as JSON, each
/// percent-encoded.
fn query_string(fields: &serde_json::Map<String, Value>) -> String {
    use shared::api::certs::encode_component;
    fields
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", encode_component(k), encode_component(&text))
        })
        .collect::<Vec<_>>()
        .join("&")
}

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
    fn node_lists() {
        let list = |s: &str| {
            s.split(',')
                .map(|a| a.trim().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parse_addrs(&list("http://127.0.0.1:1, http://127.0.0.1:2/")).unwrap(),
            vec![
                ("http://127.0.0.1:1".to_string(), false),
                ("http://127.0.0.1:2".to_string(), false)
            ]
        );
        for (bad, says) in [
            ("http://a:1,,http://b:1", "address 2 of 3 is empty"),
            ("http://a:1,", "address 2 of 2 is empty"),
            ("http://a:1,http://a:1/", "names http://a:1 twice"),
            ("http://a:1,https://b:1", "mixes http and https"),
            ("http://a:1,b:1", "must start with http:// or https://"),
        ] {
            let e = parse_addrs(&list(bad)).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(e.contains("--vault-addr"), "{bad:?}: {e}");
        }
        assert!(parse_addrs(&[]).is_err());
    }

    #[test]
    fn the_active_node_first_then_unknown_then_standbys_down_last() {
        let nodes = Nodes {
            list: (0..4)
                .map(|i| Node {
                    base: format!("http://n{i}"),
                    health: AtomicU8::new(Health::Unknown as u8),
                })
                .collect(),
            wake: Arc::new(Notify::new()),
            rounds: watch::Sender::new(0),
        };
        assert_eq!(nodes.next(&[]), Some(0), "config order among equals");
        nodes.set(0, Health::Down);
        nodes.set(1, Health::Standby);
        nodes.set(2, Health::Active);
        nodes.set(3, Health::Standby);
        assert_eq!(nodes.next(&[]), Some(2));
        assert_eq!(nodes.next(&[2]), Some(1));
        assert_eq!(nodes.next(&[2, 1]), Some(3));
        assert_eq!(nodes.next(&[2, 1, 3]), None, "a down node is skipped");
        for i in 1..4 {
            nodes.set(i, Health::Down);
        }
        assert_eq!(nodes.next(&[]), Some(0), "all down: every node is tried");
        assert_eq!(nodes.next(&[0, 1, 2, 3]), None);
    }

    #[test]
    fn paths_are_encoded_for_the_request_line() {
        assert_eq!(encode_path("pki/roles/web"), "pki/roles/web");
        assert_eq!(encode_path("kv/a b/%"), "kv/a%20b/%25");
        assert_eq!(encode_path("kv/?#"), "kv/%3F%23");
        assert_eq!(encode_path("x/\u{e9}"), "x/%C3%A9");
    }
}
