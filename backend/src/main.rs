//! `pki-console`: reads the configuration, sets up logging, raises the soft open-file
//! limit to the hard one, binds and runs the server.

use backend::config::Config;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    backend::telemetry::init(config.log_format, &config.log);
    backend::serve::raise_open_file_limit();
    let listener = listen(config.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    backend::run(listener, config, backend::shutdown_signal()).await
}

/// Binds `addr` with a backlog of 4096 (the kernel caps it at `somaxconn`; tokio's
/// `bind` asks for 1024), so a burst of connections waits in the kernel's queue instead
/// of being dropped half-open while the accept loop catches up.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}
