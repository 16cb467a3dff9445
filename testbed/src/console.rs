//! The real `pki-console` binary as a child process: `--listen 127.0.0.1:0` with its own
//! data directory, ready when it prints its ready line (which names the port it got),
//! stopped with SIGTERM, killed when dropped. Blocking; [`crate::server::Server`] is the
//! tokio face of it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::Process;

/// The line the server prints once it listens, followed by its base URL.
pub const READY: &str = "PKI Console is ready: ";
/// How long a server may take to print [`READY`].
pub const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM.
pub const STOP_WITHIN: Duration = Duration::from_secs(15);

/// Where the server's stderr (its log) goes.
#[derive(Debug, Clone, Copy)]
pub enum Log<'a> {
    /// The caller's stderr (a test's output).
    Inherit,
    /// A file, created or truncated (shown when the server fails to start).
    File(&'a Path),
}

/// The binary: `$PKI_CONSOLE_BIN`, else the newest of `target/<build>/pki-console` for
/// the `builds` given (`["debug", "release"]` for the tests, `["release"]` for a
/// benchmark).
pub fn binary(builds: &[&str]) -> anyhow::Result<PathBuf> {
    let newest = || {
        builds
            .iter()
            .map(|b| crate::root().join("target").join(b).join("pki-console"))
            .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .unwrap_or_default()
    };
    let bin = std::env::var_os("PKI_CONSOLE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(newest);
    if !bin.exists() {
        bail!(
            "{} does not exist: `cargo xtask test` and `cargo xtask bench proxy` build it, \
             or set PKI_CONSOLE_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// One running server.
pub struct Console {
    process: Process,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    pub data_dir: PathBuf,
}

impl Console {
    /// Starts `bin --listen 127.0.0.1:0 --data-dir <data_dir> <args>` (log level `warn`,
    /// without the caller's `VAULT_*` environment, which must not turn the server into a
    /// proxy) and waits for its ready line.
    pub fn start(bin: &Path, data_dir: &Path, args: &[&str], log: Log) -> anyhow::Result<Console> {
        let stderr = match log {
            Log::Inherit => Stdio::inherit(),
            Log::File(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::File::create(path)
                    .with_context(|| format!("create {}", path.display()))?
                    .into()
            }
        };
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("PKI_CONSOLE_LOG", "warn")
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CACERT")
            .env_remove("VAULT_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let process = Process::new(child);
        let (tx, rx) = mpsc::channel();
        // Reads the ready line, then keeps draining so the child never blocks on stdout.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix(READY) {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_string());
                }
            }
        });
        let base = match rx.recv_timeout(READY_WITHIN) {
            Ok(base) => base,
            Err(e) => {
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => "did not print its ready line within 60 s",
                    mpsc::RecvTimeoutError::Disconnected => "exited before it was ready",
                };
                let log = match log {
                    Log::File(path) => format!(
                        "; its log:\n{}",
                        std::fs::read_to_string(path).unwrap_or_default()
                    ),
                    Log::Inherit => String::new(),
                };
                bail!("{} {why}{log}", bin.display());
            }
        };
        Ok(Console {
            process,
            base,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` the server listens on.
    pub fn authority(&self) -> &str {
        authority(&self.base)
    }

    /// The embedded engine's root token (`<data-dir>/root-token`).
    pub fn root_token(&self) -> anyhow::Result<String> {
        let file = self.data_dir.join("root-token");
        Ok(std::fs::read_to_string(&file)
            .with_context(|| format!("read {}", file.display()))?
            .trim()
            .to_string())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// SIGTERM, then waits up to 15 s for the exit (killed after that, and an error).
    pub fn stop(mut self) -> anyhow::Result<ExitStatus> {
        match self.process.terminate(STOP_WITHIN)? {
            Some(status) => Ok(status),
            None => bail!(
                "the server at {} did not stop within {STOP_WITHIN:?} of SIGTERM",
                self.base
            ),
        }
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.process.kill()?;
        Ok(())
    }
}

/// `host:port` of a base URL such as `http://127.0.0.1:8210`.
pub fn authority(base: &str) -> &str {
    base.split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(base)
        .trim_end_matches('/')
}
