//! `pki-console`: reads the configuration, sets up logging, binds and runs the server.

use backend::config::Config;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    backend::telemetry::init(config.log_format);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    backend::run(listener, config, backend::shutdown_signal()).await
}
