//! A child process the harness owns: killed (SIGKILL) and reaped when dropped, so a
//! failing test or build step never leaves servers behind; stopped gracefully by SIGTERM
//! to its PID.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

pub struct Process {
    child: Child,
    done: bool,
}

impl Process {
    pub fn new(child: Child) -> Process {
        Process { child, done: false }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// SIGTERM by PID, then waits up to `within`: the exit status, or `None` when it did
    /// not exit in time (it is then killed and reaped).
    pub fn terminate(&mut self, within: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.child.try_wait()? {
                self.done = true;
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill()?;
        Ok(None)
    }

    /// SIGKILL, as a crash would; the process is reaped.
    pub fn kill(&mut self) -> std::io::Result<()> {
        if !self.done && self.child.try_wait()?.is_none() {
            self.child.kill()?;
            self.child.wait()?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// A free loopback port (bound, then released for a child to take).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The status of one plain HTTP/1.0 `GET <path>` to `127.0.0.1:<port>`, or `None` when
/// nothing answers within 2 s (a readiness probe that needs no HTTP client).
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    if !head.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
