//! CSRs for keys that live in WebCrypto (RSA, ECDSA P-256 and P-384). The
//! CertificationRequestInfo is encoded here (the subject as `shared` encodes it, the SANs
//! in an extensionRequest, as `shared::pki::csr::build_csr` does) and WebCrypto signs it
//! with the `CryptoKey` itself: an RSA private-key operation in WebAssembly costs tens of
//! milliseconds, in WebCrypto about one, and BoringSSL's P-256 beats WebAssembly's too, so
//! a key + CSR costs little more than WebCrypto's key generation.

use shared::pki::cert::{Sans, Subject};
use shared::pki::der::{SEQUENCE, SET, bit_string, tlv, uint};
use shared::pki::key::KeyType;

use crate::ops::KeySpec;

use crate::fields::PluginError;

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
/// ecdsa-with-SHA256, 1.2.840.10045.4.3.2, no parameters.
const ALG_ECDSA_WITH_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// ecdsa-with-SHA384, 1.2.840.10045.4.3.3, no parameters.
const ALG_ECDSA_WITH_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];

/// A key WebCrypto can make and sign with, and how the CSR names its signature. The
/// hashes are those `shared` picks by default (SHA-256 for RSA and P-256, SHA-384 for
/// P-384), so a CSR looks the same whichever side made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256; the modulus length.
    Rsa(u32),
    /// ECDSA on P-256 with SHA-256.
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
}

impl WebAlgorithm {
    /// The WebCrypto algorithm for `key`, if there is one (Ed25519 stays in Rust: it is
    /// fast there and WebCrypto's Ed25519 is recent).
    pub fn for_key(key: KeySpec) -> Option<Self> {
        match (key.key_type, key.bits) {
            (KeyType::Rsa, bits) => Some(WebAlgorithm::Rsa(bits)),
            (KeyType::Ec, 256) => Some(WebAlgorithm::P256),
            (KeyType::Ec, 384) => Some(WebAlgorithm::P384),
            _ => None,
        }
    }

    /// WebCrypto's name of the curve, for ECDSA.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub fn named_curve(self) -> Option<&'static str> {
        match self {
            WebAlgorithm::Rsa(_) => None,
            WebAlgorithm::P256 => Some("P-256"),
            WebAlgorithm::P384 => Some("P-384"),
        }
    }

    /// WebCrypto's name of the signature hash.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub fn hash(self) -> &'static str {
        match self {
            WebAlgorithm::Rsa(_) | WebAlgorithm::P256 => "SHA-256",
            WebAlgorithm::P384 => "SHA-384",
        }
    }

    /// The signature's AlgorithmIdentifier DER.
    fn signature_algorithm(self) -> &'static [u8] {
        match self {
            WebAlgorithm::Rsa(_) => ALG_SHA256_WITH_RSA,
            WebAlgorithm::P256 => ALG_ECDSA_WITH_SHA256,
            WebAlgorithm::P384 => ALG_ECDSA_WITH_SHA384,
        }
    }

    /// WebCrypto's signature as X.509 carries it: PKCS#1 v1.5 bytes as they are; ECDSA's
    /// IEEE P1363 `r || s` as the DER `SEQUENCE { INTEGER r, INTEGER s }`.
    pub fn x509_signature(self, webcrypto: &[u8]) -> Result<Vec<u8>, PluginError> {
        let half = match self {
            WebAlgorithm::Rsa(_) => return Ok(webcrypto.to_vec()),
            WebAlgorithm::P256 => 32,
            WebAlgorithm::P384 => 48,
        };
        if webcrypto.len() != 2 * half {
            return Err(PluginError::new(
                "keyType",
                format!(
                    "webcrypto's ecdsa signature is {} bytes, expected {}",
                    webcrypto.len(),
                    2 * half
                ),
            ));
        }
        let (r, s) = webcrypto.split_at(half);
        Ok(tlv(SEQUENCE, &[uint(r), uint(s)].concat()))
    }
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

/// The CSR: `info`, `algorithm`'s identifier and WebCrypto's `signature` over `info`.
pub fn assemble(
    info: &[u8],
    algorithm: WebAlgorithm,
    signature: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let signature = algorithm.x509_signature(signature)?;
    Ok(tlv(
        SEQUENCE,
        &[
            info,
            algorithm.signature_algorithm(),
            &bit_string(&signature),
        ]
        .concat(),
    ))
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
            let der = assemble(&info, WebAlgorithm::Rsa(2048), &signature).expect("csr");
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

    /// A DER ECDSA signature as WebCrypto returns it: `r || s`, each `half` bytes.
    fn p1363(der: &[u8], half: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = &der[2..];
        for _ in 0..2 {
            assert_eq!(rest[0], 0x02, "an INTEGER");
            let len = rest[1] as usize;
            let digits = &rest[2..2 + len];
            let digits = digits.strip_prefix(&[0]).unwrap_or(digits);
            out.extend(std::iter::repeat_n(0, half - digits.len()));
            out.extend_from_slice(digits);
            rest = &rest[2 + len..];
        }
        out
    }

    /// ECDSA signatures made the way WebCrypto makes them (P1363) become DER that
    /// `shared`'s CSR parser accepts, with the curve's own hash.
    #[test]
    fn ecdsa_csrs_from_p1363_signatures_verify() {
        for (bits, algorithm, half, name) in [
            (256, WebAlgorithm::P256, 32, "ECDSA-SHA256"),
            (384, WebAlgorithm::P384, 48, "ECDSA-SHA384"),
        ] {
            let key = PrivateKey::generate(KeyType::Ec, bits).expect("key");
            let subject = Subject::with_common_name("ec.example.test");
            let sans = Sans {
                dns: vec!["ec.example.test".into()],
                ..Sans::default()
            };
            // Many signatures, so that r and s with a top bit set or a leading zero
            // byte both come up.
            for _ in 0..24 {
                let info = request_info(&subject, &sans, &key.public_key_der()).expect("info");
                let der_signature = key.sign(&info, 0).expect("sign");
                let raw = p1363(&der_signature, half);
                assert_eq!(raw.len(), 2 * half);
                assert_eq!(
                    algorithm.x509_signature(&raw).expect("der"),
                    der_signature,
                    "P1363 -> DER gives back the DER signature"
                );
                let csr = assemble(&info, algorithm, &raw).expect("csr");
                let parsed = parse_csr(&csr).expect("a valid csr");
                assert_eq!(parsed.signature_algorithm, name);
                assert_eq!(parsed.public_key, key.public_key_info());
            }
            let err = assemble(b"info", algorithm, &[1; 10]).expect_err("short signature");
            assert_eq!(err.field, "keyType");
            assert!(err.message.contains("10 bytes"), "{}", err.message);
        }
    }

    #[test]
    fn webcrypto_takes_the_keys_it_makes_well() {
        let spec = |key_type, bits| KeySpec { key_type, bits };
        assert_eq!(
            WebAlgorithm::for_key(spec(KeyType::Ec, 256)),
            Some(WebAlgorithm::P256)
        );
        assert_eq!(
            WebAlgorithm::for_key(spec(KeyType::Ec, 384)),
            Some(WebAlgorithm::P384)
        );
        assert_eq!(
            WebAlgorithm::for_key(spec(KeyType::Rsa, 4096)),
            Some(WebAlgorithm::Rsa(4096))
        );
        assert_eq!(WebAlgorithm::for_key(spec(KeyType::Ed25519, 0)), None);
        assert_eq!(WebAlgorithm::P384.hash(), "SHA-384");
        assert_eq!(WebAlgorithm::P256.named_curve(), Some("P-256"));
    }
}
