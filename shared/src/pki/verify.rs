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
}
