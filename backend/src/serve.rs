//! Serving connections, plain HTTP and HTTPS alike: one accept loop over hyper's HTTP/1
//! connections (`axum::serve` has no header, body or idle timeouts and no connection
//! limit). Every connection has a watchdog that closes it when
//! - a new connection has not delivered its first request head (TLS handshake included)
//!   within `--header-timeout`;
//! - a kept-alive connection waited `--idle-timeout` for its next request, or took longer
//!   than `--header-timeout` for the rest of a head once its first byte came;
//! - the client stopped taking an answer for `--body-timeout`.
//!
//! A request's body must arrive within `--body-timeout` of its head, else the answer is
//! 408 and the connection is closed. The number of connections is capped below the
//! open-file limit: at the cap, the connections that have waited longest without a
//! request in progress (new, trickling a head, or kept alive) are closed to make room (a
//! 64th of the cap at a time), so a flood of idle or slow connections cannot lock out a
//! client that sends its request; when every connection is in a request, accepting waits
//! (the kernel queues the rest).
//!
//! Graceful shutdown: stop accepting, close the connections without a request in
//! progress at once (idle, in the middle of a head or of the TLS handshake), let each one
//! in a request finish it (the watchdog still applies), then return.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::config::Config;

/// The timeouts and the connection cap of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// From the configuration; the connection cap defaults to (and is held below) what
    /// the current open-file limit allows.
    pub fn from_config(config: &Config) -> Limits {
        let fd_limit = open_file_limit();
        let allowed = connections_for(fd_limit);
        let max_connections = match config.max_connections {
            Some(n) if n as usize > allowed => {
                tracing::warn!(
                    requested = n,
                    allowed,
                    fd_limit,
                    "--max-connections is more than the open-file limit leaves room for; using the lower number"
                );
                allowed
            }
            Some(n) => n as usize,
            None => allowed,
        };
        Limits {
            header: config.header_timeout,
            body: config.body_timeout,
            idle: config.idle_timeout,
            max_connections,
        }
    }
}

/// Most connections to hold with `fd_limit` open files: the limit minus room for the
/// listener, the database, the audit log, upstream connections and one accepted
/// connection waiting for a slot (64 + an eighth), at least 16 and at most 16384.
pub fn connections_for(fd_limit: u64) -> usize {
    let reserve = 64 + fd_limit / 8;
    fd_limit.saturating_sub(reserve).clamp(16, 16_384) as usize
}

/// The process's soft open-file limit (`RLIMIT_NOFILE`); 1024 where it cannot be read.
pub fn open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit};
        getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// Raises the soft open-file limit to the hard one (at most 2^20), as many servers do at
/// start, and logs it; returns the soft limit in effect.
pub fn raise_open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        let cap = 1u64 << 20;
        let soft = current.unwrap_or(cap);
        let hard = maximum.unwrap_or(cap).min(cap);
        if soft < hard {
            let raised = Rlimit {
                current: Some(hard),
                maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::info!(from = soft, to = hard, "raised the open-file limit");
                    return hard;
                }
                Err(e) => {
                    tracing::warn!(limit = soft, error = %e, "cannot raise the open-file limit")
                }
            }
        }
        soft
    }
    #[cfg(not(unix))]
    {
        open_file_limit()
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then
/// waits for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::debug!(?limits, "serving");
    let acceptor = tls.map(TlsAcceptor::from);
    let registry = Arc::new(Registry::default());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    // Each connection task holds a sender; when all are gone, every connection is done.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let mut last_full_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    'accept: loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A slot for it: free, or made by closing the longest-waiting idle connection,
        // or (every connection in a request) the first to come free.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let now = Instant::now();
                if last_full_warning.is_none_or(|t| now - t > Duration::from_secs(10)) {
                    last_full_warning = Some(now);
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: closing the longest-idle connections to make room"
                    );
                }
                // A few at a time (1/64 of the cap), so that during a flood the next
                // accepts find a slot without waiting for each close in turn.
                registry.evict_oldest((limits.max_connections / 64).clamp(1, 64));
                // When every connection was in a request, one that finishes its request
                // becomes idle without closing: look again every 100 ms.
                let mut again = tokio::time::interval(Duration::from_millis(100));
                again.tick().await;
                loop {
                    tokio::select! {
                        p = slots.clone().acquire_owned() => break p.expect("the semaphore is never closed"),
                        _ = again.tick() => {
                            registry.evict_oldest(1);
                        }
                        () = &mut shutdown => break 'accept,
                    }
                }
            }
        };
        let conn = registry.add();
        let task = Connection {
            registry: registry.clone(),
            conn,
            _permit: permit,
            _open: open_tx.clone(),
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let closing = closing_rx.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            task.run(tcp, peer, acceptor, app, limits, closing).await;
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// What a connection is doing, for its watchdog and for choosing whom to close at the cap.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Accepted, no request yet (TLS handshake included).
    Fresh { since: Instant },
    /// Between requests on a kept-alive connection; `first_byte` once the next one began.
    Idle {
        since: Instant,
        first_byte: Option<Instant>,
    },
    /// A request is being served: from its head until its answer is written; since when
    /// the client has not taken what we write, if it stopped.
    Busy { write_blocked: Option<Instant> },
}

impl Phase {
    /// Since when the connection has waited without a request in progress.
    fn waiting_since(&self) -> Option<Instant> {
        match *self {
            Phase::Fresh { since } | Phase::Idle { since, .. } => Some(since),
            Phase::Busy { .. } => None,
        }
    }
}

/// One connection's shared state: its phase, and the watchdog's doorbell.
#[derive(Debug)]
struct ConnState {
    id: u64,
    phase: Mutex<Phase>,
    /// Rung when the watchdog should look again (phase change, first byte, eviction).
    wake: Notify,
    evicted: AtomicBool,
    /// Whether the I/O path should report the next byte read (set while idle).
    want_first_byte: AtomicBool,
    /// Whether the last write found the client's window full.
    write_blocked: AtomicBool,
}

impl ConnState {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start_request(&self) {
        self.want_first_byte.store(false, Ordering::Relaxed);
        self.write_blocked.store(false, Ordering::Relaxed);
        // No need to ring: the watchdog finds the request when its old deadline comes.
        *self.phase() = Phase::Busy {
            write_blocked: None,
        };
    }

    fn finish_request(&self) {
        *self.phase() = Phase::Idle {
            since: Instant::now(),
            first_byte: None,
        };
        self.want_first_byte.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    fn saw_bytes(&self) {
        if self.want_first_byte.swap(false, Ordering::Relaxed) {
            let mut phase = self.phase();
            if let Phase::Idle { first_byte, .. } = &mut *phase
                && first_byte.is_none()
            {
                *first_byte = Some(Instant::now());
                drop(phase);
                self.wake.notify_one();
            }
        }
    }

    fn write_blocked(&self, blocked: bool) {
        if self.write_blocked.swap(blocked, Ordering::Relaxed) != blocked {
            let mut phase = self.phase();
            if let Phase::Busy { write_blocked } = &mut *phase {
                *write_blocked = blocked.then(Instant::now);
                drop(phase);
                self.wake.notify_one();
            }
        }
    }

    /// Completes when the connection must be closed, with the reason.
    async fn watchdog(&self, limits: Limits) -> &'static str {
        loop {
            if self.evicted.load(Ordering::Relaxed) {
                return "closed to make room at the connection limit";
            }
            let deadline = match *self.phase() {
                Phase::Fresh { since } => Some((
                    since + limits.header,
                    "no request head within the header timeout",
                )),
                Phase::Idle {
                    since,
                    first_byte: None,
                } => Some((since + limits.idle, "idle timeout")),
                Phase::Idle {
                    first_byte: Some(t),
                    ..
                } => Some((
                    t + limits.header,
                    "no complete request head within the header timeout",
                )),
                Phase::Busy {
                    write_blocked: Some(t),
                } => Some((t + limits.body, "the client stopped reading the answer")),
                Phase::Busy {
                    write_blocked: None,
                } => None,
            };
            match deadline {
                Some((at, why)) => {
                    if Instant::now() >= at {
                        return why;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

/// The open connections, to pick the ones to close at the cap.
#[derive(Debug, Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) -> Arc<ConnState> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(ConnState {
            id,
            phase: Mutex::new(Phase::Fresh {
                since: Instant::now(),
            }),
            wake: Notify::new(),
            evicted: AtomicBool::new(false),
            want_first_byte: AtomicBool::new(false),
            write_blocked: AtomicBool::new(false),
        });
        self.lock().insert(id, conn.clone());
        conn
    }

    /// Asks the `n` connections that have waited longest without a request to close;
    /// returns how many were asked (0 when every connection is in a request).
    fn evict_oldest(&self, n: usize) -> usize {
        let conns = self.lock();
        let mut waiting: Vec<_> = conns
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter_map(|c| c.phase().waiting_since().map(|t| (t, c)))
            .collect();
        if waiting.len() > n {
            waiting.select_nth_unstable_by_key(n, |(t, _)| *t);
            waiting.truncate(n);
        }
        for (_, c) in &waiting {
            c.evicted.store(true, Ordering::Relaxed);
            c.wake.notify_one();
        }
        waiting.len()
    }
}

/// An accepted connection with what it holds until it ends: its slot, its registry
/// entry and the shutdown tracker.
struct Connection {
    registry: Arc<Registry>,
    conn: Arc<ConnState>,
    _permit: OwnedSemaphorePermit,
    _open: mpsc::Sender<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.conn.id);
    }
}

impl Connection {
    async fn run(
        self,
        tcp: TcpStream,
        peer: std::net::SocketAddr,
        acceptor: Option<TlsAcceptor>,
        app: Router,
        limits: Limits,
        mut closing: watch::Receiver<bool>,
    ) {
        let conn = self.conn.clone();
        let watchdog = conn.watchdog(limits);
        tokio::pin!(watchdog);
        let io = Watched {
            inner: tcp,
            conn: conn.clone(),
        };
        match acceptor {
            None => serve_http(io, peer, conn.clone(), app, limits, closing, watchdog).await,
            Some(acceptor) => {
                let stream = tokio::select! {
                    s = acceptor.accept(io) => match s {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                    why = &mut watchdog => {
                        tracing::debug!(%peer, why, "connection closed during the TLS handshake");
                        return;
                    }
                    Ok(_) = closing.wait_for(|c| *c) => {
                        tracing::debug!(%peer, "connection closed at shutdown during the TLS handshake");
                        return;
                    }
                };
                serve_http(stream, peer, conn.clone(), app, limits, closing, watchdog).await
            }
        }
    }
}

/// Runs hyper's HTTP/1 connection over `io` until it ends, the watchdog fires, or (after
/// a shutdown began) its request in flight is done.
async fn serve_http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: S,
    peer: std::net::SocketAddr,
    conn: Arc<ConnState>,
    app: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
    mut watchdog: Pin<&mut impl Future<Output = &'static str>>,
) {
    let watched = conn.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        conn.start_request();
        let timed_out = Arc::new(AtomicBool::new(false));
        let mut req = req.map(|body| {
            Body::new(BodyDeadline {
                inner: body,
                deadline: Instant::now() + limits.body,
                sleep: None,
                timed_out: timed_out.clone(),
                limit: limits.body,
            })
        });
        // The client's address, for the audit log's `remote_address` (`vault::handle`).
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let app = app.clone();
        let conn = conn.clone();
        async move {
            let res = match app.oneshot(req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            let res = if timed_out.load(Ordering::Relaxed) {
                body_timeout_answer(res, limits.body)
            } else {
                res
            };
            Ok::<_, Infallible>(res.map(|body| {
                Body::new(AnswerBody {
                    inner: body,
                    conn: Some(conn),
                })
            }))
        }
    });
    let http = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(http);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            res = http.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            why = watchdog.as_mut() => {
                tracing::debug!(%peer, why, "connection closed");
                return;
            }
            Ok(_) = closing.wait_for(|c| *c), if !shutting_down => {
                // Shutting down: a connection without a request in progress (idle, or
                // in the middle of a head) is closed now; one in a request finishes it.
                shutting_down = true;
                if watched.phase().waiting_since().is_some() {
                    tracing::debug!(%peer, "connection closed at shutdown");
                    return;
                }
                http.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The answer when a request's body did not arrive in time: the handler's answer (it
/// has the security headers) turned into 408 in Vault's error shape, closing the
/// connection.
fn body_timeout_answer(res: Response<Body>, limit: Duration) -> Response<Body> {
    let (mut parts, _) = res.into_parts();
    let body = crate::error::body(vec![format!(
        "the request body did not arrive within {} (--body-timeout)",
        seconds(limit)
    )])
    .to_string();
    parts.status = StatusCode::REQUEST_TIMEOUT;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Response::from_parts(parts, Body::from(body))
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A request body that fails once `--body-timeout` has passed since the head (the
/// timer is only set when the body is not already there).
struct BodyDeadline {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
    limit: Duration,
}

impl hyper::body::Body for BodyDeadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(this.deadline)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    this.timed_out.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(format!(
                        "the request body did not arrive within {}",
                        seconds(this.limit)
                    )
                    .into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.inner)
    }
}

/// An answer's body that marks the connection idle once hyper is done with it.
struct AnswerBody {
    inner: Body,
    conn: Option<Arc<ConnState>>,
}

impl Drop for AnswerBody {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.finish_request();
        }
    }
}

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.inner)
    }
}

/// The TCP stream, reporting to the watchdog when bytes arrive and when the client stops
/// taking what we write.
struct Watched {
    inner: TcpStream,
    conn: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.saw_bytes();
        }
        res
    }
}

impl Watched {
    fn track<T>(&self, res: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        self.conn.write_blocked(res.is_pending());
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.track(res)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.track(res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_flush(cx);
        this.track(res)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_the_cap_the_longest_waiting_connections_without_a_request_go_first() {
        let registry = Registry::default();
        let now = Instant::now();
        let conns: Vec<_> = (0..5).map(|_| registry.add()).collect();
        // 0 waited longest but is in a request; then 1, 2, 3 (kept alive), 4 newest.
        for (i, c) in conns.iter().enumerate() {
            let since = now - Duration::from_secs(10 - i as u64);
            *c.phase() = match i {
                0 => Phase::Busy {
                    write_blocked: None,
                },
                3 => Phase::Idle {
                    since,
                    first_byte: None,
                },
                _ => Phase::Fresh { since },
            };
        }
        assert_eq!(registry.evict_oldest(2), 2);
        let evicted = |i: usize| conns[i].evicted.load(Ordering::Relaxed);
        assert!(!evicted(0) && evicted(1) && evicted(2) && !evicted(3) && !evicted(4));
        // Already asked ones are not counted again; busy ones never.
        assert_eq!(registry.evict_oldest(5), 2);
        assert!(!evicted(0) && evicted(3) && evicted(4));
        assert_eq!(registry.evict_oldest(1), 0);
        // The watchdog of an evicted connection fires at once.
        let limits = Limits {
            header: Duration::from_secs(60),
            body: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            max_connections: 5,
        };
        let why = tokio::time::timeout(Duration::from_secs(1), conns[1].watchdog(limits))
            .await
            .expect("an evicted connection's watchdog fires");
        assert!(why.contains("connection limit"), "{why}");
    }

    /// Writes `request` on `tcp` and reads one answer (up to the end of its small body).
    async fn ask(tcp: &mut TcpStream, request: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).ends_with("done") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before the answer: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    #[tokio::test]
    async fn at_the_cap_a_connection_that_finishes_its_request_makes_room() {
        let app = Router::new()
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    "done"
                }),
            )
            .route("/fast", axum::routing::get(|| async { "done" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            header: Duration::from_secs(60),
            body: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            max_connections: 1,
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, None, limits, async {
            let _ = stop_rx.await;
        }));
        // A takes the only slot with a slow request, then stays open (kept alive).
        let mut a = TcpStream::connect(addr).await.unwrap();
        let a_task = tokio::spawn(async move {
            let answer = ask(&mut a, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await;
            (a, answer)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        // B waits while A is in its request, and gets in once A is idle, long before
        // A's idle timeout.
        let t = Instant::now();
        let mut b = TcpStream::connect(addr).await.unwrap();
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            ask(&mut b, "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n"),
        )
        .await
        .expect("B is served once A's request is done");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        let (mut a, answer) = a_task.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // A was closed to make room.
        let mut buf = [0u8; 16];
        use tokio::io::AsyncReadExt;
        assert_eq!(a.read(&mut buf).await.unwrap_or(0), 0);
        stop_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("shutdown completes")
            .unwrap()
            .unwrap();
    }

    #[test]
    fn the_connection_cap_leaves_room_below_the_open_file_limit() {
        assert_eq!(connections_for(1024), 1024 - 64 - 128);
        assert_eq!(connections_for(20), 16);
        assert_eq!(connections_for(1 << 20), 16_384);
        for limit in [256u64, 1024, 4096, 65_536] {
            assert!((connections_for(limit) as u64) < limit - 64, "{limit}");
        }
    }
}
