//! The certificate index routes (`/api/certs/<mount>...`, contract and wire types in
//! `shared::api::certs`): search with filters and keyset paging, the Overview's numbers,
//! the expiry timeline, a streamed CSV of a search, and one certificate decoded.
//!
//! Every route needs a caller token (session cookie or `X-Vault-Token`) that Vault
//! allows to `list` `<mount>/certs/detailed` — asked of Vault itself with that token
//! (`sys/capabilities-self`, through `calls.rs`), so the ACL decides and audits as for
//! `/v1/*`. The detail route reads `<mount>/cert/<serial>` with the caller's token.
//!
//! Where the rows come from: in embedded mode the engine's own SQLite index, fed in the
//! transaction that stores each certificate (`Engine::cert_index`, on a read connection);
//! in upstream mode a bounded in-memory index per console replica and mount (the same
//! `certindex` schema and queries on an in-memory SQLite), filled from the upstream's
//! `LIST certs` + `LIST certs/detailed` pages (or `cert/<serial>` for a few new serials)
//! with the caller's token, refreshed when older than [`STALE_SECS`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use rusqlite::Connection;
use serde_json::{Value, json};
use shared::api::certs::{
    self as api, CertDetail, CertPage, CertQuery, CertRow, ExtensionView, IndexSource,
};
use shared::pki::cert::{self, CertInfo};

use crate::AppState;
use crate::calls;
use crate::certindex::{self, IndexError};
use crate::error::error;

/// An upstream index older than this is refreshed before it answers.
pub const STALE_SECS: i64 = 5;
/// Most certificates one mount's upstream index holds.
pub const UPSTREAM_MAX_ROWS: usize = 250_000;
/// More new serials than this are read by paging `certs/detailed` instead of one
/// `cert/<serial>` each.
const BULK: usize = 200;
/// `cert/<serial>` reads in flight during a refresh.
const FETCH_CONCURRENCY: usize = 8;
/// Rows per query while streaming a CSV.
const CSV_CHUNK: u32 = 500;

/// The upstream indexes of this replica, one per mount (empty in embedded mode).
#[derive(Debug, Default)]
pub struct Indexes {
    mounts: Mutex<HashMap<String, Arc<MountIndex>>>,
}

impl Indexes {
    #[allow(clippy::result_large_err)]
    fn mount(&self, mount: &str) -> Result<Arc<MountIndex>, Response> {
        let mut all = self.mounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = all.get(mount) {
            return Ok(m.clone());
        }
        let conn = Connection::open_in_memory()
            .and_then(|c| certindex::create_schema(&c).map(|_| c))
            .map_err(|e| internal(format!("the in-memory index could not be created: {e}")))?;
        let m = Arc::new(MountIndex {
            conn: Mutex::new(conn),
            state: tokio::sync::Mutex::new(Refresh::default()),
            source: Mutex::new(IndexSource::default()),
        });
        all.insert(mount.to_string(), m.clone());
        Ok(m)
    }
}

#[derive(Debug)]
struct MountIndex {
    conn: Mutex<Connection>,
    /// Held while refreshing, so concurrent requests share one refresh.
    state: tokio::sync::Mutex<Refresh>,
    /// What the last refresh found, for answers.
    source: Mutex<IndexSource>,
}

#[derive(Debug, Default)]
struct Refresh {
    refreshed_at: i64,
    /// Whether `LIST certs/detailed` works on the upstream (unknown until tried).
    detailed: Option<bool>,
}

fn internal(message: String) -> Response {
    tracing::error!(%message, "certificate index");
    error(StatusCode::INTERNAL_SERVER_ERROR, vec![message])
}

fn bad(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, vec![message])
}

/// The caller's token, or 401.
#[allow(clippy::result_large_err)]
fn caller_token(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    match crate::session::credential(state, &Method::GET, headers)?.token() {
        Some(t) => Ok(t.to_owned()),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            vec!["sign in first: the certificate list is for signed-in users".into()],
        )),
    }
}

/// A mount path as the routes take it: segments of letters, digits, `-`, `_`, `.`.
#[allow(clippy::result_large_err)]
fn check_mount(mount: &str) -> Result<String, Response> {
    let m = mount.trim_matches('/');
    if m.is_empty() || m.len() > 256 || !m.split('/').all(shared::trust::is_safe_segment) {
        return Err(bad(format!(
            "mount: {mount:?} is not a mount path (segments of letters, digits, '-', '_' and '.')"
        )));
    }
    Ok(m.to_string())
}

/// Vault decides: the token must be allowed to `list` `<mount>/certs/detailed`.
async fn authorise(state: &AppState, token: &str, mount: &str) -> Result<(), Response> {
    let path = format!("{mount}/certs/detailed");
    let (status, body) = calls::call(
        state,
        Method::POST,
        "sys/capabilities-self",
        Some(token),
        Some(json!({ "paths": [path] })),
    )
    .await?;
    if !status.is_success() {
        let messages = vault_errors(&body);
        return Err(error(status, messages));
    }
    let caps = body["data"][&path]
        .as_array()
        .or_else(|| body["data"]["capabilities"].as_array())
        .cloned()
        .unwrap_or_default();
    let has = |c: &str| caps.iter().any(|v| v.as_str() == Some(c));
    if has("list") || has("root") {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            vec![format!(
                "permission denied: the certificate list of {mount} needs the \"list\" capability on {path} in one of your token's policies"
            )],
        ))
    }
}

fn vault_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `f` on the mount's index (the engine's, or this replica's upstream copy,
/// refreshed first when stale), off the async threads. Answers its result and the
/// index's source.
async fn with_index<T: Send + 'static>(
    state: &AppState,
    token: &str,
    mount: &str,
    f: impl FnOnce(&Connection, &str) -> Result<T, IndexError> + Send + 'static,
) -> Result<(T, IndexSource), Response> {
    let now = crate::engine::now();
    if let Some(engine) = state.engine.clone() {
        let m = mount.to_string();
        let answer = tokio::task::spawn_blocking(move || {
            engine.cert_index(&m, |conn, key| {
                let indexed = certindex::count(conn, key)?;
                f(conn, key).map(|t| (t, indexed))
            })
        })
        .await
        .map_err(|e| internal(format!("index task failed: {e}")))?;
        return match answer {
            Ok(Ok((t, indexed))) => Ok((
                t,
                IndexSource {
                    kind: "engine".into(),
                    refreshed_at: now,
                    indexed,
                    complete: true,
                    note: String::new(),
                },
            )),
            Ok(Err(e)) => Err(index_error(e)),
            Err(e) => Err(error(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.messages(),
            )),
        };
    }
    let index = state.cert_indexes.mount(mount)?;
    refresh(state, &index, token, mount).await?;
    let source = index
        .source
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let m = mount.to_string();
    let idx = index.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let conn = idx.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn, &m)
    })
    .await
    .map_err(|e| internal(format!("index task failed: {e}")))?;
    answer.map(|t| (t, source)).map_err(index_error)
}

/// A cursor the index did not make is the caller's mistake; anything else is ours.
fn index_error(e: IndexError) -> Response {
    match e {
        IndexError::BadCursor(_) => bad(e.to_string()),
        IndexError::Sqlite(_) => internal(e.to_string()),
    }
}

/// `GET /api/certs/<mount>?<CertQuery>`.
pub async fn search(
    State(state): State<AppState>,
    Path(mount): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (token, mount, q) = match prelude_query(&state, &headers, &mount, query).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = crate::engine::now();
    let answer = with_index(&state, &token, &mount, move |conn, key| {
        let (rows, next, total) = certindex::search(conn, key, &q, now)?;
        let (issuers, roles) = certindex::choices(conn, key)?;
        Ok(CertPage {
            now,
            rows,
            total,
            next,
            source: IndexSource::default(),
            issuers,
            roles,
        })
    })
    .await;
    match answer {
        Ok((page, source)) => no_store(Json(CertPage { source, ..page }).into_response()),
        Err(r) => r,
    }
}

/// `GET /api/certs/<mount>/summary`.
pub async fn summary(
    State(state): State<AppState>,
    Path(mount): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (token, mount) = match prelude(&state, &headers, &mount).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match summary_checked(&state, &token, &mount).await {
        Ok(s) => no_store(Json(s).into_response()),
        Err(r) => r,
    }
}

/// The summary of a mount the caller was allowed to list.
async fn summary_checked(
    state: &AppState,
    token: &str,
    mount: &str,
) -> Result<api::CertSummary, Response> {
    let now = crate::engine::now();
    with_index(state, token, mount, move |conn, key| {
        Ok(certindex::summary(conn, key, now)?)
    })
    .await
    .map(|(s, source)| api::CertSummary { source, ..s })
}

/// The summary of `mount` for the caller, as `/api/certs/<mount>/summary` answers it, or
/// why not in words (the Overview shows one per mount).
pub async fn summary_of(
    state: &AppState,
    token: &str,
    mount: &str,
) -> Result<api::CertSummary, String> {
    let words = |r: Response| {
        format!(
            "{} ({})",
            r.status().canonical_reason().unwrap_or(""),
            r.status().as_u16()
        )
    };
    let mount = check_mount(mount).map_err(words)?;
    authorise(state, token, &mount).await.map_err(|r| {
        format!("your token may not list the certificates of {mount} (it needs \"list\" on {mount}/certs/detailed): {}", words(r))
    })?;
    summary_checked(state, token, &mount).await.map_err(words)
}

/// `GET /api/certs/<mount>/timeline`.
pub async fn timeline(
    State(state): State<AppState>,
    Path(mount): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (token, mount) = match prelude(&state, &headers, &mount).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = crate::engine::now();
    match with_index(&state, &token, &mount, move |conn, key| {
        Ok(certindex::timeline(conn, key, now)?)
    })
    .await
    {
        Ok((t, _)) => no_store(Json(t).into_response()),
        Err(r) => r,
    }
}

/// `GET /api/certs/<mount>/export.csv?<CertQuery>`: every match (not only one page),
/// streamed in chunks of [`CSV_CHUNK`] rows read by keyset, so memory stays flat.
pub async fn export_csv(
    State(state): State<AppState>,
    Path(mount): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (token, mount, q) = match prelude_query(&state, &headers, &mount, query).await {
        Ok((token, mount, q)) => (
            token,
            mount,
            CertQuery {
                after: String::new(),
                limit: CSV_CHUNK,
                ..q
            },
        ),
        Err(r) => return r,
    };
    let now = crate::engine::now();
    // Check the query and the index before the 200 goes out: the first chunk.
    let first_q = q.clone();
    let first = with_index(&state, &token, &mount, move |conn, key| {
        certindex::search(conn, key, &first_q, now)
    })
    .await;
    let (rows, next, _) = match first {
        Ok((page, _)) => page,
        Err(r) => return r,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let mut chunk = String::with_capacity(64 * 1024);
    chunk.push_str(api::CSV_HEADER);
    chunk.push_str("\r\n");
    for r in &rows {
        chunk.push_str(&r.csv_line(now));
        chunk.push_str("\r\n");
    }
    let file = format!(
        "attachment; filename=\"certificates-{}.csv\"",
        shared::trust::slug(&mount, "pki")
    );
    let state2 = state.clone();
    tokio::spawn(async move {
        if tx.send(Ok(chunk)).await.is_err() {
            return;
        }
        let mut after = next;
        while let Some(cursor) = after.take() {
            let page_q = CertQuery {
                after: cursor,
                ..q.clone()
            };
            let got = with_index(&state2, &token, &mount, move |conn, key| {
                certindex::search(conn, key, &page_q, now)
            })
            .await;
            let Ok(((rows, next, _), _)) = got else {
                let _ = tx
                    .send(Err(std::io::Error::other("the index could not be read")))
                    .await;
                return;
            };
            let mut chunk = String::with_capacity(64 * 1024);
            for r in &rows {
                chunk.push_str(&r.csv_line(now));
                chunk.push_str("\r\n");
            }
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
            after = next;
        }
    });
    let stream = tokio_stream(rx);
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&file) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    no_store(res)
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `GET /api/certs/<mount>/cert/<serial>`: read from Vault with the caller's token,
/// decoded here, its chain checked against the mount's issuers.
pub async fn detail(
    State(state): State<AppState>,
    Path((mount, serial)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (token, mount) = match prelude(&state, &headers, &mount).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let serial = serial.trim().to_ascii_lowercase().replace('-', ":");
    if serial.is_empty()
        || serial.len() > 128
        || !serial.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
    {
        return bad(format!(
            "serial: {serial:?} is not a serial number (hex pairs joined by colons)"
        ));
    }
    let (status, body) = match calls::call(
        &state,
        Method::GET,
        &format!("{mount}/cert/{serial}"),
        Some(&token),
        None,
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    if status == StatusCode::NOT_FOUND || (status.is_success() && body["data"].is_null()) {
        return error(
            StatusCode::NOT_FOUND,
            vec![format!("no certificate with serial {serial} in {mount}")],
        );
    }
    if !status.is_success() {
        return error(status, vault_errors(&body));
    }
    let pem = body["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let revoked_at = body["data"]["revocation_time"].as_i64().unwrap_or(0);
    let der = match cert::pem_decode_all(&pem)
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|(_, d)| d)
    {
        Some(d) => d,
        None => {
            return error(
                StatusCode::BAD_GATEWAY,
                vec![format!("Vault's answer for {serial} holds no certificate")],
            );
        }
    };
    let info = match cert::parse_certificate(&der) {
        Ok(i) => i,
        Err(e) => {
            return error(
                StatusCode::BAD_GATEWAY,
                vec![format!(
                    "the stored certificate {serial} does not parse: {e}"
                )],
            );
        }
    };
    // The index's row (role, issue time) when it has one; the certificate's otherwise.
    let row_q = CertQuery {
        q: serial.clone(),
        limit: 1,
        ..CertQuery::default()
    };
    let now = crate::engine::now();
    let indexed = with_index(&state, &token, &mount, move |conn, key| {
        certindex::search(conn, key, &row_q, now)
    })
    .await
    .ok()
    .and_then(|((rows, _, _), _)| rows.into_iter().find(|r| r.serial_number == serial));
    let mut row = match indexed {
        Some(r) => r,
        None => match certindex::row_from_pem_or_der(&der, "", "", 0) {
            Ok(r) => r,
            Err(e) => {
                return error(
                    StatusCode::BAD_GATEWAY,
                    vec![format!(
                        "the stored certificate {serial} does not parse: {e}"
                    )],
                );
            }
        },
    };
    if revoked_at > 0 && row.revoked_at == 0 {
        row.revoked_at = revoked_at;
        // The upstream copy learns the revocation now, not at its next refresh.
        if state.engine.is_none()
            && let Ok(index) = state.cert_indexes.mount(&mount)
        {
            let conn = index.conn.lock().unwrap_or_else(|p| p.into_inner());
            let _ = certindex::set_revoked(&conn, &mount, &serial, revoked_at);
        }
    }
    let pool = mount_issuers(&state, &mount).await;
    let (chain_ok, chain_message, ca_chain) = check_chain(&der, &pool);
    let (sha256, sha1) = shared::trust::fingerprints(&der);
    let detail = CertDetail {
        now,
        mount: mount.clone(),
        certificate: cert::pem_encode("CERTIFICATE", &der),
        subject: info.subject_dn.clone(),
        issuer: info.issuer_dn.clone(),
        public_key: shared::trust::key_type_text(&info),
        signature_algorithm: info.signature_algorithm.clone(),
        extensions: extensions(&der, &info),
        sha256_fingerprint: sha256,
        sha1_fingerprint: sha1,
        chain_ok,
        chain_message,
        ca_chain,
        row,
    };
    no_store(Json(detail).into_response())
}

/// The checks every route starts with: a caller token, a clean mount path, Vault's
/// permission to list the mount's certificates.
async fn prelude(
    state: &AppState,
    headers: &HeaderMap,
    mount: &str,
) -> Result<(String, String), Response> {
    let token = caller_token(state, headers)?;
    let mount = check_mount(mount)?;
    authorise(state, &token, &mount).await?;
    Ok((token, mount))
}

/// [`prelude`], then the query string as a [`CertQuery`] (400 naming a bad field).
async fn prelude_query(
    state: &AppState,
    headers: &HeaderMap,
    mount: &str,
    query: Option<String>,
) -> Result<(String, String, CertQuery), Response> {
    let (token, mount) = prelude(state, headers, mount).await?;
    let q = CertQuery::parse(query.as_deref().unwrap_or("")).map_err(|e| bad(e.to_string()))?;
    Ok((token, mount, q))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Every issuer certificate of the mount (and the chains Vault keeps with them), read
/// through Vault's unauthenticated issuer endpoints. Each is (issuer ID, DER).
async fn mount_issuers(state: &AppState, mount: &str) -> Vec<(String, Vec<u8>)> {
    let list = match calls::call(
        state,
        Method::from_bytes(b"LIST").unwrap_or(Method::GET),
        &format!("{mount}/issuers"),
        None,
        None,
    )
    .await
    {
        Ok((s, body)) if s.is_success() => {
            body["data"]["keys"].as_array().cloned().unwrap_or_default()
        }
        _ => vec![],
    };
    let mut out = vec![];
    for id in list.iter().filter_map(Value::as_str).take(32) {
        let Ok((s, body)) = calls::call(
            state,
            Method::GET,
            &format!("{mount}/issuer/{id}/json"),
            None,
            None,
        )
        .await
        else {
            continue;
        };
        if !s.is_success() {
            continue;
        }
        let d = &body["data"];
        let mut pems = vec![d["certificate"].as_str().unwrap_or_default().to_string()];
        pems.extend(
            d["ca_chain"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from)),
        );
        for pem in pems {
            for (_, der) in cert::pem_decode_all(&pem).unwrap_or_default() {
                if !out.iter().any(|(_, d)| *d == der) {
                    out.push((id.to_string(), der));
                }
            }
        }
    }
    out
}

/// Whether `der` chains to a self-signed root through the pool: (ok, words, the CA
/// chain as PEM, issuer first).
fn check_chain(der: &[u8], pool: &[(String, Vec<u8>)]) -> (bool, String, Vec<String>) {
    let ders: Vec<Vec<u8>> = pool.iter().map(|(_, d)| d.clone()).collect();
    let built = shared::trust::build_chain(der, &ders);
    let names: Vec<String> = built
        .certificates
        .iter()
        .map(|d| {
            cert::parse_certificate(d)
                .map(|i| i.subject_dn)
                .unwrap_or_else(|_| "?".into())
        })
        .collect();
    let ca_chain = built
        .certificates
        .iter()
        .skip(1)
        .map(|d| cert::pem_encode("CERTIFICATE", d))
        .collect();
    if built.complete {
        (
            true,
            format!("verifies: {} (self-signed root)", names.join(" ← ")),
            ca_chain,
        )
    } else {
        let why = built
            .problem
            .unwrap_or_else(|| "the chain is incomplete".into());
        (false, format!("does not verify: {why}"), ca_chain)
    }
}

/// The certificate's extensions in words.
fn extensions(der: &[u8], info: &CertInfo) -> Vec<ExtensionView> {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(der) else {
        return vec![];
    };
    parsed
        .extensions()
        .iter()
        .map(|ext| {
            let oid = ext.oid.to_id_string();
            let (name, value) = match oid.as_str() {
                "2.5.29.17" => ("Subject Alternative Name", sans_text(info)),
                "2.5.29.19" => (
                    "Basic Constraints",
                    match (info.is_ca, info.max_path_length) {
                        (true, Some(n)) => format!("CA: true, path length ≤ {n}"),
                        (true, None) => "CA: true".into(),
                        (false, _) => "CA: false".into(),
                    },
                ),
                "2.5.29.15" => (
                    "Key Usage",
                    info.key_usage
                        .iter()
                        .map(|k| k.as_str().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                "2.5.29.37" => (
                    "Extended Key Usage",
                    info.ext_key_usage
                        .iter()
                        .map(|k| k.as_str().to_string())
                        .chain(info.ext_key_usage_oids.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                "2.5.29.14" => ("Subject Key Identifier", info.subject_key_id.clone()),
                "2.5.29.35" => ("Authority Key Identifier", info.authority_key_id.clone()),
                "2.5.29.31" => (
                    "CRL Distribution Points",
                    info.crl_distribution_points.join(", "),
                ),
                "1.3.6.1.5.5.7.1.1" => (
                    "Authority Information Access",
                    info.issuing_certificates
                        .iter()
                        .map(|u| format!("CA Issuers: {u}"))
                        .chain(info.ocsp_servers.iter().map(|u| format!("OCSP: {u}")))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => ("", hex_preview(ext.value)),
            };
            ExtensionView {
                name: if name.is_empty() {
                    oid.clone()
                } else {
                    name.to_string()
                },
                oid,
                critical: ext.critical,
                value,
            }
        })
        .collect()
}

fn sans_text(info: &CertInfo) -> String {
    info.sans
        .dns
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(info.sans.ip.iter().map(|i| format!("IP:{i}")))
        .chain(info.sans.uri.iter().map(|u| format!("URI:{u}")))
        .chain(info.sans.email.iter().map(|e| format!("email:{e}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex_preview(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(32).map(|b| format!("{b:02X}")).collect();
    let more = if bytes.len() > 32 { " …" } else { "" };
    format!("{}{more}", shown.join(":"))
}

// ----------------------------------------------------------------------------------------
// The upstream index

/// Brings the mount's upstream index up to date when it is older than [`STALE_SECS`]:
/// the serial list, then what is new (paged `certs/detailed`, or `cert/<serial>` for a
/// few), what was tidied away, and which serials are revoked.
async fn refresh(
    state: &AppState,
    index: &Arc<MountIndex>,
    token: &str,
    mount: &str,
) -> Result<(), Response> {
    let mut st = index.state.lock().await;
    let now = crate::engine::now();
    if st.refreshed_at > 0 && now - st.refreshed_at < STALE_SECS {
        return Ok(());
    }
    let list = Method::from_bytes(b"LIST").unwrap_or(Method::GET);
    let mut keys = list_keys(state, &list, &format!("{mount}/certs"), token).await?;
    keys.sort();
    let complete = keys.len() <= UPSTREAM_MAX_ROWS;
    keys.truncate(UPSTREAM_MAX_ROWS);
    let known: HashSet<String> = {
        let idx = index.clone();
        let m = mount.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = idx.conn.lock().unwrap_or_else(|p| p.into_inner());
            serials(&conn, &m)
        })
        .await
        .map_err(|e| internal(format!("index task failed: {e}")))?
        .map_err(|e| internal(e.to_string()))?
        .into_iter()
        .collect()
    };
    let wanted: HashSet<&String> = keys.iter().collect();
    let new: Vec<String> = keys
        .iter()
        .filter(|k| !known.contains(*k))
        .cloned()
        .collect();
    let gone: Vec<String> = known
        .iter()
        .filter(|k| !wanted.contains(k))
        .cloned()
        .collect();
    let issuers = issuer_ids(state, mount).await;
    let mut rows: Vec<CertRow> = vec![];
    let mut how = "LIST certs + cert/<serial>";
    if new.len() > BULK && st.detailed != Some(false) {
        match detailed_rows(state, &list, mount, token, &issuers).await {
            Ok(all) => {
                st.detailed = Some(true);
                how = "LIST certs/detailed";
                let new_set: HashSet<&String> = new.iter().collect();
                rows = all
                    .into_iter()
                    .filter(|r| new_set.contains(&r.serial_number))
                    .collect();
            }
            Err(()) => st.detailed = Some(false),
        }
    }
    if rows.is_empty() && !new.is_empty() {
        rows = futures::stream::iter(new.iter().cloned())
            .map(|serial| fetch_row(state, mount, token, serial, &issuers))
            .buffer_unordered(FETCH_CONCURRENCY)
            .filter_map(|r| async move { r })
            .collect()
            .await;
    }
    // Revocations: the list, and each newly revoked serial's time.
    let revoked = list_keys(state, &list, &format!("{mount}/certs/revoked"), token)
        .await
        .unwrap_or_default();
    let unrevoked_known: Vec<String> = {
        let idx = index.clone();
        let m = mount.to_string();
        let rv = revoked.clone();
        tokio::task::spawn_blocking(move || {
            let conn = idx.conn.lock().unwrap_or_else(|p| p.into_inner());
            not_revoked_among(&conn, &m, &rv)
        })
        .await
        .map_err(|e| internal(format!("index task failed: {e}")))?
        .map_err(|e| internal(e.to_string()))?
    };
    let mut revoked_at: Vec<(String, i64)> = futures::stream::iter(unrevoked_known)
        .map(|serial| async move {
            let (s, body) = calls::call(
                state,
                Method::GET,
                &format!("{mount}/cert/{serial}"),
                Some(token),
                None,
            )
            .await
            .ok()?;
            let t = body["data"]["revocation_time"].as_i64().unwrap_or(0);
            (s.is_success() && t > 0).then_some((serial, t))
        })
        .buffer_unordered(FETCH_CONCURRENCY)
        .filter_map(|r| async move { r })
        .collect()
        .await;
    // A new row that is already revoked gets its time in the same pass.
    for r in &mut rows {
        if revoked.contains(&r.serial_number)
            && r.revoked_at == 0
            && let Some(pos) = revoked_at.iter().position(|(s, _)| *s == r.serial_number)
        {
            r.revoked_at = revoked_at.swap_remove(pos).1;
        }
    }
    let idx = index.clone();
    let m = mount.to_string();
    let indexed = tokio::task::spawn_blocking(move || {
        let mut conn = idx.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        for serial in &gone {
            certindex::delete(&tx, &m, serial)?;
        }
        for r in &rows {
            certindex::upsert(&tx, &m, r)?;
        }
        for (serial, t) in &revoked_at {
            certindex::set_revoked(&tx, &m, serial, *t)?;
        }
        tx.commit()?;
        certindex::count(&conn, &m)
    })
    .await
    .map_err(|e| internal(format!("index task failed: {e}")))?
    .map_err(|e| internal(format!("the in-memory index could not be written: {e}")))?;
    st.refreshed_at = crate::engine::now();
    let note = if complete {
        format!("read from the upstream Vault with {how}; roles are not recorded by Vault")
    } else {
        format!(
            "the upstream Vault holds more certificates than this index keeps ({UPSTREAM_MAX_ROWS}); read with {how}"
        )
    };
    *index.source.lock().unwrap_or_else(|p| p.into_inner()) = IndexSource {
        kind: "upstream".into(),
        refreshed_at: st.refreshed_at,
        indexed,
        complete,
        note,
    };
    Ok(())
}

/// The keys of a LIST; a 404 (nothing there) is an empty list.
async fn list_keys(
    state: &AppState,
    list: &Method,
    path: &str,
    token: &str,
) -> Result<Vec<String>, Response> {
    let (s, body) = calls::call(state, list.clone(), path, Some(token), None).await?;
    if s == StatusCode::NOT_FOUND {
        return Ok(vec![]);
    }
    if !s.is_success() {
        return Err(error(s, vault_errors(&body)));
    }
    Ok(body["data"]["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect())
}

/// Issuer subject DN → issuer ID, from the mount's issuers.
async fn issuer_ids(state: &AppState, mount: &str) -> HashMap<String, String> {
    mount_issuers(state, mount)
        .await
        .into_iter()
        .filter_map(|(id, der)| {
            cert::parse_certificate(&der)
                .ok()
                .map(|i| (i.subject_dn, id))
        })
        .collect()
}

/// Every certificate of the mount through `LIST certs/detailed` pages; `Err` when the
/// upstream has no such endpoint.
async fn detailed_rows(
    state: &AppState,
    list: &Method,
    mount: &str,
    token: &str,
    issuers: &HashMap<String, String>,
) -> Result<Vec<CertRow>, ()> {
    let mut out = vec![];
    let mut after = String::new();
    loop {
        let mut fields = serde_json::Map::new();
        fields.insert("limit".into(), json!("1000"));
        if !after.is_empty() {
            fields.insert("after".into(), json!(after));
        }
        let Ok((s, body)) = calls::call(
            state,
            list.clone(),
            &format!("{mount}/certs/detailed"),
            Some(token),
            Some(Value::Object(fields)),
        )
        .await
        else {
            return Err(());
        };
        if s == StatusCode::NOT_FOUND && body["errors"].as_array().is_some_and(|e| e.is_empty()) {
            return Ok(out);
        }
        if !s.is_success() {
            return Err(());
        }
        let keys: Vec<String> = body["data"]["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        if keys.is_empty() {
            return Ok(out);
        }
        for k in &keys {
            let i = &body["data"]["key_info"][k];
            let time = |f: &str| {
                shared::pki::fields::parse_rfc3339(i[f].as_str().unwrap_or_default()).unwrap_or(0)
            };
            let issuer = i["issuer"].as_str().unwrap_or_default().to_string();
            out.push(CertRow {
                serial_number: k.clone(),
                common_name: i["common_name"].as_str().unwrap_or_default().into(),
                sans: i["dns_names"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                issuer_id: issuers.get(&issuer).cloned().unwrap_or_default(),
                issuer,
                role: String::new(),
                not_before: time("not_before"),
                not_after: time("not_after"),
                issued_at: time("not_before"),
                revoked_at: 0,
                key_type: i["key_type"].as_str().unwrap_or_default().into(),
                key_bits: i["key_bits"].as_u64().unwrap_or(0) as u32,
                is_ca: false,
            });
        }
        if out.len() > UPSTREAM_MAX_ROWS {
            return Ok(out);
        }
        after = keys.last().cloned().unwrap_or_default();
    }
}

/// One certificate read with `cert/<serial>`, as a row.
async fn fetch_row(
    state: &AppState,
    mount: &str,
    token: &str,
    serial: String,
    issuers: &HashMap<String, String>,
) -> Option<CertRow> {
    let (s, body) = calls::call(
        state,
        Method::GET,
        &format!("{mount}/cert/{serial}"),
        Some(token),
        None,
    )
    .await
    .ok()?;
    if !s.is_success() {
        return None;
    }
    let pem = body["data"]["certificate"].as_str()?;
    let der = cert::pem_decode_all(pem).ok()?.into_iter().next()?.1;
    let mut row = certindex::row_from_pem_or_der(&der, "", "", 0).ok()?;
    row.issuer_id = issuers.get(&row.issuer).cloned().unwrap_or_default();
    row.revoked_at = body["data"]["revocation_time"].as_i64().unwrap_or(0);
    Some(row)
}

/// Every serial of the mount in the index.
fn serials(conn: &Connection, mount: &str) -> rusqlite::Result<Vec<String>> {
    Ok(certindex::by_serial(conn, mount, "", 0)?
        .into_iter()
        .map(|r| r.serial_number)
        .collect())
}

fn serials_of(conn: &Connection, mount: &str) -> rusqlite::Result<HashSet<String>> {
    Ok(serials(conn, mount)?.into_iter().collect())
}

/// Those of `serials` that the index holds as not revoked.
fn not_revoked_among(
    conn: &Connection,
    mount: &str,
    serials: &[String],
) -> rusqlite::Result<Vec<String>> {
    let already: HashSet<String> = certindex::revoked_serials(conn, mount)?
        .into_iter()
        .collect();
    let known: HashSet<String> = serials_of(conn, mount)?;
    Ok(serials
        .iter()
        .filter(|s| known.contains(*s) && !already.contains(*s))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_checked() {
        assert_eq!(check_mount("pki_int").unwrap(), "pki_int");
        assert_eq!(check_mount("/team/pki/").unwrap(), "team/pki");
        for bad in ["", "/", "a/../b", "a//b", "a b", "a%2fb", "..", "x\u{0}"] {
            assert!(check_mount(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_preview_is_bounded() {
        assert_eq!(hex_preview(&[1, 2]), "01:02");
        assert!(hex_preview(&[0; 100]).ends_with(" …"));
    }
}
