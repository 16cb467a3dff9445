//! Test harness shared by the end-to-end suites: start the real server binary on a free
//! port, talk to it over HTTP, and drive headless Chromium through ChromeDriver.

pub mod browser;
pub mod http;
pub mod openbao;
pub mod raw;
pub mod recipe;
pub mod server;
pub mod target;
pub mod tokenreview;

pub use browser::{Browser, BrowserOptions};
pub use server::Server;
pub use target::{Kind, Reply, Target};

/// Path of the workspace root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// A fresh P-256 key's CSR for `common_name` (with it as DNS SAN), as PEM.
pub fn csr_pem(common_name: &str) -> anyhow::Result<String> {
    use shared::pki::{cert, csr, key};
    let k = key::PrivateKey::generate(key::KeyType::Ec, 256)?;
    let subject = cert::Subject::with_common_name(common_name);
    let sans = cert::Sans {
        dns: vec![common_name.to_string()],
        ..Default::default()
    };
    Ok(csr::build_csr(&k, &subject, &sans, &Default::default())?)
}

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
