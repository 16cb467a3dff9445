//! CSRs for RSA keys that live in WebCrypto. The CertificationRequestInfo is encoded here
//! (the subject as `shared` encodes it, the SANs in an extensionRequest, as
//! `shared::pki::csr::build_csr` does) and WebCrypto signs it with the `CryptoKey` itself:
//! an RSA private-key operation in WebAssembly costs tens of milliseconds, in WebCrypto
//! about one, so a key + CSR costs little more than WebCrypto's key generation.

use shared::pki::cert::{Sans, Subject};

use crate::fields::PluginError;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// extensionRequest (PKCS#9), 1.2.840.113549.1.9.14.
const OID_EXTENSION_REQUEST: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
];
/// subjectAltName, 2.5.29.17.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
/// sha256WithRSAEncryption, 1.2.840.113549.1.1.11, with NULL parameters.
const ALG_SHA256_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// GeneralNames in `shared`'s order: DNS names, emails, IP addresses, URIs.
fn general_names(sans: &Sans) -> Result<Vec<u8>, PluginError> {
    let ia5 = |field: &str, tag: u8, s: &str| {
        if s.is_ascii() {
            Ok(tlv(tag, s.as_bytes()))
        } else {
            Err(PluginError::new(field, format!("{s:?} is not ascii")))
        }
    };
    let mut names = Vec::new();
    for d in &sans.dns {
        names.extend(ia5("dnsNames", 0x82, d)?);
    }
    for e in &sans.email {
        names.extend(ia5("emails", 0x81, e)?);
    }
    for ip in &sans.ip {
        let bytes = match ip {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        names.extend(tlv(0x87, &bytes));
    }
    for u in &sans.uri {
        names.extend(ia5("uris", 0x86, u)?);
    }
    Ok(tlv(SEQUENCE, &names))
}

/// The CertificationRequestInfo (version 0, subject, `spki`, attributes) to sign.
pub fn request_info(subject: &Subject, sans: &Sans, spki: &[u8]) -> Result<Vec<u8>, PluginError> {
    let name = subject
        .to_der()
        .map_err(|e| PluginError::from_pki("commonName", e))?;
    let attributes = if sans.is_empty() {
        Vec::new()
    } else {
        let extension = tlv(
            SEQUENCE,
            &[OID_SUBJECT_ALT_NAME, &tlv(0x04, &general_names(sans)?)].concat(),
        );
        let extensions = tlv(SEQUENCE, &extension);
        tlv(
            SEQUENCE,
            &[OID_EXTENSION_REQUEST, &tlv(SET, &extensions)].concat(),
        )
    };
    let version = [0x02, 0x01, 0x00];
    Ok(tlv(
        SEQUENCE,
        &[&version[..], &name, spki, &tlv(0xa0, &attributes)].concat(),
    ))
}

/// The CSR: `info`, sha256WithRSAEncryption and the PKCS#1 v1.5 `signature` over `info`.
pub fn assemble(info: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(signature);
    tlv(
        SEQUENCE,
        &[info, ALG_SHA256_WITH_RSA, &tlv(0x03, &bits)].concat(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::pki::csr::parse_csr;
    use shared::pki::key::{KeyType, PrivateKey};

    /// Our encoding, signed the way WebCrypto signs (PKCS#1 v1.5, SHA-256), reads back
    /// through `shared`'s CSR parser, which checks the signature.
    #[test]
    fn request_info_signed_elsewhere_is_a_valid_csr() {
        let key = PrivateKey::generate(KeyType::Rsa, 2048).expect("key");
        for (subject, sans) in [
            (
                Subject {
                    common_name: "rsa.example.test".into(),
                    organization: vec!["Example".into()],
                    ..Subject::default()
                },
                Sans {
                    dns: vec!["rsa.example.test".into(), "*.rsa.example.test".into()],
                    email: vec!["ops@example.test".into()],
                    ip: vec![
                        "192.0.2.1".parse().expect("ip"),
                        "2001:db8::2".parse().expect("ip"),
                    ],
                    uri: vec!["spiffe://example.test/rsa".into()],
                },
            ),
            (
                Subject::with_common_name("no-sans.example.test"),
                Sans::default(),
            ),
        ] {
            let info = request_info(&subject, &sans, &key.public_key_der()).expect("info");
            let signature = key.sign(&info, 256).expect("sign");
            let der = assemble(&info, &signature);
            let parsed = parse_csr(&der).expect("a valid csr");
            assert_eq!(parsed.subject, subject);
            assert_eq!(parsed.sans, sans);
            assert_eq!(parsed.public_key, key.public_key_info());
            assert_eq!(parsed.signature_algorithm, "SHA256-RSA");

            let mut tampered = der.clone();
            let at = tampered.len() - 3;
            tampered[at] ^= 1;
            assert!(parse_csr(&tampered).is_err());
        }
        // The same names as shared's own builder writes.
        let subject = Subject::with_common_name("same.example.test");
        let sans = Sans {
            dns: vec!["same.example.test".into()],
            ..Sans::default()
        };
        let ours = request_info(&subject, &sans, &key.public_key_der()).expect("info");
        let theirs = shared::pki::csr::build_csr_der(
            &key,
            &subject,
            &sans,
            &shared::pki::csr::CsrOptions::default(),
        )
        .expect("csr");
        assert!(
            theirs.windows(ours.len()).any(|w| w == ours.as_slice()),
            "shared's csr holds the same request info"
        );
    }

    #[test]
    fn long_lengths_are_encoded_in_long_form() {
        assert_eq!(tlv(0x04, &[7; 3]), vec![0x04, 3, 7, 7, 7]);
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }
}
