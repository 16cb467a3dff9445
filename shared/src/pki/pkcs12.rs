//! PKCS#12 (.p12 / .pfx) files holding a private key, its certificate and the CA chain, in
//! two flavours: [`Pkcs12Flavour::Modern`] (PBES2 AES-256-CBC with PBKDF2-HMAC-SHA256 and a
//! SHA-256 MAC, what OpenSSL 3 and Java write) and [`Pkcs12Flavour::Legacy`]
//! (pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the certificates and a SHA-1 MAC, what
//! `openssl pkcs12 -export -legacy` writes) for macOS Keychain and old Java. The encoding is
//! p12-keystore's; this module checks the inputs and fixes the parameters.

use sha1::{Digest, Sha1};

use super::cert::{certificate_of_key, parse_certificate};
use super::error::PkiError;
use super::key::{PrivateKey, Zeroizing};

/// PBKDF2 rounds of the modern flavour, for the key and the certificates. High enough to
/// slow guessing, low enough for .NET's import limit (1,000,000 rounds in all).
pub const MODERN_ITERATIONS: u32 = 100_000;
/// PKCS#12-KDF rounds of the legacy flavour, as `openssl pkcs12 -export -legacy` uses.
pub const LEGACY_ITERATIONS: u32 = 2048;

/// Which algorithms protect the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pkcs12Flavour {
    /// PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for key and certificates, HMAC-SHA256 MAC.
    #[default]
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificates, HMAC-SHA1 MAC. OpenSSL 3
    /// opens these only with `-legacy`.
    Legacy,
}

/// What a PKCS#12 file holds, as [`read_pkcs12`] finds it.
#[derive(Debug, Clone)]
pub struct Pkcs12Contents {
    /// The first private key.
    pub key: PrivateKey,
    /// The key's friendly name, if it has one.
    pub friendly_name: Option<String>,
    /// Every certificate (DER), the one bound to the key first.
    pub certificates: Vec<Vec<u8>>,
}

/// The longest friendly name accepted (characters).
const MAX_FRIENDLY_NAME: usize = 128;

fn check_friendly_name(name: &str) -> Result<(), PkiError> {
    let bad = |reason: &str| PkiError::InvalidField {
        field: "friendly_name",
        reason: reason.to_string(),
    };
    if name.trim().is_empty() {
        return Err(bad("must not be empty"));
    }
    if name.chars().count() > MAX_FRIENDLY_NAME {
        return Err(bad("longer than 128 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    // friendlyName is a BMPString: UCS-2 only.
    if name.chars().any(|c| u32::from(c) > 0xffff) {
        return Err(bad(
            "contains characters outside the basic multilingual plane",
        ));
    }
    Ok(())
}

/// Builds a PKCS#12 file with `key`, its certificate `cert_der` and the CA certificates
/// `chain_der` (intermediates first, root last, as Vault's `ca_chain`), protected by
/// `password`. The friendly name defaults to the certificate's common name.
pub fn build_pkcs12(
    cert_der: &[u8],
    chain_der: &[Vec<u8>],
    key: &PrivateKey,
    password: &str,
    flavour: Pkcs12Flavour,
    friendly_name: Option<&str>,
) -> Result<Vec<u8>, PkiError> {
    if password.is_empty() {
        return Err(PkiError::InvalidField {
            field: "password",
            reason: "must not be empty".into(),
        });
    }
    let info = certificate_of_key(cert_der, key)?;
    let name = match friendly_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None if !info.common_name.trim().is_empty() => info.common_name.clone(),
        None => "certificate".to_string(),
    };
    check_friendly_name(&name)?;

    let to_p12_cert = |der: &[u8], field: &'static str| {
        parse_certificate(der).map_err(|e| PkiError::InvalidField {
            field,
            reason: e.to_string(),
        })?;
        p12_keystore::Certificate::from_der(der).map_err(|e| PkiError::InvalidField {
            field,
            reason: format!("invalid certificate: {e}"),
        })
    };
    let mut certs = vec![to_p12_cert(cert_der, "certificate")?];
    for der in chain_der {
        certs.push(to_p12_cert(der, "ca_chain")?);
    }

    let pkcs8 = key.to_pkcs8_der()?;
    let p12_key = p12_keystore::PrivateKey::from_der(&pkcs8)
        .map_err(|e| PkiError::Encoding(format!("pkcs#12 private key: {e}")))?;
    // OpenSSL's choice of localKeyID: the SHA-1 of the certificate.
    let local_key_id = Sha1::digest(cert_der).to_vec();
    let chain = p12_keystore::PrivateKeyChain::new(local_key_id, p12_key, certs);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(&name, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));

    let writer = store.writer(password);
    let writer = match flavour {
        Pkcs12Flavour::Modern => writer
            .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .encryption_iterations(MODERN_ITERATIONS)
            .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
            .mac_iterations(MODERN_ITERATIONS),
        Pkcs12Flavour::Legacy => writer
            .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .encryption_iterations(LEGACY_ITERATIONS)
            .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha1)
            .mac_iterations(LEGACY_ITERATIONS),
    };
    writer
        .write()
        .map_err(|e| PkiError::Encoding(format!("pkcs#12: {e}")))
}

/// Opens a PKCS#12 file with `password` (either flavour, and what OpenSSL or Java wrote).
pub fn read_pkcs12(data: &[u8], password: &str) -> Result<Pkcs12Contents, PkiError> {
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(data, password).map_err(|e| {
        let reason = match e {
            p12_keystore::error::Error::MacError(_) => {
                "the password is wrong, or the file is corrupt".to_string()
            }
            other => other.to_string().to_lowercase(),
        };
        PkiError::InvalidField {
            field: "pkcs12",
            reason,
        }
    })?;
    let bag = archive
        .keys
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::InvalidField {
            field: "pkcs12",
            reason: "holds no private key".into(),
        })?;
    let pkcs8 = Zeroizing::new(bag.key.as_der().to_vec());
    let key = PrivateKey::from_pkcs8_der(&pkcs8)?;
    let key_id = bag.local_key_id.as_ref().map(|id| id.as_ref().to_vec());
    let mut certificates: Vec<(bool, Vec<u8>)> = archive
        .certs
        .into_iter()
        .map(|c| {
            let bound = key_id.is_some() && c.local_key_id == key_id;
            (bound, c.cert.as_der().to_vec())
        })
        .collect();
    // Stable: the key's own certificate first, the others in file order.
    certificates.sort_by_key(|(bound, _)| !*bound);
    Ok(Pkcs12Contents {
        key,
        friendly_name: bag.friendly_name,
        certificates: certificates.into_iter().map(|(_, der)| der).collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pki::cert::{CertSpec, ExtKeyUsage, KeyUsage, Sans, Subject, self_sign, sign};
    use crate::pki::key::KeyType;

    /// A root, an intermediate and a leaf with its key: (leaf, [int, root], leaf key).
    pub(crate) fn issued_leaf(
        leaf_type: KeyType,
        bits: u32,
    ) -> (Vec<u8>, Vec<Vec<u8>>, PrivateKey) {
        let ca = |cn: &str, serial: u8| CertSpec {
            serial: vec![serial],
            not_before: 1_700_000_000,
            not_after: 4_000_000_000,
            subject: Subject::with_common_name(cn),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            ..CertSpec::default()
        };
        let root_key = PrivateKey::generate(KeyType::Ec, 256).expect("root key");
        let root = self_sign(&ca("Test Root", 1), &root_key, 0).expect("root");
        let int_key = PrivateKey::generate(KeyType::Ec, 256).expect("int key");
        let int = sign(
            &ca("Test Intermediate", 2),
            &int_key.public_key_info(),
            &root,
            &root_key,
            0,
        )
        .expect("int");
        let leaf_key = PrivateKey::generate(leaf_type, bits).expect("leaf key");
        let leaf_spec = CertSpec {
            serial: vec![3],
            not_before: 1_700_000_000,
            not_after: 4_000_000_000,
            subject: Subject::with_common_name("app.example.test"),
            sans: Sans {
                dns: vec!["app.example.test".into()],
                ..Sans::default()
            },
            key_usage: vec![KeyUsage::DigitalSignature],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth],
            ..CertSpec::default()
        };
        let leaf = sign(&leaf_spec, &leaf_key.public_key_info(), &int, &int_key, 0).expect("leaf");
        (leaf, vec![int, root], leaf_key)
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn both_flavours_round_trip() {
        let (leaf, chain, key) = issued_leaf(KeyType::Ec, 256);
        for flavour in [Pkcs12Flavour::Legacy, Pkcs12Flavour::Modern] {
            let p12 = build_pkcs12(&leaf, &chain, &key, "pässword", flavour, Some("my server"))
                .expect("build");
            let back = read_pkcs12(&p12, "pässword").expect("read");
            assert!(back.key.matches(&key.public_key_info()), "{flavour:?}");
            assert_eq!(back.friendly_name.as_deref(), Some("my server"));
            assert_eq!(back.certificates.len(), 3);
            assert_eq!(back.certificates.first(), Some(&leaf));
            assert!(chain.iter().all(|c| back.certificates.contains(c)));
            let wrong = read_pkcs12(&p12, "password").expect_err("wrong password");
            assert!(
                matches!(
                    wrong,
                    PkiError::InvalidField {
                        field: "pkcs12",
                        ..
                    }
                ),
                "{wrong:?}"
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn refuses_a_foreign_key_bad_names_and_no_password() {
        let (leaf, chain, key) = issued_leaf(KeyType::Ed25519, 0);
        let other = PrivateKey::generate(KeyType::Ed25519, 0).expect("other");
        let field_of = |r: Result<Vec<u8>, PkiError>| match r {
            Err(PkiError::InvalidField { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        let legacy = Pkcs12Flavour::Legacy;
        assert_eq!(
            field_of(build_pkcs12(&leaf, &chain, &other, "pw", legacy, None)),
            "private_key"
        );
        assert_eq!(
            field_of(build_pkcs12(&leaf, &chain, &key, "", legacy, None)),
            "password"
        );
        assert_eq!(
            field_of(build_pkcs12(
                &leaf,
                &chain,
                &key,
                "pw",
                legacy,
                Some("a\u{7}b")
            )),
            "friendly_name"
        );
        assert_eq!(
            field_of(build_pkcs12(&leaf, &chain, &key, "pw", legacy, Some("🔑"))),
            "friendly_name"
        );
        assert_eq!(
            field_of(build_pkcs12(b"junk", &chain, &key, "pw", legacy, None)),
            "certificate"
        );
        assert_eq!(
            field_of(build_pkcs12(
                &leaf,
                &[b"junk".to_vec()],
                &key,
                "pw",
                legacy,
                None
            )),
            "ca_chain"
        );
        // Without a name, the certificate's common name.
        let p12 = build_pkcs12(&leaf, &[], &key, "pw", legacy, None).expect("build");
        let back = read_pkcs12(&p12, "pw").expect("read");
        assert_eq!(back.friendly_name.as_deref(), Some("app.example.test"));
        assert_eq!(back.certificates, vec![leaf]);
        assert!(read_pkcs12(b"junk", "pw").is_err());
    }
}

/// Our files opened by openssl, and openssl's by us (host only).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::tests::issued_leaf;
    use super::*;
    use crate::pki::key::KeyType;
    use crate::pki::pem::pem_encode;
    use crate::pki::testutil::{Scratch, openssl};

    fn try_openssl(args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    #[test]
    fn openssl_opens_both_flavours() {
        let scratch = Scratch::new("pkcs12");
        for (kt, bits) in [
            (KeyType::Rsa, 2048),
            (KeyType::Ec, 384),
            (KeyType::Ed25519, 0),
        ] {
            let (leaf, chain, key) = issued_leaf(kt, bits);
            for flavour in [Pkcs12Flavour::Modern, Pkcs12Flavour::Legacy] {
                let p12 = build_pkcs12(&leaf, &chain, &key, "open sesame", flavour, Some("srv"))
                    .expect("build");
                let path = scratch.write(&format!("{kt}-{flavour:?}.p12"), &p12);
                let mut base = vec!["pkcs12", "-in", &path, "-passin", "pass:open sesame"];
                if flavour == Pkcs12Flavour::Legacy {
                    base.push("-legacy");
                }
                let certs = openssl(&[base.as_slice(), &["-nokeys"]].concat());
                assert_eq!(certs.matches("BEGIN CERTIFICATE").count(), 3, "{certs}");
                for der in std::iter::once(&leaf).chain(&chain) {
                    let pem = pem_encode("CERTIFICATE", der);
                    assert!(
                        certs.contains(pem.trim()),
                        "{kt} {flavour:?}: a certificate is missing"
                    );
                }
                let keys = openssl(&[base.as_slice(), &["-nocerts", "-noenc"]].concat());
                assert!(keys.contains("friendlyName: srv"), "{keys}");
                let key_path = scratch.write("key.pem", &keys);
                let public = openssl(&["pkey", "-in", &key_path, "-pubout"]);
                assert_eq!(
                    public.trim(),
                    key.public_key_info().to_pem().trim(),
                    "{kt} {flavour:?}"
                );

                let info = openssl(&[base.as_slice(), &["-info", "-noout"]].concat());
                match flavour {
                    Pkcs12Flavour::Modern => {
                        assert!(info.contains("MAC: sha256"), "{info}");
                        assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
                        assert!(!info.contains("3-key triple DES"), "{info}");
                    }
                    Pkcs12Flavour::Legacy => {
                        assert!(info.contains("MAC: sha1"), "{info}");
                        assert!(!info.contains("PBES2"), "{info}");
                        assert!(
                            info.matches("pbeWithSHA1And3-KeyTripleDES-CBC").count() >= 2,
                            "key and certificates use 3DES: {info}"
                        );
                    }
                }
                // The wrong password fails.
                let (ok, _) = try_openssl(
                    &[&base[..3], &["-passin", "pass:wrong", "-noout"], &base[5..]].concat(),
                );
                assert!(!ok, "{kt} {flavour:?}: a wrong password must fail");
            }
            // No RC2 (what `openssl pkcs12 -export -legacy` uses for certificates, and which
            // OpenSSL 3 only has in its legacy provider): 3DES throughout, so OpenSSL 3
            // opens the legacy flavour even without -legacy.
            let p12 = build_pkcs12(&leaf, &chain, &key, "pw", Pkcs12Flavour::Legacy, None)
                .expect("build");
            let path = scratch.write("legacy-check.p12", &p12);
            // `-noout`: only the structure lines, no PEM whose base64 could hold "RC2".
            let (ok, out) = try_openssl(&[
                "pkcs12", "-in", &path, "-passin", "pass:pw", "-info", "-nokeys", "-noout",
            ]);
            assert!(ok, "{out}");
            assert!(out.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{out}");
            assert!(!out.contains("RC2-CBC"), "{out}");
        }
    }

    #[test]
    fn we_open_what_openssl_writes() {
        let scratch = Scratch::new("pkcs12-theirs");
        let (leaf, chain, key) = issued_leaf(KeyType::Ec, 256);
        let cert_path = scratch.write("leaf.pem", pem_encode("CERTIFICATE", &leaf));
        let chain_pem: String = chain.iter().map(|c| pem_encode("CERTIFICATE", c)).collect();
        let chain_path = scratch.write("chain.pem", chain_pem);
        let key_path = scratch.write("key.pem", key.to_pkcs8_pem().expect("pem").as_bytes());
        for legacy in [false, true] {
            let out = scratch.path(&format!("theirs-{legacy}.p12"));
            let mut args = vec![
                "pkcs12",
                "-export",
                "-in",
                &cert_path,
                "-inkey",
                &key_path,
                "-certfile",
                &chain_path,
                "-name",
                "theirs",
                "-passout",
                "pass:pw",
                "-out",
                &out,
            ];
            if legacy {
                args.push("-legacy");
            }
            openssl(&args);
            let back = read_pkcs12(&std::fs::read(&out).expect("read"), "pw").expect("open");
            assert!(back.key.matches(&key.public_key_info()));
            assert_eq!(back.friendly_name.as_deref(), Some("theirs"));
            assert_eq!(back.certificates.first(), Some(&leaf));
            assert_eq!(back.certificates.len(), 3);
        }
    }
}
