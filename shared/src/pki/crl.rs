//! Certificate revocation lists: building a CRL for an issuer ([`build_crl`]), reading one
//! back ([`parse_crl`]) and checking its signature ([`verify_crl`]).

use serde::{Deserialize, Serialize};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::cert::{self, IssuerParts, KeyUsage};
use super::der;
use super::error::PkiError;
use super::key::PrivateKey;
use super::verify;

/// Builds a CRL signed by the issuer (certificate DER and its key) listing `revoked`
/// as (serial bytes, revocation unix time), with thisUpdate / nextUpdate (unix seconds)
/// and the CRL number. The issuer name is copied from the issuer certificate; the
/// authority key identifier is its subject key identifier. Returns DER.
pub fn build_crl(
    issuer_cert_der: &[u8],
    issuer_key: &PrivateKey,
    revoked: &[(Vec<u8>, i64)],
    this_update: i64,
    next_update: i64,
    crl_number: u64,
) -> Result<Vec<u8>, PkiError> {
    let issuer = IssuerParts::from_cert(issuer_cert_der, issuer_key)?;
    if let Some(usages) = &issuer.key_usage
        && !usages.contains(&KeyUsage::CrlSign)
    {
        return Err(PkiError::InvalidCertificate(
            "issuer certificate's key usage does not include CRLSign".into(),
        ));
    }
    if next_update <= this_update {
        return Err(PkiError::InvalidField {
            field: "next_update",
            reason: "must be after this_update".into(),
        });
    }
    let revoked_certs = revoked
        .iter()
        .map(|(serial, at)| {
            let start = serial.iter().take_while(|b| **b == 0).count();
            let magnitude = serial.get(start..).unwrap_or(&[]);
            if magnitude.is_empty() || magnitude.len() > 20 {
                return Err(PkiError::InvalidField {
                    field: "serial_number",
                    reason: format!(
                        "revoked serial {:?} is not 1 to 20 octets",
                        cert::format_serial(serial)
                    ),
                });
            }
            Ok(rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(magnitude.to_vec()),
                revocation_time: cert::unix_time("revocation_time", *at)?,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let params = rcgen::CertificateRevocationListParams {
        this_update: cert::unix_time("this_update", this_update)?,
        next_update: cert::unix_time("next_update", next_update)?,
        crl_number: rcgen::SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::PreSpecified(issuer.key_id.clone()),
    };
    let mut issuer_params = rcgen::CertificateParams::default();
    issuer_params.distinguished_name = cert::placeholder_dn(false);
    let rcgen_issuer = rcgen::Issuer::new(issuer_params, cert::Placeholder);
    let draft = params.signed_by(&rcgen_issuer).map_err(cert::rcgen_error)?;

    let signer = issuer_key.signer(0, false)?;
    let alg = signer.algorithm_identifier_der()?;
    // TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, revoked, exts.
    cert::resign(
        draft.der(),
        &[(1, &alg), (2, &issuer.name_der)],
        &signer,
        &alg,
    )
}

/// One revoked certificate in a CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedEntry {
    /// Serial in Vault's format ("1a:2b:...").
    pub serial: String,
    /// Serial, big-endian magnitude.
    pub serial_bytes: Vec<u8>,
    /// When it was revoked, unix seconds.
    pub revocation_time: i64,
}

/// What a CRL says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlInfo {
    /// Issuer as RFC 4514 text.
    pub issuer_dn: String,
    /// Issuer Name DER.
    pub issuer_der: Vec<u8>,
    /// thisUpdate, unix seconds.
    pub this_update: i64,
    /// nextUpdate, unix seconds.
    pub next_update: Option<i64>,
    /// The CRL number extension, if present and at most 64 bits.
    pub crl_number: Option<u64>,
    /// Authority key identifier, colon hex ("" if absent).
    pub authority_key_id: String,
    /// Signature algorithm, Go's name.
    pub signature_algorithm: String,
    /// The revoked certificates.
    pub revoked: Vec<RevokedEntry>,
}

impl CrlInfo {
    /// Whether the serial (bytes, leading zeros ignored) is listed.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        let start = serial.iter().take_while(|b| **b == 0).count();
        let serial = serial.get(start..).unwrap_or(&[]);
        self.revoked.iter().any(|r| r.serial_bytes == serial)
    }
}

fn parse_der(der_bytes: &[u8]) -> Result<CertificateRevocationList<'_>, PkiError> {
    let (rest, crl) = CertificateRevocationList::from_der(der_bytes)
        .map_err(|e| PkiError::InvalidCrl(e.to_string().to_lowercase()))?;
    if !rest.is_empty() {
        return Err(PkiError::InvalidCrl("trailing data after the crl".into()));
    }
    Ok(crl)
}

/// Reads a DER CRL. (Does not check its signature: see [`verify_crl`].)
pub fn parse_crl(der_bytes: &[u8]) -> Result<CrlInfo, PkiError> {
    let crl = parse_der(der_bytes)?;
    let der::Signed { alg, .. } =
        der::split_signed(der_bytes).map_err(|e| PkiError::InvalidCrl(e.to_string()))?;
    let issuer_der = crl.issuer().as_raw().to_vec();
    let issuer_dn = cert::name_to_string(&issuer_der)
        .map_err(|e| PkiError::InvalidCrl(format!("issuer: {e}")))?;
    let mut crl_number = None;
    let mut authority_key_id = String::new();
    for ext in crl.extensions() {
        match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                if let Some(id) = &aki.key_identifier {
                    authority_key_id = cert::hex_colon(id.0);
                }
            }
            _ if ext.oid.to_id_string() == "2.5.29.20" => {
                crl_number = der::expect(ext.value, der::INTEGER)
                    .ok()
                    .and_then(|(_, int)| {
                        let start = int.iter().take_while(|b| **b == 0).count();
                        let magnitude = int.get(start..).unwrap_or(&[]);
                        (magnitude.len() <= 8 && int.first().is_none_or(|b| *b & 0x80 == 0)).then(
                            || {
                                magnitude
                                    .iter()
                                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
                            },
                        )
                    });
            }
            _ => {}
        }
    }
    let revoked = crl
        .iter_revoked_certificates()
        .map(|r| {
            let raw = r.raw_serial();
            let start = raw.iter().take_while(|b| **b == 0).count();
            let serial_bytes = raw.get(start..).unwrap_or(&[]).to_vec();
            RevokedEntry {
                serial: cert::format_serial(&serial_bytes),
                serial_bytes,
                revocation_time: r.revocation_date.timestamp(),
            }
        })
        .collect();
    Ok(CrlInfo {
        issuer_dn,
        issuer_der,
        this_update: crl.last_update().timestamp(),
        next_update: crl.next_update().map(|t| t.timestamp()),
        crl_number,
        authority_key_id,
        signature_algorithm: super::alg::algorithm_name_of_der(alg),
        revoked,
    })
}

/// Checks that the CRL names the issuer certificate's subject and that its signature
/// verifies with the issuer's key.
pub fn verify_crl(crl_der: &[u8], issuer_cert_der: &[u8]) -> Result<(), PkiError> {
    let crl = parse_der(crl_der)?;
    let issuer = cert::parse_certificate(issuer_cert_der)?;
    if !verify::names_match(crl.issuer().as_raw(), &issuer.subject_der) {
        return Err(PkiError::InvalidCrl(format!(
            "crl issuer does not match certificate {:?}",
            issuer.subject_dn
        )));
    }
    let der::Signed {
        tbs,
        alg,
        signature,
    } = der::split_signed(crl_der).map_err(|e| PkiError::InvalidCrl(e.to_string()))?;
    verify::verify_signature_with_alg_der(tbs, alg, signature, &issuer.spki_der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::cert::tests::ca_spec;
    use crate::pki::cert::{CertSpec, self_sign};
    use crate::pki::key::KeyType;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn crls_round_trip_and_verify() {
        for kt in [KeyType::Ec, KeyType::Ed25519] {
            let key = PrivateKey::generate(kt, 0).expect("key");
            let ca = self_sign(&ca_spec("CRL CA", 1), &key, 0).expect("ca");
            let revoked = vec![
                (vec![0x01, 0x02], 1_700_000_100),
                (vec![0x00, 0xff, 0x00], 1_700_000_200),
            ];
            let crl = build_crl(&ca, &key, &revoked, 1_700_000_300, 1_700_086_700, 7).expect("crl");
            let info = parse_crl(&crl).expect("parse");
            assert_eq!(info.issuer_dn, "CN=CRL CA");
            assert_eq!(
                (info.this_update, info.next_update),
                (1_700_000_300, Some(1_700_086_700))
            );
            assert_eq!(info.crl_number, Some(7));
            assert_eq!(info.revoked.len(), 2);
            assert_eq!(
                info.revoked.first().map(|r| r.serial.as_str()),
                Some("01:02")
            );
            assert_eq!(
                info.revoked
                    .get(1)
                    .map(|r| (r.serial.as_str(), r.revocation_time)),
                Some(("ff:00", 1_700_000_200))
            );
            assert!(info.is_revoked(&[0, 0xff, 0]) && !info.is_revoked(&[3]));
            let ca_info = cert::parse_certificate(&ca).expect("ca info");
            assert_eq!(info.authority_key_id, ca_info.subject_key_id);
            verify_crl(&crl, &ca).expect("verifies");

            let empty =
                build_crl(&ca, &key, &[], 1_700_000_300, 1_700_086_700, 8).expect("empty crl");
            assert!(parse_crl(&empty).expect("parse").revoked.is_empty());

            let mut tampered = crl.clone();
            if let Some(last) = tampered.last_mut() {
                *last ^= 1;
            }
            assert!(verify_crl(&tampered, &ca).is_err());
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn crl_building_checks_its_inputs() {
        let key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let ca = self_sign(&ca_spec("CA", 1), &key, 0).expect("ca");
        assert!(build_crl(&ca, &key, &[], 10, 10, 1).is_err());
        assert!(build_crl(&ca, &key, &[(vec![], 5)], 10, 20, 1).is_err());
        let other = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        assert_eq!(
            build_crl(&ca, &other, &[], 10, 20, 1),
            Err(PkiError::IssuerKeyMismatch)
        );
        let no_crl_sign = CertSpec {
            key_usage: vec![KeyUsage::CertSign],
            ..ca_spec("CA2", 2)
        };
        let ca2 = self_sign(&no_crl_sign, &key, 0).expect("ca2");
        assert!(build_crl(&ca2, &key, &[], 10, 20, 1).is_err());
        assert!(parse_crl(b"junk").is_err());
        let other_ca = self_sign(&ca_spec("Other", 3), &other, 0).expect("other");
        let crl = build_crl(&ca, &key, &[], 10, 20, 1).expect("crl");
        assert!(verify_crl(&crl, &other_ca).is_err());
    }
}

/// CRLs checked by openssl.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::*;
    use crate::pki::cert::{CertSpec, Sans, Subject, self_sign, sign};
    use crate::pki::key::KeyType;
    use crate::pki::pem::pem_encode;
    use crate::pki::testutil::{Scratch, openssl, openssl_outcome};

    #[test]
    fn openssl_reads_our_crls_and_refuses_revoked_certificates() {
        let scratch = Scratch::new("crl");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        for kt in [KeyType::Rsa, KeyType::Ec] {
            let key = PrivateKey::generate(kt, 0).expect("key");
            let mut spec = crate::pki::cert::tests::ca_spec("CRL Root", 1);
            spec.not_before = now - 3600;
            spec.not_after = now + 86_400;
            let ca = self_sign(&spec, &key, 0).expect("ca");
            let leaf_key = PrivateKey::generate(KeyType::Ec, 256).expect("leaf key");
            let leaf_spec = CertSpec {
                serial: vec![0x3a, 0x4b, 0x5c],
                not_before: now - 60,
                not_after: now + 3600,
                subject: Subject::with_common_name("revoked.example.com"),
                sans: Sans {
                    dns: vec!["revoked.example.com".into()],
                    ..Sans::default()
                },
                ..CertSpec::default()
            };
            let leaf = sign(&leaf_spec, &leaf_key.public_key_info(), &ca, &key, 0).expect("leaf");
            let revoked = vec![(vec![0x3a, 0x4b, 0x5c], now - 30), (vec![0x99], now - 20)];
            let crl = build_crl(&ca, &key, &revoked, now - 10, now + 3600, 42).expect("crl");

            let ca_path = scratch.write(&format!("{kt}-ca.pem"), pem_encode("CERTIFICATE", &ca));
            let crl_path = scratch.write(&format!("{kt}-crl.pem"), pem_encode("X509 CRL", &crl));
            let leaf_path =
                scratch.write(&format!("{kt}-leaf.pem"), pem_encode("CERTIFICATE", &leaf));
            let text = openssl(&[
                "crl", "-in", &crl_path, "-noout", "-text", "-CAfile", &ca_path,
            ]);
            for want in [
                "verify OK",
                "Issuer: CN = CRL Root",
                "Serial Number: 3A4B5C",
                "Serial Number: 99",
                "X509v3 CRL Number",
                "42",
                "X509v3 Authority Key Identifier",
            ] {
                assert!(text.contains(want), "{kt}: missing {want:?} in\n{text}");
            }
            // Without the CRL the leaf verifies; with it, openssl reports it revoked.
            let ok = openssl(&["verify", "-CAfile", &ca_path, &leaf_path]);
            assert!(ok.contains(": OK"), "{ok}");
            let (ok, text) = openssl_outcome(&[
                "verify",
                "-crl_check",
                "-CAfile",
                &ca_path,
                "-CRLfile",
                &crl_path,
                &leaf_path,
            ]);
            assert!(!ok && text.contains("certificate revoked"), "{kt}: {text}");
            assert!(
                parse_crl(&crl)
                    .expect("parse")
                    .is_revoked(&[0x3a, 0x4b, 0x5c])
            );
        }
    }
}
