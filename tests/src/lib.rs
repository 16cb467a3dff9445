//! Test harness of the end-to-end suites. The server and OpenBao launchers, the `/v1`
//! client, `Target` and the recipe live in the `testbed` crate (shared with xtask and the
//! benchmarks) and are re-exported here under their old paths; this crate adds headless
//! Chromium, hand-written HTTP and the TokenReview stub.

pub mod browser;
pub mod raw;
pub mod tokenreview;

pub use testbed::recipe::csr_pem;
pub use testbed::{http, openbao, recipe, root, server, target};

pub use browser::{Browser, BrowserOptions};
pub use server::Server;
pub use target::{Kind, Reply, Target};

/// Waits (up to 30 s) until the browser has completely downloaded `name` into `dir`.
pub async fn downloaded(dir: &std::path::Path, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(name);
    for _ in 0..300 {
        let partial = std::fs::read_dir(dir)?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"));
        if path.exists() && !partial && std::fs::metadata(&path)?.len() > 0 {
            return Ok(path);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let have: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    anyhow::bail!("{name} was not downloaded; the folder has {have:?}")
}
