//! The PKI Console server as a library: `app` builds the router, `run` serves it on a
//! bound listener until the shutdown future completes (tests bind port 0).

pub mod config;
pub mod engine;
pub mod error;
pub mod routes;
pub mod security;
pub mod spa;
pub mod telemetry;
pub mod vault;

use std::future::Future;
use std::sync::Arc;

use config::Config;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The embedded Vault engine (embedded mode).
    pub engine: Option<Arc<engine::Engine>>,
}

impl AppState {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let engine = engine::Engine::open(&config.engine())?;
        Ok(AppState {
            config: Arc::new(config),
            engine: Some(Arc::new(engine)),
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
    let state = AppState::new(config)?;
    let app = routes::app(state);
    if !spa::bundle_present() {
        tracing::warn!(
            "this binary was built without the web bundle; run `cargo xtask dist` and rebuild"
        );
    }
    // The one line a person (or a test harness) waits for.
    println!("PKI Console is ready: http://{addr}/");
    tracing::info!(%addr, version = shared::VERSION, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
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
