//! The release server as a child process of the build tool: started on a free port with
//! its own data directory, ready when it prints its ready line, stopped with SIGTERM (or
//! killed when dropped, so a failing step never leaves servers behind).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

const READY: &str = "PKI Console is ready: ";

pub struct Console {
    child: Option<Child>,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    pub data_dir: PathBuf,
}

impl Console {
    /// Starts `bin --listen 127.0.0.1:0 --data-dir <data_dir> <args>`; its stderr goes to
    /// `<data_dir>.log`.
    pub fn start(bin: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<Console> {
        if let Some(parent) = data_dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let log_path = data_dir.with_extension("log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("create {}", log_path.display()))?;
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
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the ready line, then keeps draining so the child never blocks on stdout.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix(READY) {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_string());
                }
            }
        });
        let mut console = Console {
            child: Some(child),
            url: String::new(),
            data_dir: data_dir.to_path_buf(),
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => console.url = url,
            Err(_) => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!(
                    "{} did not print its ready line within 60 s; its log:\n{log}",
                    bin.display()
                );
            }
        }
        Ok(console)
    }

    /// The embedded engine's root token.
    pub fn root_token(&self) -> anyhow::Result<String> {
        let file = self.data_dir.join("root-token");
        Ok(std::fs::read_to_string(&file)
            .with_context(|| format!("read {}", file.display()))?
            .trim()
            .to_string())
    }

    /// SIGTERM, then waits up to 15 s for a graceful exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        for _ in 0..150 {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("the server at {} exited with {status}", self.url);
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "the server at {} did not stop within 15 s of SIGTERM",
            self.url
        )
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
