//! The certificate store: `certs` (LIST, with OpenBao's `after`/`limit` paging),
//! `certs/detailed`, `certs/revoked`, `cert/:serial` (and `cert/crl`, the CRL as JSON, in
//! `crl`), `revoke`, `tidy` and `tidy-status`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::issuers::{self, bool_field, int_field, ttl_field};
use super::{Keys, pki_error};
use crate::engine::mounts::Mount;
use crate::engine::storage::{StorageError, Tx};
use crate::engine::{Engine, EngineError, Response, field_str, now, rfc3339};
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

pub fn store_cert(
    tx: &mut Tx<'_>,
    mount: &Mount,
    serial: &str,
    pem: &str,
    issuer_id: &str,
    not_after: i64,
) -> Result<(), StorageError> {
    let entry = CertEntry {
        certificate: pem.trim_end().to_string() + "\n",
        issuer_id: issuer_id.into(),
        not_after,
        revocation_time: 0,
    };
    tx.put(&Keys(mount).cert(serial), &entry)
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
    let k = Keys(mount);
    let keys: Vec<String> = engine
        .store
        .list_page(&k.certs(), after.as_deref(), limit)?;
    if keys.is_empty() {
        return Err(EngineError::NotFound(String::new()));
    }
    let serials: Vec<String> = keys.iter().map(|s| s.replace('-', ":")).collect();
    if !detailed {
        return Response::list(serials);
    }
    let mut info = Map::new();
    for (key, serial) in keys.iter().zip(&serials) {
        let Some(e) = engine.store.get::<CertEntry>(&k.cert(key))? else {
            continue;
        };
        let parsed = cert::pem_decode_all(&e.certificate)
            .ok()
            .and_then(|v| v.into_iter().next())
            .and_then(|(_, der)| cert::parse_certificate(&der).ok());
        let mut item = json!({
            "serial_number": serial,
            "issuer_id": e.issuer_id,
            "expiration": e.not_after,
            "not_after": rfc3339(e.not_after),
            "revocation_time": e.revocation_time,
            "revoked": e.revocation_time > 0,
        });
        if let Some(p) = parsed {
            item["common_name"] = json!(p.common_name);
            item["not_before"] = json!(rfc3339(p.not_before));
            item["dns_names"] = json!(p.sans.dns);
            item["is_ca"] = json!(p.is_ca);
            item["key_type"] = json!(p.key_type);
            item["key_bits"] = json!(p.key_bits);
        }
        info.insert(serial.clone(), item);
    }
    Ok(Response::data(json!({ "keys": serials, "key_info": info })))
}

pub fn list_revoked(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let revoked: Vec<String> = all(engine, mount)?
        .into_iter()
        .filter(|(_, e)| e.revocation_time > 0)
        .map(|(s, _)| s)
        .collect();
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
        engine.store.put(&Keys(mount).cert(&serial), &entry)?;
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
            if e.revocation_time > 0 && tidy_revoked {
                tx.delete(&key)?;
                revoked_count += 1;
            } else if e.revocation_time == 0 && tidy_store {
                tx.delete(&key)?;
                store_count += 1;
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
