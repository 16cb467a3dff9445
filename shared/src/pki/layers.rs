//! The layering rule of `pki/`, checked on the source itself: the leaf modules (`alg`,
//! `der`, `error`, `pem`) import no other kind of PKI module, and the concept modules
//! (`key`, `cert`, `csr`, `crl`, `verify`, `pkcs12`, `pkcs7`, `pkcs8enc`, `k8s`) import each other
//! without a cycle, in their code or their tests. A file's references are its
//! `super::x` and `crate::pki::x` paths (including `use super::{a, b}` groups) outside
//! comments; in its `#[cfg(test)]` modules, where `super::` names the file itself, only
//! the `crate::pki::x` paths.

use std::collections::{BTreeMap, BTreeSet};

/// Primitives and tables: they may use each other, never a concept module.
const LEAVES: &[&str] = &["alg", "der", "error", "pem"];

/// One file per concept; the graph between them must be acyclic.
const CONCEPTS: &[&str] = &[
    "cert", "crl", "csr", "k8s", "key", "pkcs12", "pkcs7", "pkcs8enc", "verify",
];

/// Modules outside this rule: the role/name/field logic (its own layer, which the
/// certificate modules do not use) and the test-only modules.
const OTHERS: &[&str] = &["duration", "fields", "names", "role", "testutil", "layers"];

const MOD_RS: &str = include_str!("mod.rs");

/// The source of every leaf and concept module, by name.
fn sources() -> Vec<(&'static str, &'static str)> {
    vec![
        ("alg", include_str!("alg.rs")),
        ("der", include_str!("der.rs")),
        ("error", include_str!("error.rs")),
        ("pem", include_str!("pem.rs")),
        ("cert", include_str!("cert.rs")),
        ("crl", include_str!("crl.rs")),
        ("csr", include_str!("csr.rs")),
        ("k8s", include_str!("k8s.rs")),
        ("key", include_str!("key.rs")),
        ("pkcs12", include_str!("pkcs12.rs")),
        ("pkcs7", include_str!("pkcs7.rs")),
        ("pkcs8enc", include_str!("pkcs8enc.rs")),
        ("verify", include_str!("verify.rs")),
    ]
}

fn is_test_attr(line: &str) -> bool {
    line.starts_with("#[cfg(") && line.contains("test")
}

/// The file's code before its first top-level `#[cfg(test)]` item, and from there on (its
/// test modules), both without comments. Panics if a top-level item after that point is
/// not test-only (its `super::` paths would be missed).
fn split_code(name: &str, text: &str) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let first_test = lines
        .iter()
        .position(|l| is_test_attr(l))
        .unwrap_or(lines.len());
    let mut gated = false;
    for line in lines.iter().skip(first_test) {
        if line.starts_with("#[") {
            gated |= is_test_attr(line);
        } else if line.starts_with("///") || line.starts_with("//") || line.is_empty() {
        } else if !line.starts_with(char::is_whitespace) && !line.starts_with('}') {
            assert!(
                gated,
                "{name}.rs: top-level item after the test modules is not test-only: {line:?}"
            );
            gated = false;
        }
    }
    let code = |part: &[&str]| {
        part.iter()
            .map(|l| match l.find("//") {
                Some(i) => l.get(..i).unwrap_or(""),
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (production, tests) = lines.split_at(first_test);
    (code(production), code(tests))
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text.get(..end).unwrap_or("")
}

/// The PKI modules `code` names through `prefixes` (`super::`, `crate::pki::`): `x` of
/// `prefix x`, and each top-level name of `prefix {x, y::z}` groups.
fn references(code: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in prefixes {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let after = rest.get(i + prefix.len()..).unwrap_or("");
            // `super::super::x` or `crate::pki::` inside a longer path are not ours.
            let preceded = i > 0
                && rest
                    .get(..i)
                    .and_then(|b| b.chars().last())
                    .is_some_and(|c| c == ':' || c.is_ascii_alphanumeric() || c == '_');
            if !preceded {
                if let Some(group) = after.strip_prefix('{') {
                    let mut depth = 0usize;
                    let mut item = String::new();
                    for c in group.chars() {
                        match c {
                            '{' => {
                                depth += 1;
                                item.push(c);
                            }
                            '}' if depth == 0 => break,
                            '}' => {
                                depth -= 1;
                                item.push(c);
                            }
                            ',' if depth == 0 => {
                                out.insert(ident_at(item.trim()).to_string());
                                item.clear();
                            }
                            c => item.push(c),
                        }
                    }
                    out.insert(ident_at(item.trim()).to_string());
                } else {
                    out.insert(ident_at(after).to_string());
                }
            }
            rest = after;
        }
    }
    out.remove("");
    out
}

/// The module graph among leaves and concepts: module → the leaf/concept modules it uses.
fn graph(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    files
        .iter()
        .map(|(name, text)| {
            let (production, tests) = split_code(name, text);
            let refs = references(&production, &["super::", "crate::pki::"])
                .into_iter()
                .chain(references(&tests, &["crate::pki::"]))
                .filter(|r| {
                    r != name && (LEAVES.contains(&r.as_str()) || CONCEPTS.contains(&r.as_str()))
                })
                .collect();
            (name.to_string(), refs)
        })
        .collect()
}

/// Problems with the layering: leaves that use a concept, and cycles among concepts.
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for leaf in LEAVES {
        for dep in graph.get(*leaf).into_iter().flatten() {
            if !LEAVES.contains(&dep.as_str()) {
                out.push(format!(
                    "leaf module {leaf} imports the concept module {dep}"
                ));
            }
        }
    }
    // Depth-first search over the concept modules; a back edge is a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle: Vec<String> = path.get(at..).unwrap_or(&[]).to_vec();
            cycle.push(node.to_string());
            out.push(format!("import cycle: {}", cycle.join(" -> ")));
            return;
        }
        if !done.insert(node.to_string()) {
            return;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if CONCEPTS.contains(&dep.as_str()) {
                visit(dep, graph, path, done, out);
            }
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for concept in CONCEPTS {
        visit(concept, graph, &mut Vec::new(), &mut done, &mut out);
    }
    out
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_pki_module_has_a_layer() {
    for line in MOD_RS.lines() {
        let line = line.trim();
        let Some(name) = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|r| r.strip_suffix(';'))
        else {
            continue;
        };
        assert!(
            LEAVES.contains(&name) || CONCEPTS.contains(&name) || OTHERS.contains(&name),
            "pki::{name} is neither a leaf nor a concept module: add it to layers.rs"
        );
    }
    let checked: Vec<&str> = sources().iter().map(|(n, _)| *n).collect();
    for name in LEAVES.iter().chain(CONCEPTS) {
        assert!(checked.contains(name), "{name}.rs is not read by layers.rs");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn leaves_import_no_concept_and_concepts_import_without_cycles() {
    let graph = graph(&sources());
    let problems = violations(&graph);
    assert!(
        problems.is_empty(),
        "pki layering broken:\n{}\ngraph: {graph:#?}",
        problems.join("\n")
    );
    // The graph is read from the code, not assumed: key uses the leaves, cert uses key.
    assert!(
        graph
            .get("key")
            .is_some_and(|d| d.contains("der") && d.contains("alg"))
    );
    assert!(graph.get("cert").is_some_and(|d| d.contains("key")));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_checker_sees_cycles_groups_and_leaf_violations() {
    let files = [
        ("key", "//! k\nuse super::{der, cert::CertInfo};\n"),
        ("cert", "//! c\nuse super::key;\n// use super::verify;\n"),
        (
            "verify",
            "//! v\nfn f() { crate::pki::csr::parse(); }\n#[cfg(test)]\nmod tests { use super::*; use super::super::k8s; use crate::pki::alg::X; }\n",
        ),
        ("csr", "//! s\n"),
        ("der", "//! d\nuse super::error::PkiError;\n"),
        ("pem", "//! p\npub use super::cert::pem;\n"),
    ];
    let graph = graph(&files);
    assert_eq!(
        graph.get("key").cloned().unwrap_or_default(),
        BTreeSet::from(["der".to_string(), "cert".to_string()])
    );
    assert_eq!(
        graph.get("cert").cloned().unwrap_or_default(),
        BTreeSet::from(["key".to_string()]),
        "comments are not imports"
    );
    assert_eq!(
        graph.get("verify").cloned().unwrap_or_default(),
        BTreeSet::from(["csr".to_string(), "alg".to_string()]),
        "a test module's crate::pki paths count, its super:: paths name the file itself"
    );
    let problems = violations(&graph);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("cycle") && p.contains("cert") && p.contains("key")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p == "leaf module pem imports the concept module cert"),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}
