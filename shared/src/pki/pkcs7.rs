//! PKCS#7 "certs-only" bundles (`.p7b`/`.p7c`): a degenerate SignedData with no content
//! and no signers that only carries certificates (RFC 2315 §9.1, RFC 5652 §5), the format
//! Windows' certificate import wizard and many appliances take a CA chain in. Built as
//! DER with the leaf writer of `der`; the PEM form is the same DER under `PKCS7`, as
//! `openssl crl2pkcs7 -nocrl` writes it.

use super::der::{self, SEQUENCE, SET};
use super::error::PkiError;
use super::pem::pem_encode;

/// `id-signedData` (RFC 2315 §14).
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// `id-data`: the (absent) content of a certs-only bundle.
const OID_DATA: &str = "1.2.840.113549.1.7.1";
/// `[0]` constructed, context-specific: `content [0] EXPLICIT` of ContentInfo and
/// `certificates [0] IMPLICIT` of SignedData.
const CONTEXT_0: u8 = 0xa0;

/// The DER of a certs-only SignedData carrying `certificates` (each one DER certificate).
///
/// `certificates` is a `SET OF`, so DER puts its elements in ascending order of their
/// encodings (X.690 §11.6): the order in the file is not the chain's order, and readers
/// (Windows, `openssl pkcs7 -print_certs`) build the chain from the names, not the order.
/// Every element must be one complete DER SEQUENCE; anything else is refused rather than
/// written into a bundle no reader would take.
pub fn certs_only_der(certificates: &[Vec<u8>]) -> Result<Vec<u8>, PkiError> {
    if certificates.is_empty() {
        return Err(PkiError::InvalidField {
            field: "certificates",
            reason: "a pkcs#7 bundle needs at least one certificate".into(),
        });
    }
    let mut sorted: Vec<&[u8]> = Vec::with_capacity(certificates.len());
    for (index, cert) in certificates.iter().enumerate() {
        der::expect(cert, SEQUENCE).map_err(|e| PkiError::InvalidField {
            field: "certificates",
            reason: format!("certificate {index} is not one der sequence: {e}"),
        })?;
        sorted.push(cert);
    }
    sorted.sort_unstable();
    sorted.dedup();
    let signed_data = der::tlv(
        SEQUENCE,
        &[
            // CMSVersion 1: only certificates, no attribute certificates (RFC 5652 §5.1).
            der::uint(&[1]),
            // digestAlgorithms: none, there is no signer.
            der::tlv(SET, &[]),
            // encapContentInfo: id-data with the content left out.
            der::tlv(SEQUENCE, &der::oid(OID_DATA)?),
            der::tlv(CONTEXT_0, &sorted.concat()),
            // signerInfos: none.
            der::tlv(SET, &[]),
        ]
        .concat(),
    );
    Ok(der::tlv(
        SEQUENCE,
        &[
            der::oid(OID_SIGNED_DATA)?,
            der::tlv(CONTEXT_0, &signed_data),
        ]
        .concat(),
    ))
}

/// [`certs_only_der`] as PEM under `-----BEGIN PKCS7-----`.
pub fn certs_only_pem(certificates: &[Vec<u8>]) -> Result<String, PkiError> {
    Ok(pem_encode("PKCS7", &certs_only_der(certificates)?))
}

/// The certificates a certs-only bundle carries, in file order (DER). Reads what
/// [`certs_only_der`] writes, and the same structure from other writers (openssl's
/// `crl2pkcs7`); refuses bundles with signers or content, which are no certs-only bundle.
pub fn certificates_of(bundle_der: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let bad = |why: String| PkiError::InvalidField {
        field: "pkcs7",
        reason: why,
    };
    let (_, content_info) = der::expect(bundle_der, SEQUENCE).map_err(|e| bad(e.to_string()))?;
    let parts = der::children(content_info).map_err(|e| bad(e.to_string()))?;
    let [oid, explicit] = parts.as_slice() else {
        return Err(bad("contentinfo is not (oid, [0] content)".into()));
    };
    if *oid != der::oid(OID_SIGNED_DATA)?.as_slice() {
        return Err(bad("content type is not signeddata".into()));
    }
    let (_, signed) = der::expect(explicit, CONTEXT_0).map_err(|e| bad(e.to_string()))?;
    let (_, signed) = der::expect(signed, SEQUENCE).map_err(|e| bad(e.to_string()))?;
    let fields = der::children(signed).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    let mut signer_infos = None;
    for field in fields.iter().skip(3) {
        let tlv = der::split(field).map_err(|e| bad(e.to_string()))?;
        match tlv.tag {
            CONTEXT_0 => {
                for cert in der::children(tlv.content).map_err(|e| bad(e.to_string()))? {
                    certs.push(cert.to_vec());
                }
            }
            SET => signer_infos = Some(tlv.content),
            _ => {}
        }
    }
    if signer_infos.is_some_and(|s| !s.is_empty()) {
        return Err(bad(
            "the bundle has signers: it is no certs-only bundle".into()
        ));
    }
    Ok(certs)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::pki::cert::{CertSpec, KeyUsage, Subject, self_sign, sign};
    use crate::pki::key::{KeyType, PrivateKey};
    use crate::pki::testutil::{Scratch, openssl, openssl_outcome};

    fn ca(cn: &str, serial: u8) -> CertSpec {
        CertSpec {
            serial: vec![serial],
            not_before: 1_000,
            not_after: 2_000_000_000,
            subject: Subject::with_common_name(cn),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            ..CertSpec::default()
        }
    }

    /// A root and an intermediate it signed (DER).
    fn chain() -> (Vec<u8>, Vec<u8>) {
        let root_key = PrivateKey::generate(KeyType::Ec, 256).expect("root key");
        let root = self_sign(&ca("Test Root CA", 1), &root_key, 0).expect("root");
        let int_key = PrivateKey::generate(KeyType::Ec, 256).expect("int key");
        let int = sign(
            &ca("Test Intermediate CA", 2),
            &int_key.public_key_info(),
            &root,
            &root_key,
            0,
        )
        .expect("intermediate");
        (root, int)
    }

    #[test]
    fn refuses_nothing_and_non_certificates() {
        assert!(certs_only_der(&[]).is_err());
        let err = certs_only_der(&[vec![0x30, 0x05, 0x01]]).unwrap_err();
        assert!(err.to_string().contains("certificate 0"), "{err}");
        assert!(certs_only_der(&[vec![0x02, 0x01, 0x01]]).is_err());
        // Two values glued together are not one certificate.
        assert!(certs_only_der(&[vec![0x30, 0x00, 0x30, 0x00]]).is_err());
    }

    #[test]
    fn round_trips_sorted_and_without_duplicates() {
        let (root, int) = chain();
        let bundle = certs_only_der(&[int.clone(), root.clone(), int.clone()]).expect("bundle");
        let mut want = vec![root, int];
        want.sort();
        assert_eq!(certificates_of(&bundle).expect("read back"), want);
        // The outer structure: SEQUENCE { id-signedData, [0] { SEQUENCE { 1, {}, ... } } }.
        assert_eq!(bundle.first(), Some(&SEQUENCE));
        let oid = der::oid(OID_SIGNED_DATA).expect("oid");
        assert!(bundle.windows(oid.len()).any(|w| w == oid.as_slice()));
    }

    #[test]
    fn openssl_reads_the_der_and_the_pem_form() {
        let (root, int) = chain();
        let scratch = Scratch::new("pkcs7");
        let certs = [int.clone(), root.clone()];
        let der_path = scratch.write("chain.p7b", certs_only_der(&certs).expect("der"));
        let pem_text = certs_only_pem(&certs).expect("pem");
        assert!(
            pem_text.starts_with("-----BEGIN PKCS7-----\n"),
            "{pem_text}"
        );
        let pem_path = scratch.write("chain-pem.p7b", &pem_text);
        for (path, form) in [(&der_path, "DER"), (&pem_path, "PEM")] {
            let out = openssl(&["pkcs7", "-inform", form, "-in", path, "-print_certs"]);
            assert!(out.contains("subject=CN = Test Root CA"), "{form}: {out}");
            assert!(
                out.contains("subject=CN = Test Intermediate CA"),
                "{form}: {out}"
            );
            assert_eq!(out.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        }
        // The certificates openssl prints are ours, byte for byte.
        let printed = openssl(&["pkcs7", "-inform", "DER", "-in", &der_path, "-print_certs"]);
        let mut got = crate::pki::pem::certificates_from_pem(&printed).expect("pem certs");
        got.sort();
        let mut want = certs.to_vec();
        want.sort();
        assert_eq!(got, want);
        // And what openssl writes, we read.
        let root_pem = scratch.write("root.pem", pem_encode("CERTIFICATE", &root));
        let theirs = scratch.path("theirs.p7b");
        openssl(&[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            &root_pem,
            "-outform",
            "DER",
            "-out",
            &theirs,
        ]);
        let theirs = std::fs::read(&theirs).expect("read openssl's bundle");
        assert_eq!(
            certificates_of(&theirs).expect("openssl's bundle"),
            vec![root]
        );
        // A truncated bundle is refused by openssl too: the test can fail.
        let mut cut = certs_only_der(&certs).expect("der");
        cut.truncate(cut.len() / 2);
        let cut_path = scratch.write("cut.p7b", &cut);
        let (ok, _) =
            openssl_outcome(&["pkcs7", "-inform", "DER", "-in", &cut_path, "-print_certs"]);
        assert!(!ok);
        assert!(certificates_of(&cut).is_err());
    }
}
