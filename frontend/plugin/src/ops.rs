//! The plugin's operations, pure and synchronous: read the caller's object into a typed
//! request (every check names its field), run it with `shared`, and describe the result
//! as the JSON the JS API returns. Key generation, the one asynchronous step (WebCrypto),
//! is in `keygen`.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;
use shared::pki::cert::{CertInfo, Sans, Subject, parse_certificate};
use shared::pki::csr::{CsrOptions, build_csr};
use shared::pki::k8s::tls_secret_yaml;
use shared::pki::key::{KeyType, PrivateKey, PublicKeyInfo};
use shared::pki::names::to_ascii_hostname;
use shared::pki::pem::certificates_from_pem;
use shared::pki::pkcs8enc::{Kdf, encrypt_private_key_pem};
use shared::pki::pkcs12::{Pkcs12Flavour, build_pkcs12};
use shared::pki::verify::verify_chain;

use crate::fields::{Fields, PluginError};

/// X.520's upper bound for CN, O and OU.
const MAX_NAME_ATTRIBUTE: usize = 64;

/// The key `generateKeyAndCsr` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub key_type: KeyType,
    /// Modulus or curve size; 0 for Ed25519.
    pub bits: u32,
}

/// A checked `generateKeyAndCsr` options object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRequest {
    pub key: KeySpec,
    pub subject: Subject,
    pub sans: Sans,
}

fn key_spec(f: &Fields<'_>) -> Result<KeySpec, PluginError> {
    let key_type = match f.str("keyType")? {
        "ec" => KeyType::Ec,
        "ed25519" => KeyType::Ed25519,
        "rsa" => KeyType::Rsa,
        other => {
            return Err(PluginError::new(
                "keyType",
                format!("{other:?} is not one of \"ec\", \"ed25519\", \"rsa\""),
            ));
        }
    };
    let asked = f.opt_u32("keyBits")?.unwrap_or(0);
    let bits = match (key_type, asked) {
        (KeyType::Ec, 0) => 256,
        (KeyType::Rsa, 0) => 2048,
        (KeyType::Ec, 256 | 384) | (KeyType::Rsa, 2048 | 3072 | 4096) => asked,
        (KeyType::Ed25519, 0) => 0,
        (KeyType::Ed25519, _) => {
            return Err(PluginError::new(
                "keyBits",
                "ed25519 keys have one size: leave keyBits out",
            ));
        }
        (KeyType::Ec, _) => {
            return Err(PluginError::new(
                "keyBits",
                format!("{asked} is not 256 or 384 for an ec key"),
            ));
        }
        (KeyType::Rsa, _) => {
            return Err(PluginError::new(
                "keyBits",
                format!("{asked} is not 2048, 3072 or 4096 for an rsa key"),
            ));
        }
    };
    Ok(KeySpec { key_type, bits })
}

/// A subject attribute: trimmed, at most 64 characters, no control characters.
fn name_attribute(field: &str, value: &str) -> Result<String, PluginError> {
    let v = value.trim();
    if v.chars().count() > MAX_NAME_ATTRIBUTE {
        return Err(PluginError::new(field, "longer than 64 characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(PluginError::new(field, "contains control characters"));
    }
    Ok(v.to_string())
}

/// A DNS name (a leading `*.` wildcard allowed), in ASCII (punycode for IDNs).
fn dns_name(field: &str, name: &str) -> Result<String, PluginError> {
    let bad = || PluginError::new(field, format!("{name:?} is not a valid dns name"));
    let name = name.trim().trim_end_matches('.');
    let (wild, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    // DNS is case-insensitive; certificates conventionally carry lowercase names.
    let ascii = to_ascii_hostname(rest)
        .map_err(|e| PluginError::new(field, e.to_string()))?
        .to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if ascii.len() > 253 || !ascii.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(if wild { format!("*.{ascii}") } else { ascii })
}

fn email(field: &str, value: &str) -> Result<String, PluginError> {
    let v = value.trim();
    let bad = || PluginError::new(field, format!("{v:?} is not an email address"));
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || !local.is_ascii()
        || local
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || c == b'@')
    {
        return Err(bad());
    }
    let domain = dns_name(field, domain).map_err(|_| bad())?;
    if domain.starts_with('*') {
        return Err(bad());
    }
    Ok(format!("{local}@{domain}"))
}

fn uri(field: &str, value: &str) -> Result<String, PluginError> {
    let v = value.trim();
    let bad = |why: &str| PluginError::new(field, format!("{v:?} is not a uri: {why}"));
    let (scheme, rest) = v.split_once(':').ok_or_else(|| bad("no scheme"))?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(bad("no scheme"));
    }
    if rest.is_empty() {
        return Err(bad("nothing after the scheme"));
    }
    if !v.is_ascii()
        || v.bytes()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(bad(
            "spaces and non-ascii characters must be percent-encoded",
        ));
    }
    Ok(v.to_string())
}

fn each<T>(
    f: &Fields<'_>,
    key: &str,
    check: impl Fn(&str, &str) -> Result<T, PluginError>,
) -> Result<Vec<T>, PluginError> {
    f.str_list(key)?
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(i, v)| check(&format!("{key}[{i}]"), v))
        .collect()
}

/// Reads `generateKeyAndCsr`'s options.
pub fn csr_request(options: &Value) -> Result<CsrRequest, PluginError> {
    let f = Fields::of(options, "options")?;
    let key = key_spec(&f)?;
    let common_name = name_attribute("commonName", f.opt_str("commonName")?.unwrap_or(""))?;
    let sans = Sans {
        dns: each(&f, "dnsNames", dns_name)?,
        ip: each(&f, "ipAddresses", |field, v| {
            v.trim()
                .parse::<IpAddr>()
                .map_err(|_| PluginError::new(field, format!("{v:?} is not an ip address")))
        })?,
        uri: each(&f, "uris", uri)?,
        email: each(&f, "emails", email)?,
    };
    if common_name.is_empty() && sans.is_empty() {
        return Err(PluginError::new(
            "commonName",
            "is required when no subject alternative name is given",
        ));
    }
    let list = |key: &str| -> Result<Vec<String>, PluginError> {
        let v = name_attribute(key, f.opt_str(key)?.unwrap_or(""))?;
        Ok(if v.is_empty() { vec![] } else { vec![v] })
    };
    let subject = Subject {
        common_name,
        organization: list("organization")?,
        organizational_unit: list("organizationalUnit")?,
        ..Subject::default()
    };
    Ok(CsrRequest { key, subject, sans })
}

/// `generateKeyAndCsr`'s result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Generated {
    pub csr_pem: String,
    pub private_key_pem: String,
    pub public_key_pem: String,
    pub key_type: KeyType,
    pub key_bits: u32,
}

/// Builds and signs the CSR for a generated `key`.
pub fn finish_csr(request: &CsrRequest, key: &PrivateKey) -> Result<Generated, PluginError> {
    let csr_pem = build_csr(key, &request.subject, &request.sans, &CsrOptions::default())
        .map_err(|e| PluginError::from_pki("options", e))?;
    Ok(Generated {
        csr_pem,
        private_key_pem: key
            .to_pkcs8_pem()
            .map_err(|e| PluginError::from_pki("privateKeyPem", e))?
            .to_string(),
        public_key_pem: key.public_key_info().to_pem(),
        key_type: key.key_type(),
        key_bits: key.bits(),
    })
}

/// `parseCertificate`'s result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub serial_number: String,
    pub subject: String,
    pub issuer: String,
    pub common_name: String,
    pub not_before: i64,
    pub not_after: i64,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub is_ca: bool,
    pub key_type: String,
    pub key_bits: u32,
    pub sha256_fingerprint: String,
    pub signature_algorithm: String,
    pub key_usage: Vec<String>,
    pub ext_key_usage: Vec<String>,
}

impl From<&CertInfo> for CertificateView {
    fn from(c: &CertInfo) -> Self {
        CertificateView {
            serial_number: c.serial.clone(),
            subject: c.subject_dn.clone(),
            issuer: c.issuer_dn.clone(),
            common_name: c.common_name.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            dns_names: c.sans.dns.clone(),
            ip_addresses: c.sans.ip.iter().map(IpAddr::to_string).collect(),
            uris: c.sans.uri.clone(),
            emails: c.sans.email.clone(),
            is_ca: c.is_ca,
            key_type: c.key_type.clone(),
            key_bits: c.key_bits,
            sha256_fingerprint: c.sha256_fingerprint.clone(),
            signature_algorithm: c.signature_algorithm.clone(),
            key_usage: c.key_usage.iter().map(|u| u.as_str().to_string()).collect(),
            ext_key_usage: c
                .ext_key_usage
                .iter()
                .map(|u| u.as_str().to_string())
                .chain(c.ext_key_usage_oids.iter().cloned())
                .collect(),
        }
    }
}

/// The first certificate in `pem`: (DER, parsed).
fn one_certificate(field: &str, pem: &str) -> Result<(Vec<u8>, CertInfo), PluginError> {
    let der = certificates_from_pem(pem)
        .map_err(|e| PluginError::from_pki(field, e))?
        .into_iter()
        .next()
        .ok_or_else(|| PluginError::new(field, "no CERTIFICATE block found"))?;
    let info = parse_certificate(&der).map_err(|e| PluginError::new(field, e.to_string()))?;
    Ok((der, info))
}

/// Every certificate in `chainPems` (each entry may hold several), in order.
fn chain(f: &Fields<'_>) -> Result<Vec<Vec<u8>>, PluginError> {
    let mut out = Vec::new();
    for (i, pem) in f.str_list("chainPems")?.into_iter().enumerate() {
        let field = format!("chainPems[{i}]");
        let ders = certificates_from_pem(pem).map_err(|e| PluginError::from_pki(&field, e))?;
        if ders.is_empty() {
            return Err(PluginError::new(field, "no CERTIFICATE block found"));
        }
        for der in ders {
            parse_certificate(&der).map_err(|e| PluginError::new(&field, e.to_string()))?;
            out.push(der);
        }
    }
    Ok(out)
}

fn private_key(f: &Fields<'_>) -> Result<PrivateKey, PluginError> {
    PrivateKey::from_pem(f.non_empty("privateKeyPem")?)
        .map_err(|e| PluginError::new("privateKeyPem", e.to_string()))
}

/// `parseCertificate(pem)`.
pub fn parse_certificate_pem(pem: &str) -> Result<CertificateView, PluginError> {
    let (_, info) = one_certificate("pem", pem)?;
    Ok(CertificateView::from(&info))
}

/// `inspectIssued`'s result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub certificate: CertificateView,
    pub key_matches: bool,
    pub chain_valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_error: Option<String>,
}

/// The verdict of [`check_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainCheck {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each certificate's subject, in the order given.
    pub subjects: Vec<String>,
}

/// `checkChain({chainPem, now})`: a CA certificate followed by its issuers up to a root
/// (an intermediate an outside root signed, before it is uploaded): each signed by the
/// next, the first a CA, the last self-signed, all valid at `now`.
pub fn check_chain(args: &Value) -> Result<ChainCheck, PluginError> {
    let f = Fields::of(args, "options")?;
    let ders = certificates_from_pem(f.non_empty("chainPem")?)
        .map_err(|e| PluginError::from_pki("chainPem", e))?;
    let now = f.i64("now")?;
    let infos = ders
        .iter()
        .map(|d| parse_certificate(d).map_err(|e| PluginError::new("chainPem", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let verdict = match (ders.as_slice(), infos.first(), infos.last()) {
        ([first, middle @ .., root], Some(head), Some(top)) => {
            if !head.is_ca {
                Err("the first certificate is not a CA certificate: the root must sign it with basicConstraints CA:true".to_string())
            } else if top.subject_der != top.issuer_der {
                Err(format!(
                    "the last certificate ({}) is not a root: add the root after it",
                    top.subject_dn
                ))
            } else {
                verify_chain(first, middle, root, now).map_err(|e| e.to_string())
            }
        }
        ([_], ..) => Err("only one certificate: add the root (and any CA between) after it".into()),
        _ => Err("no CERTIFICATE block found".into()),
    };
    Ok(ChainCheck {
        valid: verdict.is_ok(),
        error: verdict.err(),
        subjects: infos.iter().map(|i| i.subject_dn.clone()).collect(),
    })
}

/// `inspectIssued({certificatePem, chainPems, privateKeyPem, now})`: does the certificate
/// carry our key, and does it chain (intermediates, then the root last) at `now`?
pub fn inspect_issued(args: &Value) -> Result<Inspection, PluginError> {
    let f = Fields::of(args, "options")?;
    let (der, info) = one_certificate("certificatePem", f.non_empty("certificatePem")?)?;
    let chain = chain(&f)?;
    let key = private_key(&f)?;
    let now = f.i64("now")?;
    let key_matches = PublicKeyInfo::from_spki_der(&info.spki_der)
        .map(|public| key.matches(&public))
        .unwrap_or(false);
    let checked = match chain.split_last() {
        None => Err("no ca certificate given in chainPems".to_string()),
        Some((root, intermediates)) => {
            verify_chain(&der, intermediates, root, now).map_err(|e| e.to_string())
        }
    };
    Ok(Inspection {
        certificate: CertificateView::from(&info),
        key_matches,
        chain_valid: checked.is_ok(),
        chain_error: checked.err(),
    })
}

/// `buildPkcs12({certificatePem, chainPems, privateKeyPem, password, legacy, friendlyName})`.
pub fn pkcs12(args: &Value) -> Result<Vec<u8>, PluginError> {
    let f = Fields::of(args, "options")?;
    let (der, _) = one_certificate("certificatePem", f.non_empty("certificatePem")?)?;
    let chain = chain(&f)?;
    let key = private_key(&f)?;
    let password = f.str("password")?;
    let flavour = if f.opt_bool("legacy")?.unwrap_or(false) {
        Pkcs12Flavour::Legacy
    } else {
        Pkcs12Flavour::Modern
    };
    let friendly_name = f.opt_str("friendlyName")?;
    build_pkcs12(&der, &chain, &key, password, flavour, friendly_name)
        .map_err(|e| PluginError::from_pki("options", e))
}

/// `encryptPrivateKey({privateKeyPem, passphrase, kdf})`.
pub fn encrypt_key(args: &Value) -> Result<String, PluginError> {
    let f = Fields::of(args, "options")?;
    let key = private_key(&f)?;
    let passphrase = f.str("passphrase")?;
    let kdf = match f.opt_str("kdf")?.unwrap_or("pbkdf2") {
        "pbkdf2" => Kdf::PBKDF2,
        "scrypt" => Kdf::SCRYPT,
        other => {
            return Err(PluginError::new(
                "kdf",
                format!("{other:?} is not one of \"pbkdf2\", \"scrypt\""),
            ));
        }
    };
    encrypt_private_key_pem(&key, passphrase, kdf).map_err(|e| PluginError::from_pki("options", e))
}

/// `kubernetesSecretYaml({name, namespace, certificatePem, chainPems, privateKeyPem})`.
pub fn secret_yaml(args: &Value) -> Result<String, PluginError> {
    let f = Fields::of(args, "options")?;
    let name = f.str("name")?;
    let namespace = f.str("namespace")?;
    let (der, _) = one_certificate("certificatePem", f.non_empty("certificatePem")?)?;
    let chain = chain(&f)?;
    let key = private_key(&f)?;
    tls_secret_yaml(name, namespace, &der, &chain, &key)
        .map_err(|e| PluginError::from_pki("options", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(r: Result<CsrRequest, PluginError>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn csr_options_are_checked_field_by_field() {
        let ok = csr_request(&json!({
            "keyType": "ec", "keyBits": 384, "commonName": " app.example.test ",
            "dnsNames": ["app.example.test", "*.App.example.test", "bücher.example", ""],
            "ipAddresses": ["192.0.2.1", "2001:db8::1"], "uris": ["spiffe://example.test/app"],
            "emails": ["ops@example.test"], "organization": "Example", "organizationalUnit": "Web",
        }))
        .expect("valid");
        assert_eq!(
            ok.key,
            KeySpec {
                key_type: KeyType::Ec,
                bits: 384
            }
        );
        assert_eq!(ok.subject.common_name, "app.example.test");
        assert_eq!(ok.subject.organization, vec!["Example".to_string()]);
        assert_eq!(ok.subject.organizational_unit, vec!["Web".to_string()]);
        assert_eq!(
            ok.sans.dns,
            vec![
                "app.example.test",
                "*.app.example.test",
                "xn--bcher-kva.example"
            ]
        );
        assert_eq!(ok.sans.ip.len(), 2);

        let defaults = csr_request(&json!({"keyType": "rsa", "commonName": "x"})).expect("rsa");
        assert_eq!(defaults.key.bits, 2048);
        let ed = csr_request(&json!({"keyType": "ed25519", "keyBits": 0, "dnsNames": ["a.test"]}))
            .expect("ed25519 without a cn");
        assert_eq!(ed.key.bits, 0);
        assert!(ed.subject.common_name.is_empty());

        for (options, want) in [
            (json!(null), "options: expected an object"),
            (json!({"commonName": "x"}), "keyType: is required"),
            (
                json!({"keyType": "dsa", "commonName": "x"}),
                "keyType: \"dsa\" is not one of",
            ),
            (
                json!({"keyType": "ec", "keyBits": 512, "commonName": "x"}),
                "keyBits: 512 is not 256 or 384",
            ),
            (
                json!({"keyType": "rsa", "keyBits": 1024, "commonName": "x"}),
                "keyBits: 1024 is not 2048",
            ),
            (
                json!({"keyType": "ed25519", "keyBits": 256, "commonName": "x"}),
                "keyBits: ed25519",
            ),
            (
                json!({"keyType": "ec", "keyBits": "256", "commonName": "x"}),
                "keyBits: expected a whole number",
            ),
            (
                json!({"keyType": "ec"}),
                "commonName: is required when no subject alternative name",
            ),
            (
                json!({"keyType": "ec", "commonName": "x".repeat(65)}),
                "commonName: longer than 64",
            ),
            (
                json!({"keyType": "ec", "commonName": "a\nb"}),
                "commonName: contains control",
            ),
            (
                json!({"keyType": "ec", "commonName": 5}),
                "commonName: expected a string",
            ),
            (
                json!({"keyType": "ec", "dnsNames": "a.test"}),
                "dnsNames: expected an array",
            ),
            (
                json!({"keyType": "ec", "dnsNames": ["ok.test", "a b"]}),
                "dnsNames[1]: ",
            ),
            (
                json!({"keyType": "ec", "dnsNames": ["-a.test"]}),
                "dnsNames[0]: ",
            ),
            (
                json!({"keyType": "ec", "dnsNames": ["a.*.test"]}),
                "dnsNames[0]: ",
            ),
            (
                json!({"keyType": "ec", "ipAddresses": ["300.1.1.1"]}),
                "ipAddresses[0]: \"300.1.1.1\" is not an ip address",
            ),
            (json!({"keyType": "ec", "uris": ["no-scheme"]}), "uris[0]: "),
            (
                json!({"keyType": "ec", "uris": ["https://a b"]}),
                "uris[0]: ",
            ),
            (
                json!({"keyType": "ec", "emails": ["nobody"]}),
                "emails[0]: \"nobody\" is not an email address",
            ),
            (
                json!({"keyType": "ec", "emails": ["a@*.test"]}),
                "emails[0]: ",
            ),
            (
                json!({"keyType": "ec", "commonName": "x", "organization": ["O"]}),
                "organization: expected a string",
            ),
        ] {
            let got = err(csr_request(&options));
            assert!(
                got.starts_with(want),
                "{options}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn generated_csr_parses_with_the_requested_names() {
        let request = csr_request(&json!({
            "keyType": "ec", "commonName": "svc.example.test",
            "dnsNames": ["svc.example.test"], "ipAddresses": ["10.1.2.3"],
        }))
        .expect("request");
        let key = PrivateKey::generate(request.key.key_type, request.key.bits).expect("key");
        let out = finish_csr(&request, &key).expect("csr");
        let parsed = shared::pki::csr::parse_csr(&out.csr_pem).expect("parse");
        assert_eq!(parsed.subject.common_name, "svc.example.test");
        assert_eq!(parsed.sans.dns, vec!["svc.example.test".to_string()]);
        assert_eq!(parsed.public_key, key.public_key_info());
        assert_eq!((out.key_type, out.key_bits), (KeyType::Ec, 256));
        let back = PrivateKey::from_pem(&out.private_key_pem).expect("key pem");
        assert!(back.matches(&parsed.public_key));
        assert_eq!(out.public_key_pem, key.public_key_info().to_pem());
        let json = serde_json::to_value(&out).expect("json");
        for k in [
            "csrPem",
            "privateKeyPem",
            "publicKeyPem",
            "keyType",
            "keyBits",
        ] {
            assert!(json.get(k).is_some(), "{k} in {json}");
        }
        assert_eq!(json["keyType"], "ec");
    }
}

#[cfg(test)]
mod issued_tests {
    use super::*;
    use serde_json::json;
    use shared::pki::cert::{CertSpec, KeyUsage, self_sign, sign};
    use shared::pki::pem::pem_encode;

    /// (leaf PEM, [intermediate PEM, root PEM], leaf key PEM), valid 1.7e9..2e9.
    fn issued() -> (String, Vec<String>, String) {
        let ca = |cn: &str, serial: u8| CertSpec {
            serial: vec![serial],
            not_before: 1_700_000_000,
            not_after: 2_000_000_000,
            subject: Subject::with_common_name(cn),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign],
            ..CertSpec::default()
        };
        let root_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let root = self_sign(&ca("Root", 1), &root_key, 0).expect("root");
        let int_key = PrivateKey::generate(KeyType::Ed25519, 0).expect("key");
        let int = sign(
            &ca("Int", 2),
            &int_key.public_key_info(),
            &root,
            &root_key,
            0,
        )
        .expect("int");
        let leaf_key = PrivateKey::generate(KeyType::Ec, 384).expect("key");
        let spec = CertSpec {
            serial: vec![0x1a, 0x2b],
            not_before: 1_700_000_000,
            not_after: 2_000_000_000,
            subject: Subject::with_common_name("leaf.example.test"),
            sans: Sans {
                dns: vec!["leaf.example.test".into()],
                ip: vec!["192.0.2.9".parse().expect("ip")],
                ..Sans::default()
            },
            key_usage: vec![KeyUsage::DigitalSignature],
            ext_key_usage: vec![shared::pki::cert::ExtKeyUsage::ServerAuth],
            ..CertSpec::default()
        };
        let leaf = sign(&spec, &leaf_key.public_key_info(), &int, &int_key, 0).expect("leaf");
        (
            pem_encode("CERTIFICATE", &leaf),
            vec![
                pem_encode("CERTIFICATE", &int),
                pem_encode("CERTIFICATE", &root),
            ],
            leaf_key.to_pkcs8_pem().expect("pem").to_string(),
        )
    }

    #[test]
    fn inspect_reports_key_match_and_chain_validity() {
        let (cert, chain, key) = issued();
        let at = |now: i64, chain: &[String], key: &str| {
            inspect_issued(
                &json!({"certificatePem": cert, "chainPems": chain, "privateKeyPem": key, "now": now}),
            )
        };
        let good = at(1_800_000_000, &chain, &key).expect("inspect");
        assert!(good.key_matches && good.chain_valid && good.chain_error.is_none());
        let view = serde_json::to_value(&good).expect("json");
        assert_eq!(view["certificate"]["commonName"], "leaf.example.test");
        assert_eq!(view["certificate"]["serialNumber"], "1a:2b");
        assert_eq!(view["certificate"]["issuer"], "CN=Int");
        assert_eq!(view["certificate"]["ipAddresses"], json!(["192.0.2.9"]));
        assert_eq!(view["certificate"]["keyType"], "ec");
        assert_eq!(view["certificate"]["keyBits"], 384);
        assert_eq!(view["certificate"]["keyUsage"], json!(["DigitalSignature"]));
        assert_eq!(view["certificate"]["extKeyUsage"], json!(["ServerAuth"]));
        assert_eq!(view["certificate"]["notAfter"], 2_000_000_000);
        assert!(view.get("chainError").is_none());

        let expired = at(2_100_000_000, &chain, &key).expect("inspect");
        assert!(!expired.chain_valid);
        assert!(
            expired
                .chain_error
                .as_deref()
                .unwrap_or("")
                .contains("not valid at")
        );
        let rootless = at(1_800_000_000, &chain[..1], &key).expect("inspect");
        assert!(
            rootless.chain_valid,
            "the intermediate is the anchor when no root is given"
        );
        let skipped = at(1_800_000_000, &chain[1..], &key).expect("inspect");
        assert!(!skipped.chain_valid);
        let none = at(1_800_000_000, &[], &key).expect("inspect");
        assert_eq!(
            none.chain_error.as_deref(),
            Some("no ca certificate given in chainPems")
        );
        let other = PrivateKey::generate(KeyType::Ec, 384).expect("key");
        let other = other.to_pkcs8_pem().expect("pem");
        assert!(
            !at(1_800_000_000, &chain, &other)
                .expect("inspect")
                .key_matches
        );
        // The chain given as one bundle string works too.
        let bundle = [chain.concat()];
        assert!(
            at(1_800_000_000, &bundle, &key)
                .expect("inspect")
                .chain_valid
        );

        let e = |v: Value| {
            inspect_issued(&v)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            e(json!({"chainPems": chain, "privateKeyPem": key, "now": 1}))
                .starts_with("certificatePem: is required")
        );
        assert!(e(json!({"certificatePem": "junk", "chainPems": chain, "privateKeyPem": key, "now": 1})).starts_with("certificatePem: "));
        assert!(e(json!({"certificatePem": cert, "chainPems": ["junk"], "privateKeyPem": key, "now": 1})).starts_with("chainPems[0]: "));
        assert!(e(json!({"certificatePem": cert, "chainPems": chain, "privateKeyPem": "junk", "now": 1})).starts_with("privateKeyPem: "));
        assert!(
            e(json!({"certificatePem": cert, "chainPems": chain, "privateKeyPem": key}))
                .starts_with("now: is required")
        );
    }

    #[test]
    fn bundles_open_again_and_errors_name_the_field() {
        let (cert, chain, key) = issued();
        let base = json!({"certificatePem": cert, "chainPems": chain, "privateKeyPem": key});
        let with = |extra: Value| {
            let mut v = base.clone();
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            v
        };
        for legacy in [false, true] {
            let p12 = pkcs12(&with(
                json!({"password": "pw", "legacy": legacy, "friendlyName": "srv"}),
            ))
            .expect("p12");
            let back = shared::pki::pkcs12::read_pkcs12(&p12, "pw").expect("read");
            assert_eq!(back.certificates.len(), 3);
            assert_eq!(back.friendly_name.as_deref(), Some("srv"));
        }
        let err =
            |r: Result<Vec<u8>, PluginError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err(pkcs12(&with(json!({"password": ""})))).starts_with("password: must not be empty")
        );
        assert!(err(pkcs12(&base)).starts_with("password: is required"));
        assert!(
            err(pkcs12(&with(json!({"password": "pw", "legacy": "yes"})))).starts_with("legacy: ")
        );
        let other = PrivateKey::generate(KeyType::Ec, 384)
            .expect("key")
            .to_pkcs8_pem()
            .expect("pem");
        assert!(
            err(pkcs12(&with(
                json!({"password": "pw", "privateKeyPem": other.as_str()})
            )))
            .starts_with("privateKeyPem: does not match")
        );

        let enc =
            encrypt_key(&with(json!({"passphrase": "pp", "kdf": "scrypt"}))).expect("encrypt");
        let back = shared::pki::pkcs8enc::decrypt_private_key_pem(&enc, "pp").expect("decrypt");
        assert_eq!(back.key_type(), KeyType::Ec);
        let e = encrypt_key(&with(json!({"passphrase": "pp", "kdf": "md5"})))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.unwrap_or_default()
                .starts_with("kdf: \"md5\" is not one of")
        );
        let e = encrypt_key(&with(json!({"passphrase": ""})))
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("passphrase: must not be empty"));

        let yaml =
            secret_yaml(&with(json!({"name": "leaf-tls", "namespace": "apps"}))).expect("yaml");
        assert!(yaml.contains("type: kubernetes.io/tls\n") && yaml.contains("  ca.crt: "));
        let e = secret_yaml(&with(json!({"name": "Leaf", "namespace": "apps"})))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.unwrap_or_default()
                .starts_with("name: \"Leaf\" is not a lowercase rfc 1123 subdomain")
        );
        let e = secret_yaml(&with(json!({"name": "leaf"})))
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("namespace: is required"));

        assert_eq!(
            parse_certificate_pem(&cert).expect("parse").common_name,
            "leaf.example.test"
        );
        assert!(parse_certificate_pem("nothing").is_err());
    }
}
