//! The Trust page's core: what the server tells the public about each published CA
//! (`GET /api/trust`, wire types here), the chain built from a mount's issuers with the
//! root included (Vault's `ca_chain` leaves it out, vault#2075), certificate facts and
//! fingerprints as `openssl x509 -fingerprint` prints them, the download files and their
//! names, and the visitor's platform read from the user agent. `install` holds the
//! install steps per platform. No I/O: the server fetches, this decides.

pub mod install;

use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use crate::pki::cert::{CertInfo, parse_certificate};
use crate::pki::error::PkiError;
use crate::pki::pem::pem_encode;
use crate::pki::verify::verify_issued_by;

/// `GET /api/trust`: every issuer of every published PKI mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustIndex {
    /// The mounts the server publishes (configured, or found), in order.
    #[serde(default)]
    pub mounts: Vec<String>,
    /// One entry per issuer, mount by mount, a mount's default issuer first; a
    /// certificate that is an issuer of several mounts only under the first.
    #[serde(default)]
    pub issuers: Vec<TrustIssuer>,
    /// What could not be read (a configured mount that is missing, an upstream refusal),
    /// in words; the page shows them.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Server time of the answer, unix seconds (validity is shown against it).
    #[serde(default)]
    pub now: i64,
}

/// One issuer of a published mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustIssuer {
    /// The mount path, without slashes at either end (`pki_int`).
    pub mount: String,
    /// Vault's issuer ID (a UUID).
    pub issuer_id: String,
    /// The issuer's name in Vault ("" when unnamed).
    #[serde(default)]
    pub issuer_name: String,
    /// The mount's default issuer.
    #[serde(default)]
    pub is_default: bool,
    /// The chain from this issuer's certificate to its root: index 0 is the issuer
    /// itself, the last is the root when `complete`.
    pub chain: Vec<CaCert>,
    /// The chain ends in a self-signed root whose signature verifies, and each
    /// certificate is signed by the next.
    pub complete: bool,
    /// Why the chain is not complete, in words with what to do.
    #[serde(default)]
    pub problem: Option<String>,
    /// The files offered for this issuer.
    #[serde(default)]
    pub downloads: Vec<Download>,
    /// Path of the QR code (SVG) of the issuer certificate's SHA-256 fingerprint.
    #[serde(default)]
    pub qr_href: String,
}

impl TrustIssuer {
    /// The root of the chain, when the chain is complete.
    pub fn root(&self) -> Option<&CaCert> {
        self.complete.then(|| self.chain.last()).flatten()
    }

    /// The download of `kind`, if offered.
    pub fn download(&self, kind: FileKind) -> Option<&Download> {
        self.downloads.iter().find(|d| d.kind == kind)
    }
}

/// What the page shows about one CA certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCert {
    /// Subject, RFC 4514 text.
    pub subject: String,
    /// Issuer, RFC 4514 text.
    pub issuer: String,
    /// Subject common name ("" if none).
    #[serde(default)]
    pub common_name: String,
    /// Serial, colon hex.
    pub serial: String,
    /// Validity, unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Key type for people: "EC P-384", "RSA 2048", "Ed25519".
    pub key_type: String,
    /// SHA-256 of the DER, uppercase colon hex, as `openssl x509 -fingerprint -sha256`.
    pub sha256: String,
    /// SHA-1 of the DER, uppercase colon hex, as `openssl x509 -fingerprint -sha1`.
    pub sha1: String,
    /// Self-signed (a root).
    #[serde(default)]
    pub self_signed: bool,
    /// The certificate, PEM.
    pub pem: String,
}

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    pub kind: FileKind,
    /// Absolute path on the console (`/ca/pki_int/<issuer>/chain.pem`).
    pub href: String,
    /// The name the file is saved under (`Content-Disposition`).
    pub file_name: String,
    /// Its `Content-Type`.
    pub content_type: String,
}

/// The files of one issuer, by the last segment of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// The issuer and every CA above it, leaf side first, root included (PEM).
    ChainPem,
    /// The root alone (PEM).
    RootPem,
    /// The root alone (DER, `.crt`).
    RootDer,
    /// The issuer alone, when it is an intermediate (PEM).
    IntermediatePem,
    /// The chain as a PKCS#7 certs-only bundle (DER).
    ChainP7b,
    /// The same bundle, PEM (`-----BEGIN PKCS7-----`).
    ChainP7bPem,
    /// The QR code of the issuer's SHA-256 fingerprint (SVG).
    FingerprintQr,
}

impl FileKind {
    pub const ALL: [FileKind; 7] = [
        FileKind::ChainPem,
        FileKind::RootPem,
        FileKind::RootDer,
        FileKind::IntermediatePem,
        FileKind::ChainP7b,
        FileKind::ChainP7bPem,
        FileKind::FingerprintQr,
    ];

    /// The path segment that names the file.
    pub fn segment(self) -> &'static str {
        match self {
            FileKind::ChainPem => "chain.pem",
            FileKind::RootPem => "root.pem",
            FileKind::RootDer => "root.crt",
            FileKind::IntermediatePem => "intermediate.pem",
            FileKind::ChainP7b => "chain.p7b",
            FileKind::ChainP7bPem => "chain-pem.p7b",
            FileKind::FingerprintQr => "fingerprint-qr.svg",
        }
    }

    pub fn from_segment(segment: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.segment() == segment)
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::ChainPem => "application/pem-certificate-chain",
            FileKind::RootPem | FileKind::IntermediatePem => "application/x-pem-file",
            FileKind::RootDer => "application/pkix-cert",
            FileKind::ChainP7b | FileKind::ChainP7bPem => "application/x-pkcs7-certificates",
            FileKind::FingerprintQr => "image/svg+xml",
        }
    }

    /// What the file is, for a link's text.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::ChainPem => "Full chain (PEM, root included)",
            FileKind::RootPem => "Root CA (PEM)",
            FileKind::RootDer => "Root CA (DER, .crt)",
            FileKind::IntermediatePem => "Intermediate CA (PEM)",
            FileKind::ChainP7b => "Chain as PKCS#7 (.p7b, DER)",
            FileKind::ChainP7bPem => "Chain as PKCS#7 (.p7b, PEM)",
            FileKind::FingerprintQr => "Fingerprint QR code (SVG)",
        }
    }

    /// The file name: the subject's common name as a slug, then what the file is
    /// (`testlab-local-root-ca.root.pem`). `name` is the slug of the certificate the file is
    /// about (the root for root files, the issuer otherwise).
    pub fn file_name(self, name: &str) -> String {
        let suffix = match self {
            FileKind::ChainPem => "chain.pem",
            FileKind::RootPem => "root.pem",
            FileKind::RootDer => "root.crt",
            FileKind::IntermediatePem => "intermediate.pem",
            FileKind::ChainP7b => "chain.p7b",
            FileKind::ChainP7bPem => "chain.pem.p7b",
            FileKind::FingerprintQr => "sha256-qr.svg",
        };
        format!("{name}.{suffix}")
    }
}

/// Largest number of certificates followed from an issuer to its root.
pub const MAX_CHAIN: usize = 8;

/// A certificate's SHA-256 and SHA-1 fingerprints, uppercase colon hex.
pub fn fingerprints(der: &[u8]) -> (String, String) {
    (
        colon_hex(&Sha256::digest(der)),
        colon_hex(&Sha1::digest(der)),
    )
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The key type for people.
pub fn key_type_text(info: &CertInfo) -> String {
    match info.key_type.as_str() {
        "ec" => match info.key_bits {
            256 | 384 | 521 => format!("EC P-{}", info.key_bits),
            bits => format!("EC {bits} bits"),
        },
        "rsa" => format!("RSA {}", info.key_bits),
        "ed25519" => "Ed25519".into(),
        other => format!("{other} ({} bits)", info.key_bits),
    }
}

/// What the page shows about the DER certificate `der`.
pub fn describe(der: &[u8]) -> Result<CaCert, PkiError> {
    let info = parse_certificate(der)?;
    let (sha256, sha1) = fingerprints(der);
    Ok(CaCert {
        key_type: key_type_text(&info),
        subject: info.subject_dn.clone(),
        issuer: info.issuer_dn.clone(),
        serial: info.serial.clone(),
        not_before: info.not_before,
        not_after: info.not_after,
        self_signed: info.self_issued && verify_issued_by(der, der).is_ok(),
        common_name: info.common_name,
        sha256,
        sha1,
        pem: pem_encode("CERTIFICATE", der),
    })
}

/// A chain from one issuer certificate up: the DER certificates, leaf side first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltChain {
    pub certificates: Vec<Vec<u8>>,
    /// Ends in a self-signed root that verifies.
    pub complete: bool,
    /// Why not, in words.
    pub problem: Option<String>,
}

/// Builds the chain of `start` from the certificates in `pool` (every issuer of the
/// published mounts and the `ca_chain` Vault keeps for them): each step takes a pool
/// certificate whose subject is the current certificate's issuer name and whose key
/// verifies its signature (`verify_issued_by`), preferring one whose subject key ID is
/// the current authority key ID; it ends at a self-signed certificate whose own
/// signature verifies (complete), or where no issuer is found (incomplete).
pub fn build_chain(start: &[u8], pool: &[Vec<u8>]) -> BuiltChain {
    let mut certificates = vec![start.to_vec()];
    while let Some(current) = certificates.last() {
        let info = match parse_certificate(current) {
            Ok(i) => i,
            Err(e) => {
                return BuiltChain {
                    complete: false,
                    problem: Some(format!("a certificate of the chain does not parse: {e}")),
                    certificates,
                };
            }
        };
        if info.self_issued && verify_issued_by(current, current).is_ok() {
            return BuiltChain {
                certificates,
                complete: true,
                problem: None,
            };
        }
        if certificates.len() >= MAX_CHAIN {
            return BuiltChain {
                certificates,
                complete: false,
                problem: Some(format!(
                    "the chain is longer than {MAX_CHAIN} certificates; it is shown as far as it goes"
                )),
            };
        }
        let mut candidates: Vec<&Vec<u8>> = pool
            .iter()
            .filter(|c| !certificates.contains(c))
            .filter(|c| verify_issued_by(current, c).is_ok())
            .collect();
        // The one the authority key ID names first; then a stable order.
        candidates.sort_by_key(|c| {
            let ski = parse_certificate(c)
                .map(|p| p.subject_key_id)
                .unwrap_or_default();
            (
                info.authority_key_id.is_empty() || ski != info.authority_key_id,
                c.to_vec(),
            )
        });
        match candidates.first() {
            Some(parent) => certificates.push((*parent).clone()),
            None => {
                let problem = if info.self_issued {
                    format!(
                        "the certificate {:?} names itself as its issuer but its signature does not verify with its own key",
                        info.subject_dn
                    )
                } else {
                    format!(
                        "the issuer of {:?}, {:?}, is not in any published mount: the chain stops there and its root is missing. Import that CA's certificate into a published mount (or publish the mount that holds it) so the chain can be completed",
                        info.subject_dn, info.issuer_dn
                    )
                };
                return BuiltChain {
                    certificates,
                    complete: false,
                    problem: Some(problem),
                };
            }
        }
    }
    BuiltChain {
        certificates,
        complete: false,
        problem: Some("the chain is empty".into()),
    }
}

/// A file-name-safe slug of `text`: lowercase ASCII letters and digits, runs of anything
/// else as one `-`, at most 60 characters; `fallback` when nothing is left.
pub fn slug(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// The downloads of an issuer whose chain is `chain` (its `CaCert`s, issuer first), under
/// `base` (`/ca/<mount>/<issuer>`). Root files only when the chain is complete;
/// the intermediate file only when the issuer is no root.
pub fn downloads(base: &str, chain: &[CaCert], complete: bool) -> Vec<Download> {
    let Some(issuer) = chain.first() else {
        return Vec::new();
    };
    let issuer_slug = slug(&issuer.common_name, "ca");
    let root_slug = chain
        .last()
        .map(|r| slug(&r.common_name, "root-ca"))
        .unwrap_or_default();
    FileKind::ALL
        .into_iter()
        .filter(|k| match k {
            FileKind::RootPem | FileKind::RootDer => complete,
            FileKind::IntermediatePem => !issuer.self_signed,
            _ => true,
        })
        .map(|kind| {
            let name = match kind {
                FileKind::RootPem | FileKind::RootDer => &root_slug,
                _ => &issuer_slug,
            };
            Download {
                kind,
                href: format!("{base}/{}", kind.segment()),
                file_name: kind.file_name(name),
                content_type: kind.content_type().to_string(),
            }
        })
        .collect()
}

/// How long until (or since) `not_after`, seen at `now` (unix seconds), for people:
/// "expires in 9 years, 364 days", "expires in 5 hours", "expired 3 days ago".
pub fn time_left(now: i64, not_before: i64, not_after: i64) -> String {
    if now < not_before {
        return format!("not valid yet: starts in {}", span(not_before - now));
    }
    if now > not_after {
        return format!("expired {} ago", span(now - not_after));
    }
    format!("expires in {}", span(not_after - now))
}

fn span(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let days = secs / 86_400;
    if days >= 365 {
        let (years, rest) = (days / 365, days % 365);
        if rest == 0 {
            plural(years, "year")
        } else {
            format!("{}, {}", plural(years, "year"), plural(rest, "day"))
        }
    } else if days >= 1 {
        plural(days, "day")
    } else if secs >= 3600 {
        plural(secs / 3600, "hour")
    } else {
        plural((secs / 60).max(1), "minute")
    }
}

/// A unix time as `2036-12-01 12:00:00 UTC` (proleptic Gregorian, no clock needed).
pub fn utc_text(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Whether `text` may be a path segment of a download (a mount path segment or an issuer
/// reference): 1 to 128 of ASCII letters, digits, `-`, `_` and `.`, and not `.`/`..`.
pub fn is_safe_segment(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text != "."
        && text != ".."
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
