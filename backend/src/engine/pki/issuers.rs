//! CA issuers and their keys: `root/generate`, `intermediate/generate`,
//! `intermediate/set-signed`, `issuers`, `issuer/:ref` (+ pem/der/json), `config/issuers`,
//! `config/urls`, `keys`, and the unauthenticated `ca`, `ca/pem`, `ca_chain`. CA private
//! keys are stored sealed by the barrier, never in the clear.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Keys, pki_error};
use crate::engine::mounts::Mount;
use crate::engine::storage::Tx;
use crate::engine::wire::to_value;
use crate::engine::{Engine, EngineError, Response, field_str, now, uuid};
use shared::api::KeyInfoList;
use shared::api::pki as api;
use shared::pki::cert::{self, CertSpec, KeyUsage, Sans, Subject};
use shared::pki::fields::{self, FieldType};

use FieldType::{Bool, CommaStringSlice as List, DurationSecond as Duration, Int, String as Text};
use shared::pki::key::{KeyType, PrivateKey};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuerEntry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Empty when the mount holds no key for this issuer (e.g. an imported root).
    #[serde(default)]
    pub key_id: String,
    pub certificate: String,
    /// PEMs from this issuer up to its root, this issuer first.
    #[serde(default)]
    pub ca_chain: Vec<String>,
    #[serde(default)]
    pub manual_chain: Vec<String>,
    #[serde(default = "default_leaf_behavior")]
    pub leaf_not_after_behavior: String,
    #[serde(default = "default_usage")]
    pub usage: String,
    pub serial_number: String,
    pub not_after: i64,
    #[serde(default)]
    pub revocation_signature_algorithm: String,
}

fn default_leaf_behavior() -> String {
    "err".into()
}

fn default_usage() -> String {
    "read-only,issuing-certificates,crl-signing,ocsp-signing".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub key_type: String,
    pub key_bits: u32,
    /// The PKCS#8 DER sealed by the barrier, base64.
    pub sealed: String,
}

/// `config/issuers`, stored as it is answered.
pub use shared::api::pki::IssuersConfig;

/// `config/urls`, stored as it is answered.
pub use shared::api::pki::Urls;

/// A list field (`TypeCommaStringSlice`, empty entries dropped), with OpenBao's message.
pub fn list_field(data: &Map<String, Value>, key: &str) -> Result<Vec<String>, EngineError> {
    fields::get_list(data, key).map_err(field_error)
}

/// A `TypeBool` field (`shared::pki::fields`), `default` when absent.
pub fn bool_field(
    data: &Map<String, Value>,
    key: &str,
    default: bool,
) -> Result<bool, EngineError> {
    Ok(fields::get_bool(data, key)
        .map_err(field_error)?
        .unwrap_or(default))
}

/// A `TypeInt` field, `default` when absent or empty.
pub fn int_field(data: &Map<String, Value>, key: &str, default: i64) -> Result<i64, EngineError> {
    match data.get(key) {
        Some(Value::String(s)) if s.is_empty() => Ok(default),
        _ => Ok(fields::get_int(data, key)
            .map_err(field_error)?
            .unwrap_or(default)),
    }
}

/// A `TypeDurationSecond` field in whole seconds, 0 when absent.
pub fn ttl_field(data: &Map<String, Value>, key: &str) -> Result<u64, EngineError> {
    Ok(fields::get_duration(data, key)
        .map_err(field_error)?
        .unwrap_or(0))
}

/// A field that failed its type, as OpenBao answers it.
pub fn field_error(e: fields::FieldError) -> EngineError {
    EngineError::bad(e.validation_message())
}

fn read_urls_in(engine: &Engine, mount: &Mount) -> Result<Urls, EngineError> {
    Ok(engine
        .store
        .get(&Keys(mount).config("urls"))?
        .unwrap_or_default())
}

pub fn issuers_config(engine: &Engine, mount: &Mount) -> Result<IssuersConfig, EngineError> {
    Ok(engine
        .store
        .get(&Keys(mount).config("issuers"))?
        .unwrap_or_default())
}

/// Resolves an issuer reference: `default`, an id, or a name.
pub fn load_issuer(
    engine: &Engine,
    mount: &Mount,
    reference: &str,
) -> Result<IssuerEntry, EngineError> {
    let keys = Keys(mount);
    let id = if reference == "default" || reference.is_empty() {
        let cfg = issuers_config(engine, mount)?;
        if cfg.default.is_empty() {
            return Err(EngineError::bad("no default issuer currently configured"));
        }
        cfg.default
    } else {
        reference.to_string()
    };
    if let Some(e) = engine.store.get::<IssuerEntry>(&keys.issuer(&id))? {
        return Ok(e);
    }
    for iid in engine.store.list(&keys.issuers())? {
        if let Some(e) = engine.store.get::<IssuerEntry>(&keys.issuer(&iid))?
            && !e.name.is_empty()
            && e.name == reference
        {
            return Ok(e);
        }
    }
    Err(EngineError::bad(format!(
        "unable to find PKI issuer for reference: {reference}"
    )))
}

pub fn all_issuers(engine: &Engine, mount: &Mount) -> Result<Vec<IssuerEntry>, EngineError> {
    let keys = Keys(mount);
    let mut out = Vec::new();
    for id in engine.store.list(&keys.issuers())? {
        if let Some(e) = engine.store.get::<IssuerEntry>(&keys.issuer(&id))? {
            out.push(e);
        }
    }
    Ok(out)
}

/// The private key of an issuer, unsealed.
pub fn issuer_key(
    engine: &Engine,
    mount: &Mount,
    issuer: &IssuerEntry,
) -> Result<PrivateKey, EngineError> {
    if issuer.key_id.is_empty() {
        return Err(EngineError::bad(format!(
            "issuer {} has no private key in this mount, so it cannot sign",
            issuer.id
        )));
    }
    load_key(engine, mount, &issuer.key_id)
}

pub fn load_key(engine: &Engine, mount: &Mount, key_id: &str) -> Result<PrivateKey, EngineError> {
    let storage_key = Keys(mount).key(key_id);
    let entry: KeyEntry = engine.store.get(&storage_key)?.ok_or_else(|| {
        EngineError::bad(format!("unable to find PKI key for reference: {key_id}"))
    })?;
    let sealed = B64
        .decode(&entry.sealed)
        .map_err(|e| EngineError::Internal(format!("key {key_id}: {e}")))?;
    let der = engine.barrier.open(&storage_key, &sealed)?;
    PrivateKey::from_pkcs8_der(&der)
        .map_err(|e| EngineError::Internal(format!("key {key_id}: {e}")))
}

fn store_key(
    engine: &Engine,
    tx: &mut Tx<'_>,
    mount: &Mount,
    key: &PrivateKey,
    name: &str,
) -> Result<KeyEntry, EngineError> {
    let id = uuid();
    let storage_key = Keys(mount).key(&id);
    let der = key.to_pkcs8_der().map_err(pki_error)?;
    let entry = KeyEntry {
        id: id.clone(),
        name: name.to_string(),
        key_type: key.key_type().as_str().into(),
        key_bits: key.bits(),
        sealed: B64.encode(engine.barrier.seal(&storage_key, &der)),
    };
    tx.put(&storage_key, &entry)?;
    Ok(entry)
}

/// The subject fields a CA or leaf request may carry.
pub fn subject_from(data: &Map<String, Value>, common_name: &str) -> Result<Subject, EngineError> {
    Ok(Subject {
        common_name: common_name.to_string(),
        organization: list_field(data, "organization")?,
        organizational_unit: list_field(data, "ou")?,
        country: list_field(data, "country")?,
        locality: list_field(data, "locality")?,
        province: list_field(data, "province")?,
        street_address: list_field(data, "street_address")?,
        postal_code: list_field(data, "postal_code")?,
        serial_number: field_str(data, "serial_number").unwrap_or_default(),
    })
}

/// SANs of a CA request (no role applies): the CN (unless excluded) plus alt_names, ip_sans,
/// uri_sans.
/// `alt_names` is a plain string in OpenBao: comma-separated names, trimmed, empty ones
/// dropped.
pub fn alt_names(data: &Map<String, Value>) -> Result<Vec<String>, EngineError> {
    Ok(fields::get_string(data, "alt_names")
        .map_err(field_error)?
        .map(|s| {
            s.split(',')
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default())
}

/// A `TypeCommaStringSlice` field without its empty entries.
pub fn names_list(data: &Map<String, Value>, key: &str) -> Result<Vec<String>, EngineError> {
    Ok(fields::get_comma_string_slice(data, key)
        .map_err(field_error)?
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect())
}

/// OpenBao's CA fields: the typed fields `root/generate`, `intermediate/generate` and
/// `root/sign-intermediate` share, checked before anything is made.
pub(crate) const CA_FIELDS: &[(&str, FieldType)] = &[
    ("common_name", Text),
    ("alt_names", Text),
    ("ip_sans", List),
    ("uri_sans", List),
    ("other_sans", List),
    ("ttl", Duration),
    ("not_after", Text),
    ("not_before", Text),
    ("not_before_duration", Duration),
    ("ou", List),
    ("organization", List),
    ("country", List),
    ("locality", List),
    ("province", List),
    ("street_address", List),
    ("postal_code", List),
    ("serial_number", Text),
    ("format", Text),
    ("private_key_format", Text),
    ("exclude_cn_from_sans", Bool),
    ("key_type", Text),
    ("key_bits", Int),
    ("signature_bits", Int),
    ("use_pss", Bool),
    ("max_path_length", Int),
    ("permitted_dns_domains", List),
    ("issuer_name", Text),
];

/// The generate paths' own typed fields, besides [`CA_FIELDS`].
const GENERATE_FIELDS: &[(&str, FieldType)] = &[("key_name", Text), ("key_ref", Text)];

fn ca_sans(data: &Map<String, Value>, cn: &str) -> Result<Sans, EngineError> {
    let mut sans = Sans::default();
    let exclude = bool_field(data, "exclude_cn_from_sans", false)?;
    if !exclude && !cn.is_empty() && !cn.contains(' ') {
        if cn.contains('@') {
            sans.email.push(cn.to_string());
        } else {
            sans.dns.push(cn.to_string());
        }
    }
    for n in alt_names(data)? {
        if n.contains('@') {
            sans.email.push(n);
        } else if !sans.dns.contains(&n) {
            sans.dns.push(n);
        }
    }
    sans.ip = field_list_ips(data, "ip_sans")?;
    sans.uri = names_list(data, "uri_sans")?;
    Ok(sans)
}

pub fn random_serial() -> Vec<u8> {
    let mut s = [0u8; 20];
    getrandom::fill(&mut s).expect("the OS random source works");
    s[0] &= 0x7f;
    if s[0] == 0 {
        s[0] = 0x01;
    }
    s.to_vec()
}

pub fn serial_hex(serial: &[u8]) -> String {
    serial
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Not-after of a CA certificate: ttl (else the mount's default), capped at the mount's max.
fn ca_not_after(
    mount: &Mount,
    data: &Map<String, Value>,
    now: i64,
    warnings: &mut Vec<String>,
) -> Result<i64, EngineError> {
    let mut ttl = ttl_field(data, "ttl")?;
    // OpenBao: a given not_after (even "") is parsed with Go's messages, and never
    // combined with ttl.
    if let Some(na) = fields::get_string(data, "not_after").map_err(field_error)? {
        let t = fields::parse_rfc3339(&na).map_err(EngineError::bad)?;
        if ttl > 0 {
            return Err(EngineError::bad(
                "Either ttl or not_after should be provided. Both should not be provided in the same request.",
            ));
        }
        return Ok(t);
    }
    if ttl == 0 {
        ttl = mount.default_ttl();
    }
    let max = mount.max_ttl();
    if ttl > max {
        warnings.push(super::sign::ttl_capped_warning(ttl, max));
        ttl = max;
    }
    Ok(now + ttl as i64)
}

fn key_from_request(data: &Map<String, Value>) -> Result<PrivateKey, EngineError> {
    let kt = field_str(data, "key_type").unwrap_or_else(|| "rsa".into());
    let key_type = match kt.as_str() {
        "rsa" => KeyType::Rsa,
        "ec" => KeyType::Ec,
        "ed25519" => KeyType::Ed25519,
        other => {
            return Err(EngineError::bad(format!("unknown key type {other}")));
        }
    };
    let bits = int_field(data, "key_bits", 0)?;
    let bits = if bits <= 0 {
        key_type.default_bits()
    } else {
        bits as u32
    };
    // OpenBao's texts for sizes the key type does not have.
    match key_type {
        KeyType::Rsa if ![2048, 3072, 4096, 8192].contains(&bits) => {
            return Err(EngineError::bad(format!(
                "unsupported bit length for RSA key: {bits}"
            )));
        }
        KeyType::Ec if ![224, 256, 384, 521].contains(&bits) => {
            return Err(EngineError::bad(format!(
                "unsupported bit length for EC key: {bits}"
            )));
        }
        _ => {}
    }
    PrivateKey::generate(key_type, bits).map_err(pki_error)
}

/// A key the server made, as the answer shows it (an `exported` CA, `issue`): PEM
/// (Vault's form, or PKCS#8 with `private_key_format=pkcs8`) and its type.
pub fn exported_key(
    key: &PrivateKey,
    data: &Map<String, Value>,
) -> Result<(String, String), EngineError> {
    let pkcs8 = field_str(data, "private_key_format").as_deref() == Some("pkcs8");
    let pem = if pkcs8 {
        key.to_pkcs8_pem()
    } else {
        key.to_vault_pem()
    }
    .map_err(pki_error)?;
    Ok((pem.as_str().to_owned(), key.key_type().as_str().to_owned()))
}

/// The generate calls' `:type` and their fields.
fn check_generate(kind: &str, data: &Map<String, Value>) -> Result<(), EngineError> {
    if !matches!(kind, "internal" | "exported" | "existing") {
        return Err(EngineError::bad(format!(
            "unknown type \"{kind}\": use internal, exported or existing"
        )));
    }
    fields::validate_each(data, &[CA_FIELDS, GENERATE_FIELDS]).map_err(field_error)
}

fn format_cert(der: &[u8], format: &str) -> String {
    match format {
        "der" => B64.encode(der),
        _ => cert::pem_encode("CERTIFICATE", der),
    }
}

fn response_format(data: &Map<String, Value>) -> Result<String, EngineError> {
    let f = field_str(data, "format").unwrap_or_else(|| "pem".into());
    match f.as_str() {
        "pem" | "der" | "pem_bundle" => Ok(f),
        other => Err(EngineError::bad(format!(
            "unknown format \"{other}\": use pem, der or pem_bundle"
        ))),
    }
}

pub fn generate_root(
    engine: &Engine,
    mount: &Mount,
    kind: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    check_generate(kind, data)?;
    let format = response_format(data)?;
    let cn = field_str(data, "common_name").unwrap_or_default();
    if cn.is_empty() {
        return Err(EngineError::bad("the common_name field is required"));
    }
    let key = if kind == "existing" {
        let key_ref = field_str(data, "key_ref")
            .ok_or_else(|| EngineError::bad("missing key_ref for type existing"))?;
        load_key(engine, mount, &key_ref)?
    } else {
        key_from_request(data)?
    };
    let signature_bits = int_field(data, "signature_bits", 0)? as u32;
    let now = now();
    let mut warnings = vec![];
    let not_after = ca_not_after(mount, data, now, &mut warnings)?;
    let max_path = int_field(data, "max_path_length", -1)?;
    let urls = read_urls_in(engine, mount)?;
    let spec = CertSpec {
        serial: random_serial(),
        not_before: now - ttl_field(data, "not_before_duration")?.max(30) as i64,
        not_after,
        subject: subject_from(data, &cn)?,
        sans: ca_sans(data, &cn)?,
        is_ca: true,
        max_path_length: if max_path < 0 {
            None
        } else {
            Some(max_path as u32)
        },
        key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
        issuing_certificates: urls.issuing_certificates.clone(),
        ocsp_servers: urls.ocsp_servers.clone(),
        crl_distribution_points: urls.crl_distribution_points.clone(),
        permitted_dns_domains: list_field(data, "permitted_dns_domains")?,
        use_pss: bool_field(data, "use_pss", false)?,
        ..CertSpec::default()
    };
    let der = cert::self_sign(&spec, &key, signature_bits).map_err(pki_error)?;
    let pem = cert::pem_encode("CERTIFICATE", &der);
    let serial = serial_hex(&spec.serial);
    let issuer_name = field_str(data, "issuer_name").unwrap_or_default();
    check_issuer_name(engine, mount, &issuer_name)?;
    let (issuer, key_entry, was_first) = engine.store.atomic_with(|tx| {
        let key_entry = if kind == "existing" {
            tx.get::<KeyEntry>(&Keys(mount).key(&field_str(data, "key_ref").unwrap_or_default()))?
                .ok_or_else(|| EngineError::bad("unable to find PKI key for reference"))?
        } else {
            store_key(
                engine,
                tx,
                mount,
                &key,
                &field_str(data, "key_name").unwrap_or_default(),
            )?
        };
        let issuer = IssuerEntry {
            id: uuid(),
            name: issuer_name.clone(),
            key_id: key_entry.id.clone(),
            certificate: pem.clone(),
            ca_chain: vec![pem.clone()],
            manual_chain: vec![],
            leaf_not_after_behavior: default_leaf_behavior(),
            usage: default_usage(),
            serial_number: serial.clone(),
            not_after,
            revocation_signature_algorithm: String::new(),
        };
        tx.put(&Keys(mount).issuer(&issuer.id), &issuer)?;
        super::certs::store_cert(tx, mount, &serial, &pem, &issuer.id, not_after, "")?;
        let was_first = set_default_if_none(tx, mount, &issuer.id)?;
        Ok::<_, EngineError>((issuer, key_entry, was_first))
    })?;
    super::crl::rebuild(engine, mount, &issuer)?;
    if let Some(w) = aia_warning(&urls, "") {
        warnings.push(w);
    }
    if !was_first {
        warnings.push(
            "this mount already had an issuer; the new one is not the default (see config/issuers)"
                .into(),
        );
    }
    let cert_text = format_cert(&der, &format);
    let exported = (kind == "exported")
        .then(|| exported_key(&key, data))
        .transpose()?;
    let (private_key, private_key_type) = exported.unzip();
    let root = api::GeneratedRoot {
        certificate: cert_text.clone(),
        issuing_ca: cert_text,
        serial_number: serial,
        expiration: not_after,
        issuer_id: issuer.id,
        issuer_name: issuer.name,
        key_id: key_entry.id,
        key_name: key_entry.name,
        private_key,
        private_key_type,
    };
    Ok(Response {
        warnings,
        ..Response::typed(&root)?
    })
}

/// OpenBao's warning when a CA is made or imported while the mount has no AIA URLs
/// (`config/urls`); `suffix` is added for intermediates.
fn aia_warning(urls: &Urls, suffix: &str) -> Option<String> {
    (urls.issuing_certificates.is_empty()
        && urls.crl_distribution_points.is_empty()
        && urls.ocsp_servers.is_empty())
    .then(|| {
        format!(
            "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for systems to find missing certificates in the chain or to validate revocation status of certificates. Consider updating /config/urls or the newly generated issuer with this information.{suffix}"
        )
    })
}

fn check_issuer_name(engine: &Engine, mount: &Mount, name: &str) -> Result<(), EngineError> {
    if name.is_empty() {
        return Ok(());
    }
    if name == "default"
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(EngineError::bad(format!(
            "issuer_name \"{name}\" is reserved or contains invalid characters"
        )));
    }
    if all_issuers(engine, mount)?.iter().any(|i| i.name == name) {
        return Err(EngineError::bad("issuer name already in use"));
    }
    Ok(())
}

fn set_default_if_none(tx: &mut Tx<'_>, mount: &Mount, id: &str) -> Result<bool, EngineError> {
    let key = Keys(mount).config("issuers");
    let mut cfg: IssuersConfig = tx.get(&key)?.unwrap_or_default();
    let exists = !cfg.default.is_empty()
        && tx
            .get::<IssuerEntry>(&Keys(mount).issuer(&cfg.default))?
            .is_some();
    if exists && !cfg.default_follows_latest_issuer {
        return Ok(false);
    }
    cfg.default = id.to_string();
    tx.put(&key, &cfg)?;
    Ok(true)
}

pub fn generate_intermediate(
    engine: &Engine,
    mount: &Mount,
    kind: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    check_generate(kind, data)?;
    let cn = field_str(data, "common_name").unwrap_or_default();
    if cn.is_empty() {
        return Err(EngineError::bad("the common_name field is required"));
    }
    let key = if kind == "existing" {
        load_key(
            engine,
            mount,
            &field_str(data, "key_ref").unwrap_or_default(),
        )?
    } else {
        key_from_request(data)?
    };
    let csr_pem = shared::pki::csr::build_csr(
        &key,
        &subject_from(data, &cn)?,
        &ca_sans(data, &cn)?,
        &Default::default(),
    )
    .map_err(pki_error)?;
    let key_entry = if kind == "existing" {
        engine
            .store
            .get::<KeyEntry>(&Keys(mount).key(&field_str(data, "key_ref").unwrap_or_default()))?
            .ok_or_else(|| EngineError::bad("unable to find PKI key for reference"))?
    } else {
        engine.store.atomic_with(|tx| {
            store_key(
                engine,
                tx,
                mount,
                &key,
                &field_str(data, "key_name").unwrap_or_default(),
            )
        })?
    };
    let format = response_format(data)?;
    let csr = if format == "der" {
        let der = cert::pem_decode_all(&csr_pem)
            .map_err(pki_error)?
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .unwrap_or_default();
        B64.encode(der)
    } else {
        csr_pem
    };
    let exported = (kind == "exported")
        .then(|| exported_key(&key, data))
        .transpose()?;
    let (private_key, private_key_type) = exported.unzip();
    let mut response = Response::typed(&api::GeneratedCsr {
        csr,
        key_id: key_entry.id,
        private_key,
        private_key_type,
    })?;
    if let Some(w) = aia_warning(
        &read_urls_in(engine, mount)?,
        " Since this certificate is an intermediate, it might be useful to regenerate this certificate after fixing this problem for the root mount.",
    ) {
        response.warnings.push(w);
    }
    Ok(response)
}

/// `intermediate/set-signed` (and `issuers/import/bundle`): imports every certificate of
/// the PEM bundle as an issuer, links each to a key of this mount when its public key
/// matches, rebuilds every issuer's chain and picks a default if there is none.
pub fn set_signed(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let bundle = field_str(data, "certificate").unwrap_or_default();
    if bundle.trim().is_empty() {
        return Err(EngineError::bad(
            "no certificate provided in the \"certificate\" parameter",
        ));
    }
    // OpenBao's text for a value with no PEM block in it.
    let blocks = cert::pem_decode_all(&bundle).map_err(|_| {
        EngineError::bad("provided data for import was too short; perhaps a path was passed to the API rather than the contents of a PEM file")
    })?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    if certs.is_empty() {
        return Err(EngineError::bad(
            "no certificates found in the \"certificate\" parameter",
        ));
    }
    let mut infos = Vec::new();
    for der in &certs {
        let info = cert::parse_certificate(der).map_err(pki_error)?;
        if !info.is_ca {
            return Err(EngineError::bad(format!(
                "refusing to import non-CA certificate {} as an issuer",
                info.subject_dn
            )));
        }
        infos.push(info);
    }
    // Which stored keys match which certificates.
    let keys = Keys(mount);
    let mut key_entries = Vec::new();
    for id in engine.store.list(&keys.keys())? {
        if let Some(k) = engine.store.get::<KeyEntry>(&keys.key(&id))? {
            key_entries.push(k);
        }
    }
    let mut key_spki = Vec::new();
    for k in &key_entries {
        key_spki.push((
            k.id.clone(),
            load_key(engine, mount, &k.id)?.public_key_der(),
        ));
    }
    let existing = all_issuers(engine, mount)?;
    let mut imported = Vec::new();
    let mut existing_ids = Vec::new();
    let mut mapping = std::collections::BTreeMap::new();
    let result = engine.store.atomic_with(|tx| {
        let mut all = existing.clone();
        for (der, info) in certs.iter().zip(&infos) {
            let pem = cert::pem_encode("CERTIFICATE", der);
            if let Some(e) = all.iter().find(|i| {
                cert::pem_decode_all(&i.certificate)
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .map(|(_, d)| d)
                    .as_deref()
                    == Some(der.as_slice())
            }) {
                existing_ids.push(e.id.clone());
                continue;
            }
            let key_id = key_spki
                .iter()
                .find(|(_, spki)| *spki == info.spki_der)
                .map(|(id, _)| id.clone())
                .unwrap_or_default();
            let issuer = IssuerEntry {
                id: uuid(),
                name: String::new(),
                key_id: key_id.clone(),
                certificate: pem.clone(),
                ca_chain: vec![],
                manual_chain: vec![],
                leaf_not_after_behavior: default_leaf_behavior(),
                usage: default_usage(),
                serial_number: info.serial.clone(),
                not_after: info.not_after,
                revocation_signature_algorithm: String::new(),
            };
            mapping.insert(issuer.id.clone(), key_id.clone());
            imported.push(issuer.id.clone());
            all.push(issuer);
        }
        rebuild_chains(&mut all);
        for i in &all {
            tx.put(&keys.issuer(&i.id), i)?;
        }
        // The default: the first newly imported issuer that can sign.
        if let Some(first) = all
            .iter()
            .find(|i| imported.contains(&i.id) && !i.key_id.is_empty())
        {
            set_default_if_none(tx, mount, &first.id)?;
        }
        Ok::<_, EngineError>(all)
    })?;
    for i in result
        .iter()
        .filter(|i| imported.contains(&i.id) && !i.key_id.is_empty())
    {
        super::crl::rebuild(engine, mount, i)?;
    }
    // Empty lists are `null`, as Go's nil slices are in OpenBao's answer.
    let list_or_null = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let mut response = Response::typed(&api::Imported {
        imported_issuers: list_or_null(imported),
        imported_keys: None,
        existing_issuers: list_or_null(existing_ids),
        existing_keys: None,
        mapping,
    })?;
    if let Some(w) = aia_warning(&read_urls_in(engine, mount)?, "") {
        response.warnings.push(w);
    }
    Ok(response)
}

/// Builds each issuer's chain by following subject → issuer names (and signatures)
/// through the mount's issuers, up to a self-signed root.
fn rebuild_chains(all: &mut [IssuerEntry]) {
    let ders: Vec<Vec<u8>> = all
        .iter()
        .map(|i| {
            cert::pem_decode_all(&i.certificate)
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, d)| d)
                .unwrap_or_default()
        })
        .collect();
    let chains: Vec<Vec<String>> = (0..all.len())
        .map(|start| {
            let mut chain = vec![all[start].certificate.clone()];
            let mut cur = start;
            for _ in 0..all.len() {
                if shared::pki::verify::verify_issued_by(&ders[cur], &ders[cur]).is_ok() {
                    break; // self-signed: the root
                }
                let Some(parent) = (0..all.len()).find(|&p| {
                    p != cur && shared::pki::verify::verify_issued_by(&ders[cur], &ders[p]).is_ok()
                }) else {
                    break;
                };
                if chain.contains(&all[parent].certificate) {
                    break;
                }
                chain.push(all[parent].certificate.clone());
                cur = parent;
            }
            chain
        })
        .collect();
    for (i, chain) in all.iter_mut().zip(chains) {
        if i.manual_chain.is_empty() {
            i.ca_chain = chain;
        }
    }
}

pub fn read_urls(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let u = read_urls_in(engine, mount)?;
    Response::typed(&u)
}

pub fn write_urls(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let mut u = read_urls_in(engine, mount)?;
    for (field, target) in [
        ("issuing_certificates", &mut u.issuing_certificates),
        ("crl_distribution_points", &mut u.crl_distribution_points),
        (
            "delta_crl_distribution_points",
            &mut u.delta_crl_distribution_points,
        ),
        ("ocsp_servers", &mut u.ocsp_servers),
    ] {
        if data.contains_key(field) {
            let list = list_field(data, field)?;
            for url in &list {
                if !(url.starts_with("http://")
                    || url.starts_with("https://")
                    || url.starts_with("ldap://"))
                    || url.contains(' ')
                {
                    return Err(EngineError::bad(format!(
                        "invalid URL found in Authority Information Access (AIA) parameter {field}: {url}"
                    )));
                }
            }
            *target = list;
        }
    }
    if data.contains_key("enable_templating") {
        u.enable_templating = bool_field(data, "enable_templating", false)?;
    }
    engine.store.put(&Keys(mount).config("urls"), &u)?;
    Response::typed(&u)
}

pub fn read_issuers_config(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let cfg = issuers_config(engine, mount)?;
    Response::typed(&cfg)
}

pub fn write_issuers_config(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let mut cfg = issuers_config(engine, mount)?;
    if let Some(r) = field_str(data, "default").or_else(|| field_str(data, "issuer_ref")) {
        let issuer = load_issuer(engine, mount, &r)?;
        cfg.default = issuer.id;
    }
    if data.contains_key("default_follows_latest_issuer") {
        cfg.default_follows_latest_issuer =
            bool_field(data, "default_follows_latest_issuer", false)?;
    }
    engine.store.put(&Keys(mount).config("issuers"), &cfg)?;
    read_issuers_config(engine, mount)
}

pub fn list(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let cfg = issuers_config(engine, mount)?;
    let all = all_issuers(engine, mount)?;
    if all.is_empty() {
        return Err(EngineError::NotFound(String::new()));
    }
    let mut list = KeyInfoList::default();
    for i in all {
        let summary = api::IssuerSummary {
            issuer_name: i.name,
            is_default: i.id == cfg.default,
            serial_number: i.serial_number,
            key_id: i.key_id,
        };
        list.key_info.insert(i.id.clone(), summary);
        list.keys.push(i.id);
    }
    Response::typed(&list)
}

pub fn list_keys(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let k = Keys(mount);
    let ids = engine.store.list(&k.keys())?;
    if ids.is_empty() {
        return Err(EngineError::NotFound(String::new()));
    }
    let mut list = KeyInfoList::default();
    for id in &ids {
        if let Some(e) = engine.store.get::<KeyEntry>(&k.key(id))? {
            let summary = api::KeySummary {
                key_name: e.name,
                key_type: e.key_type,
                key_bits: e.key_bits,
            };
            list.key_info.insert(id.clone(), summary);
        }
    }
    list.keys = ids;
    Response::typed(&list)
}

fn issuer_json(engine: &Engine, mount: &Mount, i: &IssuerEntry) -> Result<Value, EngineError> {
    let urls = read_urls_in(engine, mount)?;
    to_value(&api::Issuer {
        issuer_id: i.id.clone(),
        issuer_name: i.name.clone(),
        key_id: i.key_id.clone(),
        certificate: i.certificate.clone(),
        ca_chain: i.ca_chain.clone(),
        manual_chain: (!i.manual_chain.is_empty()).then(|| i.manual_chain.clone()),
        leaf_not_after_behavior: i.leaf_not_after_behavior.clone(),
        usage: sorted_usage(&i.usage),
        revocation_signature_algorithm: i.revocation_signature_algorithm.clone(),
        issuing_certificates: urls.issuing_certificates,
        crl_distribution_points: urls.crl_distribution_points,
        delta_crl_distribution_points: urls.delta_crl_distribution_points,
        ocsp_servers: urls.ocsp_servers,
        // Issuers cannot be revoked here (revoking one is refused).
        revoked: false,
    })
}

/// `usage` as OpenBao answers it: the names sorted.
fn sorted_usage(usage: &str) -> String {
    let mut names: Vec<&str> = usage.split(',').map(str::trim).collect();
    names.sort_unstable();
    names.join(",")
}

pub fn read(engine: &Engine, mount: &Mount, reference: &str) -> Result<Response, EngineError> {
    let i = load_issuer(engine, mount, reference)?;
    Ok(Response::data(issuer_json(engine, mount, &i)?))
}

pub fn update(
    engine: &Engine,
    mount: &Mount,
    reference: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let mut i = load_issuer(engine, mount, reference)?;
    if let Some(name) = field_str(data, "issuer_name")
        && name != i.name
    {
        check_issuer_name(engine, mount, &name)?;
        i.name = name;
    }
    if let Some(b) = field_str(data, "leaf_not_after_behavior") {
        if !matches!(b.as_str(), "err" | "truncate" | "permit") {
            return Err(EngineError::bad(format!(
                "invalid leaf_not_after_behavior \"{b}\": use err, truncate or permit"
            )));
        }
        i.leaf_not_after_behavior = b;
    }
    if let Some(u) = field_str(data, "usage") {
        i.usage = u;
    }
    engine.store.put(&Keys(mount).issuer(&i.id), &i)?;
    Ok(Response::data(issuer_json(engine, mount, &i)?))
}

pub fn delete(engine: &Engine, mount: &Mount, reference: &str) -> Result<Response, EngineError> {
    let i = match load_issuer(engine, mount, reference) {
        Ok(i) => i,
        Err(_) => return Ok(Response::empty()),
    };
    engine.store.atomic_with(|tx| {
        tx.delete(&Keys(mount).issuer(&i.id))?;
        let key = Keys(mount).config("issuers");
        let mut cfg: IssuersConfig = tx.get(&key)?.unwrap_or_default();
        if cfg.default == i.id {
            cfg.default = String::new();
            tx.put(&key, &cfg)?;
        }
        Ok::<_, EngineError>(())
    })?;
    Ok(Response::empty())
}

/// `DELETE root`: removes every issuer and key of the mount (certificates stay).
pub fn delete_all(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    let k = Keys(mount);
    engine.store.atomic_with(|tx| {
        tx.delete_prefix(&k.issuers())?;
        tx.delete_prefix(&k.keys())?;
        tx.delete(&k.config("issuers"))?;
        Ok::<_, EngineError>(())
    })?;
    Ok(Response::empty())
}

fn first_der(pem: &str) -> Result<Vec<u8>, EngineError> {
    cert::pem_decode_all(pem)
        .map_err(pki_error)?
        .into_iter()
        .next()
        .map(|(_, d)| d)
        .ok_or_else(|| EngineError::Internal("stored issuer has no certificate".into()))
}

pub fn read_cert(
    engine: &Engine,
    mount: &Mount,
    reference: &str,
    fmt: &str,
) -> Result<Response, EngineError> {
    let i = load_issuer(engine, mount, reference)?;
    match fmt {
        "pem" => Ok(Response::raw(
            "application/pem-certificate-chain",
            i.certificate.clone().into_bytes(),
        )),
        "der" => Ok(Response::raw(
            "application/pkix-cert",
            first_der(&i.certificate)?,
        )),
        _ => Response::typed(&api::IssuerCert {
            certificate: i.certificate,
            ca_chain: i.ca_chain,
            issuer_id: i.id,
            issuer_name: i.name,
        }),
    }
}

pub fn read_chain(engine: &Engine, mount: &Mount, as_json: bool) -> Result<Response, EngineError> {
    let i = load_issuer(engine, mount, "default")?;
    let bundle: String = i
        .ca_chain
        .iter()
        .map(|p| p.trim_end().to_string() + "\n")
        .collect();
    if as_json {
        return Response::typed(&api::CertRecord {
            certificate: bundle.clone(),
            ca_chain: Some(bundle),
            ..Default::default()
        });
    }
    Ok(Response::raw(
        "application/pem-certificate-chain",
        bundle.into_bytes(),
    ))
}

pub fn read_cert_entry(
    engine: &Engine,
    mount: &Mount,
    reference: &str,
) -> Result<Response, EngineError> {
    let i = load_issuer(engine, mount, reference)?;
    Response::typed(&api::CertRecord {
        certificate: i.certificate,
        ..Default::default()
    })
}

/// A list of IP addresses (`ip_sans`, a `TypeCommaStringSlice`), each checked, with
/// OpenBao's message.
pub fn field_list_ips(
    data: &Map<String, Value>,
    key: &str,
) -> Result<Vec<std::net::IpAddr>, EngineError> {
    fields::get_comma_string_slice(data, key)
        .map_err(field_error)?
        .unwrap_or_default()
        .into_iter()
        .map(|ip| ip.trim().to_owned())
        .filter(|ip| !ip.is_empty())
        .map(|ip| {
            ip.parse().map_err(|_| {
                EngineError::bad(format!("the value \"{ip}\" is not a valid IP address"))
            })
        })
        .collect()
}
