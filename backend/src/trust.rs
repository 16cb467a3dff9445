//! The public Trust endpoints: `GET /api/trust` (every issuer of every published PKI
//! mount, with its chain up to the root, fingerprints and downloads, as JSON) and
//! `GET /ca/<mount>/<issuer>/<file>` (the files). No sign-in: everything is read through
//! Vault's unauthenticated PKI endpoints (`LIST <mount>/issuers`,
//! `<mount>/issuer/<id>/json`) via `calls.rs`, so embedded and upstream mode answer
//! alike. The chain is built here from all published issuers (Vault's `ca_chain` lacks
//! the root, vault#2075); the decisions are `shared::trust`'s.
//!
//! Which mounts are published: `--trust-mounts`; unset, embedded mode takes every PKI
//! mount of its own mount table and upstream mode (no token, so no `sys/mounts`) tries
//! `pki` and `pki_int`. Only those mounts are ever read or served.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::pki::{pem::pem_encode, pkcs7};
use shared::trust::{self, CaCert, FileKind, TrustIndex, TrustIssuer};

use crate::AppState;
use crate::calls;
use crate::error::error;

/// Mounts upstream mode tries when `--trust-mounts` is unset: the recipe's.
const UPSTREAM_DEFAULT_MOUNTS: [&str; 2] = ["pki", "pki_int"];

/// Most issuers read per mount: a public request never fans out into more Vault calls.
const MAX_ISSUERS: usize = 32;

/// Longest request path `/ca/...` looks at; longer ones are refused unread.
const MAX_PATH: usize = 512;

/// One issuer as read from Vault, with its chain's DER.
struct Read {
    entry: TrustIssuer,
    chain_der: Vec<Vec<u8>>,
}

/// `GET /api/trust`.
pub async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (index, _) = gather(&state).await;
    let body = match serde_json::to_vec(&index) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![format!("the trust index could not be written: {e}")],
            );
        }
    };
    // The index changes when an admin adds or rotates a CA: revalidate every time.
    cached(&headers, body, "application/json", None, "no-cache")
}

/// `GET /ca/<mount>/<issuer>/<file>`: `<mount>` may have several segments; `<issuer>`
/// is an issuer ID or `default` (the mount's default issuer, a URL that survives
/// rotation); `<file>` is one of [`FileKind`]'s segments.
pub async fn download(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (mount, issuer, kind) = match parse_path(uri.path()) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let published = published_mounts(&state).await;
    if !published.mounts.contains(&mount) {
        return not_found(format!(
            "no published PKI mount {mount:?}: the Trust page publishes {}",
            list_or_none(&published.mounts)
        ));
    }
    let (_, reads) = gather_mounts(&state, std::slice::from_ref(&mount), &published).await;
    let Some(read) = reads.iter().find(|r| {
        r.entry.mount == mount
            && (r.entry.issuer_id == issuer || (issuer == "default" && r.entry.is_default))
    }) else {
        return not_found(format!(
            "mount {mount:?} has no issuer {issuer:?} (use an issuer ID from /api/trust, or \"default\")"
        ));
    };
    let entry = &read.entry;
    let Some(download) = entry.download(kind) else {
        let why = match kind {
            FileKind::RootPem | FileKind::RootDer => format!(
                "the chain of {:?} does not reach its root, so there is no root file: {}",
                entry
                    .chain
                    .first()
                    .map(|c| c.subject.as_str())
                    .unwrap_or(""),
                entry.problem.as_deref().unwrap_or("the root is missing")
            ),
            FileKind::IntermediatePem => {
                "this issuer is a root: take root.pem (there is no intermediate)".into()
            }
            _ => format!("no {} for this issuer", kind.segment()),
        };
        return not_found(why);
    };
    let body = match file_body(kind, entry, &read.chain_der) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![format!("{} could not be built: {e}", kind.segment())],
            );
        }
    };
    let disposition = if kind == FileKind::FingerprintQr {
        "inline"
    } else {
        "attachment"
    };
    cached(
        &headers,
        body,
        kind.content_type(),
        Some(format!(
            "{disposition}; filename=\"{}\"",
            download.file_name
        )),
        "public, max-age=60",
    )
}

/// Splits `/ca/<mount...>/<issuer>/<file>` and checks every segment: no percent-encoding
/// (so no encoded slash or dot), no `.`/`..`, only `[A-Za-z0-9._-]`, bounded lengths.
#[allow(clippy::result_large_err)]
fn parse_path(path: &str) -> Result<(String, String, FileKind), Response> {
    let bad = |why: &str| error(StatusCode::BAD_REQUEST, vec![why.to_string()]);
    if path.len() > MAX_PATH {
        return Err(bad("the download path is too long"));
    }
    let rest = path.strip_prefix("/ca/").unwrap_or("");
    if rest.contains('%') {
        return Err(bad(
            "encoded characters are not allowed in download paths: use /ca/<mount>/<issuer>/<file>",
        ));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.len() < 3 {
        return Err(not_found(format!(
            "no such download: use /ca/<mount>/<issuer>/<file>, where <file> is one of {}",
            files_list()
        )));
    }
    if let Some(s) = segments.iter().find(|s| !trust::is_safe_segment(s)) {
        return Err(bad(&format!(
            "invalid path segment {s:?}: letters, digits, '-', '_' and '.' only, at most 128, not '.' or '..'"
        )));
    }
    let (file, issuer, mount) = match segments.as_slice() {
        [mount @ .., issuer, file] => (*file, *issuer, mount.join("/")),
        _ => return Err(bad("no such download")),
    };
    let kind = FileKind::from_segment(file)
        .ok_or_else(|| not_found(format!("no file {file:?}: the files are {}", files_list())))?;
    Ok((mount, issuer.to_string(), kind))
}

fn files_list() -> String {
    FileKind::ALL
        .iter()
        .map(|k| k.segment())
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_found(why: String) -> Response {
    error(StatusCode::NOT_FOUND, vec![why])
}

fn list_or_none(mounts: &[String]) -> String {
    if mounts.is_empty() {
        "no mount".into()
    } else {
        mounts.join(", ")
    }
}

/// The bytes of one file.
fn file_body(kind: FileKind, entry: &TrustIssuer, chain: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let issuer = chain.first().ok_or("the chain is empty")?;
    let pem_of = |certs: &[Vec<u8>]| -> Vec<u8> {
        certs
            .iter()
            .map(|c| pem_encode("CERTIFICATE", c))
            .collect::<String>()
            .into_bytes()
    };
    Ok(match kind {
        FileKind::ChainPem => pem_of(chain),
        FileKind::RootPem => pem_of(chain.last().map(std::slice::from_ref).unwrap_or(&[])),
        FileKind::RootDer => chain.last().cloned().unwrap_or_default(),
        FileKind::IntermediatePem => pem_of(std::slice::from_ref(issuer)),
        FileKind::ChainP7b => pkcs7::certs_only_der(chain).map_err(|e| e.to_string())?,
        FileKind::ChainP7bPem => pkcs7::certs_only_pem(chain)
            .map_err(|e| e.to_string())?
            .into_bytes(),
        FileKind::FingerprintQr => {
            let sha256 = entry.chain.first().map(|c| c.sha256.as_str()).unwrap_or("");
            qr_svg(sha256)?.into_bytes()
        }
    })
}

/// The QR code of `text` as an SVG: one path of dark modules, a 4-module quiet zone,
/// presentation attributes only (no `style`, for the CSP), a title for screen readers.
fn qr_svg(text: &str) -> Result<String, String> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("qr code: {e}"))?;
    let width = code.width();
    let size = width + 8;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            path.push_str(&format!("M{},{}h1v1h-1z", i % width + 4, i / width + 4));
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\" role=\"img\"><title>SHA-256 fingerprint {text}</title><rect width=\"{size}\" height=\"{size}\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"{path}\"/></svg>",
        px = size * 4
    ))
}

/// An answer with an ETag (the body's SHA-256) and `cache_control`; `304` when the
/// client already has it.
fn cached(
    headers: &HeaderMap,
    body: Vec<u8>,
    content_type: &str,
    disposition: Option<String>,
    cache_control: &'static str,
) -> Response {
    let digest = Sha256::digest(&body);
    let etag = format!(
        "\"{}\"",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if !matches {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        if let Some(v) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    res
}

/// The published mounts and what went wrong finding them.
struct Published {
    mounts: Vec<String>,
    /// Named by the flag (a mount without issuers is then worth a word).
    configured: bool,
    problems: Vec<String>,
}

async fn published_mounts(state: &AppState) -> Published {
    let mut problems = Vec::new();
    if let Some(list) = state.config.trust_mounts.as_deref() {
        let (mounts, problems) = named_mounts(list);
        return Published {
            mounts,
            configured: true,
            problems,
        };
    }
    let Some(engine) = state.engine.clone() else {
        return Published {
            mounts: UPSTREAM_DEFAULT_MOUNTS.map(String::from).to_vec(),
            configured: false,
            problems,
        };
    };
    let table = tokio::task::spawn_blocking(move || {
        crate::engine::mounts::load(&engine, crate::engine::mounts::Table::Secrets)
    })
    .await;
    let mounts = match table {
        Ok(Ok(mounts)) => mounts
            .into_iter()
            .filter(|m| m.kind == "pki")
            .map(|m| m.path.trim_matches('/').to_string())
            .filter(|p| p.split('/').all(trust::is_safe_segment))
            .collect(),
        Ok(Err(e)) => {
            problems.push(format!("the mount table could not be read: {e}"));
            Vec::new()
        }
        Err(e) => {
            problems.push(format!("the mount table could not be read: {e}"));
            Vec::new()
        }
    };
    Published {
        mounts,
        configured: false,
        problems,
    }
}

/// The mounts `--trust-mounts` names: trimmed, without slashes at the ends, each once, in
/// order; a name that is no plain mount path is left out with a word about it.
fn named_mounts(list: &str) -> (Vec<String>, Vec<String>) {
    let (mut mounts, mut problems) = (Vec::new(), Vec::new());
    for m in list.split(',').map(|m| m.trim().trim_matches('/')) {
        if m.is_empty() || mounts.iter().any(|x: &String| x == m) {
            continue;
        }
        if m.split('/').all(trust::is_safe_segment) {
            mounts.push(m.to_string());
        } else {
            problems.push(format!(
                "--trust-mounts names {m:?}, which is no mount path this page can serve (letters, digits, '-', '_', '.' and '/')"
            ));
        }
    }
    (mounts, problems)
}

/// The whole index, and the chains behind it.
/// The trust index as `/api/trust` answers it (the Overview's hierarchy reads it too).
pub async fn index_of(state: &AppState) -> TrustIndex {
    gather(state).await.0
}

async fn gather(state: &AppState) -> (TrustIndex, Vec<Read>) {
    let published = published_mounts(state).await;
    let mounts = published.mounts.clone();
    gather_mounts(state, &mounts, &published).await
}

/// The index of `wanted` (published mounts), with the chains built from the issuers of
/// every published mount (an intermediate's root usually lives in another mount).
async fn gather_mounts(
    state: &AppState,
    wanted: &[String],
    published: &Published,
) -> (TrustIndex, Vec<Read>) {
    let mut problems = published.problems.clone();
    let mut found: Vec<(String, String, String, bool, Vec<u8>)> = Vec::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    for mount in &published.mounts {
        match read_mount(state, mount).await {
            Ok(issuers) => {
                if issuers.is_empty() && published.configured {
                    problems.push(format!(
                        "the mount {mount:?} has no CA yet (or is not a PKI mount)"
                    ));
                }
                for (id, name, is_default, cert, ca_chain) in issuers {
                    for c in ca_chain.iter().chain(std::iter::once(&cert)) {
                        if !pool.contains(c) {
                            pool.push(c.clone());
                        }
                    }
                    if wanted.contains(mount) {
                        found.push((mount.clone(), id, name, is_default, cert));
                    }
                }
            }
            Err(why) => problems.push(why),
        }
    }
    let mut reads = Vec::new();
    for (mount, id, name, is_default, cert) in found {
        let built = trust::build_chain(&cert, &pool);
        let chain: Vec<CaCert> = built
            .certificates
            .iter()
            .filter_map(|d| trust::describe(d).ok())
            .collect();
        let base = format!("/ca/{mount}/{id}");
        let downloads = trust::downloads(&base, &chain, built.complete);
        reads.push(Read {
            entry: TrustIssuer {
                qr_href: format!("{base}/{}", FileKind::FingerprintQr.segment()),
                mount,
                issuer_id: id,
                issuer_name: name,
                is_default,
                chain,
                complete: built.complete,
                problem: built.problem,
                downloads,
            },
            chain_der: built.certificates,
        });
    }
    // A certificate imported into several mounts (`intermediate/set-signed` with the
    // root in the bundle makes the root an issuer of the intermediate's mount too) is
    // listed once, under the first mount; its downloads answer under every mount.
    let mut listed: Vec<&str> = Vec::new();
    let mut issuers = Vec::new();
    for r in &reads {
        let sha256 = r
            .entry
            .chain
            .first()
            .map(|c| c.sha256.as_str())
            .unwrap_or("");
        if !listed.contains(&sha256) {
            listed.push(sha256);
            issuers.push(r.entry.clone());
        }
    }
    let index = TrustIndex {
        mounts: published.mounts.clone(),
        issuers,
        problems,
        now: crate::engine::now(),
    };
    (index, reads)
}

type IssuerRead = (String, String, bool, Vec<u8>, Vec<Vec<u8>>);

/// The issuers of one mount through Vault's unauthenticated endpoints: (id, name,
/// default, certificate DER, Vault's `ca_chain` DER), the default first. A mount with no
/// issuer (or none at all) reads as empty; anything else Vault refuses is an error in
/// words.
async fn read_mount(state: &AppState, mount: &str) -> Result<Vec<IssuerRead>, String> {
    let list = Method::from_bytes(b"LIST").unwrap_or(Method::GET);
    let (status, body) = calls::call(state, list, &format!("{mount}/issuers"), None, None)
        .await
        .map_err(|_| format!("Vault could not be asked for the issuers of {mount:?}"))?;
    if status == StatusCode::NOT_FOUND {
        return Ok(Vec::new());
    }
    if status == StatusCode::FORBIDDEN {
        // Vault answers an unauthenticated request for a path no mount serves with 403.
        return Err(format!(
            "Vault refused to list the issuers of {mount:?} without a token ({}): is {mount:?} a PKI mount?",
            vault_errors(&body)
        ));
    }
    if !status.is_success() {
        return Err(format!(
            "listing the issuers of {mount:?} was refused ({status}): {}",
            vault_errors(&body)
        ));
    }
    let data = &body["data"];
    let mut ids: Vec<String> = data["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str())
        .filter(|k| trust::is_safe_segment(k))
        .take(MAX_ISSUERS)
        .map(String::from)
        .collect();
    let mut default_id = ids
        .iter()
        .find(|id| data["key_info"][id.as_str()]["is_default"].as_bool() == Some(true))
        .cloned();
    if default_id.is_none() {
        // A Vault that does not flag it in the list: `issuer/default` names it.
        let path = format!("{mount}/issuer/default/json");
        if let Ok((status, body)) = calls::call(state, Method::GET, &path, None, None).await
            && status.is_success()
        {
            default_id = body["data"]["issuer_id"].as_str().map(String::from);
        }
    }
    let is_default = |id: &str| default_id.as_deref() == Some(id);
    ids.sort_by_key(|id| !is_default(id));
    let mut out = Vec::new();
    for id in ids {
        let path = format!("{mount}/issuer/{id}/json");
        let (status, body) = calls::call(state, Method::GET, &path, None, None)
            .await
            .map_err(|_| format!("Vault could not be asked for {path}"))?;
        if !status.is_success() {
            return Err(format!(
                "reading {path} was refused ({status}): {}",
                vault_errors(&body)
            ));
        }
        let data = &body["data"];
        let pem_certs = |v: &Value| -> Vec<Vec<u8>> {
            shared::pki::pem::certificates_from_pem(v.as_str().unwrap_or("")).unwrap_or_default()
        };
        let Some(cert) = pem_certs(&data["certificate"]).into_iter().next() else {
            return Err(format!("{path} has no certificate"));
        };
        let ca_chain = data["ca_chain"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(pem_certs)
            .collect();
        let name = data["issuer_name"].as_str().unwrap_or("").to_string();
        let default = is_default(&id);
        out.push((id, name, default, cert, ca_chain));
    }
    Ok(out)
}

fn vault_errors(body: &Value) -> String {
    let errors: BTreeSet<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str())
        .collect();
    if errors.is_empty() {
        "no details".into()
    } else {
        errors.into_iter().collect::<Vec<_>>().join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_paths_are_checked_segment_by_segment() {
        let ok = parse_path("/ca/pki_int/0a1b-2c/chain.pem").ok();
        assert_eq!(
            ok,
            Some(("pki_int".into(), "0a1b-2c".into(), FileKind::ChainPem))
        );
        let nested = parse_path("/ca/team/pki/default/root.crt").ok();
        assert_eq!(
            nested,
            Some(("team/pki".into(), "default".into(), FileKind::RootDer))
        );
        let long = format!("/ca/pki/{}/chain.pem", "a".repeat(600));
        for (path, status) in [
            ("/ca/pki/../chain.pem", StatusCode::BAD_REQUEST),
            ("/ca/pki/chain.pem", StatusCode::NOT_FOUND),
            ("/ca/pki/x/../root.pem", StatusCode::BAD_REQUEST),
            ("/ca/pki%2fx/id/root.pem", StatusCode::BAD_REQUEST),
            ("/ca/pki/id/%2e%2e", StatusCode::BAD_REQUEST),
            ("/ca/pki//root.pem", StatusCode::BAD_REQUEST),
            ("/ca/pki/id/passwd", StatusCode::NOT_FOUND),
            ("/ca/pki/id/chain.pem/", StatusCode::BAD_REQUEST),
            (long.as_str(), StatusCode::BAD_REQUEST),
        ] {
            let got = parse_path(path).err().map(|r| r.status());
            assert_eq!(got, Some(status), "{path}");
        }
    }

    #[test]
    fn named_mounts_are_trimmed_deduplicated_and_checked() {
        let (mounts, problems) = named_mounts(" pki, /pki_int/ ,,team/pki,pki, ../etc, a b");
        assert_eq!(mounts, vec!["pki", "pki_int", "team/pki"]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("\"../etc\"")));
        assert_eq!(named_mounts("").0, Vec::<String>::new());
    }

    #[test]
    fn the_qr_code_is_an_svg_without_style() {
        let svg = qr_svg("AB:CD:EF").unwrap_or_default();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>SHA-256 fingerprint AB:CD:EF</title>"));
        assert!(!svg.contains("style"));
        assert!(svg.matches('M').count() > 20);
    }
}
