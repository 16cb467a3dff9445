//! The web bundle: cargo (wasm32) → wasm-bindgen (library, pinned to the lock's version)
//! → wasm-opt (npm binaryen, optional) → content-hashed names → gzip → `target/dist`,
//! which the server embeds at build time. The embeddable plugin (`frontend/plugin`) is
//! built alongside into `target/dist/plugin/` under stable names (`/plugin/pki-plugin.js`
//! is a public URL), with its hand-written JS, types and demo page.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::{cargo, root, run_cmd, tools};

/// A download budget: the files one page load fetches, gzipped, held to a limit. Sizes
/// are bytes (1 KB = 1000 bytes); a file counts at its `.gz` size, as the server sends it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub name: &'static str,
    /// What the page fetches, as said in the report.
    pub fetches: &'static str,
    /// The lazy route whose WebAssembly the page loads after the app's main module
    /// (`overview` for `OverviewRoute`): its chunk and the shared chunks it needs.
    pub route: &'static str,
    /// Whether a file outside the app's folder (its path in `target/dist`) counts too.
    pub counts: fn(&str) -> bool,
    /// Issue 12's figure for this page, in gzipped bytes.
    pub limit: usize,
    /// Whether `cargo xtask dist` fails when the page is over its limit.
    pub enforced: bool,
}

/// What any page load fetches first: `index.html`, the favicon, the boot script, the
/// styles, and from the app's folder (`assets/app-<hash>/`) its glue, its snippets, its
/// main WebAssembly module and the link module that loads the lazy routes' chunks.
fn shell(path: &str) -> bool {
    if matches!(path, "index.html" | "favicon.svg")
        || path.starts_with("assets/boot-")
        || path.starts_with("assets/styles-")
    {
        return true;
    }
    match app_file(path) {
        Some(file) => {
            matches!(file, "app.js" | "app_bg.wasm" | SPLIT_LINK) || file.starts_with("snippets/")
        }
        None => false,
    }
}

/// The path of a file in the app's folder, below the folder.
fn app_file(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("assets/app-")?;
    rest.split_once('/').map(|(_, file)| file)
}

/// Nothing but the shell and the route's chunks.
fn nothing_else(_: &str) -> bool {
    false
}

/// The request page's crypto until its first key: the worker (`/plugin/worker.js`), the
/// keygen module it starts with (`pki_keygen.js` and `pki_keygen_bg.wasm`) and the
/// plugin's snippets. The whole plugin (`pki-plugin.js`, `pki_plugin.js`,
/// `pki_plugin_bg.wasm`) comes after the first key (the worker starts loading it then, for
/// the certificate check and the downloads), or before it only for an Ed25519 key or where
/// WebCrypto is missing.
fn request_crypto(path: &str) -> bool {
    matches!(
        path,
        "plugin/worker.js" | "plugin/pki_keygen.js" | "plugin/pki_keygen_bg.wasm"
    ) || path.starts_with("plugin/snippets/")
}

/// The console's download budgets (issue 12).
pub const BUDGETS: &[Budget] = &[
    Budget {
        name: "first load",
        fetches: "index.html, favicon, boot js, css, app js, app wasm, split loader, the overview's chunks",
        route: "overview",
        counts: nothing_else,
        limit: 200_000,
        enforced: false,
    },
    Budget {
        name: "request page",
        fetches: "the shell + the request page's chunks + worker.js, pki_keygen.js, pki_keygen_bg.wasm (until the first key)",
        route: "request",
        counts: request_crypto,
        limit: 400_000,
        enforced: false,
    },
];

/// The lazy routes' files: for each route's split name (`__request_route_view_<hash>`),
/// the stems of the files it fetches (its own chunk and the shared chunks it needs).
pub type Splits = std::collections::HashMap<String, Vec<String>>;

/// Whether `path` is one of the files `route` fetches when first shown.
fn route_file(splits: &Splits, route: &str, path: &str) -> bool {
    let Some(file) = app_file(path) else {
        return false;
    };
    let Some(stem) = file.strip_suffix(".wasm") else {
        return false;
    };
    let prefix = format!("__{route}_route_view");
    splits
        .iter()
        .filter(|(split, _)| split.starts_with(&prefix))
        .any(|(_, stems)| stems.iter().any(|s| s == stem))
}

/// One budget as measured: the gzipped bytes of the files it counts.
#[derive(Debug, PartialEq, Eq)]
pub struct Measured {
    pub name: &'static str,
    pub fetches: &'static str,
    pub files: usize,
    pub gzip: usize,
    pub limit: usize,
    pub enforced: bool,
}

/// Measures every budget over `files` (path in the bundle, gzipped size), with the lazy
/// routes' files from `splits`.
pub fn measure(budgets: &[Budget], files: &[(String, usize)], splits: &Splits) -> Vec<Measured> {
    budgets
        .iter()
        .map(|b| {
            let counted: Vec<usize> = files
                .iter()
                .filter(|(path, _)| {
                    shell(path) || (b.counts)(path) || route_file(splits, b.route, path)
                })
                .map(|(_, gz)| *gz)
                .collect();
            Measured {
                name: b.name,
                fetches: b.fetches,
                files: counted.len(),
                gzip: counted.iter().sum(),
                limit: b.limit,
                enforced: b.enforced,
            }
        })
        .collect()
}

/// The budget table `cargo xtask dist` prints.
pub fn report(measured: &[Measured]) -> String {
    let mut out = String::from("download budgets (gzipped bytes as served; 1 KB = 1000 bytes):\n");
    for m in measured {
        let state = match (m.gzip > m.limit, m.enforced) {
            (false, _) => "within budget".to_string(),
            (true, true) => format!("OVER BUDGET by {} B", m.gzip - m.limit),
            (true, false) => format!(
                "OVER BUDGET by {} B (reported, not yet enforced: issue 12)",
                m.gzip - m.limit
            ),
        };
        out.push_str(&format!(
            "  {:<13} {:>2} files {:>9} B = {:>6.1} KB of {:>5.1} KB: {state}\n",
            m.name,
            m.files,
            m.gzip,
            m.gzip as f64 / 1000.0,
            m.limit as f64 / 1000.0,
        ));
        if !m.fetches.is_empty() {
            out.push_str(&format!("                {}\n", m.fetches));
        }
    }
    out
}

/// Fails when a page fetches more than its limit.
pub fn check(measured: &[Measured]) -> anyhow::Result<()> {
    let over: Vec<String> = measured
        .iter()
        .filter(|m| m.enforced && m.gzip > m.limit)
        .map(|m| {
            format!(
                "{} is {} B gzipped, over its {} B limit",
                m.name, m.gzip, m.limit
            )
        })
        .collect();
    if over.is_empty() {
        Ok(())
    } else {
        bail!("the web bundle is over budget: {}", over.join("; "))
    }
}

/// The packages compiled to WebAssembly for the bundle, as cargo arguments.
pub const WEB_PACKAGES: &[&str] = &["-p", "frontend", "-p", "pki-plugin"];

/// Compiler flags for the bundle's wasm32 build only (host code, build scripts and the
/// debug wasm tests are untouched): Leptos' `erase_components` type-erases each component's
/// view at its boundary, so the view types are not monomorphised into one another. It made
/// the console's WebAssembly 8.6 % smaller gzipped (367,116 → 335,708 B) and changes no
/// behaviour.
const WASM_RUSTFLAGS: (&str, &str) = (
    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
    "--cfg erase_components -Clink-args=--emit-relocs",
);

/// `cargo build` of the bundle's wasm32 code with the `wasm-release` profile; the packages
/// are the caller's.
fn wasm_build() -> std::process::Command {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ])
    .env(WASM_RUSTFLAGS.0, WASM_RUSTFLAGS.1);
    cmd
}

/// Builds the bundle and returns the folder it is in.
pub fn build(optimise: bool) -> anyhow::Result<PathBuf> {
    check_bindgen_pin()?;
    let root = root();
    // One cargo run for both: the crates they share are built once, and the two
    // single-codegen-unit LTO links run side by side.
    run_cmd(wasm_build().args(WEB_PACKAGES))?;
    let out = root.join("target/wasm32-unknown-unknown/wasm-release");

    let work = root.join("target/dist-work");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    // Lazy routes: the console's WebAssembly is split into the main module and a chunk
    // per lazy route (plus chunks of the code some of them share), fetched on demand.
    let split_dir = work.join("split");
    let (app_input, chunks, splits) = split(&out.join("frontend.wasm"), &split_dir)?;
    let split = !chunks.is_empty();
    let wasm_path = bindgen_and_optimise(&app_input, &work, "app", false, split, optimise)?;
    let stage = root.join("target/dist.new");
    let _ = fs::remove_dir_all(&stage);
    fs::create_dir_all(stage.join("assets"))?;

    // The app's files go together into one folder named by their content: the glue, its
    // WebAssembly, its snippets, and with lazy routes the link module and the chunks,
    // which name one another by relative paths that must not change.
    let app = work.join("app-folder");
    fs::create_dir_all(&app)?;
    fs::copy(&wasm_path, app.join("app_bg.wasm"))?;
    fs::copy(work.join("app.js"), app.join("app.js"))?;
    let snippets = work.join("snippets");
    if snippets.is_dir() {
        copy_tree(&snippets, &app.join("snippets"))?;
    }
    if split {
        fs::copy(split_dir.join(SPLIT_LINK), app.join(SPLIT_LINK))?;
        for chunk in &chunks {
            let name = chunk
                .file_name()
                .context("a chunk without a file name")?
                .to_owned();
            optimise_into(chunk, &app.join(name), optimise)?;
        }
    }
    let app_dir = format!("app-{}", hash_tree(&app)?);
    copy_tree(&app, &stage.join("assets").join(&app_dir))?;
    let js_path = format!("{app_dir}/app.js");
    let wasm_file = format!("{app_dir}/app_bg.wasm");

    let boot = format!(
        "// Generated by `cargo xtask dist`: loads the app module and its WebAssembly.\n\
         import init from './{js_path}';\n\
         init({{ module_or_path: new URL('./{wasm_file}', import.meta.url) }});\n"
    );
    let boot_name = hashed("boot", "js", boot.as_bytes());
    fs::write(stage.join("assets").join(&boot_name), &boot)?;

    let css = fs::read(root.join("public/styles.css"))?;
    let css_name = hashed("styles", "css", &css);
    fs::write(stage.join("assets").join(&css_name), &css)?;

    let index = fs::read_to_string(root.join("public/index.html"))?
        .replace("{{styles}}", &format!("/assets/{css_name}"))
        .replace("{{app_js}}", &format!("/assets/{js_path}"))
        .replace("{{app_wasm}}", &format!("/assets/{wasm_file}"))
        .replace("{{boot}}", &format!("/assets/{boot_name}"));
    if index.contains("{{") {
        bail!("public/index.html has a placeholder that `cargo xtask dist` does not fill");
    }
    fs::write(stage.join("index.html"), index)?;
    fs::copy(root.join("public/favicon.svg"), stage.join("favicon.svg"))?;

    build_plugin(
        &out.join("pki_plugin.wasm"),
        &work.join("plugin"),
        &stage.join("plugin"),
        optimise,
    )?;
    // The console worker's first module: the plugin without its `full` feature. Its own
    // target directory: a package with a cdylib has no hash in its file names, so the two
    // feature sets built into one directory would overwrite each other's `pki_plugin.wasm`
    // and each would then be taken for fresh with the other's code.
    let keygen_target = root.join("target/wasm-keygen");
    run_cmd(
        wasm_build()
            .args(["-p", "pki-plugin", "--no-default-features", "--target-dir"])
            .arg(&keygen_target),
    )?;
    bindgen_module(
        &keygen_target.join("wasm32-unknown-unknown/wasm-release/pki_plugin.wasm"),
        &work.join("keygen"),
        &stage.join("plugin"),
        "pki_keygen",
        optimise,
    )?;

    let sizes = compress_and_report(&stage)?;
    for b in BUDGETS {
        for path in ["plugin/worker.js", "plugin/pki_keygen_bg.wasm"] {
            if (b.counts)(path) && !sizes.iter().any(|(p, _)| p == path) {
                bail!(
                    "the {} budget counts {path}, which the bundle does not have",
                    b.name
                );
            }
        }
        if !sizes.iter().any(|(p, _)| route_file(&splits, b.route, p)) {
            bail!(
                "the {} budget counts the chunks of the lazy route {:?}, and the bundle has none: is its page still a `lazy_page!` in frontend/src/app.rs?",
                b.name,
                b.route
            );
        }
    }
    let measured = measure(BUDGETS, &sizes, &splits);
    print!("{}", report(&measured));
    check(&measured)?;

    let dist = root.join("target/dist");
    let _ = fs::remove_dir_all(&dist);
    fs::rename(&stage, &dist)?;
    Ok(dist)
}

/// A copy of the WebAssembly `input` in `work` without the custom sections the linker
/// leaves for wasm-split (`linking`, `reloc.*`): modules that are not split (the plugin,
/// built in the same cargo run with `--emit-relocs`) do not need them, and wasm-opt
/// cannot optimise a module that has them.
fn without_link_sections(input: &Path, work: &Path) -> anyhow::Result<PathBuf> {
    let bytes = fs::read(input)?;
    let out = work.join(
        input
            .file_name()
            .context("a WebAssembly input without a file name")?,
    );
    fs::create_dir_all(work)?;
    fs::write(&out, strip_link_sections(&bytes)?)?;
    Ok(out)
}

/// `bytes` (a WebAssembly module) without its `linking` and `reloc.*` custom sections.
pub fn strip_link_sections(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    fn leb(b: &[u8], mut i: usize) -> anyhow::Result<(usize, usize)> {
        let (mut value, mut shift) = (0usize, 0u32);
        loop {
            let byte = *b.get(i).context("a truncated WebAssembly module")?;
            i += 1;
            value |= ((byte & 0x7f) as usize) << shift;
            if byte < 0x80 {
                return Ok((value, i));
            }
            shift += 7;
            if shift > 35 {
                bail!("a malformed WebAssembly module (LEB128 too long)");
            }
        }
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!("not a WebAssembly module");
    }
    let mut out = bytes[..8].to_vec();
    let mut i = 8;
    while i < bytes.len() {
        let id = bytes[i];
        let (size, body) = leb(bytes, i + 1)?;
        let end = body
            .checked_add(size)
            .filter(|e| *e <= bytes.len())
            .context("a WebAssembly section runs past the end")?;
        let drop = id == 0 && {
            let (len, name_at) = leb(bytes, body)?;
            let name = bytes.get(name_at..name_at + len).unwrap_or_default();
            name == b"linking" || name.starts_with(b"reloc.")
        };
        if !drop {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    Ok(out)
}

/// wasm-bindgen (`--target web`, no TypeScript) of `input` into `work` as `<name>.js` +
/// `<name>_bg.wasm`, then wasm-opt when asked and available; returns the .wasm to ship.
/// With `default_path`, the glue's `init()` fetches `<name>_bg.wasm` from beside itself
/// when given no module (the library API omits that default unless asked).
fn bindgen_and_optimise(
    input: &Path,
    work: &Path,
    name: &str,
    default_path: bool,
    split: bool,
    optimise: bool,
) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(work)?;
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(input)
        .web(true)?
        .typescript(false)
        .omit_default_module_path(!default_path)
        // A split main module keeps the exports its chunks link against, by name.
        .keep_lld_exports(split)
        .demangle(!split)
        .out_name(name);
    bindgen
        .generate(work)
        .with_context(|| format!("wasm-bindgen {}", input.display()))?;

    let wasm_path = work.join(format!("{name}_bg.wasm"));
    let out = work.join(format!("{name}_bg.opt.wasm"));
    optimise_into(&wasm_path, &out, optimise)?;
    Ok(out)
}

/// wasm-opt `-Oz` of `input` into `out` when asked and available; a copy otherwise.
fn optimise_into(input: &Path, out: &Path, optimise: bool) -> anyhow::Result<()> {
    if optimise && let Some(wasm_opt) = tools::wasm_opt() {
        return run_cmd(
            std::process::Command::new(wasm_opt)
                .arg(input)
                .args(["-Oz", "--strip-debug", "--strip-producers"])
                .args(WASM_FEATURES)
                .arg("-o")
                .arg(out),
        );
    }
    fs::copy(input, out)?;
    Ok(())
}

/// The link module wasm-split writes: the main module imports it, it fetches the chunks.
const SPLIT_LINK: &str = "__wasm_split.js";

/// Splits the console's WebAssembly at its lazy routes (`#[lazy_route]`, `#[lazy]`) when
/// it has any: answers the main module to hand to wasm-bindgen and the chunks; without
/// split points, the input itself and no chunks.
fn split(input: &Path, dir: &Path) -> anyhow::Result<(PathBuf, Vec<PathBuf>, Splits)> {
    let bytes = fs::read(input)?;
    let marker = b"__wasm_split_unstable";
    if !bytes.windows(marker.len()).any(|w| w == marker) {
        return Ok((input.to_path_buf(), vec![], Splits::new()));
    }
    fs::create_dir_all(dir)?;
    let main = dir.join("app_split.wasm");
    let link = format!("./{SPLIT_LINK}");
    let mut opts = wasm_split_cli_support::Options::new(&bytes);
    opts.output_dir = dir;
    opts.main_out_path = &main;
    opts.main_module = "./app.js";
    opts.link_name = &link;
    let done = wasm_split_cli_support::transform(opts)
        .map_err(|e| anyhow::anyhow!("wasm-split of {}: {e:?}", input.display()))?;
    Ok((main, done.split_modules, done.prefetch_map))
}

/// The embeddable plugin under stable names in `dest` (served at `/plugin/`): the
/// wasm-bindgen glue `pki_plugin.js` and `pki_plugin_bg.wasm` (the name the glue loads by
/// default), its snippets if any, the hand-written `pki-plugin.js`, `pki-plugin.d.ts` and
/// `worker.js`, and the demo page as `demo.html` + `demo.js`.
fn build_plugin(input: &Path, work: &Path, dest: &Path, optimise: bool) -> anyhow::Result<()> {
    bindgen_module(input, work, dest, "pki_plugin", optimise)?;
    let src = root().join("frontend/plugin");
    for (from, to) in [
        ("js/pki-plugin.js", "pki-plugin.js"),
        ("js/pki-plugin.d.ts", "pki-plugin.d.ts"),
        ("js/worker.js", "worker.js"),
        ("demo/index.html", "demo.html"),
        ("demo/demo.js", "demo.js"),
    ] {
        fs::copy(src.join(from), dest.join(to))
            .with_context(|| format!("copy frontend/plugin/{from}"))?;
    }
    Ok(())
}

/// A module under a stable name in `dest`: wasm-bindgen's glue `<name>.js`, the
/// `<name>_bg.wasm` it loads from beside itself by default, and its snippets if any.
fn bindgen_module(
    input: &Path,
    work: &Path,
    dest: &Path,
    name: &str,
    optimise: bool,
) -> anyhow::Result<()> {
    let input = without_link_sections(input, &work.join("input"))?;
    let wasm = bindgen_and_optimise(&input, work, name, true, false, optimise)?;
    fs::create_dir_all(dest)?;
    let glue = fs::read_to_string(work.join(format!("{name}.js")))?;
    let wasm_name = format!("{name}_bg.wasm");
    if !glue.contains(&format!("new URL('{wasm_name}', import.meta.url)")) {
        bail!(
            "the wasm-bindgen glue {name}.js does not load {wasm_name} from beside itself by default"
        );
    }
    fs::write(dest.join(format!("{name}.js")), glue)?;
    fs::copy(&wasm, dest.join(&wasm_name))?;
    let snippets = work.join("snippets");
    if snippets.is_dir() {
        copy_tree(&snippets, &dest.join("snippets"))?;
    }
    Ok(())
}

/// WebAssembly features that rustc emits by default for wasm32-unknown-unknown.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

fn hashed(stem: &str, ext: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{hex}.{ext}")
}

fn hash_tree(dir: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.strip_prefix(dir)?.to_string_lossy().as_bytes());
        h.update(fs::read(&f)?);
    }
    Ok(h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    walk(from, &mut files)?;
    for f in files {
        let dest = to.join(f.strip_prefix(from)?);
        fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
        fs::copy(&f, &dest)?;
    }
    Ok(())
}

/// Writes a `.gz` beside every file and prints the sizes; returns each file's path in
/// `dir` and gzipped size, for the budgets.
fn compress_and_report(dir: &Path) -> anyhow::Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut sizes = Vec::new();
    println!("web bundle ({}):", dir.display());
    for f in files {
        let bytes = fs::read(&f)?;
        let gz = gzip(&bytes)?;
        let name = f.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
        println!(
            "  {name:<40} {:>9} B raw {:>9} B gzip",
            bytes.len(),
            gz.len()
        );
        sizes.push((name, gz.len()));
        fs::write(PathBuf::from(format!("{}.gz", f.display())), gz)?;
    }
    Ok(sizes)
}

/// `bytes` gzipped with Zopfli (a gzip stream any client reads, some percent smaller than
/// zlib's best level; the bundle is compressed once, at build time).
fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )?;
    Ok(out)
}

/// `wasm-bindgen-cli-support` must be the exact version of the `wasm-bindgen` the app was
/// compiled with, or the generated glue does not match the module.
fn check_bindgen_pin() -> anyhow::Result<()> {
    let lock = fs::read_to_string(root().join("Cargo.lock")).context("read Cargo.lock")?;
    let version_of = |name: &str| -> Option<String> {
        let needle = format!("name = \"{name}\"\nversion = \"");
        let start = lock.find(&needle)? + needle.len();
        Some(lock[start..].split('"').next()?.to_string())
    };
    let lib = version_of("wasm-bindgen");
    let cli = version_of("wasm-bindgen-cli-support");
    if lib.is_none() || lib != cli {
        bail!(
            "wasm-bindgen {lib:?} and wasm-bindgen-cli-support {cli:?} differ in Cargo.lock; pin both to the same version"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(app_wasm: usize, keygen_wasm: usize) -> Vec<(String, usize)> {
        [
            ("index.html", 400),
            ("favicon.svg", 200),
            ("assets/boot-0.js", 200),
            ("assets/styles-0.css", 2_000),
            ("assets/app-0/app.js", 9_000),
            ("assets/app-0/app_bg.wasm", app_wasm),
            ("assets/app-0/__wasm_split.js", 1_000),
            ("assets/app-0/split___overview_route_view_1.wasm", 10_000),
            ("assets/app-0/split___request_route_view_1.wasm", 70_000),
            ("assets/app-0/split___setup_route_view_1.wasm", 100_000),
            ("assets/app-0/chunk_1.wasm", 5_000),
            ("assets/app-0/chunk_2.wasm", 7_000),
            ("plugin/worker.js", 1_000),
            ("plugin/pki_keygen.js", 9_000),
            ("plugin/pki_keygen_bg.wasm", keygen_wasm),
            ("plugin/pki-plugin.js", 4_000),
            ("plugin/pki_plugin.js", 5_000),
            ("plugin/pki_plugin_bg.wasm", 400_000),
            ("plugin/demo.html", 600),
            ("plugin/pki-plugin.d.ts", 3_000),
        ]
        .into_iter()
        .map(|(p, n)| (p.to_string(), n))
        .collect()
    }

    fn splits() -> Splits {
        [
            (
                "__overview_route_view_1",
                vec!["chunk_1", "split___overview_route_view_1"],
            ),
            (
                "__request_route_view_1",
                vec!["chunk_1", "chunk_2", "split___request_route_view_1"],
            ),
            (
                "__setup_route_view_1",
                vec!["chunk_2", "split___setup_route_view_1"],
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect()
    }

    const SHELL: usize = 400 + 200 + 200 + 2_000 + 9_000 + 1_000;

    /// The console's budgets, enforced.
    fn enforced() -> Vec<Budget> {
        BUDGETS
            .iter()
            .map(|b| Budget {
                enforced: true,
                ..*b
            })
            .collect()
    }

    #[test]
    fn each_page_counts_what_it_fetches() {
        let m = measure(&enforced(), &bundle(100_000, 60_000), &splits());
        // The shell, the overview's chunk and the chunk it shares; no other route's.
        assert_eq!(
            (m[0].files, m[0].gzip),
            (9, SHELL + 100_000 + 10_000 + 5_000)
        );
        // The request page's chunks and crypto; not the demo, the types or the whole plugin.
        assert_eq!(
            (m[1].files, m[1].gzip),
            (
                13,
                SHELL + 100_000 + 70_000 + 5_000 + 7_000 + 1_000 + 9_000 + 60_000
            )
        );
        assert!(check(&m).is_ok());
        assert!(report(&m).contains("1 KB = 1000 bytes"));
    }

    #[test]
    fn over_a_limit_fails_the_build() {
        let first = 200_000 - SHELL - 15_000;
        let m = measure(&enforced(), &bundle(first + 1, 60_000), &splits());
        assert_eq!(m[0].gzip, 200_001);
        let err = check(&m).expect_err("one byte over the first-load budget");
        assert!(err.to_string().contains("first load is 200001 B"), "{err}");
        assert!(report(&m).contains("OVER BUDGET by 1 B"));

        let keygen = 400_000 - (SHELL + 100_000 + 70_000 + 5_000 + 7_000 + 1_000 + 9_000);
        let m = measure(&enforced(), &bundle(100_000, keygen + 1), &splits());
        let err = check(&m).expect_err("one byte over the request-page budget");
        assert!(
            err.to_string().contains("request page is 400001 B"),
            "{err}"
        );
        assert!(!err.to_string().contains("first load"), "{err}");
    }

    #[test]
    fn a_budget_not_yet_enforced_is_reported_only() {
        let reported: Vec<Budget> = enforced()
            .iter()
            .map(|b| Budget {
                enforced: false,
                ..*b
            })
            .collect();
        let m = measure(&reported, &bundle(300_000, 150_000), &splits());
        assert!(check(&m).is_ok());
        assert!(report(&m).contains("not yet enforced"));
    }

    #[test]
    fn link_sections_are_stripped_and_nothing_else() {
        // magic, version; custom "linking"; type section; custom "reloc.CODE"; custom "name".
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        let custom = |name: &str, body: &[u8]| {
            let mut payload = vec![name.len() as u8];
            payload.extend_from_slice(name.as_bytes());
            payload.extend_from_slice(body);
            let mut s = vec![0u8, payload.len() as u8];
            s.extend(payload);
            s
        };
        wasm.extend(custom("linking", &[2, 0]));
        wasm.extend([1u8, 1, 0]);
        wasm.extend(custom("reloc.CODE", &[1, 2, 3]));
        wasm.extend(custom("name", &[9]));
        let out = strip_link_sections(&wasm).expect("strip");
        let mut want = b"\0asm\x01\0\0\0".to_vec();
        want.extend([1u8, 1, 0]);
        want.extend(custom("name", &[9]));
        assert_eq!(out, want);
        assert!(strip_link_sections(b"\0asm\x01\0\0\0\x01\x05").is_err());
        assert!(strip_link_sections(b"nope").is_err());
    }
}
