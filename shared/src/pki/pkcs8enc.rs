//! Passphrase-protected private keys: PKCS#8 `EncryptedPrivateKeyInfo` with PBES2
//! (AES-256-CBC) keyed by PBKDF2-HMAC-SHA256 or scrypt, the "ENCRYPTED PRIVATE KEY" PEM
//! that `openssl pkey -passin`, Go, Java and nginx read.

use std::fmt;
use std::str::FromStr;

use pkcs8::pkcs5::pbes2;
use pkcs8::pkcs5::scrypt;

use super::error::PkiError;
use super::key::{PrivateKey, Zeroizing, random_bytes};
use super::pem::{pem_decode_all, pem_encode};

/// PBKDF2 rounds for new keys: OWASP's recommendation for PBKDF2-HMAC-SHA256.
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// scrypt cost for new keys: N = 2^14, r = 8, p = 1 (16 MiB), OpenSSL 3's own default
/// and the largest N its default 32 MiB memory limit accepts with r = 8.
pub const SCRYPT_LOG_N: u8 = 14;
/// scrypt block size for new keys.
pub const SCRYPT_R: u32 = 8;
/// scrypt parallelism for new keys.
pub const SCRYPT_P: u32 = 1;

/// Reading refuses PBKDF2 counts above this (a hostile file could stall the tab).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Reading refuses scrypt parameters needing more memory than this (128 · N · r bytes).
const MAX_SCRYPT_MEMORY: u64 = 256 << 20;

/// The password-based key derivation function that turns the passphrase into the
/// AES-256 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// PBKDF2 with HMAC-SHA256 and this many iterations.
    Pbkdf2 {
        /// Iteration count (at least 1000).
        iterations: u32,
    },
    /// scrypt with cost 2^`log_n`, block size `r` and parallelism `p`.
    Scrypt {
        /// log2 of the CPU/memory cost N.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
    },
}

impl Kdf {
    /// PBKDF2-HMAC-SHA256 with [`PBKDF2_ITERATIONS`].
    pub const PBKDF2: Kdf = Kdf::Pbkdf2 {
        iterations: PBKDF2_ITERATIONS,
    };
    /// scrypt with [`SCRYPT_LOG_N`], [`SCRYPT_R`], [`SCRYPT_P`].
    pub const SCRYPT: Kdf = Kdf::Scrypt {
        log_n: SCRYPT_LOG_N,
        r: SCRYPT_R,
        p: SCRYPT_P,
    };
}

impl fmt::Display for Kdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kdf::Pbkdf2 { .. } => f.write_str("pbkdf2"),
            Kdf::Scrypt { .. } => f.write_str("scrypt"),
        }
    }
}

impl FromStr for Kdf {
    type Err = PkiError;

    /// "pbkdf2" or "scrypt", with the default parameters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pbkdf2" => Ok(Kdf::PBKDF2),
            "scrypt" => Ok(Kdf::SCRYPT),
            _ => Err(PkiError::InvalidField {
                field: "kdf",
                reason: format!("{s:?} is not one of pbkdf2, scrypt"),
            }),
        }
    }
}

fn check_passphrase(passphrase: &str) -> Result<(), PkiError> {
    if passphrase.is_empty() {
        return Err(PkiError::InvalidField {
            field: "passphrase",
            reason: "must not be empty".into(),
        });
    }
    Ok(())
}

fn pbes2_params(kdf: Kdf) -> Result<pbes2::Parameters, PkiError> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    random_bytes(&mut salt)?;
    random_bytes(&mut iv)?;
    let bad = |reason: String| PkiError::InvalidField {
        field: "kdf",
        reason,
    };
    match kdf {
        Kdf::Pbkdf2 { iterations } => {
            if !(1000..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
                return Err(bad(format!(
                    "pbkdf2 iterations must be between 1000 and {MAX_PBKDF2_ITERATIONS}, got {iterations}"
                )));
            }
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
                .map_err(|e| bad(format!("pbkdf2 parameters: {e}")))
        }
        Kdf::Scrypt { log_n, r, p } => {
            if scrypt_memory(log_n, r) > MAX_SCRYPT_MEMORY {
                return Err(bad(format!(
                    "scrypt parameters need more than {} MiB",
                    MAX_SCRYPT_MEMORY >> 20
                )));
            }
            let params = scrypt::Params::new(log_n, r, p)
                .map_err(|e| bad(format!("scrypt parameters: {e}")))?;
            pbes2::Parameters::generate_scrypt_aes256cbc(params, &salt, iv)
                .map_err(|e| bad(format!("scrypt parameters: {e}")))
        }
    }
}

/// 128 · 2^log_n · r, saturating.
fn scrypt_memory(log_n: u8, r: u32) -> u64 {
    1u64.checked_shl(u32::from(log_n))
        .and_then(|n| n.checked_mul(128))
        .and_then(|m| m.checked_mul(u64::from(r)))
        .unwrap_or(u64::MAX)
}

/// Encrypts `key` under `passphrase`: `EncryptedPrivateKeyInfo` DER (PBES2, AES-256-CBC,
/// fresh random salt and IV).
pub fn encrypt_private_key_der(
    key: &PrivateKey,
    passphrase: &str,
    kdf: Kdf,
) -> Result<Vec<u8>, PkiError> {
    check_passphrase(passphrase)?;
    let params = pbes2_params(kdf)?;
    let plain = key.to_pkcs8_der()?;
    let info = pkcs8::PrivateKeyInfoRef::try_from(plain.as_slice())
        .map_err(|e| PkiError::Encoding(format!("pkcs#8 private key: {e}")))?;
    let doc = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| PkiError::Encoding(format!("encrypted private key: {e}")))?;
    Ok(doc.as_bytes().to_vec())
}

/// [`encrypt_private_key_der`] as an "ENCRYPTED PRIVATE KEY" PEM block.
pub fn encrypt_private_key_pem(
    key: &PrivateKey,
    passphrase: &str,
    kdf: Kdf,
) -> Result<String, PkiError> {
    Ok(pem_encode(
        "ENCRYPTED PRIVATE KEY",
        &encrypt_private_key_der(key, passphrase, kdf)?,
    ))
}

/// Decrypts an `EncryptedPrivateKeyInfo` DER (PBES2 with PBKDF2 or scrypt).
pub fn decrypt_private_key_der(der: &[u8], passphrase: &str) -> Result<PrivateKey, PkiError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| PkiError::InvalidPrivateKey(format!("encrypted private key: {e}")))?;
    let kdf = info.encryption_algorithm.pbes2().map(|p| &p.kdf);
    if let Some(p) = kdf.and_then(pbes2::Kdf::pbkdf2)
        && p.iteration_count > MAX_PBKDF2_ITERATIONS
    {
        return Err(PkiError::InvalidPrivateKey(format!(
            "encrypted private key: {} pbkdf2 iterations is more than the {MAX_PBKDF2_ITERATIONS} accepted",
            p.iteration_count
        )));
    }
    if let Some(s) = kdf.and_then(pbes2::Kdf::scrypt) {
        let memory = s
            .cost_parameter
            .checked_mul(128)
            .and_then(|m| m.checked_mul(u64::from(s.block_size)))
            .unwrap_or(u64::MAX);
        if memory > MAX_SCRYPT_MEMORY {
            return Err(PkiError::InvalidPrivateKey(format!(
                "encrypted private key: scrypt parameters need more than {} MiB",
                MAX_SCRYPT_MEMORY >> 20
            )));
        }
    }
    let plain = Zeroizing::new(
        info.encryption_algorithm
            .decrypt(passphrase.as_bytes(), info.encrypted_data.as_bytes())
            .map_err(|_| PkiError::InvalidField {
                field: "passphrase",
                reason: "does not decrypt the key (wrong passphrase, or the data is corrupt)"
                    .into(),
            })?,
    );
    PrivateKey::from_pkcs8_der(&plain)
}

/// Decrypts the first "ENCRYPTED PRIVATE KEY" block in `pem_text`.
pub fn decrypt_private_key_pem(pem_text: &str, passphrase: &str) -> Result<PrivateKey, PkiError> {
    let blocks = pem_decode_all(pem_text)?;
    let der = blocks
        .iter()
        .find(|(label, _)| label == "ENCRYPTED PRIVATE KEY")
        .map(|(_, der)| der)
        .ok_or_else(|| PkiError::InvalidPem("no ENCRYPTED PRIVATE KEY block found".into()))?;
    decrypt_private_key_der(der, passphrase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::key::KeyType;

    /// Few rounds: the wasm32 tests run unoptimised.
    const FAST: Kdf = Kdf::Pbkdf2 { iterations: 1000 };
    const FAST_SCRYPT: Kdf = Kdf::Scrypt {
        log_n: 10,
        r: 8,
        p: 1,
    };

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn round_trips_every_key_type_with_both_kdfs() {
        for (kt, bits) in [
            (KeyType::Ec, 256),
            (KeyType::Ec, 384),
            (KeyType::Ed25519, 0),
            (KeyType::Rsa, 2048),
        ] {
            let key = PrivateKey::generate(kt, bits).expect("key");
            for kdf in [FAST, FAST_SCRYPT] {
                let pem = encrypt_private_key_pem(&key, "correct horse", kdf).expect("encrypt");
                assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
                let back = decrypt_private_key_pem(&pem, "correct horse").expect("decrypt");
                assert!(back.matches(&key.public_key_info()), "{kt} {kdf}");
                let wrong = decrypt_private_key_pem(&pem, "wrong horse").expect_err("wrong");
                assert!(
                    matches!(
                        wrong,
                        PkiError::InvalidField {
                            field: "passphrase",
                            ..
                        }
                    ),
                    "{wrong:?}"
                );
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn each_encryption_is_fresh_and_bad_input_is_refused() {
        let key = PrivateKey::generate(KeyType::Ed25519, 0).expect("key");
        let a = encrypt_private_key_der(&key, "pw", FAST).expect("a");
        let b = encrypt_private_key_der(&key, "pw", FAST).expect("b");
        assert_ne!(a, b, "salt and iv are random");
        assert!(matches!(
            encrypt_private_key_pem(&key, "", FAST),
            Err(PkiError::InvalidField {
                field: "passphrase",
                ..
            })
        ));
        assert!(matches!(
            encrypt_private_key_pem(&key, "pw", Kdf::Pbkdf2 { iterations: 10 }),
            Err(PkiError::InvalidField { field: "kdf", .. })
        ));
        assert!(matches!(
            encrypt_private_key_pem(
                &key,
                "pw",
                Kdf::Scrypt {
                    log_n: 30,
                    r: 8,
                    p: 1
                }
            ),
            Err(PkiError::InvalidField { field: "kdf", .. })
        ));
        assert_eq!("Scrypt".parse::<Kdf>(), Ok(Kdf::SCRYPT));
        assert_eq!("pbkdf2".parse::<Kdf>(), Ok(Kdf::PBKDF2));
        assert!(matches!(
            "md5".parse::<Kdf>(),
            Err(PkiError::InvalidField { field: "kdf", .. })
        ));
        assert!(decrypt_private_key_der(b"junk", "pw").is_err());
        assert!(matches!(
            decrypt_private_key_pem(&key.to_pkcs8_pem().expect("pem"), "pw"),
            Err(PkiError::InvalidPem(_))
        ));
    }
}

/// The encrypted keys checked with openssl (host only).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::*;
    use crate::pki::key::KeyType;
    use crate::pki::testutil::{Scratch, openssl};

    #[test]
    fn openssl_opens_our_encrypted_keys_with_the_default_parameters() {
        let scratch = Scratch::new("pkcs8enc");
        for (i, (kt, bits, kdf)) in [
            (KeyType::Ec, 256, Kdf::SCRYPT),
            (KeyType::Rsa, 2048, Kdf::PBKDF2),
            (KeyType::Ed25519, 0, Kdf::SCRYPT),
            (KeyType::Ec, 384, Kdf::PBKDF2),
        ]
        .into_iter()
        .enumerate()
        {
            let key = PrivateKey::generate(kt, bits).expect("key");
            let pem = encrypt_private_key_pem(&key, "s3cret pass", kdf).expect("encrypt");
            let path = scratch.write(&format!("enc{i}.pem"), &pem);
            let text = openssl(&[
                "pkcs8",
                "-in",
                &path,
                "-passin",
                "pass:s3cret pass",
                "-topk8",
                "-nocrypt",
            ]);
            assert!(text.contains("BEGIN PRIVATE KEY"), "{text}");
            let theirs = openssl(&[
                "pkey",
                "-in",
                &path,
                "-passin",
                "pass:s3cret pass",
                "-pubout",
            ]);
            assert_eq!(
                theirs.trim(),
                key.public_key_info().to_pem().trim(),
                "{kt} {bits} {kdf}: openssl's public key is ours"
            );
            let parsed = openssl(&["asn1parse", "-in", &path]);
            for want in ["PBES2", "aes-256-cbc"] {
                assert!(parsed.contains(want), "{want} in {parsed}");
            }
            // The KDF and its cost: 600000 = 0x0927C0 rounds, N = 16384 = 0x4000.
            let wanted: &[&str] = match kdf {
                Kdf::Pbkdf2 { .. } => &[":PBKDF2", "hmacWithSHA256", "INTEGER           :0927C0"],
                Kdf::Scrypt { .. } => &[":scrypt", "INTEGER           :4000"],
            };
            for want in wanted {
                assert!(parsed.contains(want), "{want} in {parsed}");
            }
            // A wrong passphrase fails in openssl too.
            let wrong = std::process::Command::new("openssl")
                .args(["pkey", "-in", &path, "-passin", "pass:nope", "-noout"])
                .output()
                .expect("run openssl");
            assert!(!wrong.status.success());
        }
    }

    #[test]
    fn we_open_keys_openssl_encrypted() {
        let scratch = Scratch::new("pkcs8enc-theirs");
        let plain = scratch.path("plain.pem");
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &plain,
        ]);
        for (name, extra) in [
            (
                "pbkdf2",
                vec!["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"],
            ),
            ("scrypt", vec!["-scrypt"]),
        ] {
            let out = scratch.path(&format!("{name}.pem"));
            let mut args = vec![
                "pkcs8",
                "-topk8",
                "-in",
                &plain,
                "-out",
                &out,
                "-passout",
                "pass:their pass",
            ];
            args.extend(extra);
            openssl(&args);
            let text = std::fs::read_to_string(&out).expect("read");
            let key = decrypt_private_key_pem(&text, "their pass").expect("decrypt openssl's key");
            let original = PrivateKey::from_pem(&std::fs::read_to_string(&plain).expect("plain"))
                .expect("plain key");
            assert!(key.matches(&original.public_key_info()), "{name}");
        }
    }
}
