//! Certificate revocation lists: one per issuer, rebuilt whenever a certificate it issued
//! is revoked (and on `crl/rotate`), served as DER (`crl`), PEM (`crl/pem`) or PEM in
//! JSON (`cert/crl`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::issuers::{self, IssuerEntry};
use super::{Keys, pki_error};
use crate::engine::mounts::Mount;
use crate::engine::{Engine, EngineError, Response, now};
use shared::pki::{cert, crl};

/// Vault's default CRL lifetime.
const CRL_EXPIRY: i64 = 72 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CrlEntry {
    der: String,
    number: u64,
    this_update: i64,
    next_update: i64,
}

pub fn rebuild(engine: &Engine, mount: &Mount, issuer: &IssuerEntry) -> Result<(), EngineError> {
    if issuer.key_id.is_empty() {
        return Ok(());
    }
    let key = issuers::issuer_key(engine, mount, issuer)?;
    let issuer_der = cert::pem_decode_all(&issuer.certificate)
        .map_err(pki_error)?
        .into_iter()
        .next()
        .map(|(_, d)| d)
        .ok_or_else(|| EngineError::Internal("issuer has no certificate".into()))?;
    let revoked: Vec<(Vec<u8>, i64)> = super::certs::all(engine, mount)?
        .into_iter()
        .filter(|(_, e)| e.revocation_time > 0 && e.issuer_id == issuer.id)
        .filter_map(|(serial, e)| {
            let bytes: Option<Vec<u8>> = serial
                .split(':')
                .map(|h| u8::from_str_radix(h, 16).ok())
                .collect();
            bytes.map(|b| (b, e.revocation_time))
        })
        .collect();
    let storage_key = Keys(mount).crl(&issuer.id);
    let previous: Option<CrlEntry> = engine.store.get(&storage_key)?;
    let number = previous.map(|p| p.number + 1).unwrap_or(1);
    let this_update = now();
    let der = crl::build_crl(
        &issuer_der,
        &key,
        &revoked,
        this_update,
        this_update + CRL_EXPIRY,
        number,
    )
    .map_err(pki_error)?;
    engine.store.put(
        &storage_key,
        &CrlEntry {
            der: B64.encode(der),
            number,
            this_update,
            next_update: this_update + CRL_EXPIRY,
        },
    )?;
    Ok(())
}

pub fn read(
    engine: &Engine,
    mount: &Mount,
    reference: &str,
    pem: bool,
) -> Result<Response, EngineError> {
    let issuer = issuers::load_issuer(engine, mount, reference)?;
    let storage_key = Keys(mount).crl(&issuer.id);
    let mut entry: Option<CrlEntry> = engine.store.get(&storage_key)?;
    if entry.as_ref().is_none_or(|e| e.next_update <= now()) {
        rebuild(engine, mount, &issuer)?;
        entry = engine.store.get(&storage_key)?;
    }
    let entry = entry.ok_or_else(|| {
        EngineError::bad(format!(
            "issuer {} has no CRL: it has no key in this mount",
            issuer.id
        ))
    })?;
    let der = B64
        .decode(&entry.der)
        .map_err(|e| EngineError::Internal(format!("stored crl: {e}")))?;
    if pem {
        Ok(Response::raw(
            "application/x-pem-file",
            cert::pem_encode("X509 CRL", &der).into_bytes(),
        ))
    } else {
        Ok(Response::raw("application/pkix-crl", der))
    }
}

/// `cert/crl`: the default issuer's CRL as PEM in Vault's certificate-entry JSON.
pub fn read_json(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let pem = read(engine, mount, "default", true)?
        .raw
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .unwrap_or_default();
    Ok(Response::data(json!({
        "certificate": pem,
        "revocation_time": 0,
        "revocation_time_rfc3339": "",
    })))
}

pub fn rotate(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    for issuer in issuers::all_issuers(engine, mount)? {
        rebuild(engine, mount, &issuer)?;
    }
    Ok(Response::data(json!({ "success": true })))
}
