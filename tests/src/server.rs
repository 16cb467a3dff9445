//! The real `pki-console` binary, started as a child process on a free port with
//! its own data directory, stopped (or killed) when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// The binary under test: `$PKI_CONSOLE_BIN` (set by `cargo xtask test` to the debug
/// build), else the newer of the debug and release builds in `target/`.
pub fn binary() -> anyhow::Result<PathBuf> {
    let newest = || {
        ["debug", "release"]
            .iter()
            .map(|p| crate::root().join("target").join(p).join("pki-console"))
            .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .unwrap_or_default()
    };
    let bin = std::env::var_os("PKI_CONSOLE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(newest);
    if !bin.exists() {
        bail!(
            "{} does not exist: run the tests with `cargo xtask test`, which builds it",
            bin.display()
        );
    }
    Ok(bin)
}

impl Server {
    /// Starts the server with a fresh data directory.
    pub async fn start() -> anyhow::Result<Server> {
        Self::start_args(&[]).await
    }

    /// Starts the server with a fresh data directory and extra arguments.
    pub async fn start_args(args: &[&str]) -> anyhow::Result<Server> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("data");
        let mut s = Self::start_with(&binary()?, &dir, args).await?;
        s._tmp = Some(tmp);
        Ok(s)
    }

    /// Starts `bin` with `data_dir` (kept after the server stops) and extra arguments.
    pub async fn start_with(bin: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<Server> {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("PKI_CONSOLE_LOG", "warn")
            // A Vault CLI environment of the person running the tests must not turn the
            // server under test into a proxy.
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CACERT")
            .env_remove("VAULT_NAMESPACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("PKI Console is ready: ") {
                    return Ok(url.trim_end_matches('/').to_string());
                }
            }
            bail!("the server exited before it was ready")
        })
        .await
        .context("the server did not print its ready line within 60 s")??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            base: ready,
            data_dir: data_dir.to_path_buf(),
            _tmp: None,
        })
    }

    /// Starts a server in upstream mode in front of `vault_addr`, with extra arguments
    /// (its data directory is given but must stay untouched).
    pub async fn upstream(vault_addr: &str, args: &[&str]) -> anyhow::Result<Server> {
        let mut all = vec!["--vault-addr", vault_addr];
        all.extend_from_slice(args);
        Self::start_args(&all).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` the server listens on.
    pub fn authority(&self) -> &str {
        crate::raw::authority(&self.base)
    }

    /// Signs in on the console (`POST /api/session`) with `token`: the `Cookie` header
    /// value and the CSRF token.
    pub async fn sign_in(&self, token: &str) -> anyhow::Result<(String, String)> {
        let res = crate::http::send(
            crate::http::Method::POST,
            &self.url("/api/session"),
            &[("content-type", "application/json")],
            serde_json::json!({ "token": token })
                .to_string()
                .into_bytes(),
        )
        .await?;
        anyhow::ensure!(res.status == 200, "sign-in: {} {}", res.status, res.text());
        let cookie = res
            .header("set-cookie")
            .context("a session cookie")?
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let csrf = res.json()?["csrf_token"]
            .as_str()
            .context("a CSRF token")?
            .to_string();
        Ok((cookie, csrf))
    }

    /// The embedded engine's root token (`<data-dir>/root-token`).
    pub fn root_token(&self) -> anyhow::Result<String> {
        let file = self.data_dir.join("root-token");
        Ok(std::fs::read_to_string(&file)
            .with_context(|| format!("read {}", file.display()))?
            .trim()
            .to_string())
    }

    /// Sends SIGTERM and waits for a graceful exit.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()?;
        }
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("the server did not stop within 15 s of SIGTERM")??;
        Ok(status)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}
