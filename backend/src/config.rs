//! The server's one configuration struct: flags, each with an environment variable.
//! Nothing else in the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "pki-console",
    version,
    about = "PKI Console: a browser console for Vault PKI"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "PKI_CONSOLE_LISTEN", default_value = "127.0.0.1:8210")]
    pub listen: SocketAddr,

    /// Directory for the embedded engine's database, keys and audit log.
    #[arg(long, env = "PKI_CONSOLE_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,

    /// Log format on stderr.
    #[arg(long, env = "PKI_CONSOLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Key-encryption key for CA private keys at rest: base64 of 32 bytes. When unset,
    /// the key is kept in `<data-dir>/kek` (created on first start, mode 0600).
    #[arg(long, env = "PKI_CONSOLE_KEK", hide_env_values = true)]
    pub kek: Option<Redacted>,

    /// Audit log file (one JSON line per request and response). Default:
    /// `<data-dir>/audit.log`.
    #[arg(long, env = "PKI_CONSOLE_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "PKI_CONSOLE_MAX_BODY", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|base| base.join("pki-console"))
        .unwrap_or_else(|| PathBuf::from("pki-console-data"))
}

impl Config {
    /// A configuration for tests: an ephemeral port and the given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            log_format: LogFormat::Text,
            kek: None,
            audit_log: None,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// A secret from the configuration: shown as `[redacted]` in logs and debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_string()))
    }
}

impl Config {
    pub fn engine(&self) -> crate::engine::EngineConfig {
        crate::engine::EngineConfig {
            data_dir: self.data_dir.clone(),
            kek: self.kek.as_ref().map(|k| k.0.clone()),
            audit_log: self.audit_log.clone(),
        }
    }
}
