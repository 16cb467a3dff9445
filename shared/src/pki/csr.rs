//! Certificate signing requests: building one for a key ([`build_csr`]) and reading one
//! a client sent ([`parse_csr`]), which checks its self-signature and reports errors with
//! Vault's texts ("csr contains no data", "certificate request could not be parsed: ...",
//! "request signature invalid").

use serde::{Deserialize, Serialize};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::cert::{self, Sans, Subject};
use super::der;
use super::error::PkiError;
use super::key::{PrivateKey, PublicKeyInfo};
use super::pem::pem_encode;
use super::verify;

/// How to build a CSR beyond its names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsrOptions {
    /// Vault's `signature_bits` (0 = the key's default hash).
    pub signature_bits: u32,
    /// Sign with RSASSA-PSS (RSA keys; Vault's `use_pss`).
    pub use_pss: bool,
    /// Request basicConstraints cA=TRUE (Vault's `add_basic_constraints`).
    pub add_basic_constraints: bool,
}

/// Builds a CSR for `key` with `subject` and `sans`; returns DER.
pub fn build_csr_der(
    key: &PrivateKey,
    subject: &Subject,
    sans: &Sans,
    options: &CsrOptions,
) -> Result<Vec<u8>, PkiError> {
    let signer = key.signer(options.signature_bits, options.use_pss)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = cert::placeholder_dn(subject.is_empty());
    params.subject_alt_names = sans.to_rcgen()?;
    if options.add_basic_constraints {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let draft = params
        .serialize_request(&cert::Placeholder)
        .map_err(cert::rcgen_error)?;
    let alg = signer.algorithm_identifier_der()?;
    let subject_der = subject.to_der()?;
    let spki = key.public_key_der();
    // CertificationRequestInfo: version, subject, subjectPKInfo, attributes.
    cert::resign(draft.der(), &[(1, &subject_der), (2, &spki)], &signer, &alg)
}

/// Builds a CSR for `key` with `subject` and `sans`; returns "CERTIFICATE REQUEST" PEM.
pub fn build_csr(
    key: &PrivateKey,
    subject: &Subject,
    sans: &Sans,
    options: &CsrOptions,
) -> Result<String, PkiError> {
    Ok(pem_encode(
        "CERTIFICATE REQUEST",
        &build_csr_der(key, subject, sans, options)?,
    ))
}

/// A CSR after its signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedCsr {
    /// Subject attributes.
    pub subject: Subject,
    /// Subject as RFC 4514 text.
    pub subject_dn: String,
    /// Requested subject alternative names (from the extensionRequest attribute).
    pub sans: Sans,
    /// The requested key.
    pub public_key: PublicKeyInfo,
    /// Whether basicConstraints cA=TRUE is requested.
    pub requests_ca: bool,
    /// Signature algorithm, Go's name.
    pub signature_algorithm: String,
    /// The CSR's DER.
    pub der: Vec<u8>,
}

/// Reads a CSR given as PEM text or DER bytes and verifies its self-signature.
pub fn parse_csr(input: impl AsRef<[u8]>) -> Result<ParsedCsr, PkiError> {
    let input = input.as_ref();
    let der_bytes = if input.first() == Some(&der::SEQUENCE) {
        input.to_vec()
    } else {
        let text = std::str::from_utf8(input).map_err(|_| PkiError::CsrEmpty)?;
        let blocks = pem::parse_many(text).map_err(|_| PkiError::CsrEmpty)?;
        blocks
            .into_iter()
            .find(|b| matches!(b.tag(), "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST"))
            .map(pem::Pem::into_contents)
            .ok_or(PkiError::CsrEmpty)?
    };

    let (rest, csr) = X509CertificationRequest::from_der(&der_bytes)
        .map_err(|e| PkiError::CsrParse(e.to_string().to_lowercase()))?;
    if !rest.is_empty() {
        return Err(PkiError::CsrParse("trailing data after the request".into()));
    }
    let der::Signed {
        tbs,
        alg,
        signature,
    } = der::split_signed(&der_bytes).map_err(|e| PkiError::CsrParse(e.to_string()))?;
    let info = &csr.certification_request_info;
    let public_key = PublicKeyInfo::from_spki_der(info.subject_pki.raw)?;
    verify::verify_signature_with_alg_der(tbs, alg, signature, info.subject_pki.raw).map_err(
        |e| match e {
            PkiError::UnsupportedSignatureAlgorithm(_) => e,
            _ => PkiError::CsrSignature,
        },
    )?;

    let rdns = cert::parse_name(info.subject.as_raw())
        .map_err(|e| PkiError::CsrParse(format!("subject: {e}")))?;
    let mut sans = Sans::default();
    let mut requests_ca = false;
    if let Some(extensions) = csr.requested_extensions() {
        for ext in extensions {
            match ext {
                ParsedExtension::SubjectAlternativeName(san) => {
                    sans = Sans::from_general_names(&san.general_names);
                }
                ParsedExtension::BasicConstraints(bc) => requests_ca = bc.ca,
                _ => {}
            }
        }
    }
    Ok(ParsedCsr {
        subject: Subject::from_rdns(&rdns),
        subject_dn: cert::rdns_to_string(&rdns),
        sans,
        public_key,
        requests_ca,
        signature_algorithm: super::alg::algorithm_name_of_der(alg),
        der: der_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::key::KeyType;

    fn names() -> (Subject, Sans) {
        let subject = Subject {
            common_name: "svc.example.com".into(),
            organization: vec!["Example".into()],
            country: vec!["US".into()],
            ..Subject::default()
        };
        let sans = Sans {
            dns: vec!["svc.example.com".into(), "alt.example.com".into()],
            ip: vec!["192.0.2.7".parse().expect("ip")],
            uri: vec!["urn:x:y".into()],
            email: vec!["ops@example.com".into()],
        };
        (subject, sans)
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn csrs_round_trip_for_every_key_type() {
        let (subject, sans) = names();
        for (kt, bits, sig_bits, name) in [
            (KeyType::Ec, 256, 0, "ECDSA-SHA256"),
            (KeyType::Ec, 256, 384, "ECDSA-SHA384"),
            (KeyType::Ec, 384, 0, "ECDSA-SHA384"),
            (KeyType::Ed25519, 0, 0, "Ed25519"),
            (KeyType::Rsa, 2048, 384, "SHA384-RSA"),
        ] {
            let key = PrivateKey::generate(kt, bits).expect("key");
            let options = CsrOptions {
                signature_bits: sig_bits,
                add_basic_constraints: kt == KeyType::Ed25519,
                ..CsrOptions::default()
            };
            let pem = build_csr(&key, &subject, &sans, &options).expect("csr");
            assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
            let parsed = parse_csr(&pem).expect("parse");
            assert_eq!(parsed.subject, subject);
            assert_eq!(parsed.subject_dn, "CN=svc.example.com,O=Example,C=US");
            assert_eq!(parsed.sans, sans);
            assert_eq!(parsed.public_key, key.public_key_info());
            assert_eq!(parsed.signature_algorithm, name);
            assert_eq!(parsed.requests_ca, kt == KeyType::Ed25519);
            assert_eq!(
                parse_csr(&parsed.der).map(|p| p.subject).ok(),
                Some(subject.clone())
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bad_csrs_fail_with_vault_texts() {
        assert_eq!(parse_csr("hello"), Err(PkiError::CsrEmpty));
        assert_eq!(parse_csr(""), Err(PkiError::CsrEmpty));
        let cert_pem = pem_encode("CERTIFICATE", &[0x30, 0x00]);
        assert_eq!(parse_csr(&cert_pem), Err(PkiError::CsrEmpty));
        let junk = pem_encode("CERTIFICATE REQUEST", &[0x30, 0x03, 0x02, 0x01, 0x00]);
        let err = parse_csr(&junk).expect_err("junk");
        assert!(matches!(err, PkiError::CsrParse(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("certificate request could not be parsed: ")
        );

        let key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let (subject, sans) = names();
        let mut der_bytes =
            build_csr_der(&key, &subject, &sans, &CsrOptions::default()).expect("csr");
        if let Some(last) = der_bytes.last_mut() {
            *last ^= 0x01;
        }
        let err = parse_csr(&der_bytes).expect_err("tampered");
        assert_eq!(err, PkiError::CsrSignature);
        assert_eq!(err.to_string(), "request signature invalid");
        assert_eq!(PkiError::CsrEmpty.to_string(), "csr contains no data");
    }
}

/// Tests that check our CSRs with openssl and openssl's CSRs with our parser.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::*;
    use crate::pki::key::KeyType;
    use crate::pki::testutil::{Scratch, openssl};

    #[test]
    fn openssl_accepts_our_csrs() {
        let scratch = Scratch::new("csr-ours");
        let (subject, sans) = (
            Subject::with_common_name("ours.example.com"),
            Sans {
                dns: vec!["ours.example.com".into()],
                ..Sans::default()
            },
        );
        for (kt, bits, pss) in [
            (KeyType::Ec, 256, false),
            (KeyType::Ec, 384, false),
            (KeyType::Ed25519, 0, false),
            (KeyType::Rsa, 2048, false),
            (KeyType::Rsa, 2048, true),
        ] {
            let key = PrivateKey::generate(kt, bits).expect("key");
            let options = CsrOptions {
                use_pss: pss,
                ..CsrOptions::default()
            };
            let pem = build_csr(&key, &subject, &sans, &options).expect("csr");
            let path = scratch.write(&format!("{kt}-{bits}-{pss}.csr"), &pem);
            let out = openssl(&["req", "-in", &path, "-noout", "-verify", "-text"]);
            assert!(out.contains("ours.example.com"), "{out}");
            assert!(out.contains("DNS:ours.example.com"), "{out}");
        }
    }

    #[test]
    fn we_accept_openssl_csrs_and_reject_a_flipped_signature() {
        let scratch = Scratch::new("csr-theirs");
        for (label, newkey, want_type, want_bits) in [
            (
                "ec",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                KeyType::Ec,
                256,
            ),
            (
                "ec384",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
                KeyType::Ec,
                384,
            ),
            ("rsa", vec!["-newkey", "rsa:2048"], KeyType::Rsa, 2048),
            ("ed25519", vec!["-newkey", "ed25519"], KeyType::Ed25519, 0),
        ] {
            let key_path = scratch.path(&format!("{label}.key"));
            let csr_path = scratch.path(&format!("{label}.csr"));
            let mut args = vec!["req", "-new"];
            args.extend(newkey);
            args.extend([
                "-nodes",
                "-keyout",
                &key_path,
                "-out",
                &csr_path,
                "-subj",
                "/C=DE/O=Their Org/CN=theirs.example.com",
                "-addext",
                "subjectAltName=DNS:theirs.example.com,IP:198.51.100.4,email:x@example.com",
            ]);
            openssl(&args);
            let pem = std::fs::read_to_string(&csr_path).expect("read csr");
            let parsed = parse_csr(&pem).expect("openssl csr parses and verifies");
            assert_eq!(parsed.subject.common_name, "theirs.example.com");
            assert_eq!(parsed.subject.organization, vec!["Their Org".to_string()]);
            assert_eq!(parsed.subject_dn, "CN=theirs.example.com,O=Their Org,C=DE");
            assert_eq!(parsed.sans.dns, vec!["theirs.example.com".to_string()]);
            assert_eq!(
                parsed.sans.ip,
                vec!["198.51.100.4".parse::<std::net::IpAddr>().expect("ip")]
            );
            assert_eq!(parsed.sans.email, vec!["x@example.com".to_string()]);
            assert_eq!(
                (parsed.public_key.key_type, parsed.public_key.bits),
                (want_type, want_bits)
            );

            // The private key openssl wrote loads too.
            let key_pem = std::fs::read_to_string(&key_path).expect("read key");
            let key = PrivateKey::from_pem(&key_pem).expect("openssl key loads");
            assert_eq!(key.public_key_info(), parsed.public_key);

            // Flip one byte of the signature: parses, but the signature fails.
            let mut der_bytes = parsed.der.clone();
            let len = der_bytes.len();
            if let Some(b) = der_bytes.get_mut(len - 5) {
                *b ^= 0x40;
            }
            let err = parse_csr(&der_bytes).expect_err("flipped signature");
            assert_eq!(err, PkiError::CsrSignature, "{label}");
        }
    }
}
