//! Test harness shared by the end-to-end suites: start the real server binary on a free
//! port, talk to it over HTTP, and drive headless Chromium through ChromeDriver.

pub mod browser;
pub mod http;
pub mod server;

pub use browser::Browser;
pub use server::Server;

/// Path of the workspace root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}
