//! Structured logging with `tracing`: human-readable text or one JSON object per line.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the subscriber: `filter` (from `--log` / `PKI_CONSOLE_LOG`; an invalid one
/// falls back to `info` with a warning) and the format.
pub fn init(format: LogFormat, filter: &str) {
    let parsed = EnvFilter::try_new(filter);
    let invalid = parsed.as_ref().err().map(|e| e.to_string());
    let filter = parsed.unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Some(e) = invalid {
        tracing::warn!(error = %e, "the log filter (--log, PKI_CONSOLE_LOG) is invalid; logging at info");
    }
}
