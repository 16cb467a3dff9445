//! The PKI Console server as a library: `app` builds the router, `run` serves it on a
//! bound listener (plain HTTP, or HTTPS with `--tls-cert`; `serve.rs` with its timeouts
//! and connection cap) until the shutdown future completes (tests bind port 0).

pub mod calls;
pub mod certindex;
pub mod certs;
pub mod config;
pub mod engine;
pub mod error;
pub mod k8s;
pub mod overview;
pub mod proxy;
pub mod routes;
pub mod security;
pub mod serve;
pub mod session;
pub mod setup;
pub mod spa;
pub mod telemetry;
pub mod tls;
pub mod trust;
pub mod vault;

use std::future::Future;
use std::sync::Arc;

use config::{Config, Mode};
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The embedded Vault engine (embedded mode).
    pub engine: Option<Arc<engine::Engine>>,
    /// The Vault that `/v1/*` is forwarded to (upstream mode).
    pub upstream: Option<Arc<proxy::Upstream>>,
    /// Sealing and CSRF keys of console sessions.
    pub sessions: Arc<session::Sessions>,
    /// The Kubernetes view's watches and cache (empty when no cluster is configured).
    pub k8s: Arc<k8s::Cluster>,
    /// Upstream mode's in-memory certificate indexes, one per mount (unused embedded).
    pub cert_indexes: Arc<certs::Indexes>,
}

impl AppState {
    /// Opens the engine (embedded mode; creates the data directory) or sets up the
    /// upstream client (upstream mode; touches no files), and the session keys.
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let (engine, upstream) = match config.mode() {
            Mode::Embedded => (
                Some(Arc::new(engine::Engine::open(&config.engine())?)),
                None,
            ),
            Mode::Upstream => (None, Some(Arc::new(proxy::Upstream::new(&config)?))),
        };
        let sessions = Arc::new(session::Sessions::from_config(&config)?);
        let k8s = k8s::Cluster::start(&config)?;
        Ok(AppState {
            config: Arc::new(config),
            engine,
            upstream,
            sessions,
            k8s,
            cert_indexes: Arc::default(),
        })
    }
}

/// Serves the console on `listener` until `shutdown` completes, then lets in-flight
/// requests finish.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let limits = serve::Limits::from_config(&config);
    let state = AppState::new(config)?;
    let mode = state.config.mode().as_str();
    let upstream = state
        .upstream
        .as_ref()
        .map(|u| u.address().to_string())
        .unwrap_or_default();
    let app = routes::app(state);
    if !spa::bundle_present() {
        tracing::warn!(
            "this binary was built without the web bundle; run `cargo xtask dist` and rebuild"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The one line a person (or a test harness) waits for.
    println!("PKI Console is ready: {scheme}://{addr}/");
    if upstream.is_empty() {
        tracing::info!(%addr, version = shared::VERSION, mode, max_connections = limits.max_connections, "listening");
    } else {
        tracing::info!(%addr, version = shared::VERSION, mode, %upstream, max_connections = limits.max_connections, "listening");
    }
    serve::serve(listener, app, tls, limits, shutdown).await?;
    tracing::info!("shut down");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called (not
/// when the future is first polled), so a signal right after startup is never missed.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutdown signal received");
    }
}
