//! `cargo xtask tidy`: the rules of ARCHITECTURE.md that a machine can check, in the
//! manner of rust-analyzer's `xtask/src/tidy.rs`. Each rule reads the tracked source
//! files as text (no compiler), names the file and line it objects to, and says which
//! rule; `./x test` runs it right after `cargo fmt --check`.
//!
//! The rules:
//! - every `.rs` file opens with a `//!` comment saying what it is;
//! - only `backend/src/config.rs` reads the environment (server, shared and SPA code);
//! - only `frontend/src/api/` does HTTP in the browser;
//! - every page of `shared::nav::PAGES` is routed in `frontend/src/app.rs`, by its
//!   `nav::` constant (route paths come from `shared::nav` only);
//! - no Vault error body (`{"errors": ...}`) is built outside `backend/src/error.rs`;
//! - the modules listed in [`ACYCLIC`] import each other without a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use anyhow::{Context, bail};

use crate::root;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    pub rule: &'static str,
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}",
            self.file, self.line, self.rule, self.what
        )
    }
}

/// A source file: its path from the workspace root and its text.
pub struct Source {
    pub path: String,
    pub text: String,
}

pub fn run() -> anyhow::Result<()> {
    let sources = tracked_sources()?;
    let violations = check(&sources);
    if violations.is_empty() {
        eprintln!("tidy: {} files follow every rule", sources.len());
        return Ok(());
    }
    for v in &violations {
        eprintln!("{v}");
    }
    bail!(
        "tidy: {} rule violations (the rules: xtask/src/tidy.rs and ARCHITECTURE.md)",
        violations.len()
    )
}

/// Every `.rs` file git tracks or would track (untracked but not ignored).
fn tracked_sources() -> anyhow::Result<Vec<Source>> {
    let out = Command::new("git")
        .args(["ls-files", "-co", "--exclude-standard", "--", "*.rs"])
        .current_dir(root())
        .output()
        .context("run git ls-files")?;
    if !out.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut sources = Vec::new();
    for path in String::from_utf8_lossy(&out.stdout).lines() {
        let full = root().join(path);
        // A file deleted in the work tree but still in the index.
        let Ok(text) = std::fs::read_to_string(&full) else {
            continue;
        };
        sources.push(Source {
            path: path.to_string(),
            text,
        });
    }
    Ok(sources)
}

pub fn check(sources: &[Source]) -> Vec<Violation> {
    let mut v = Vec::new();
    for s in sources {
        header(s, &mut v);
        environment(s, &mut v);
        browser_http(s, &mut v);
        error_bodies(s, &mut v);
    }
    pages_routed(sources, &mut v);
    for group in ACYCLIC {
        cycles(sources, group, &mut v);
    }
    v
}

/// Lines of code, without line comments (doc comments included): what a rule about code
/// should look at. Returns (1-based line number, code part).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| {
        let code = match l.find("//") {
            // `//` inside a string such as "https://" is code.
            Some(at) if !l[..at].contains('"') => &l[..at],
            _ => l,
        };
        (i + 1, code)
    })
}

fn header(s: &Source, v: &mut Vec<Violation>) {
    if !s.text.starts_with("//!") {
        v.push(Violation {
            file: s.path.clone(),
            line: 1,
            rule: "header",
            what: "the file does not open with a `//!` comment saying what it is".into(),
        });
    }
}

/// Server, shared and SPA code; tooling (xtask, tests, benches, build scripts) may read
/// its own environment.
fn product_code(path: &str) -> bool {
    [
        "backend/src/",
        "shared/src/",
        "frontend/src/",
        "frontend/plugin/src/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

fn environment(s: &Source, v: &mut Vec<Violation>) {
    if !product_code(&s.path) || s.path == "backend/src/config.rs" {
        return;
    }
    const READS: [&str; 6] = [
        "env::var",
        "env::vars",
        "env::args",
        "from_env(",
        "from_default_env",
        "option_env!",
    ];
    for (n, code) in code_lines(&s.text) {
        if let Some(r) = READS.iter().find(|r| code.contains(*r)) {
            v.push(Violation {
                file: s.path.clone(),
                line: n,
                rule: "environment",
                what: format!("reads the environment (`{r}`): only backend/src/config.rs may"),
            });
        }
    }
}

fn browser_http(s: &Source, v: &mut Vec<Violation>) {
    if !s.path.starts_with("frontend/src/") || s.path.starts_with("frontend/src/api/") {
        return;
    }
    const HTTP: [&str; 6] = [
        "gloo_net",
        "web_sys::Request",
        "fetch_with",
        "XmlHttpRequest",
        "EventSource",
        "WebSocket",
    ];
    for (n, code) in code_lines(&s.text) {
        if let Some(h) = HTTP.iter().find(|h| code.contains(*h)) {
            v.push(Violation {
                file: s.path.clone(),
                line: n,
                rule: "browser-http",
                what: format!("does HTTP (`{h}`): only frontend/src/api/ may"),
            });
        }
    }
}

fn error_bodies(s: &Source, v: &mut Vec<Violation>) {
    if !s.path.starts_with("backend/src/") || s.path == "backend/src/error.rs" {
        return;
    }
    for (n, code) in code_lines(&s.text) {
        let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.contains("\"errors\":") {
            v.push(Violation {
                file: s.path.clone(),
                line: n,
                rule: "error-body",
                what: "builds a Vault error body: use backend/src/error.rs".into(),
            });
        }
    }
}

fn pages_routed(sources: &[Source], v: &mut Vec<Violation>) {
    let find = |p: &str| sources.iter().find(|s| s.path == p);
    let (Some(nav), Some(app)) = (find("shared/src/nav.rs"), find("frontend/src/app.rs")) else {
        return;
    };
    let Some(list) = nav
        .text
        .split("pub const PAGES")
        .nth(1)
        .and_then(|rest| rest.split_once('[').map(|(_, r)| r))
        .and_then(|rest| rest.split_once("= [").map(|(_, r)| r))
        .and_then(|rest| rest.split_once("];").map(|(l, _)| l))
    else {
        v.push(Violation {
            file: nav.path.clone(),
            line: 1,
            rule: "pages-routed",
            what: "no `pub const PAGES: [Page; N] = [...];` to read".into(),
        });
        return;
    };
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let routed = format!("StaticSegment(nav::{name}.path)");
        if !app.text.contains(&routed) {
            v.push(Violation {
                file: app.path.clone(),
                line: 1,
                rule: "pages-routed",
                what: format!(
                    "nav::{name} is in nav::PAGES but has no `<Route path={routed} ...>`"
                ),
            });
        }
    }
}

/// A group of modules that must not import each other in a cycle: the source folder, and
/// the modules (paths below that folder, `::`-separated) that are the graph's nodes. A
/// file belongs to the longest listed module that contains it.
pub struct Group {
    pub root: &'static str,
    pub modules: &'static [&'static str],
}

pub const ACYCLIC: &[Group] = &[
    Group {
        root: "backend/src/",
        modules: &[
            "calls",
            "config",
            "error",
            "proxy",
            "security",
            "serve",
            "session",
            "spa",
            "telemetry",
            "tls",
            "vault",
            "engine::audit",
            "engine::barrier",
            "engine::kubernetes",
            "engine::mounts",
            "engine::pki",
            "engine::policy",
            "engine::storage",
            "engine::sys",
            "engine::token",
            "engine::wire",
        ],
    },
    Group {
        root: "shared/src/",
        modules: &[
            "api",
            "nav",
            "pki::alg",
            "pki::cert",
            "pki::crl",
            "pki::csr",
            "pki::der",
            "pki::duration",
            "pki::error",
            "pki::fields",
            "pki::k8s",
            "pki::key",
            "pki::names",
            "pki::pkcs12",
            "pki::pkcs8enc",
            "pki::pem",
            "pki::role",
            "pki::verify",
            "setup",
        ],
    },
];

/// `backend/src/engine/pki/sign.rs` → `engine::pki::sign` (mod.rs/lib.rs/main.rs name
/// their folder).
fn module_path(group: &Group, path: &str) -> Option<String> {
    let rel = path.strip_prefix(group.root)?.strip_suffix(".rs")?;
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    if rel == "lib" || rel == "main" {
        return Some(String::new());
    }
    Some(rel.replace('/', "::"))
}

fn node_of(group: &Group, module: &str) -> Option<&'static str> {
    group
        .modules
        .iter()
        .filter(|m| module == **m || module.starts_with(&format!("{m}::")))
        .max_by_key(|m| m.len())
        .copied()
}

/// Module paths a file refers to: `crate::a::b`, `super::x` resolved against the file's
/// module, and `use crate::{a, b::c}` groups.
fn references(module: &str, is_mod_file: bool, text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let parent: Vec<&str> = {
        let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
        if !is_mod_file {
            parts.pop();
        }
        parts
    };
    for (n, code) in code_lines(text) {
        for (prefix, base) in [("crate::", Vec::<&str>::new()), ("super::", parent.clone())] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                // `crate::` preceded by an identifier character is something else
                // (e.g. `$crate::`).
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                for path in expand(rest) {
                    let mut full = base.clone();
                    full.extend(path.split("::").filter(|p| !p.is_empty()));
                    out.push((n, full.join("::")));
                }
            }
        }
    }
    out
}

/// The paths at the start of `rest`: `a::b::C` → `a::b::C`; `{a, b::c}` → both.
fn expand(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_string()
    };
    if let Some(inner) = rest.strip_prefix('{') {
        let inner = inner.split('}').next().unwrap_or_default();
        inner
            .split(',')
            .map(|p| ident(p.trim()))
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        let p = ident(rest);
        if p.is_empty() { vec![] } else { vec![p] }
    }
}

fn cycles(sources: &[Source], group: &Group, v: &mut Vec<Violation>) {
    // Edges between nodes, with one place that makes each.
    let mut edges: BTreeMap<&str, BTreeMap<&str, (String, usize)>> = BTreeMap::new();
    for s in sources {
        let Some(module) = module_path(group, &s.path) else {
            continue;
        };
        let Some(from) = node_of(group, &module) else {
            continue;
        };
        let is_mod_file = s.path.ends_with("/mod.rs")
            || s.path.ends_with("/lib.rs")
            || s.path.ends_with("/main.rs");
        for (line, target) in references(&module, is_mod_file, &s.text) {
            if let Some(to) = node_of(group, &target)
                && to != from
            {
                edges
                    .entry(from)
                    .or_default()
                    .entry(to)
                    .or_insert((s.path.clone(), line));
            }
        }
    }
    // Depth-first search for back edges; each cycle is reported once, at its first edge.
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for start in group.modules {
        let mut stack = vec![(*start, vec![*start])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in edges
                .get(node)
                .map(|m| m.keys().copied().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                if next == *start {
                    let mut cycle = path.clone();
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    if reported.insert(key) {
                        cycle.push(next);
                        let (file, line) =
                            edges[path[0]][path.get(1).copied().unwrap_or(next)].clone();
                        v.push(Violation {
                            file,
                            line,
                            rule: "import-cycle",
                            what: format!(
                                "modules import each other in a cycle: {}",
                                cycle.join(" → ")
                            ),
                        });
                    }
                } else if seen.insert(next) {
                    let mut p = path.clone();
                    p.push(next);
                    stack.push((next, p));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(path: &str, text: &str) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    fn rules(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_file_without_its_header_fails() {
        let v = check(&[src("backend/src/x.rs", "use std::fmt;\n")]);
        assert_eq!(rules(&v), ["header"]);
        assert!(check(&[src("backend/src/x.rs", "//! What x is.\n")]).is_empty());
    }

    #[test]
    fn the_environment_is_read_only_in_config() {
        let bad = "//! x\nfn f() { let _ = std::env::var(\"HOME\"); }\n";
        let v = check(&[src("backend/src/telemetry.rs", bad)]);
        assert_eq!(rules(&v), ["environment"]);
        assert_eq!(v[0].line, 2);
        assert!(check(&[src("backend/src/config.rs", bad)]).is_empty());
        // Tooling may.
        assert!(check(&[src("xtask/src/x.rs", bad)]).is_empty());
        // A comment is no read.
        assert!(check(&[src("backend/src/x.rs", "//! x\n// env::var is not used\n")]).is_empty());
    }

    #[test]
    fn http_in_the_browser_only_in_the_api_module() {
        let bad = "//! x\nuse gloo_net::http::Request;\n";
        assert_eq!(
            rules(&check(&[src("frontend/src/pages/x.rs", bad)])),
            ["browser-http"]
        );
        assert!(check(&[src("frontend/src/api/x.rs", bad)]).is_empty());
    }

    #[test]
    fn error_bodies_only_in_the_error_module() {
        let bad = "//! x\nfn f() { json!({ \"errors\" : [\"no\"] }); }\n";
        assert_eq!(
            rules(&check(&[src("backend/src/vault.rs", bad)])),
            ["error-body"]
        );
        assert!(check(&[src("backend/src/error.rs", bad)]).is_empty());
        // Reading another server's errors is fine.
        assert!(
            check(&[src(
                "backend/src/proxy.rs",
                "//! x\nlet e = body[\"errors\"];\n"
            )])
            .is_empty()
        );
    }

    #[test]
    fn every_page_is_routed() {
        let nav = src(
            "shared/src/nav.rs",
            "//! x\npub const PAGES: [Page; 2] = [\n    OVERVIEW,\n    TRUST,\n];\n",
        );
        let app = src(
            "frontend/src/app.rs",
            "//! x\n<Route path=StaticSegment(nav::OVERVIEW.path) view=A/>\n",
        );
        let v = check(&[nav, app]);
        assert_eq!(rules(&v), ["pages-routed"]);
        assert!(v[0].what.contains("nav::TRUST"), "{v:?}");
    }

    #[test]
    fn an_import_cycle_fails_and_a_chain_does_not() {
        let chain = [
            src(
                "backend/src/vault.rs",
                "//! x\nuse crate::session::Credential;\n",
            ),
            src(
                "backend/src/session.rs",
                "//! x\nuse crate::error::ApiError;\n",
            ),
            src("backend/src/error.rs", "//! x\n"),
        ];
        assert!(check(&chain).is_empty(), "{:?}", check(&chain));
        let cycle = [
            src(
                "backend/src/vault.rs",
                "//! x\nuse crate::session::Credential;\n",
            ),
            src(
                "backend/src/session.rs",
                "//! x\nuse crate::{error::ApiError, vault::call};\n",
            ),
            src("backend/src/error.rs", "//! x\n"),
        ];
        let v = check(&cycle);
        assert_eq!(rules(&v), ["import-cycle"], "{v:?}");
        assert!(
            v[0].what.contains("session") && v[0].what.contains("vault"),
            "{v:?}"
        );
        // `super::` counts too.
        let shared = [
            src(
                "shared/src/pki/cert.rs",
                "//! x\nuse super::key::PkiError;\n",
            ),
            src("shared/src/pki/key.rs", "//! x\nuse super::cert::der;\n"),
        ];
        assert_eq!(rules(&check(&shared)), ["import-cycle"]);
    }

    /// The repository itself follows every rule.
    #[test]
    fn the_repository_is_tidy() {
        let sources = tracked_sources().expect("git ls-files");
        let v = check(&sources);
        assert!(
            v.is_empty(),
            "{}",
            v.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
