//! Test support: scratch files and the `openssl` command, for tests that check our
//! output with an independent implementation (host only). A leaf module, so every
//! concept's tests can use it without importing another concept.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch directory under the system temp dir, removed on drop.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "pki-shared-{name}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch { dir }
    }

    pub(crate) fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    pub(crate) fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(file);
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs openssl with `args`; panics with its output unless it succeeds. Returns
/// stdout followed by stderr.
pub(crate) fn openssl(args: &[&str]) -> String {
    let (ok, text) = openssl_outcome(args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

/// Runs openssl with `args`: whether it succeeded, and stdout followed by stderr (for
/// checks that expect a refusal).
pub(crate) fn openssl_outcome(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
