//! Issuing certificates: `sign/:role` (a CSR checked against the role), `issue/:role`
//! (the server makes the key), `sign-verbatim` and `root/sign-intermediate`. Names and
//! keys are checked with `shared::pki::names`, the same checker the browser runs; TTLs
//! never exceed the role, the mount or the issuer's own expiry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use super::issuers::{
    self, IssuerEntry, alt_names, bool_field, field_error, field_list_ips, int_field, list_field,
    names_list, random_serial, serial_hex,
};
use super::{Keys, pki_error};
use crate::engine::mounts::Mount;
use crate::engine::{Engine, EngineError, Response, field_str, now};
use shared::api::pki as api;
use shared::pki::cert::{self, CertSpec, ExtKeyUsage, KeyUsage, Sans};
use shared::pki::csr::{ParsedCsr, parse_csr};
use shared::pki::duration::format_go;
use shared::pki::fields::{self, FieldType};
use shared::pki::key::{KeyType, PrivateKey, PublicKeyInfo};
use shared::pki::names::{NameRequest, SanSource, check_key, resolve_names};
use shared::pki::role::{NotAfterBound, Role};

use FieldType::{Bool, CommaStringSlice as List, DurationSecond as Duration, Int, String as Text};

/// The typed fields of `issue/:role` and `sign/:role` (OpenBao's `fields.go`).
const ISSUE_SIGN_FIELDS: &[(&str, FieldType)] = &[
    ("common_name", Text),
    ("alt_names", Text),
    ("ip_sans", List),
    ("uri_sans", List),
    ("other_sans", List),
    ("user_ids", List),
    ("ttl", Duration),
    ("not_after", Text),
    ("not_before", Text),
    ("serial_number", Text),
    ("format", Text),
    ("private_key_format", Text),
    ("exclude_cn_from_sans", Bool),
    ("remove_roots_from_chain", Bool),
    ("issuer_ref", Text),
    ("role", Text),
    ("csr", Text),
];

/// `sign-verbatim`'s typed fields.
const SIGN_VERBATIM_FIELDS: &[(&str, FieldType)] = &[
    ("csr", Text),
    ("role", Text),
    ("ttl", Duration),
    ("not_after", Text),
    ("not_before", Text),
    ("format", Text),
    ("remove_roots_from_chain", Bool),
    ("key_usage", List),
    ("ext_key_usage", List),
    ("ext_key_usage_oids", List),
    ("signature_bits", Int),
    ("use_pss", Bool),
    ("issuer_ref", Text),
];

/// `root/sign-intermediate`'s own typed fields, besides OpenBao's CA fields
/// ([`super::issuers::CA_FIELDS`]).
const SIGN_INTERMEDIATE_FIELDS: &[(&str, FieldType)] = &[
    ("csr", Text),
    ("use_csr_values", Bool),
    ("issuer_ref", Text),
];

/// Vault's warning when a requested TTL is above the maximum.
pub fn ttl_capped_warning(ttl: u64, max: u64) -> String {
    format!(
        "TTL {:?} is longer than permitted maxTTL {:?}, so maxTTL is being used",
        format_go(ttl),
        format_go(max)
    )
}

fn load_role(engine: &Engine, mount: &Mount, name: &str) -> Result<Role, EngineError> {
    super::roles::load(engine, mount, name)?
        .ok_or_else(|| EngineError::bad(format!("unknown role: {name}")))
}

fn csr_from(data: &Map<String, Value>) -> Result<ParsedCsr, EngineError> {
    let text = field_str(data, "csr").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(EngineError::bad("\"csr\" is empty"));
    }
    parse_csr(&text).map_err(pki_error)
}

/// The issuer to sign with: the request's `issuer_ref` (only if the role allows it), the
/// role's, or the mount's default.
fn pick_issuer(
    engine: &Engine,
    mount: &Mount,
    path_ref: Option<&str>,
    role: Option<&Role>,
) -> Result<IssuerEntry, EngineError> {
    let reference = path_ref
        .map(str::to_string)
        .or_else(|| role.map(|r| r.issuer_ref.clone()))
        .unwrap_or_else(|| "default".into());
    let issuer = issuers::load_issuer(engine, mount, &reference)?;
    if issuer.key_id.is_empty() {
        return Err(EngineError::bad(format!(
            "issuer {} has no private key in this mount; set a default issuer that has one (config/issuers)",
            issuer.id
        )));
    }
    Ok(issuer)
}

/// What the certificate is: a leaf under a role's rules, or a CA signed by
/// `root/sign-intermediate` (which OpenBao lets outlive its issuer, with a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issuing {
    Leaf,
    Intermediate,
}

/// OpenBao's warning when `sign-intermediate` makes a CA that outlives its issuer.
const OUTLIVES_ISSUER_WARNING: &str = "The expiration time for the signed certificate is after the CA's expiration time. If the new certificate is not treated as a root, validation paths with the certificate past the issuing CA's expiration time will fail.";

/// Our warning when the default `not_after_bound` (`max-ttl`) clamps a requested
/// `not_after`, worded as Vault's TTL warning.
pub fn not_after_capped_warning(not_after: i64, max: u64) -> String {
    format!(
        "not_after {:?} is later than permitted by maxTTL {:?}, so maxTTL is being used",
        crate::engine::rfc3339(not_after),
        format_go(max)
    )
}

/// Vault's framework step before a handler: every field of the path's schema that the
/// request gives must convert to its type, or the request is refused naming the field.
fn validate_fields(
    data: &Map<String, Value>,
    schema: &[(&str, FieldType)],
) -> Result<(), EngineError> {
    fields::validate(data, schema).map_err(field_error)
}

/// Not-before and not-after for a certificate from `issuer`: OpenBao's
/// `getCertificateNotAfter` (request `ttl` or `not_after`, never both; the role's or the
/// mount's TTLs; the role's `not_after_bound`; the issuer's `leaf_not_after_behavior`),
/// with our default bound `max-ttl` clamping a requested `not_after` to the maximum TTL.
fn validity(
    mount: &Mount,
    role: Option<&Role>,
    issuer: &IssuerEntry,
    data: &Map<String, Value>,
    warnings: &mut Vec<String>,
    issuing: Issuing,
) -> Result<(i64, i64), EngineError> {
    let now = now();
    let backdate = role.map(|r| r.not_before_duration).unwrap_or(30) as i64;
    let not_before = now - backdate;
    let requested_ttl = fields::get_duration(data, "ttl")
        .map_err(field_error)?
        .unwrap_or(0);
    // Without a role (sign-verbatim, sign-intermediate) nothing bounds not_after but the
    // issuer, as in OpenBao.
    let bound = match role {
        Some(r) => {
            NotAfterBound::parse(&r.not_after_bound).map_err(|e| EngineError::bad(e.to_string()))?
        }
        None => NotAfterBound::Permit,
    };
    let parse_time = |text: &str| fields::parse_rfc3339(text).map_err(EngineError::bad);
    // The role's own not_after wins over the request's (and is not bounded).
    let mut fixed_not_after = match role.map(|r| r.not_after.as_str()) {
        Some(t) if !t.is_empty() => Some(parse_time(t)?),
        _ => None,
    };
    let mut requested_not_after = None;
    if fixed_not_after.is_none()
        && let Some(text) = fields::get_string(data, "not_after").map_err(field_error)?
    {
        if bound == NotAfterBound::Forbid {
            return Err(EngineError::bad(
                "not_after_bound is set to forbid. not_after cannot be provided.",
            ));
        }
        let t = parse_time(&text)?;
        requested_not_after = Some(t);
        fixed_not_after = Some(t);
    }
    if requested_ttl > 0 && fixed_not_after.is_some() {
        return Err(EngineError::bad(
            "Either ttl or not_after should be provided. Both should not be provided in the same request.",
        ));
    }
    let mut ttl = requested_ttl;
    if ttl == 0 {
        ttl = role.map(|r| r.ttl).unwrap_or(0);
    }
    if ttl == 0 {
        ttl = mount.default_ttl();
    }
    let role_max = role.map(|r| r.max_ttl).unwrap_or(0);
    let max = if role_max > 0 {
        role_max.min(mount.max_ttl())
    } else {
        mount.max_ttl()
    };
    if ttl > max {
        warnings.push(ttl_capped_warning(ttl, max));
        ttl = max;
    }
    if let Some(requested) = requested_not_after {
        match bound {
            NotAfterBound::TtlLimited if requested > now + ttl as i64 => {
                return Err(EngineError::bad(format!(
                    "not_after_bound is set to ttl-limited. Cannot satisfy request as that would result in notAfter of {} that is beyond the TTL of {}",
                    crate::engine::rfc3339(requested),
                    format_go(ttl)
                )));
            }
            NotAfterBound::MaxTtl if requested > now + max as i64 => {
                warnings.push(not_after_capped_warning(requested, max));
                fixed_not_after = Some(now + max as i64);
            }
            _ => {}
        }
    }
    let mut not_after = fixed_not_after.unwrap_or(now + ttl as i64);
    if not_after > issuer.not_after {
        let behaviour = match issuing {
            // OpenBao overrides the issuer's behaviour for intermediates: always permit.
            Issuing::Intermediate => "permit",
            Issuing::Leaf => issuer.leaf_not_after_behavior.as_str(),
        };
        match behaviour {
            "truncate" => not_after = issuer.not_after,
            "permit" => {}
            _ => {
                return Err(EngineError::bad(format!(
                    "cannot satisfy request, as TTL would result in notAfter of {} that is beyond the expiration of the CA certificate at {}",
                    crate::engine::rfc3339(not_after),
                    crate::engine::rfc3339(issuer.not_after)
                )));
            }
        }
        if issuing == Issuing::Intermediate {
            warnings.push(OUTLIVES_ISSUER_WARNING.to_owned());
        }
    }
    if let NotAfterBound::Until(limit) = bound
        && not_after > limit
    {
        let limit_text = crate::engine::rfc3339(limit);
        return Err(EngineError::bad(format!(
            "not_after_bound is set to {}. Cannot statisfy request as that would result in notAfter of {} that is beyond the maximum timestamp of {limit_text}",
            role.map(|r| r.not_after_bound.as_str()).unwrap_or_default(),
            crate::engine::rfc3339(not_after),
        )));
    }
    if not_after < not_before {
        return Err(EngineError::bad(format!(
            "The certificate's Not Before ({}) is later than the certificate's Not After ({})",
            crate::engine::rfc3339(not_before),
            crate::engine::rfc3339(not_after)
        )));
    }
    Ok((not_before, not_after))
}

fn role_ext_key_usage(role: &Role) -> Vec<String> {
    let mut eku = vec![];
    if role.server_flag {
        eku.push("ServerAuth".to_string());
    }
    if role.client_flag {
        eku.push("ClientAuth".to_string());
    }
    if role.code_signing_flag {
        eku.push("CodeSigning".to_string());
    }
    if role.email_protection_flag {
        eku.push("EmailProtection".to_string());
    }
    for e in &role.ext_key_usage {
        if !eku.contains(e) {
            eku.push(e.clone());
        }
    }
    eku
}

/// The names a role-checked request asks for: the CN from the request or, where the role
/// says so, the CSR; the SANs from the CSR (role `use_csr_sans`) or the request.
fn name_request(
    role: &Role,
    data: &Map<String, Value>,
    csr: Option<&ParsedCsr>,
) -> Result<(NameRequest, SanSource), EngineError> {
    let mut common_name = fields::get_string(data, "common_name")
        .map_err(field_error)?
        .unwrap_or_default();
    if common_name.is_empty()
        && role.use_csr_common_name
        && let Some(c) = csr
    {
        common_name = c.subject.common_name.clone();
    }
    let exclude_cn_from_sans = fields::get_bool(data, "exclude_cn_from_sans")
        .map_err(field_error)?
        .unwrap_or(false);
    let req = match csr {
        Some(c) if role.use_csr_sans => {
            let req = NameRequest {
                common_name,
                alt_names: c.sans.dns.iter().chain(&c.sans.email).cloned().collect(),
                ip_sans: c.sans.ip.iter().map(|ip| ip.to_string()).collect(),
                uri_sans: c.sans.uri.clone(),
                exclude_cn_from_sans,
            };
            return Ok((req, SanSource::Csr));
        }
        _ => NameRequest {
            common_name,
            alt_names: alt_names(data)?,
            ip_sans: names_list(data, "ip_sans")?,
            uri_sans: names_list(data, "uri_sans")?,
            exclude_cn_from_sans,
        },
    };
    Ok((req, SanSource::Api))
}

/// Vault's key usage names (`DigitalSignature`, ...) as the certificate builder's values.
pub fn key_usages(names: &[String]) -> Result<Vec<KeyUsage>, EngineError> {
    names
        .iter()
        .map(|n| {
            n.parse::<KeyUsage>()
                .map_err(|e| EngineError::bad(format!("invalid key_usage {n:?}: {e}")))
        })
        .collect()
}

pub fn ext_key_usages(names: &[String]) -> Result<Vec<ExtKeyUsage>, EngineError> {
    names
        .iter()
        .map(|n| {
            n.parse::<ExtKeyUsage>()
                .map_err(|e| EngineError::bad(format!("invalid ext_key_usage {n:?}: {e}")))
        })
        .collect()
}

struct Issued {
    der: Vec<u8>,
    serial: String,
    not_before: i64,
    not_after: i64,
    issuer: IssuerEntry,
    warnings: Vec<String>,
}

/// Checks the names against `role`, builds and signs the certificate, stores it.
#[allow(clippy::too_many_arguments)] // the parts of one signing, each from a different source
fn issue_for_role(
    engine: &Engine,
    mount: &Mount,
    role_name: &str,
    role: &Role,
    path_ref: Option<&str>,
    data: &Map<String, Value>,
    csr: Option<&ParsedCsr>,
    public_key: &PublicKeyInfo,
) -> Result<Issued, EngineError> {
    let (request, source) = name_request(role, data, csr)?;
    let names =
        resolve_names(role, &request, source).map_err(|e| EngineError::bad(e.to_string()))?;
    let cn = names.common_name.clone();
    let sans = Sans {
        dns: names.dns_names,
        ip: names.ip_addresses,
        uri: names.uris,
        email: names.email_addresses,
    };
    let issuer = pick_issuer(engine, mount, path_ref, Some(role))?;
    let mut warnings = vec![];
    if csr.is_some() {
        // OpenBao's notes that a field the role takes from the CSR was also sent (first,
        // before the TTL notes, as OpenBao orders them).
        let sent = |k: &str| field_str(data, k).is_some_and(|v| !v.is_empty());
        if role.use_csr_common_name && sent("common_name") {
            warnings.push("the common_name field was provided but the role is set with \"use_csr_common_name\" set to true".into());
        }
        if role.use_csr_sans && sent("alt_names") {
            warnings.push("the alt_names field was provided but the role is set with \"use_csr_sans\" set to true".into());
        }
    }
    let (not_before, not_after) = validity(
        mount,
        Some(role),
        &issuer,
        data,
        &mut warnings,
        Issuing::Leaf,
    )?;
    let mut subject = issuers::subject_from(&Map::new(), &cn)?;
    subject.organization = role.organization.clone();
    subject.organizational_unit = role.ou.clone();
    subject.country = role.country.clone();
    subject.locality = role.locality.clone();
    subject.province = role.province.clone();
    subject.street_address = role.street_address.clone();
    subject.postal_code = role.postal_code.clone();
    let spec = CertSpec {
        serial: random_serial(),
        not_before,
        not_after,
        subject,
        sans,
        is_ca: false,
        max_path_length: None,
        key_usage: key_usages(&role.key_usage)?,
        ext_key_usage: ext_key_usages(&role_ext_key_usage(role))?,
        ext_key_usage_oids: role.ext_key_usage_oids.clone(),
        basic_constraints_valid_for_non_ca: role.basic_constraints_valid_for_non_ca,
        use_pss: role.use_pss,
        ..url_fields(engine, mount)?
    };
    sign_and_store(
        engine,
        mount,
        &spec,
        public_key,
        issuer,
        role.signature_bits,
        (!role.no_store).then_some(role_name),
        warnings,
    )
}

fn url_fields(engine: &Engine, mount: &Mount) -> Result<CertSpec, EngineError> {
    let u: issuers::Urls = engine
        .store
        .get(&Keys(mount).config("urls"))?
        .unwrap_or_default();
    Ok(CertSpec {
        issuing_certificates: u.issuing_certificates,
        ocsp_servers: u.ocsp_servers,
        crl_distribution_points: u.crl_distribution_points,
        ..CertSpec::default()
    })
}

#[allow(clippy::too_many_arguments)] // the parts of one signing, each from a different source
fn sign_and_store(
    engine: &Engine,
    mount: &Mount,
    spec: &CertSpec,
    public_key: &PublicKeyInfo,
    issuer: IssuerEntry,
    signature_bits: u32,
    // The role the certificate is stored under ("" for none); `None`: not stored.
    store: Option<&str>,
    warnings: Vec<String>,
) -> Result<Issued, EngineError> {
    let issuer_key = issuers::issuer_key(engine, mount, &issuer)?;
    let issuer_der = cert::pem_decode_all(&issuer.certificate)
        .map_err(pki_error)?
        .into_iter()
        .next()
        .map(|(_, d)| d)
        .ok_or_else(|| EngineError::Internal("issuer has no certificate".into()))?;
    let der = cert::sign(spec, public_key, &issuer_der, &issuer_key, signature_bits)
        .map_err(pki_error)?;
    let serial = serial_hex(&spec.serial);
    if let Some(role_name) = store {
        let pem = cert::pem_encode("CERTIFICATE", &der);
        engine.store.atomic_with(|tx| {
            super::certs::store_cert(
                tx,
                mount,
                &serial,
                &pem,
                &issuer.id,
                spec.not_after,
                role_name,
            )
        })?;
    }
    Ok(Issued {
        der,
        serial,
        not_before: spec.not_before,
        not_after: spec.not_after,
        issuer,
        warnings,
    })
}

/// The answer to `sign`, `issue` (with the key it made: PEM and type), `sign-verbatim`
/// and `sign-intermediate`, in the `format` asked for.
fn respond(
    issued: Issued,
    data: &Map<String, Value>,
    private_key: Option<(String, String)>,
) -> Result<Response, EngineError> {
    let format = field_str(data, "format").unwrap_or_else(|| "pem".into());
    let leaf_pem = cert::pem_encode("CERTIFICATE", &issued.der);
    let chain: Vec<String> = issued
        .issuer
        .ca_chain
        .iter()
        .map(|p| p.trim_end().to_string())
        .collect();
    let issuing_pem = issued.issuer.certificate.trim_end().to_string();
    let remove_roots = bool_field(data, "remove_roots_from_chain", false)?;
    let chain: Vec<String> = if remove_roots {
        chain.into_iter().filter(|p| !is_self_signed(p)).collect()
    } else {
        chain
    };
    let (certificate, issuing_ca, ca_chain): (String, String, Vec<String>) = match format.as_str() {
        "pem" => (leaf_pem.trim_end().to_string(), issuing_pem, chain),
        "pem_bundle" => (
            format!("{}\n{}", leaf_pem.trim_end(), issuing_pem),
            issuing_pem.clone(),
            chain,
        ),
        "der" => {
            let to_b64 = |p: &str| -> String {
                cert::pem_decode_all(p)
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .map(|(_, d)| B64.encode(d))
                    .unwrap_or_default()
            };
            (
                B64.encode(&issued.der),
                to_b64(&issuing_pem),
                chain.iter().map(|p| to_b64(p)).collect(),
            )
        }
        other => {
            return Err(EngineError::bad(format!(
                "unknown format \"{other}\": use pem, der or pem_bundle"
            )));
        }
    };
    let (private_key, private_key_type) = private_key.unzip();
    let signed = api::Signed {
        certificate,
        issuing_ca,
        ca_chain,
        serial_number: issued.serial,
        expiration: issued.not_after,
        not_before: Some(issued.not_before),
        private_key,
        private_key_type,
    };
    Ok(Response {
        warnings: issued.warnings,
        ..Response::typed(&signed)?
    })
}

fn is_self_signed(pem: &str) -> bool {
    cert::pem_decode_all(pem)
        .ok()
        .and_then(|v| v.into_iter().next())
        .is_some_and(|(_, d)| shared::pki::verify::verify_issued_by(&d, &d).is_ok())
}

pub fn sign(
    engine: &Engine,
    mount: &Mount,
    role_name: &str,
    issuer_ref: Option<&str>,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate_fields(data, ISSUE_SIGN_FIELDS)?;
    let role = load_role(engine, mount, role_name)?;
    let csr = csr_from(data)?;
    check_key(&role, csr.public_key.key_type.as_str(), csr.public_key.bits)
        .map_err(|e| EngineError::bad(e.to_string()))?;
    let issued = issue_for_role(
        engine,
        mount,
        role_name,
        &role,
        issuer_ref,
        data,
        Some(&csr),
        &csr.public_key,
    )?;
    respond(issued, data, None)
}

pub fn issue(
    engine: &Engine,
    mount: &Mount,
    role_name: &str,
    issuer_ref: Option<&str>,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate_fields(data, ISSUE_SIGN_FIELDS)?;
    let role = load_role(engine, mount, role_name)?;
    let (key_type, bits) = match role.key_type.as_str() {
        "any" => {
            return Err(EngineError::bad(
                "role key type \"any\" not allowed for issuing certificates, only signing",
            ));
        }
        "rsa" => (
            KeyType::Rsa,
            if role.key_bits == 0 {
                2048
            } else {
                role.key_bits
            },
        ),
        "ec" => (
            KeyType::Ec,
            if role.key_bits == 0 {
                256
            } else {
                role.key_bits
            },
        ),
        "ed25519" => (KeyType::Ed25519, 0),
        other => return Err(EngineError::bad(format!("unknown key type {other}"))),
    };
    let key = PrivateKey::generate(key_type, bits).map_err(pki_error)?;
    let issued = issue_for_role(
        engine,
        mount,
        role_name,
        &role,
        issuer_ref,
        data,
        None,
        &key.public_key_info(),
    )?;
    respond(issued, data, Some(issuers::exported_key(&key, data)?))
}

pub fn sign_verbatim(
    engine: &Engine,
    mount: &Mount,
    role_name: Option<&str>,
    issuer_ref: Option<&str>,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate_fields(data, SIGN_VERBATIM_FIELDS)?;
    let role = role_name.map(|r| load_role(engine, mount, r)).transpose()?;
    let csr = csr_from(data)?;
    let issuer = pick_issuer(engine, mount, issuer_ref, role.as_ref())?;
    let mut warnings = vec![];
    let (not_before, not_after) = validity(
        mount,
        role.as_ref(),
        &issuer,
        data,
        &mut warnings,
        Issuing::Leaf,
    )?;
    let key_usage = match list_field(data, "key_usage")? {
        v if !v.is_empty() => v,
        _ => role
            .as_ref()
            .map(|r| r.key_usage.clone())
            .unwrap_or_else(|| {
                vec![
                    "DigitalSignature".into(),
                    "KeyAgreement".into(),
                    "KeyEncipherment".into(),
                ]
            }),
    };
    let mut ext_key_usage = list_field(data, "ext_key_usage")?;
    if ext_key_usage.is_empty()
        && let Some(r) = &role
    {
        ext_key_usage = role_ext_key_usage(r);
    }
    let spec = CertSpec {
        serial: random_serial(),
        not_before,
        not_after,
        subject: csr.subject.clone(),
        sans: csr.sans.clone(),
        is_ca: false,
        max_path_length: None,
        key_usage: key_usages(&key_usage)?,
        ext_key_usage: ext_key_usages(&ext_key_usage)?,
        use_pss: role.as_ref().is_some_and(|r| r.use_pss),
        ..url_fields(engine, mount)?
    };
    let (sig_bits, store) = role
        .as_ref()
        .map(|r| (r.signature_bits, !r.no_store))
        .unwrap_or((0, true));
    let issued = sign_and_store(
        engine,
        mount,
        &spec,
        &csr.public_key,
        issuer,
        sig_bits,
        // Certificates signed verbatim have no role in the index, as certs.rs documents.
        store.then_some(""),
        warnings,
    )?;
    respond(issued, data, None)
}

pub fn sign_intermediate(
    engine: &Engine,
    mount: &Mount,
    data: &Map<String, Value>,
    issuer_ref: Option<&str>,
) -> Result<Response, EngineError> {
    fields::validate_each(data, &[super::issuers::CA_FIELDS, SIGN_INTERMEDIATE_FIELDS])
        .map_err(field_error)?;
    let csr = csr_from(data)?;
    let use_csr_values = bool_field(data, "use_csr_values", false)?;
    let mut cn = field_str(data, "common_name").unwrap_or_default();
    if cn.is_empty() && use_csr_values {
        cn = csr.subject.common_name.clone();
    }
    if cn.is_empty() {
        cn = csr.subject.common_name.clone();
    }
    if cn.is_empty() {
        return Err(EngineError::bad(
            "the common_name field is required, or must be provided in the CSR with \"use_csr_values\"",
        ));
    }
    let issuer = pick_issuer(engine, mount, issuer_ref, None)?;
    let mut warnings = vec![];
    let (not_before, not_after) = validity(
        mount,
        None,
        &issuer,
        data,
        &mut warnings,
        Issuing::Intermediate,
    )?;
    let subject = if use_csr_values {
        csr.subject.clone()
    } else {
        issuers::subject_from(data, &cn)?
    };
    let mut sans = if use_csr_values {
        csr.sans.clone()
    } else {
        Sans::default()
    };
    if !use_csr_values {
        sans.dns.extend(alt_names(data)?);
        sans.ip = field_list_ips(data, "ip_sans")?;
        sans.uri = list_field(data, "uri_sans")?;
    }
    let max_path = int_field(data, "max_path_length", -1)?;
    let spec = CertSpec {
        serial: random_serial(),
        not_before,
        not_after,
        subject,
        sans,
        is_ca: true,
        max_path_length: if max_path < 0 {
            None
        } else {
            Some(max_path as u32)
        },
        key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
        permitted_dns_domains: list_field(data, "permitted_dns_domains")?,
        use_pss: bool_field(data, "use_pss", false)?,
        ..url_fields(engine, mount)?
    };
    let signature_bits = int_field(data, "signature_bits", 0)? as u32;
    let issued = sign_and_store(
        engine,
        mount,
        &spec,
        &csr.public_key,
        issuer,
        signature_bits,
        Some(""),
        warnings,
    )?;
    // OpenBao's sign-intermediate answer has no `not_before` (its leaf answers do).
    let mut response = respond(issued, data, None)?;
    if let Some(Value::Object(d)) = response.data.as_mut() {
        d.remove("not_before");
    }
    Ok(response)
}
