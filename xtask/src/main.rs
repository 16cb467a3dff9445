//! `cargo xtask <command>`: the project's build tool, so the README's commands stay two.
//!
//! - `run [-- ARGS]`   install what is missing, build the web bundle and the release
//!   server, start it in embedded mode (prints the URL)
//! - `test`            install what is missing, then every check and test suite
//! - `tidy`            the rules of ARCHITECTURE.md that a machine can check
//! - `dist`            build the web bundle into `target/dist` (printing its size)
//! - `bench proxy`     proxy overhead: latency through upstream mode vs the engine direct
//! - `bench sign [SECONDS]`  signing throughput: the engine against OpenBao (Raft)
//! - `bench certs [N]`  the certificate index with N certificates: search, page, count, RSS
//! - `seed-certs N [--data-dir DIR] [--mount M]`  N synthetic certificates, stored directly
//! - `fuzz [SECONDS] [TARGET]`  the stable-Rust fuzz harness for a bounded time
//! - `wasm-test-runner FILE`  wasm-bindgen's test runner (as the wasm32 cargo runner)

mod bench;
mod bench_certs;
mod bench_csr;
mod dist;
mod fuzz;
mod pipeline;
mod seed;
mod tidy;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let cmd = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    match cmd.as_str() {
        "run" => pipeline::run(&rest),
        "test" => pipeline::test(&rest),
        "bench" => bench::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "seed-certs" => seed::run(&rest),
        "tidy" => tidy::run(),
        "dist" => {
            tools::ensure_wasm_target()?;
            dist::build(!rest.iter().any(|a| a == "--no-opt")).map(|_| ())
        }
        "wasm-test-runner" => {
            let argv = std::iter::once("wasm-bindgen-test-runner".to_string()).chain(rest);
            wasm_bindgen_cli::wasm_bindgen_test_runner::run_cli_with_args(argv)
        }
        "" | "help" | "--help" | "-h" => {
            println!(
                "usage: cargo xtask <run [-- server args] | test [filter] | tidy | dist [--no-opt] | bench proxy|sign|certs [N]|csr | seed-certs N [--data-dir DIR] [--mount M] | fuzz [SECONDS] [TARGET] | wasm-test-runner FILE>"
            );
            Ok(())
        }
        other => bail!("unknown command `{other}`; try `cargo xtask help`"),
    }
}

/// The workspace root (the folder with the top-level `Cargo.toml`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command in the workspace root, echoing it; fails with its exit status.
pub fn run_cmd(cmd: &mut Command) -> anyhow::Result<()> {
    cmd.current_dir(root());
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", show(cmd));
    }
    Ok(())
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
