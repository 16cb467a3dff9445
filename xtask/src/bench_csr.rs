//! `cargo xtask bench csr`: the plugin's key + CSR generation against the perfanchors
//! anchors (`../shared/bench/perfanchors`: PKI.js, WebCrypto, node-forge) in one headless
//! Chromium run, every CSR verified by openssl, then the ratios the product promises:
//! P-256 key+CSR at most 0.5× PKI.js's, RSA-2048 key+CSR at most 1.2× WebCrypto's RSA-2048
//! keygen alone, and at least 25× faster than node-forge's RSA-2048.
//!
//! Options: `--runs N` (measured runs per entry, default 15); anything after `--` goes to
//! perfanchors' `run.mjs` as is. Needs `target/dist/plugin` (`cargo xtask dist`), node and
//! npm (the anchors' packages come from the npm registry with `npm ci`), /usr/bin/chromium
//! and openssl.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::root;

/// The browser entries of this benchmark: ours, and the anchors the ratios use.
const ONLY: &str =
    "^(product/csr/|pkijs/csr/|webcrypto/keygen/(p256|ed25519|rsa2048)$|forge/csr/rsa2048$)";

/// One browser entry's result.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    status: String,
    n: u32,
    min: f64,
    median: f64,
    max: f64,
    /// openssl's verdict on the entry's last CSR, for `csr` entries.
    verified: Option<bool>,
}

struct Ratio {
    what: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    /// The ratio is `numerator / denominator` medians; the target holds when it is at most
    /// (`true`) or at least (`false`) `target`.
    at_most: bool,
    target: f64,
}

const RATIOS: &[Ratio] = &[
    Ratio {
        what: "P-256 key+CSR vs PKI.js P-256 key+CSR",
        numerator: "product/csr/p256",
        denominator: "pkijs/csr/p256",
        at_most: true,
        target: 0.5,
    },
    Ratio {
        what: "RSA-2048 key+CSR vs WebCrypto RSA-2048 keygen alone",
        numerator: "product/csr/rsa2048",
        denominator: "webcrypto/keygen/rsa2048",
        at_most: true,
        target: 1.2,
    },
    Ratio {
        what: "node-forge RSA-2048 key+CSR vs ours (times faster)",
        numerator: "forge/csr/rsa2048",
        denominator: "product/csr/rsa2048",
        at_most: false,
        target: 25.0,
    },
];

/// Ratios printed for context, without a target: what bounds the targeted ones.
const CONTEXT: &[(&str, &str, &str)] = &[
    (
        "node-forge RSA-2048 vs WebCrypto keygen alone (ceiling)",
        "forge/csr/rsa2048",
        "webcrypto/keygen/rsa2048",
    ),
    (
        "RSA-2048 key+CSR vs PKI.js RSA-2048 key+CSR",
        "product/csr/rsa2048",
        "pkijs/csr/rsa2048",
    ),
    (
        "P-256 key+CSR vs WebCrypto P-256 keygen alone",
        "product/csr/p256",
        "webcrypto/keygen/p256",
    ),
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut args = args;
    if args.first().map(String::as_str) == Some("csr") {
        args = &args[1..];
    }
    let mut runs = 15u32;
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .context("--runs takes a positive number")?;
            }
            "--" => extra.extend(it.by_ref().cloned()),
            other => bail!(
                "unknown argument `{other}`; usage: cargo xtask bench csr [--runs N] [-- run.mjs args]"
            ),
        }
    }

    let root = root();
    let plugin = root.join("target/dist/plugin");
    if !plugin.join("pki_plugin_bg.wasm").exists() {
        bail!(
            "{} has no built plugin: run `cargo xtask dist` first",
            plugin.display()
        );
    }
    let source = root.join("../shared/bench/perfanchors");
    if !source.join("run.mjs").exists() {
        bail!("{} is missing (perfanchors)", source.display());
    }
    for (tool, why) in [
        ("node", "runs the benchmark driver"),
        ("npm", "installs the anchors' packages"),
        ("openssl", "verifies every CSR"),
    ] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is needed ({why}); install it (Debian: nodejs npm openssl)");
        }
    }

    let bench = root.join("target/perfanchors");
    copy_anchors(&source, &bench)?;
    npm_ci(&bench)?;

    // Our entries: the plugin as served under /plugin/, beside the registration module.
    let ext = bench.join("ext");
    let _ = fs::remove_dir_all(&ext);
    copy_tree(&plugin, &ext, &|p| p.extension().is_some_and(|e| e == "gz"))?;
    fs::copy(
        root.join("frontend/plugin/bench/register-product.mjs"),
        ext.join("register-product.mjs"),
    )
    .context("copy frontend/plugin/bench/register-product.mjs")?;

    let results = bench.join("results");
    let _ = fs::remove_file(results.join("latest.json"));
    let runs_text = runs.to_string();
    let mut driver = Command::new("node");
    driver
        .args(["run.mjs", "--ext-dir"])
        .arg(&ext)
        .args([
            "--module",
            "/ext/register-product.mjs",
            "--no-example",
            "--only",
            ONLY,
            "--no-native",
            "--no-node",
            "--no-speed",
            "--runs",
            &runs_text,
        ])
        .args(&extra);
    run_in(&bench, &mut driver)?;

    let entries = read_results(&bench)?;
    report(&entries, runs)
}

/// Runs `cmd` in `dir` (not the workspace root, unlike `run_cmd`), echoing it.
fn run_in(dir: &Path, cmd: &mut Command) -> anyhow::Result<()> {
    cmd.current_dir(dir);
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("$ (cd {}) {shown}", dir.display());
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Copies the read-only perfanchors tree into `dest` (writable, without what the driver
/// generates or installs).
fn copy_anchors(source: &Path, dest: &Path) -> anyhow::Result<()> {
    let skip = |p: &Path| {
        let rel = p.strip_prefix(source).unwrap_or(p);
        rel.starts_with("node_modules") || rel.starts_with("results") || rel.starts_with("web/dist")
    };
    copy_tree(source, dest, &skip)
}

/// Copies the files of `from` into `to`, by content (so the copies are writable), skipping
/// those `skip` names.
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> anyhow::Result<()> {
    for entry in fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let path = entry?.path();
        if skip(&path) {
            continue;
        }
        let dest = to.join(path.file_name().context("a named entry")?);
        if path.is_dir() {
            copy_tree(&path, &dest, skip)?;
        } else {
            fs::create_dir_all(to)?;
            fs::write(&dest, fs::read(&path)?)
                .with_context(|| format!("copy {} to {}", path.display(), dest.display()))?;
        }
    }
    Ok(())
}

/// `npm ci`, unless `node_modules` already matches the lock file.
fn npm_ci(dir: &Path) -> anyhow::Result<()> {
    let lock = fs::read(dir.join("package-lock.json")).context("read package-lock.json")?;
    let digest: String = Sha256::digest(&lock)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stamp = dir.join("node_modules/.pki-console-lock-sha256");
    if fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == digest) {
        return Ok(());
    }
    run_in(
        dir,
        Command::new("npm").args(["ci", "--no-audit", "--no-fund"]),
    )?;
    fs::write(stamp, digest)?;
    Ok(())
}

/// The browser entries of `results/latest.json` (read by node, which wrote it).
fn read_results(bench: &Path) -> anyhow::Result<Vec<Entry>> {
    let script = "const r = JSON.parse(require('fs').readFileSync('results/latest.json', 'utf8'));\n\
        for (const x of (r.browser && r.browser.results) || []) console.log([x.name, x.status, x.n ?? 0, \
        x.min ?? '', x.median ?? '', x.max ?? '', x.verify ? x.verify.ok : ''].join('\\t'));";
    let out = Command::new("node")
        .current_dir(bench)
        .args(["-e", script])
        .output()
        .context("run node")?;
    if !out.status.success() {
        bail!(
            "reading results/latest.json failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [name, status, n, min, median, max, verified] = f.as_slice() else {
                return None;
            };
            Some(Entry {
                name: name.to_string(),
                status: status.to_string(),
                n: n.parse().unwrap_or(0),
                min: num(min),
                median: num(median),
                max: num(max),
                verified: match *verified {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                },
            })
        })
        .collect())
}

fn report(entries: &[Entry], runs: u32) -> anyhow::Result<()> {
    println!("\nkey + CSR in headless Chromium, one run, {runs} measured runs per entry (ms):");
    println!(
        "  {:<28} {:>3} {:>9} {:>9} {:>9}  openssl",
        "entry", "n", "min", "median", "max"
    );
    for e in entries {
        if e.status != "ok" {
            println!("  {:<28} {}", e.name, e.status);
            continue;
        }
        println!(
            "  {:<28} {:>3} {:>9.2} {:>9.2} {:>9.2}  {}",
            e.name,
            e.n,
            e.min,
            e.median,
            e.max,
            match e.verified {
                Some(true) => "verified",
                Some(false) => "FAILED",
                None => "-",
            }
        );
    }

    let median = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name && e.status == "ok")
            .map(|e| e.median)
    };
    println!("\nratios of medians, same run:");
    for r in RATIOS {
        match (median(r.numerator), median(r.denominator)) {
            (Some(a), Some(b)) if b > 0.0 => {
                let ratio = a / b;
                let met = if r.at_most {
                    ratio <= r.target
                } else {
                    ratio >= r.target
                };
                println!(
                    "  {:<52} {ratio:>7.2}×  (target {} {}×) {}",
                    r.what,
                    if r.at_most { "≤" } else { "≥" },
                    r.target,
                    if met { "met" } else { "MISSED" }
                );
            }
            _ => println!(
                "  {:<52} n/a ({} or {} did not run)",
                r.what, r.numerator, r.denominator
            ),
        }
    }

    println!("\nfor context (no target):");
    for (what, numerator, denominator) in CONTEXT {
        match (median(numerator), median(denominator)) {
            (Some(a), Some(b)) if b > 0.0 => println!("  {what:<52} {:>7.2}×", a / b),
            _ => println!("  {what:<52} n/a ({numerator} or {denominator} did not run)"),
        }
    }

    let ours: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name.starts_with("product/"))
        .collect();
    if ours.len() != 4 {
        bail!(
            "expected 4 product entries, found {}: is the plugin built?",
            ours.len()
        );
    }
    let broken: Vec<&str> = ours
        .iter()
        .filter(|e| e.status != "ok" || e.verified != Some(true))
        .map(|e| e.name.as_str())
        .collect();
    if !broken.is_empty() {
        bail!(
            "openssl did not verify the CSRs of {broken:?}; see target/perfanchors/results/latest.txt"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_writable_and_skip_generated_folders() -> anyhow::Result<()> {
        let base = std::env::temp_dir().join(format!("bench-csr-copy-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(src.join("node_modules/x"))?;
        fs::create_dir_all(src.join("web/dist"))?;
        fs::write(src.join("run.mjs"), "a")?;
        fs::write(src.join("web/index.html"), "b")?;
        fs::write(src.join("web/dist/libs.js"), "c")?;
        fs::write(src.join("node_modules/x/y.js"), "d")?;
        let mut perms = fs::metadata(src.join("run.mjs"))?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(src.join("run.mjs"), perms)?;
        copy_anchors(&src, &dst)?;
        copy_anchors(&src, &dst)?; // again, over the first copy
        assert_eq!(fs::read_to_string(dst.join("run.mjs"))?, "a");
        assert_eq!(fs::read_to_string(dst.join("web/index.html"))?, "b");
        assert!(!dst.join("web/dist").exists());
        assert!(!dst.join("node_modules").exists());
        assert!(!fs::metadata(dst.join("run.mjs"))?.permissions().readonly());
        let _ = fs::remove_dir_all(&base);
        Ok(())
    }
}
