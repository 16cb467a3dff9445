//! Embeds the built web bundle (`cargo xtask dist` writes it to `target/dist`) into the
//! server binary, so the release binary serves the SPA from any directory as one file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PKI_CONSOLE_DIST");
    let dist = std::env::var_os("PKI_CONSOLE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    // Watching a directory that does not exist would rerun this script on every build;
    // an empty one is watched like any other, and filled by `cargo xtask dist`.
    std::fs::create_dir_all(&dist).expect("create the dist directory");
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();

    let mut out = String::from("pub static ASSETS: &[Asset] = &[\n");
    for rel in &files {
        if rel.ends_with(".gz") {
            continue;
        }
        let abs = dist.join(rel);
        let gz = dist.join(format!("{rel}.gz"));
        let gzip = if gz.exists() {
            format!("Some(include_bytes!({:?}))", gz.display().to_string())
        } else {
            "None".to_string()
        };
        writeln!(
            out,
            "    Asset {{ path: {:?}, body: include_bytes!({:?}), gzip: {gzip} }},",
            format!("/{rel}"),
            abs.display().to_string(),
        )
        .unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(target, out).expect("write assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            files.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}
