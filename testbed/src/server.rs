//! The real `pki-console` binary for tokio tests: a [`Console`] (started on a free port
//! with its own data directory, stopped or killed when dropped) with a temporary data
//! directory; its fields and blocking methods (`base`, `data_dir`, `url`, `authority`,
//! `root_token`) are the [`Console`]'s.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::console::{Console, Log};
use crate::http::{self, Method};

/// The binary under test: `$PKI_CONSOLE_BIN` (set by `cargo xtask test` to the debug
/// build), else the newer of the debug and release builds in `target/`.
pub fn binary() -> anyhow::Result<PathBuf> {
    crate::console::binary(&["debug", "release"])
}

pub struct Server {
    console: Console,
    _tmp: Option<tempfile::TempDir>,
}

impl std::ops::Deref for Server {
    type Target = Console;
    fn deref(&self) -> &Console {
        &self.console
    }
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

    /// Starts `bin` with `data_dir` (kept after the server stops) and extra arguments;
    /// its log goes to the test's stderr.
    pub async fn start_with(bin: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<Server> {
        let (bin, data_dir) = (bin.to_path_buf(), data_dir.to_path_buf());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        // Waiting for the ready line blocks: off the runtime, so that servers the test
        // runs in this process (a fake Vault, a TokenReview stub) keep answering.
        let console = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Console::start(&bin, &data_dir, &args, Log::Inherit)
        })
        .await??;
        Ok(Server {
            console,
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

    /// Signs in on the console (`POST /api/session`) with `token`: the `Cookie` header
    /// value and the CSRF token.
    pub async fn sign_in(&self, token: &str) -> anyhow::Result<(String, String)> {
        let res = http::send(
            Method::POST,
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

    /// Sends SIGTERM and waits (up to 15 s) for a graceful exit.
    pub async fn stop(self) -> anyhow::Result<std::process::ExitStatus> {
        let Server { console, _tmp } = self;
        let status = tokio::task::spawn_blocking(move || console.stop()).await??;
        drop(_tmp);
        Ok(status)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub async fn kill(self) -> anyhow::Result<()> {
        self.console.kill()
    }
}
