//! The certificate store: `certs` (LIST, with OpenBao's `after`/`limit` paging),
//! `certs/detailed`, `certs/revoked`, `cert/:serial` (and `cert/crl`, the CRL as JSON, in
//! `crl`), `revoke`, `tidy` and `tidy-status`.
//!
//! Every stored certificate also has a row in the certificate index (`crate::certindex`,
//! the mount's UUID as its mount key), written in the same transaction as its storage
//! entry (stored, revoked, tidied); `certs/detailed` and `certs/revoked` are answered
//! from it. Data directories from before the index are indexed at the engine's next open
//! ([`backfill_index`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::issuers::{self, bool_field, int_field, ttl_field};
use super::{Keys, pki_error};
use crate::certindex;
use crate::engine::mounts::{self, Mount, Table};
use crate::engine::storage::Tx;
use crate::engine::{Engine, EngineError, Response, field_str, now, rfc3339};
use shared::api::certs::CertRow;
use shared::api::pki as api;
use shared::pki::cert;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertEntry {
    pub certificate: String,
    #[serde(default)]
    pub issuer_id: String,
    pub not_after: i64,
    /// Unix time of revocation; 0 while valid.
    #[serde(default)]
    pub revocation_time: i64,
}

/// Stores a certificate just issued through `role` ("" for none: `sign-verbatim`, a root,
/// `sign-intermediate`) and its index row, issued now.
pub fn store_cert(
    tx: &mut Tx<'_>,
    mount: &Mount,
    serial: &str,
    pem: &str,
    issuer_id: &str,
    not_after: i64,
    role: &str,
) -> Result<(), EngineError> {
    let row = certindex::row_from_pem_or_der(pem.as_bytes(), issuer_id, role, now())
        .map_err(|e| EngineError::Internal(format!("indexing certificate {serial}: {e}")))?;
    store_cert_row(tx, mount, pem, not_after, &row)
}

/// Stores a certificate with the index row its caller built (`row.serial_number` is its
/// serial; `row.revoked_at` its revocation time).
pub fn store_cert_row(
    tx: &mut Tx<'_>,
    mount: &Mount,
    pem: &str,
    not_after: i64,
    row: &CertRow,
) -> Result<(), EngineError> {
    let entry = CertEntry {
        certificate: pem.trim_end().to_string() + "\n",
        issuer_id: row.issuer_id.clone(),
        not_after,
        revocation_time: row.revoked_at,
    };
    tx.put(&Keys(mount).cert(&row.serial_number), &entry)?;
    certindex::upsert(tx.conn(), &mount.uuid, row).map_err(index_error)?;
    Ok(())
}

fn index_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("certificate index: {e}"))
}

/// Where the engine records that every stored certificate has its index row.
const INDEX_MARKER: &str = "core/cert-index";
/// Certificates indexed per transaction by [`backfill_index`].
const BACKFILL_BATCH: usize = 2_000;

/// Builds the index rows of every certificate of every PKI mount, once: for data
/// directories written before the index existed (the migration that creates it leaves
/// no marker). Rows carry no role (the store does not say) and `issued_at` is the
/// certificate's `not_before`. Returns how many rows it wrote.
pub fn backfill_index(engine: &Engine) -> Result<usize, EngineError> {
    if engine.store.get::<u32>(INDEX_MARKER)?.is_some() {
        return Ok(0);
    }
    let mut done = 0;
    for mount in mounts::load(engine, Table::Secrets)?
        .into_iter()
        .filter(|m| m.kind == "pki")
    {
        let k = Keys(&mount);
        let keys = engine.store.list(&k.certs())?;
        for chunk in keys.chunks(BACKFILL_BATCH) {
            done += engine.store.atomic_with(|tx| {
                let mut n = 0;
                for key in chunk {
                    let Some(e) = tx.get::<CertEntry>(&k.cert(key))? else {
                        continue;
                    };
                    match certindex::row_from_pem_or_der(
                        e.certificate.as_bytes(),
                        &e.issuer_id,
                        "",
                        0,
                    ) {
                        Ok(mut row) => {
                            row.revoked_at = e.revocation_time;
                            certindex::upsert(tx.conn(), &mount.uuid, &row).map_err(index_error)?;
                            n += 1;
                        }
                        Err(err) => {
                            tracing::warn!(mount = %mount.path, serial = %key, %err, "certificate not indexed: it does not parse");
                        }
                    }
                }
                Ok::<_, EngineError>(n)
            })?;
        }
    }
    engine.store.put(INDEX_MARKER, &1u32)?;
    if done > 0 {
        tracing::info!(certificates = done, "indexed the stored certificates");
    }
    Ok(done)
}

/// `aa-bb`, `AA:BB` and `aabb`-less forms all become Vault's `aa:bb`.
pub fn normalise_serial(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('-', ":")
}

pub fn load(
    engine: &Engine,
    mount: &Mount,
    serial: &str,
) -> Result<Option<CertEntry>, EngineError> {
    Ok(engine
        .store
        .get(&Keys(mount).cert(&normalise_serial(serial)))?)
}

pub fn all(engine: &Engine, mount: &Mount) -> Result<Vec<(String, CertEntry)>, EngineError> {
    let k = Keys(mount);
    let mut out = vec![];
    for key in engine.store.list(&k.certs())? {
        if let Some(e) = engine.store.get::<CertEntry>(&k.cert(&key))? {
            out.push((key.replace('-', ":"), e));
        }
    }
    Ok(out)
}

pub fn list(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
    detailed: bool,
) -> Result<Response, EngineError> {
    let after = field_str(data, "after").map(|a| normalise_serial(&a).replace(':', "-"));
    let limit = int_field(data, "limit", 0)?;
    let limit = if limit <= 0 {
        usize::MAX
    } else {
        limit as usize
    };
    if !detailed {
        let keys: Vec<String> =
            engine
                .store
                .list_page(&Keys(mount).certs(), after.as_deref(), limit)?;
        return Response::list(keys.iter().map(|s| s.replace('-', ":")).collect());
    }
    // From the index, in OpenBao 2.7's shape: serials in order, and per serial exactly
    // these fields.
    let after = after.map(|a| a.replace('-', ":")).unwrap_or_default();
    let limit = if limit == usize::MAX { 0 } else { limit };
    let rows = engine
        .store
        .read_conn(|conn| certindex::by_serial(conn, &mount.uuid, &after, limit))?
        .map_err(index_error)?;
    if rows.is_empty() {
        return Err(EngineError::NotFound(String::new()));
    }
    let mut info = Map::new();
    let keys: Vec<String> = rows.iter().map(|r| r.serial_number.clone()).collect();
    for r in rows {
        let dns: Vec<&String> = r.sans.iter().filter(|s| is_dns_name(s)).collect();
        info.insert(
            r.serial_number.clone(),
            json!({
                "common_name": r.common_name,
                "dns_names": dns,
                "issuer": r.issuer,
                "key_bits": r.key_bits,
                "key_type": r.key_type,
                "not_after": shared::api::certs::rfc3339(r.not_after),
                "not_before": shared::api::certs::rfc3339(r.not_before),
            }),
        );
    }
    Ok(Response::data(json!({ "keys": keys, "key_info": info })))
}

/// Whether an index SAN is a DNS name (not an IP address, URI or e-mail address).
fn is_dns_name(s: &str) -> bool {
    !s.contains([':', '@', '/']) && s.parse::<std::net::IpAddr>().is_err()
}

pub fn list_revoked(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let revoked = engine
        .store
        .read_conn(|conn| certindex::revoked_serials(conn, &mount.uuid))?
        .map_err(index_error)?;
    Response::list(revoked)
}

pub fn read(engine: &Engine, mount: &Mount, serial: &str) -> Result<Response, EngineError> {
    let e = load(engine, mount, serial)?.ok_or_else(|| EngineError::NotFound(String::new()))?;
    let revoked = e.revocation_time > 0;
    Response::typed(&api::CertRecord {
        certificate: e.certificate,
        ca_chain: None,
        revocation_time: e.revocation_time,
        revocation_time_rfc3339: if revoked {
            rfc3339(e.revocation_time)
        } else {
            String::new()
        },
        // OpenBao names the issuer only of a revoked certificate (from its revocation entry).
        issuer_id: revoked.then_some(e.issuer_id),
    })
}

pub fn revoke(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    // Errors name the serial as the caller wrote it, as OpenBao does.
    let mut given = String::new();
    let serial = match (
        field_str(data, "serial_number"),
        field_str(data, "certificate"),
    ) {
        (Some(s), _) if !s.is_empty() => {
            given = s.trim().to_string();
            normalise_serial(&s)
        }
        (_, Some(pem)) if !pem.is_empty() => {
            let der = cert::pem_decode_all(&pem)
                .map_err(pki_error)?
                .into_iter()
                .next()
                .map(|(_, d)| d)
                .ok_or_else(|| EngineError::bad("no certificate found in \"certificate\""))?;
            cert::parse_certificate(&der).map_err(pki_error)?.serial
        }
        _ => {
            return Err(EngineError::bad(
                "The serial number or certificate to revoke must be provided.",
            ));
        }
    };
    if given.is_empty() {
        given = serial.clone();
    }
    let mut entry = load(engine, mount, &serial)?
        .ok_or_else(|| EngineError::bad(format!("certificate with serial {given} not found.")))?;
    if let Some(i) = issuers::all_issuers(engine, mount)?
        .into_iter()
        .find(|i| i.serial_number == serial)
    {
        return Err(EngineError::bad(format!(
            "adding issuer (id: {}) to its own CRL is not allowed",
            i.id
        )));
    }
    let now = now();
    let mut warnings = vec![];
    if entry.revocation_time == 0 {
        if entry.not_after < now {
            warnings.push(format!(
                "certificate with serial {serial} is already expired; revoking it anyway"
            ));
        }
        entry.revocation_time = now;
        engine.store.atomic_with(|tx| {
            tx.put(&Keys(mount).cert(&serial), &entry)?;
            certindex::set_revoked(tx.conn(), &mount.uuid, &serial, now).map_err(index_error)?;
            Ok::<_, EngineError>(())
        })?;
        if let Ok(issuer) = issuers::load_issuer(engine, mount, &entry.issuer_id) {
            super::crl::rebuild(engine, mount, &issuer)?;
        }
    }
    let revoked = api::Revoked {
        revocation_time: entry.revocation_time,
        revocation_time_rfc3339: rfc3339(entry.revocation_time),
        state: "revoked".into(),
    };
    Ok(Response {
        warnings,
        ..Response::typed(&revoked)?
    })
}

/// OpenBao's warning for a tidy request that enables no operation.
const NOTHING_TO_TIDY: &str = "Manual tidy requested but no tidy operations were set. Enable at least one tidy operation to be run (tidy_cert_store / tidy_revoked_certs / tidy_invalid_certs / tidy_revoked_cert_issuer_associations / tidy_expired_issuers / tidy_move_legacy_ca_bundle / tidy_acme).";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TidyStatus {
    state: String,
    time_started: String,
    time_finished: String,
    cert_store_deleted_count: u64,
    revoked_cert_deleted_count: u64,
    safety_buffer: u64,
    tidy_cert_store: bool,
    tidy_revoked_certs: bool,
    error: String,
}

/// Removes expired certificates (older than `safety_buffer`, default 72h) from the store
/// and, with `tidy_revoked_certs`, expired revoked ones, then rebuilds the CRLs.
pub fn tidy(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let tidy_store = bool_field(data, "tidy_cert_store", false)?;
    let tidy_revoked = bool_field(data, "tidy_revoked_certs", false)?;
    let buffer = match ttl_field(data, "safety_buffer")? {
        0 => 72 * 3600,
        b => b,
    };
    if !tidy_store && !tidy_revoked {
        // OpenBao accepts the request and only warns (nothing runs, the status stays).
        return Ok(Response {
            status: 202,
            warnings: vec![NOTHING_TO_TIDY.into()],
            ..Default::default()
        });
    }
    let started = now();
    let cutoff = started - buffer as i64;
    let (mut store_count, mut revoked_count) = (0u64, 0u64);
    let k = Keys(mount);
    engine.store.atomic_with(|tx| {
        for serial in tx.list(&k.certs())? {
            let key = k.cert(&serial);
            let Some(e) = tx.get::<CertEntry>(&key)? else {
                continue;
            };
            if e.not_after >= cutoff {
                continue;
            }
            let gone = if e.revocation_time > 0 && tidy_revoked {
                revoked_count += 1;
                true
            } else if e.revocation_time == 0 && tidy_store {
                store_count += 1;
                true
            } else {
                false
            };
            if gone {
                tx.delete(&key)?;
                certindex::delete(tx.conn(), &mount.uuid, &serial.replace('-', ":"))
                    .map_err(index_error)?;
            }
        }
        Ok::<_, EngineError>(())
    })?;
    for issuer in issuers::all_issuers(engine, mount)?
        .iter()
        .filter(|i| !i.key_id.is_empty())
    {
        super::crl::rebuild(engine, mount, issuer)?;
    }
    let status = TidyStatus {
        state: "Finished".into(),
        time_started: rfc3339(started),
        time_finished: rfc3339(now()),
        cert_store_deleted_count: store_count,
        revoked_cert_deleted_count: revoked_count,
        safety_buffer: buffer,
        tidy_cert_store: tidy_store,
        tidy_revoked_certs: tidy_revoked,
        error: String::new(),
    };
    engine.store.put(&k.config("tidy-status"), &status)?;
    Ok(Response {
        status: 202,
        warnings: vec!["Tidy operation successfully started. Any information from the operation will be printed to OpenBao's server logs.".into()],
        ..Default::default()
    })
}

pub fn tidy_status(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let s: TidyStatus = engine
        .store
        .get(&Keys(mount).config("tidy-status"))?
        .unwrap_or(TidyStatus {
            state: "Inactive".into(),
            ..Default::default()
        });
    Ok(Response::data(json!(s)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use crate::certindex;
    use crate::engine::{Engine, Operation, ROOT_TOKEN_FILE, Request, uuid};
    use shared::api::certs::{CertQuery, StatusFilter};

    fn open(dir: &Path) -> (Engine, String) {
        let config = crate::config::Config::for_tests(dir.join("data"));
        let engine = Engine::open(&config.engine()).expect("the engine opens");
        let root = std::fs::read_to_string(dir.join("data").join(ROOT_TOKEN_FILE))
            .expect("the root token")
            .trim()
            .to_string();
        (engine, root)
    }

    fn call(engine: &Engine, token: &str, op: Operation, path: &str, data: Value) -> Value {
        let r = engine
            .handle(Request {
                operation: op,
                path: path.into(),
                data: data.as_object().cloned().unwrap_or_default(),
                token: Some(token.into()),
                remote_addr: None,
                id: uuid(),
            })
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        r.data.unwrap_or(Value::Null)
    }

    fn search(engine: &Engine, q: CertQuery) -> (Vec<shared::api::certs::CertRow>, u64) {
        engine
            .cert_index("pki", |conn, key| {
                certindex::search(conn, key, &q, crate::engine::now())
            })
            .unwrap()
            .map(|(rows, _, total)| (rows, total))
            .unwrap()
    }

    /// A PKI mount `pki` with an EC root and a role `web` that allows any name.
    fn pki_with_role(engine: &Engine, root: &str) {
        for (path, body) in [
            ("sys/mounts/pki", json!({"type": "pki"})),
            (
                "pki/root/generate/internal",
                json!({"common_name": "r", "key_type": "ec"}),
            ),
            (
                "pki/roles/web",
                json!({"allow_any_name": true, "key_type": "ec"}),
            ),
        ] {
            call(engine, root, Operation::Update, path, body);
        }
    }

    /// Issued and revoked certificates land in the index with the storage write; the
    /// detailed list has OpenBao's shape; rows dropped (a data directory from before the
    /// index) come back at the next open; disabling the mount drops its rows.
    #[test]
    fn the_index_follows_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, root) = open(dir.path());
        use Operation::{Delete, List, Update};
        pki_with_role(&engine, &root);
        let mut serials = vec![];
        for (cn, alt) in [
            ("a.example.com", "x.example.com"),
            ("b.example.com", "y.example.com"),
        ] {
            let r = call(
                &engine,
                &root,
                Update,
                "pki/issue/web",
                json!({"common_name": cn, "alt_names": alt, "ip_sans": "10.1.2.3"}),
            );
            serials.push(r["serial_number"].as_str().unwrap().to_string());
        }
        let (rows, total) = search(&engine, CertQuery::default());
        assert_eq!(total, 3, "the root and two leaves");
        assert!(
            rows.iter()
                .any(|r| r.is_ca && r.role.is_empty() && r.issuer == "CN=r")
        );
        let (rows, total) = search(
            &engine,
            CertQuery {
                q: "Y.exam".into(),
                ..Default::default()
            },
        );
        assert_eq!(total, 1);
        assert_eq!(rows[0].serial_number, serials[1]);
        assert_eq!(rows[0].role, "web");
        assert_eq!(
            rows[0].sans,
            vec!["b.example.com", "y.example.com", "10.1.2.3"]
        );

        call(
            &engine,
            &root,
            Update,
            "pki/revoke",
            json!({"serial_number": serials[0]}),
        );
        let revoked = CertQuery {
            status: StatusFilter::Revoked,
            ..Default::default()
        };
        assert_eq!(search(&engine, revoked.clone()).1, 1);
        let listed = call(&engine, &root, List, "pki/certs/revoked", json!({}));
        assert_eq!(listed["keys"], json!([serials[0]]));

        // certs/detailed: serial order, OpenBao's fields only, paged like LIST certs.
        let all = call(&engine, &root, List, "pki/certs", json!({}));
        let detailed = call(&engine, &root, List, "pki/certs/detailed", json!({}));
        assert_eq!(detailed["keys"], all["keys"]);
        let info = &detailed["key_info"][&serials[1]];
        let mut fields: Vec<&str> = info
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "common_name",
                "dns_names",
                "issuer",
                "key_bits",
                "key_type",
                "not_after",
                "not_before"
            ]
        );
        assert_eq!(info["dns_names"], json!(["b.example.com", "y.example.com"]));
        assert_eq!(info["issuer"], "CN=r");
        assert_eq!(info["key_bits"], 256);
        assert_eq!(info["key_type"], "ec");
        assert!(info["not_after"].as_str().unwrap().ends_with('Z'));
        let first = all["keys"][0].as_str().unwrap();
        let page = call(
            &engine,
            &root,
            List,
            "pki/certs/detailed",
            json!({"after": first, "limit": 1}),
        );
        assert_eq!(page["keys"], json!([all["keys"][1]]));
        let last = all["keys"][2].as_str().unwrap();
        let e = engine
            .handle(Request {
                operation: List,
                path: "pki/certs/detailed".into(),
                data: json!({"after": last}).as_object().cloned().unwrap(),
                token: Some(root.clone()),
                remote_addr: None,
                id: uuid(),
            })
            .unwrap_err();
        assert_eq!(e.status(), 404);

        // A data directory from before the index: no rows, no marker.
        let key = engine.cert_index("pki", |_, key| key.to_string()).unwrap();
        engine
            .store
            .atomic(|tx| {
                certindex::delete_mount(tx.conn(), &key)?;
                tx.delete(super::INDEX_MARKER)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(search(&engine, CertQuery::default()).1, 0);
        drop(engine);
        let (engine, root) = open(dir.path());
        let (rows, total) = search(&engine, CertQuery::default());
        assert_eq!(total, 3);
        assert!(
            rows.iter()
                .all(|r| r.role.is_empty() && r.issued_at == r.not_before)
        );
        assert_eq!(search(&engine, revoked).1, 1);
        assert_eq!(
            search(
                &engine,
                CertQuery {
                    q: "x.example".into(),
                    ..Default::default()
                }
            )
            .1,
            1
        );

        // Disabling the mount drops its rows; the accessor then finds no mount.
        call(&engine, &root, Delete, "sys/mounts/pki", json!({}));
        let left: i64 = engine
            .store
            .read_conn(|c| {
                c.query_row(
                    "SELECT count(*) FROM cert_index WHERE mount = ?1",
                    [&key],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .unwrap();
        assert_eq!(left, 0);
        assert_eq!(
            engine.cert_index("pki", |_, _| ()).unwrap_err().status(),
            404
        );
        assert_eq!(
            engine.cert_index("/pki", |_, _| ()).unwrap_err().status(),
            400
        );
    }

    /// Tidy removes the index rows of the certificates it deletes, in its transaction.
    #[test]
    fn tidy_drops_index_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, root) = open(dir.path());
        use Operation::Update;
        pki_with_role(&engine, &root);
        for (cn, ttl) in [("short.example.com", "1s"), ("long.example.com", "1h")] {
            call(
                &engine,
                &root,
                Update,
                "pki/issue/web",
                json!({"common_name": cn, "ttl": ttl}),
            );
        }
        assert_eq!(search(&engine, CertQuery::default()).1, 3);
        std::thread::sleep(std::time::Duration::from_millis(3_100));
        call(
            &engine,
            &root,
            Update,
            "pki/tidy",
            json!({"tidy_cert_store": true, "safety_buffer": "1s"}),
        );
        let listed = call(&engine, &root, Operation::List, "pki/certs", json!({}));
        assert_eq!(listed["keys"].as_array().map(Vec::len), Some(2));
        let (rows, total) = search(&engine, CertQuery::default());
        assert_eq!(total, 2);
        assert!(rows.iter().all(|r| r.common_name != "short.example.com"));
    }
}
