//! Signature verification (RSA PKCS#1 v1.5 and PSS, ECDSA P-256/P-384, Ed25519) and
//! certificate chain checks, all with RustCrypto. There is no clock here: callers pass
//! the time to check validity at.

use rsa::PublicKey as RsaPublicKey;
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use signature::Verifier as _;
use signature::hazmat::PrehashVerifier;

use super::alg::{HashAlg, SigAlg, alg_id_parts, resolve};
use super::cert::{self, CertInfo, parse_certificate};
use super::der;
use super::error::PkiError;
use super::key::{VerifyKey, decode_spki};

/// Verifies `signature` over `signed_data_tbs` made with the algorithm `sig_alg_oid`
/// (dotted, with its parameters' DER if any) by the key in `signer_spki_der`.
pub fn verify_signature(
    signed_data_tbs: &[u8],
    sig_alg_oid: &str,
    sig_params: Option<&[u8]>,
    signature: &[u8],
    signer_spki_der: &[u8],
) -> Result<(), PkiError> {
    let alg = resolve(sig_alg_oid, sig_params)?;
    let (key, _, _) = decode_spki(signer_spki_der)?;
    let failed = |what: &str| PkiError::SignatureInvalid(what.to_string());
    match (alg, key) {
        (SigAlg::RsaPkcs1(hash), VerifyKey::Rsa(k)) => {
            let msg = signed_data_tbs;
            match hash {
                HashAlg::Sha1 => k.pkcs1v15_verify::<Sha1>(msg, signature),
                HashAlg::Sha256 => k.pkcs1v15_verify::<Sha256>(msg, signature),
                HashAlg::Sha384 => k.pkcs1v15_verify::<Sha384>(msg, signature),
                HashAlg::Sha512 => k.pkcs1v15_verify::<Sha512>(msg, signature),
            }
            .map_err(|_| failed("rsa pkcs#1 v1.5 signature does not verify"))
        }
        (SigAlg::RsaPss { hash, salt_len }, VerifyKey::Rsa(k)) => {
            verify_pss(*k, hash, salt_len, signed_data_tbs, signature)
                .map_err(|_| failed("rsassa-pss signature does not verify"))
        }
        (SigAlg::Ecdsa(hash), VerifyKey::P256(k)) => {
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| failed("malformed ecdsa signature"))?;
            k.verify_prehash(&hash.digest(signed_data_tbs), &sig)
                .map_err(|_| failed("ecdsa signature does not verify"))
        }
        (SigAlg::Ecdsa(hash), VerifyKey::P384(k)) => {
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|_| failed("malformed ecdsa signature"))?;
            k.verify_prehash(&hash.digest(signed_data_tbs), &sig)
                .map_err(|_| failed("ecdsa signature does not verify"))
        }
        (SigAlg::Ed25519, VerifyKey::Ed25519(k)) => {
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| failed("malformed ed25519 signature"))?;
            k.verify(signed_data_tbs, &sig)
                .map_err(|_| failed("ed25519 signature does not verify"))
        }
        _ => Err(failed(
            "signature algorithm does not fit the signer's key type",
        )),
    }
}

fn verify_pss(
    key: RsaPublicKey,
    hash: HashAlg,
    salt_len: usize,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), signature::Error> {
    let sig = rsa::pss::Signature::try_from(signature)?;
    match hash {
        HashAlg::Sha1 => {
            rsa::pss::VerifyingKey::<Sha1>::new_with_salt_len(key, salt_len).verify(msg, &sig)
        }
        HashAlg::Sha256 => {
            rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt_len).verify(msg, &sig)
        }
        HashAlg::Sha384 => {
            rsa::pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt_len).verify(msg, &sig)
        }
        HashAlg::Sha512 => {
            rsa::pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt_len).verify(msg, &sig)
        }
    }
}

/// [`verify_signature`] with the algorithm given as AlgorithmIdentifier DER.
pub(crate) fn verify_signature_with_alg_der(
    tbs: &[u8],
    alg_id_der: &[u8],
    signature: &[u8],
    signer_spki_der: &[u8],
) -> Result<(), PkiError> {
    let (oid, params) = alg_id_parts(alg_id_der)
        .map_err(|e| PkiError::SignatureInvalid(format!("signature algorithm: {e}")))?;
    verify_signature(tbs, &oid, params, signature, signer_spki_der)
}

/// Whether two DER Names are the same: byte-equal, or equal after RFC 5280's
/// case-insensitive, whitespace-folding comparison of their values.
pub(crate) fn names_match(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let fold = |v: &str| {
        v.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let norm = |n: &[u8]| {
        cert::parse_name(n).ok().map(|rdns| {
            rdns.into_iter()
                .map(|rdn| {
                    let mut atvs: Vec<(String, String)> =
                        rdn.into_iter().map(|(o, v)| (o, fold(&v))).collect();
                    atvs.sort();
                    atvs
                })
                .collect::<Vec<_>>()
        })
    };
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Checks that `cert_der` was issued by `issuer_cert_der`: the issuer name matches the
/// issuer's subject and the signature verifies with the issuer's key. (Whether the issuer
/// may issue, and validity, are [`verify_chain`]'s business.)
pub fn verify_issued_by(cert_der: &[u8], issuer_cert_der: &[u8]) -> Result<(), PkiError> {
    let cert = parse_certificate(cert_der)?;
    let issuer = parse_certificate(issuer_cert_der)?;
    issued_by(cert_der, &cert, &issuer)
}

fn issued_by(cert_der: &[u8], cert: &CertInfo, issuer: &CertInfo) -> Result<(), PkiError> {
    if !names_match(&cert.issuer_der, &issuer.subject_der) {
        return Err(PkiError::ChainInvalid(format!(
            "certificate {:?} names issuer {:?}, not {:?}",
            cert.subject_dn, cert.issuer_dn, issuer.subject_dn
        )));
    }
    let der::Signed {
        tbs,
        alg,
        signature,
    } = der::split_signed(cert_der).map_err(|e| PkiError::InvalidCertificate(e.to_string()))?;
    verify_signature_with_alg_der(tbs, alg, signature, &issuer.spki_der).map_err(|e| match e {
        PkiError::SignatureInvalid(why) => PkiError::SignatureInvalid(format!(
            "certificate {:?} is not signed by {:?}: {why}",
            cert.subject_dn, issuer.subject_dn
        )),
        other => other,
    })
}

/// Checks a whole chain at unix time `at`: `leaf_der` issued by `chain[0]`, each
/// `chain[i]` by `chain[i + 1]`, the last by `root_der` (the trust anchor; its own
/// signature is checked when it is self-issued). Every certificate must be valid at
/// `at`; every issuer must be a CA whose key usage (if present) allows certificate
/// signing and whose path length constraint holds.
pub fn verify_chain(
    leaf_der: &[u8],
    chain: &[Vec<u8>],
    root_der: &[u8],
    at: i64,
) -> Result<(), PkiError> {
    let mut ders: Vec<&[u8]> = Vec::with_capacity(chain.len() + 2);
    ders.push(leaf_der);
    ders.extend(chain.iter().map(Vec::as_slice));
    ders.push(root_der);
    let infos = ders
        .iter()
        .map(|d| parse_certificate(d))
        .collect::<Result<Vec<_>, _>>()?;

    for info in &infos {
        if !info.valid_at(at) {
            return Err(PkiError::ChainInvalid(format!(
                "certificate {:?} is not valid at {at} (valid from {} to {})",
                info.subject_dn, info.not_before, info.not_after
            )));
        }
    }
    for (index, pair) in infos.windows(2).enumerate() {
        let [subject, issuer] = pair else { continue };
        if !issuer.is_ca {
            return Err(PkiError::ChainInvalid(format!(
                "issuer {:?} is not a ca",
                issuer.subject_dn
            )));
        }
        if !issuer.key_usage.is_empty() && !issuer.key_usage.contains(&cert::KeyUsage::CertSign) {
            return Err(PkiError::ChainInvalid(format!(
                "issuer {:?} lacks the certsign key usage",
                issuer.subject_dn
            )));
        }
        // CA certificates between the leaf and this issuer.
        let below = index as u64;
        if let Some(max) = issuer.max_path_length
            && below > u64::from(max)
        {
            return Err(PkiError::ChainInvalid(format!(
                "issuer {:?} allows {max} intermediate(s) below it, found {below}",
                issuer.subject_dn
            )));
        }
        let der_bytes = ders.get(index).copied().unwrap_or(&[]);
        issued_by(der_bytes, subject, issuer)?;
    }
    if let Some(root) = infos.last()
        && root.self_issued
    {
        issued_by(root_der, root, root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::alg::algorithm_name_of_der;
    use crate::pki::cert::{CertSpec, KeyUsage, Subject, self_sign, sign};
    use crate::pki::key::{KeyType, PrivateKey};

    fn spec(cn: &str, serial: u8, is_ca: bool) -> CertSpec {
        CertSpec {
            serial: vec![serial],
            not_before: 1_000,
            not_after: 2_000_000_000,
            subject: Subject::with_common_name(cn),
            is_ca,
            key_usage: if is_ca {
                vec![KeyUsage::CertSign, KeyUsage::CrlSign]
            } else {
                vec![KeyUsage::DigitalSignature]
            },
            ..CertSpec::default()
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn chains_verify_and_broken_links_are_caught() {
        let root_key = PrivateKey::generate(KeyType::Ed25519, 0).expect("key");
        let root = self_sign(&spec("Root", 1, true), &root_key, 0).expect("root");
        let int_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let mut int_spec = spec("Int", 2, true);
        int_spec.max_path_length = Some(0);
        let int = sign(&int_spec, &int_key.public_key_info(), &root, &root_key, 0).expect("int");
        let leaf_key = PrivateKey::generate(KeyType::Ec, 384).expect("key");
        let leaf = sign(
            &spec("leaf", 3, false),
            &leaf_key.public_key_info(),
            &int,
            &int_key,
            384,
        )
        .expect("leaf");

        verify_chain(&leaf, std::slice::from_ref(&int), &root, 1_500_000_000).expect("valid chain");
        verify_issued_by(&int, &root).expect("int by root");
        verify_issued_by(&root, &root).expect("root self-signed");

        // Wrong time.
        assert!(matches!(
            verify_chain(&leaf, std::slice::from_ref(&int), &root, 2_100_000_000),
            Err(PkiError::ChainInvalid(_))
        ));
        // Skipping the intermediate: the names do not match.
        assert!(matches!(
            verify_issued_by(&leaf, &root),
            Err(PkiError::ChainInvalid(_))
        ));
        // Path length: a second intermediate under one with max_path_length 0.
        let int2_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let int2 = sign(
            &spec("Int2", 4, true),
            &int2_key.public_key_info(),
            &int,
            &int_key,
            0,
        )
        .expect("int2");
        let leaf2 = sign(
            &spec("leaf2", 5, false),
            &leaf_key.public_key_info(),
            &int2,
            &int2_key,
            0,
        )
        .expect("leaf2");
        let err = verify_chain(&leaf2, &[int2.clone(), int.clone()], &root, 1_500_000_000);
        assert!(
            matches!(err, Err(PkiError::ChainInvalid(ref m)) if m.contains("intermediate")),
            "{err:?}"
        );
        // A leaf cannot issue.
        let under_leaf = sign(
            &spec("x", 6, false),
            &leaf_key.public_key_info(),
            &leaf,
            &leaf_key,
            0,
        )
        .expect("x");
        assert!(
            verify_chain(
                &under_leaf,
                &[leaf.clone(), int.clone()],
                &root,
                1_500_000_000
            )
            .is_err()
        );
        // A flipped signature bit.
        let mut tampered = leaf.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 0x01;
        }
        assert!(matches!(
            verify_issued_by(&tampered, &int),
            Err(PkiError::SignatureInvalid(_))
        ));
        // A same-named impostor issuer.
        let impostor_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let impostor = self_sign(&spec("Int", 9, true), &impostor_key, 0).expect("impostor");
        assert!(matches!(
            verify_issued_by(&leaf, &impostor),
            Err(PkiError::SignatureInvalid(_))
        ));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn verify_signature_rejects_unknown_and_mismatched_algorithms() {
        let key = PrivateKey::generate(KeyType::Ed25519, 0).expect("key");
        let sig = key.sign(b"data", 0).expect("sign");
        verify_signature(b"data", "1.3.101.112", None, &sig, &key.public_key_der()).expect("ok");
        assert!(matches!(
            verify_signature(b"data", "1.2.3", None, &sig, &key.public_key_der()),
            Err(PkiError::UnsupportedSignatureAlgorithm(_))
        ));
        assert!(matches!(
            verify_signature(
                b"data",
                "1.2.840.10045.4.3.2",
                None,
                &sig,
                &key.public_key_der()
            ),
            Err(PkiError::SignatureInvalid(_))
        ));
        assert!(verify_signature(b"data", "1.3.101.112", None, &sig, b"not a key").is_err());
        assert!(
            verify_signature(b"data", "1.3.101.112", None, &[], &key.public_key_der()).is_err()
        );
        assert_eq!(algorithm_name_of_der(b"junk"), "unknown");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn names_compare_case_insensitively() {
        let a = Subject::with_common_name("Example  CA")
            .to_der()
            .expect("a");
        let b = Subject::with_common_name("example ca").to_der().expect("b");
        let c = Subject::with_common_name("other").to_der().expect("c");
        assert!(names_match(&a, &b));
        assert!(!names_match(&a, &c));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn rsa_key_round_trips_and_signs() {
        let key = PrivateKey::generate(KeyType::Rsa, 2048).expect("generate");
        assert_eq!((key.key_type(), key.bits()), (KeyType::Rsa, 2048));
        let vault = key.to_vault_pem().expect("pkcs1 pem");
        assert!(vault.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let again = PrivateKey::from_pem(&vault).expect("pkcs1");
        assert_eq!(again.public_key_der(), key.public_key_der());
        let again = PrivateKey::from_pkcs8_der(&key.to_pkcs8_der().expect("p8")).expect("p8");
        assert_eq!(again.public_key_der(), key.public_key_der());
        for bits in [0, 256, 384, 512] {
            for pss in [false, true] {
                let signer = key.signer(bits, pss).expect("signer");
                let sig = signer.sign(b"hello").expect("sign");
                let alg = signer.algorithm_identifier_der().expect("alg id");
                verify_signature_with_alg_der(b"hello", &alg, &sig, &key.public_key_der())
                    .expect("verifies");
            }
        }
        assert!(key.signer(1024, false).is_err());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ecdsa_signatures_use_the_requested_hash() {
        let key = PrivateKey::generate(KeyType::Ec, 256).expect("generate");
        assert_eq!(
            key.signer(0, false).expect("s").algorithm_name(),
            "ECDSA-SHA256"
        );
        for (bits, name) in [
            (256, "ECDSA-SHA256"),
            (384, "ECDSA-SHA384"),
            (512, "ECDSA-SHA512"),
        ] {
            let signer = key.signer(bits, false).expect("signer");
            assert_eq!(signer.algorithm_name(), name);
            let sig = signer.sign(b"msg").expect("sign");
            assert_eq!(sig.first(), Some(&0x30), "DER-encoded ECDSA signature");
            let alg = signer.algorithm_identifier_der().expect("alg");
            verify_signature_with_alg_der(b"msg", &alg, &sig, &key.public_key_der())
                .expect("verifies");
            assert!(
                verify_signature_with_alg_der(b"msh", &alg, &sig, &key.public_key_der()).is_err()
            );
        }
        let p384 = PrivateKey::generate(KeyType::Ec, 384).expect("generate");
        assert_eq!(
            p384.signer(0, false).expect("s").algorithm_name(),
            "ECDSA-SHA384"
        );
        assert!(key.signer(128, false).is_err());
    }
}

/// A certificate chain issued by `cert` and read back field by field, then checked here.
#[cfg(test)]
mod cert_chain_tests {
    use super::verify_chain;
    use crate::pki::cert::tests::ca_spec;
    use crate::pki::cert::*;
    use crate::pki::key::{KeyType, PrivateKey};

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn root_intermediate_leaf_round_trip() {
        let root_key = PrivateKey::generate(KeyType::Ec, 384).expect("root key");
        let root = self_sign(&ca_spec("Root CA", 1), &root_key, 0).expect("root");
        let root_info = parse_certificate(&root).expect("parse root");
        assert!(root_info.is_ca && root_info.self_issued);
        assert_eq!(root_info.subject_dn, "CN=Root CA");
        assert_eq!(root_info.signature_algorithm, "ECDSA-SHA384");
        assert_eq!(root_info.subject_key_id, root_info.authority_key_id);
        assert_eq!(
            root_info.key_usage,
            vec![KeyUsage::CertSign, KeyUsage::CrlSign]
        );
        assert_eq!(
            (root_info.key_type.as_str(), root_info.key_bits),
            ("ec", 384)
        );

        let int_key = PrivateKey::generate(KeyType::Ed25519, 0).expect("int key");
        let mut int_spec = ca_spec("Intermediate", 2);
        int_spec.max_path_length = Some(0);
        int_spec.permitted_dns_domains = vec!["example.com".into()];
        let int = sign(&int_spec, &int_key.public_key_info(), &root, &root_key, 256).expect("int");
        let int_info = parse_certificate(&int).expect("parse int");
        assert_eq!(int_info.issuer_der, root_info.subject_der);
        assert_eq!(int_info.authority_key_id, root_info.subject_key_id);
        assert_eq!(int_info.max_path_length, Some(0));
        assert_eq!(int_info.signature_algorithm, "ECDSA-SHA256");

        let leaf_key = PrivateKey::generate(KeyType::Ec, 256).expect("leaf key");
        let leaf_spec = CertSpec {
            serial: vec![0x80, 1, 2],
            not_before: 1_700_000_000,
            not_after: 1_800_000_000,
            subject: Subject::with_common_name("www.example.com"),
            sans: Sans {
                dns: vec!["www.example.com".into()],
                ip: vec!["10.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")],
                uri: vec!["spiffe://example.com/x".into()],
                email: vec!["a@example.com".into()],
            },
            key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyAgreement],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth, ExtKeyUsage::IpsecUser],
            ext_key_usage_oids: vec!["1.2.3.4".into()],
            issuing_certificates: vec!["http://ca.example/ca".into()],
            ocsp_servers: vec!["http://ocsp.example".into()],
            crl_distribution_points: vec!["http://ca.example/crl".into()],
            ..CertSpec::default()
        };
        let leaf = sign(&leaf_spec, &leaf_key.public_key_info(), &int, &int_key, 0).expect("leaf");
        let info = parse_certificate(&leaf).expect("parse leaf");
        assert_eq!(info.serial, "80:01:02");
        assert_eq!(info.serial_bytes, vec![0x80, 1, 2]);
        assert_eq!(info.common_name, "www.example.com");
        assert_eq!(info.issuer_dn, "CN=Intermediate");
        assert_eq!(
            (info.not_before, info.not_after),
            (1_700_000_000, 1_800_000_000)
        );
        assert_eq!(info.sans, leaf_spec.sans);
        assert!(!info.is_ca);
        assert_eq!(info.key_usage, leaf_spec.key_usage);
        assert_eq!(
            info.ext_key_usage,
            vec![ExtKeyUsage::ServerAuth, ExtKeyUsage::IpsecUser]
        );
        assert_eq!(info.ext_key_usage_oids, vec!["1.2.3.4".to_string()]);
        assert_eq!(info.issuing_certificates, leaf_spec.issuing_certificates);
        assert_eq!(info.ocsp_servers, leaf_spec.ocsp_servers);
        assert_eq!(
            info.crl_distribution_points,
            leaf_spec.crl_distribution_points
        );
        assert_eq!(
            info.subject_key_id,
            hex_colon(&leaf_key.public_key_info().key_id())
        );
        assert_eq!(info.authority_key_id, int_info.subject_key_id);
        assert_eq!(info.signature_algorithm, "Ed25519");
        assert_eq!(info.spki_der, leaf_key.public_key_der());
        assert!(info.valid_at(1_750_000_000) && !info.valid_at(1_800_000_001));

        verify_chain(&leaf, std::slice::from_ref(&int), &root, 1_750_000_000).expect("chain");
        let pem = pem_encode("CERTIFICATE", &leaf);
        assert_eq!(
            parse_certificate_pem_or_der(pem.as_bytes())
                .map(|i| i.serial)
                .ok(),
            Some(info.serial)
        );
    }
}

/// (From cert.rs: these check chains, so they live with the chain check.)
/// Certificates checked by openssl, and openssl's certificates read and used by us.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod cert_openssl_tests {
    use super::{verify_chain, verify_issued_by};
    use crate::pki::cert::*;
    use crate::pki::key::{KeyType, PrivateKey};
    use crate::pki::testutil::{Scratch, openssl};

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0)
    }

    fn ca(cn: &str, serial: u8, path_len: Option<u32>) -> CertSpec {
        CertSpec {
            serial: vec![serial],
            not_before: now() - 3600,
            not_after: now() + 86_400,
            subject: Subject {
                common_name: cn.into(),
                organization: vec!["PKI Console".into()],
                country: vec!["US".into()],
                ..Subject::default()
            },
            is_ca: true,
            max_path_length: path_len,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            issuing_certificates: vec!["http://127.0.0.1:8200/v1/pki/ca".into()],
            crl_distribution_points: vec!["http://127.0.0.1:8200/v1/pki/crl".into()],
            ..CertSpec::default()
        }
    }

    fn leaf_spec() -> CertSpec {
        CertSpec {
            serial: random_serial().expect("serial"),
            not_before: now() - 60,
            not_after: now() + 3600,
            subject: Subject {
                common_name: "www.example.com".into(),
                organizational_unit: vec!["Web".into(), "Ops".into()],
                ..Subject::default()
            },
            sans: Sans {
                dns: vec!["www.example.com".into(), "example.com".into()],
                ip: vec!["10.0.0.1".parse().expect("ip")],
                uri: vec!["spiffe://example.com/web".into()],
                email: vec!["web@example.com".into()],
            },
            key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth, ExtKeyUsage::ClientAuth],
            issuing_certificates: vec!["http://127.0.0.1:8200/v1/pki/ca".into()],
            ocsp_servers: vec!["http://127.0.0.1:8200/v1/pki/ocsp".into()],
            crl_distribution_points: vec!["http://127.0.0.1:8200/v1/pki/crl".into()],
            ..CertSpec::default()
        }
    }

    #[test]
    fn openssl_verifies_our_chains_for_every_key_type() {
        let scratch = Scratch::new("chain");
        // (root key, root signature_bits, intermediate key, leaf key, use_pss)
        let cases = [
            (
                (KeyType::Rsa, 2048),
                0,
                (KeyType::Ec, 384),
                (KeyType::Ed25519, 0),
                false,
            ),
            (
                (KeyType::Rsa, 2048),
                512,
                (KeyType::Ed25519, 0),
                (KeyType::Rsa, 2048),
                true,
            ),
            (
                (KeyType::Ec, 256),
                384,
                (KeyType::Rsa, 3072),
                (KeyType::Ec, 256),
                false,
            ),
            (
                (KeyType::Ed25519, 0),
                0,
                (KeyType::Ec, 256),
                (KeyType::Ec, 384),
                false,
            ),
        ];
        for (i, (root_kt, root_bits, int_kt, leaf_kt, pss)) in cases.into_iter().enumerate() {
            let root_key = PrivateKey::generate(root_kt.0, root_kt.1).expect("root key");
            let mut root_spec = ca("Root CA", 1, None);
            root_spec.use_pss = pss;
            let root = self_sign(&root_spec, &root_key, root_bits).expect("root");
            let int_key = PrivateKey::generate(int_kt.0, int_kt.1).expect("int key");
            let mut int_spec = ca("Intermediate CA", 2, Some(0));
            int_spec.use_pss = pss;
            let int = sign(
                &int_spec,
                &int_key.public_key_info(),
                &root,
                &root_key,
                root_bits,
            )
            .expect("int");
            let leaf_key = PrivateKey::generate(leaf_kt.0, leaf_kt.1).expect("leaf key");
            let spec = leaf_spec();
            let leaf = sign(&spec, &leaf_key.public_key_info(), &int, &int_key, 0).expect("leaf");

            let root_path =
                scratch.write(&format!("root{i}.pem"), pem_encode("CERTIFICATE", &root));
            let int_path = scratch.write(&format!("int{i}.pem"), pem_encode("CERTIFICATE", &int));
            let leaf_path =
                scratch.write(&format!("leaf{i}.pem"), pem_encode("CERTIFICATE", &leaf));
            let out = openssl(&[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslserver",
                "-CAfile",
                &root_path,
                "-untrusted",
                &int_path,
                &leaf_path,
            ]);
            assert!(out.contains(": OK"), "case {i}: {out}");
            verify_chain(&leaf, std::slice::from_ref(&int), &root, now()).expect("our chain check");

            let text = openssl(&["x509", "-in", &leaf_path, "-noout", "-text"]);
            let serial_hex = format_serial(&spec.serial);
            for want in [
                serial_hex.as_str(),
                "Subject: OU = Ops + OU = Web, CN = www.example.com",
                "Issuer: C = US, O = PKI Console, CN = Intermediate CA",
                "DNS:www.example.com, DNS:example.com, email:web@example.com, IP Address:10.0.0.1, URI:spiffe://example.com/web",
                "Digital Signature, Key Encipherment",
                "TLS Web Server Authentication, TLS Web Client Authentication",
                "OCSP - URI:http://127.0.0.1:8200/v1/pki/ocsp",
                "CA Issuers - URI:http://127.0.0.1:8200/v1/pki/ca",
                "URI:http://127.0.0.1:8200/v1/pki/crl",
                "X509v3 Subject Key Identifier",
                "X509v3 Authority Key Identifier",
            ] {
                assert!(text.contains(want), "case {i}: missing {want:?} in\n{text}");
            }
            assert!(
                !text.contains("Basic Constraints"),
                "vault leaves carry no basicConstraints"
            );
            let int_text = openssl(&["x509", "-in", &int_path, "-noout", "-text"]);
            assert!(int_text.contains("CA:TRUE, pathlen:0"), "{int_text}");
            let root_text = openssl(&["x509", "-in", &root_path, "-noout", "-text"]);
            let want_alg = match (root_kt.0, root_bits, pss) {
                (KeyType::Rsa, _, true) => "rsassaPss",
                (KeyType::Rsa, 512, false) => "sha512WithRSAEncryption",
                (KeyType::Rsa, _, false) => "sha256WithRSAEncryption",
                (KeyType::Ec, 384, _) => "ecdsa-with-SHA384",
                (KeyType::Ec, _, _) => "ecdsa-with-SHA256",
                (KeyType::Ed25519, _, _) => "ED25519",
            };
            assert!(
                root_text.contains(want_alg),
                "case {i}: want {want_alg}\n{root_text}"
            );
        }
    }

    #[test]
    fn we_read_and_sign_under_an_openssl_root() {
        let scratch = Scratch::new("openssl-root");
        for (label, newkey) in [
            (
                "ec",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            (
                "rsapss",
                vec![
                    "-newkey",
                    "rsa:2048",
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sha384",
                ],
            ),
        ] {
            let key_path = scratch.path(&format!("{label}.key"));
            let root_path = scratch.path(&format!("{label}.pem"));
            let mut args = vec!["req", "-x509", "-new"];
            args.extend(newkey);
            args.extend([
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &key_path,
                "-out",
                &root_path,
                // Repeated attribute types: rcgen's own name type could not copy these.
                "-subj",
                "/DC=com/DC=example/OU=A/OU=B/CN=OpenSSL Root",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
            openssl(&args);
            let root_pem = std::fs::read_to_string(&root_path).expect("root");
            let root = certificates_from_pem(&root_pem).expect("pem").remove(0);
            let info = parse_certificate(&root).expect("parse openssl root");
            assert_eq!(
                info.subject_dn,
                "CN=OpenSSL Root,OU=B,OU=A,DC=example,DC=com"
            );
            assert!(info.is_ca && info.self_issued);
            verify_issued_by(&root, &root).expect("openssl root's self-signature verifies");

            let key = PrivateKey::from_pem(&std::fs::read_to_string(&key_path).expect("key"))
                .expect("openssl key");
            let leaf_key = PrivateKey::generate(KeyType::Ec, 256).expect("leaf key");
            let leaf =
                sign(&leaf_spec(), &leaf_key.public_key_info(), &root, &key, 0).expect("leaf");
            assert_eq!(
                parse_certificate(&leaf).expect("leaf").issuer_der,
                info.subject_der
            );
            let leaf_path = scratch.write(
                &format!("{label}-leaf.pem"),
                pem_encode("CERTIFICATE", &leaf),
            );
            let out = openssl(&["verify", "-x509_strict", "-CAfile", &root_path, &leaf_path]);
            assert!(out.contains(": OK"), "{label}: {out}");
            verify_chain(&leaf, &[], &root, now()).expect("our chain check");
        }
    }
}
