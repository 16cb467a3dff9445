//! `cargo xtask seed-certs N [--data-dir DIR] [--mount pki_int] [--threads T]`: N
//! synthetic certificates stored straight into a data directory (no HTTP), by the
//! release build of `backend/examples/seed_certs.rs` over `backend::engine::pki::seed`.
//! The server must not be running on that directory.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::{cargo, root, run_cmd};

/// Builds the seeding tool (release) and returns its path.
pub fn build() -> anyhow::Result<PathBuf> {
    run_cmd(cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "pki-console",
        "--example",
        "seed_certs",
    ]))?;
    Ok(root().join("target/release/examples/seed_certs"))
}

/// Runs the tool with `args` (N first), its output on ours.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if args
        .first()
        .is_none_or(|n| n.replace('_', "").parse::<u64>().is_err())
    {
        bail!("usage: cargo xtask seed-certs N [--data-dir DIR] [--mount pki_int] [--threads T]");
    }
    let tool = build()?;
    run_cmd(std::process::Command::new(tool).args(args))
}

/// Seeds `n` certificates into `data_dir` with an already built `tool`; returns the
/// tool's summary line.
pub fn seed_into(tool: &Path, data_dir: &Path, mount: &str, n: u64) -> anyhow::Result<String> {
    let out = std::process::Command::new(tool)
        .arg(n.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--mount", mount])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("seeding failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
