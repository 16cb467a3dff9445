//! Keys: generation, PEM/DER import and export, public key info and signing with the hash
//! Vault's `signature_bits` selects. RSA, ECDSA (P-256, P-384) and Ed25519, pure Rust
//! (RustCrypto), so the same code runs on the server and in the browser.

use std::fmt;

pub use pkcs8::der::zeroize::Zeroizing;
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::Signer as _;
use signature::hazmat::PrehashSigner;

use super::alg::{
    HashAlg, OID_EC_PUBLIC_KEY, OID_ECDSA_WITH_SHA1, OID_ECDSA_WITH_SHA256, OID_ECDSA_WITH_SHA384,
    OID_ECDSA_WITH_SHA512, OID_ED25519, OID_MGF1, OID_P256, OID_P384, OID_P521, OID_RSA_ENCRYPTION,
    OID_RSA_PSS, OID_SHA1_WITH_RSA, OID_SHA256_WITH_RSA, OID_SHA384_WITH_RSA, OID_SHA512_WITH_RSA,
    signature_algorithm_name,
};
use super::der;

/// The key type and the error type, where the crates using `shared` have always found
/// them (they live in the leaf modules [`super::alg`] and [`super::error`]).
pub use super::alg::KeyType;
pub use super::error::PkiError;

/// A decoded public key, ready to verify signatures.
#[derive(Clone)]
pub(crate) enum VerifyKey {
    Rsa(Box<RsaPublicKey>),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A public key as carried in certificates and CSRs: its type, size and the
/// SubjectPublicKeyInfo DER (re-encoded canonically: uncompressed EC points, NULL RSA
/// parameters), so two encodings of one key compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyInfo {
    /// The key algorithm.
    pub key_type: KeyType,
    /// The key size in bits, as Vault reports it: the RSA modulus length, the curve size
    /// (256, 384) or 0 for Ed25519.
    pub bits: u32,
    /// SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
}

impl PublicKeyInfo {
    /// Decodes and validates a SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, PkiError> {
        let (key, key_type, bits) = decode_spki(der)?;
        let spki_der = encode_verify_key(&key)?;
        Ok(PublicKeyInfo {
            key_type,
            bits,
            spki_der,
        })
    }

    /// The subjectPublicKey BIT STRING's bytes (the raw key: PKCS#1 RSAPublicKey, SEC1
    /// point or the 32 Ed25519 bytes).
    pub fn subject_public_key(&self) -> &[u8] {
        spki_subject_public_key(&self.spki_der).unwrap_or(&[])
    }

    /// The key identifier Vault (Go) puts in Subject/Authority Key Identifier extensions:
    /// SHA-1 of the subjectPublicKey bytes (RFC 5280 §4.2.1.2 method 1).
    pub fn key_id(&self) -> Vec<u8> {
        key_id_of_spki(&self.spki_der)
    }

    /// The key as a "PUBLIC KEY" PEM block.
    pub fn to_pem(&self) -> String {
        super::pem::pem_encode("PUBLIC KEY", &self.spki_der)
    }
}

/// SHA-1 over the subjectPublicKey bytes of an SPKI (empty input on malformed DER).
pub(crate) fn key_id_of_spki(spki_der: &[u8]) -> Vec<u8> {
    let bits = spki_subject_public_key(spki_der).unwrap_or(&[]);
    Sha1::digest(bits).to_vec()
}

/// The subjectPublicKey bytes of an SPKI (without the unused-bits octet).
pub(crate) fn spki_subject_public_key(spki_der: &[u8]) -> Result<&[u8], PkiError> {
    let bad = |e: String| PkiError::InvalidPublicKey(e);
    let (_, content) = der::expect(spki_der, der::SEQUENCE).map_err(|e| bad(e.to_string()))?;
    let parts = der::children(content).map_err(|e| bad(e.to_string()))?;
    let bit_string = parts
        .get(1)
        .ok_or_else(|| bad("subjectPublicKeyInfo has no key".into()))?;
    let (_, bits) = der::expect(bit_string, der::BIT_STRING).map_err(|e| bad(e.to_string()))?;
    match bits.split_first() {
        Some((0, key)) => Ok(key),
        _ => Err(bad("subjectPublicKey has unused bits".into())),
    }
}

/// Decodes an SPKI into a verifying key, its type and Vault's bit count.
pub(crate) fn decode_spki(der: &[u8]) -> Result<(VerifyKey, KeyType, u32), PkiError> {
    let info = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| PkiError::InvalidPublicKey(e.to_string()))?;
    let oid = info.algorithm.oid.to_string();
    let bad = |e: String| PkiError::InvalidPublicKey(e);
    match oid.as_str() {
        OID_RSA_ENCRYPTION => {
            let key = RsaPublicKey::from_public_key_der(der).map_err(|e| bad(e.to_string()))?;
            let bits = key.n().bit_width();
            Ok((VerifyKey::Rsa(Box::new(key)), KeyType::Rsa, bits))
        }
        OID_EC_PUBLIC_KEY => {
            let curve = info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<pkcs8::ObjectIdentifier>().ok())
                .map(|o| o.to_string())
                .unwrap_or_default();
            match curve.as_str() {
                OID_P256 => {
                    let key = p256::PublicKey::from_public_key_der(der)
                        .map_err(|e| bad(e.to_string()))?;
                    Ok((VerifyKey::P256(key.into()), KeyType::Ec, 256))
                }
                OID_P384 => {
                    let key = p384::PublicKey::from_public_key_der(der)
                        .map_err(|e| bad(e.to_string()))?;
                    Ok((VerifyKey::P384(key.into()), KeyType::Ec, 384))
                }
                OID_P521 => Err(PkiError::UnsupportedPublicKey(
                    "ec key on curve p-521".into(),
                )),
                "" => Err(bad("ec key without a named curve".into())),
                other => Err(PkiError::UnsupportedPublicKey(format!(
                    "ec key on curve {other}"
                ))),
            }
        }
        OID_ED25519 => {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map_err(|e| bad(e.to_string()))?;
            Ok((VerifyKey::Ed25519(key), KeyType::Ed25519, 0))
        }
        OID_RSA_PSS => Err(PkiError::UnsupportedPublicKey(format!(
            "rsassa-pss public keys ({OID_RSA_PSS}) are not supported; use an rsaEncryption key"
        ))),
        other => Err(PkiError::UnsupportedPublicKey(other.to_string())),
    }
}

fn encode_verify_key(key: &VerifyKey) -> Result<Vec<u8>, PkiError> {
    let doc = match key {
        VerifyKey::Rsa(k) => k.to_public_key_der(),
        VerifyKey::P256(k) => p256::PublicKey::from(k).to_public_key_der(),
        VerifyKey::P384(k) => p384::PublicKey::from(k).to_public_key_der(),
        VerifyKey::Ed25519(k) => k.to_public_key_der(),
    };
    doc.map(|d| d.as_bytes().to_vec())
        .map_err(|e| PkiError::Encoding(format!("public key: {e}")))
}

#[derive(Clone)]
enum Inner {
    Rsa(Box<RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

/// A private key. Debug output never shows key material.
#[derive(Clone)]
pub struct PrivateKey {
    inner: Inner,
    spki_der: Vec<u8>,
    bits: u32,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type())
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Fills `buf` from the platform's secure random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), PkiError> {
    getrandom::fill(buf).map_err(|e| PkiError::Random(e.to_string()))
}

impl PrivateKey {
    fn from_inner(inner: Inner) -> Result<Self, PkiError> {
        let (verify, bits) = match &inner {
            Inner::Rsa(k) => {
                let public = k.to_public_key();
                let bits = public.n().bit_width();
                (VerifyKey::Rsa(Box::new(public)), bits)
            }
            Inner::P256(k) => (VerifyKey::P256(*k.verifying_key()), 256),
            Inner::P384(k) => (VerifyKey::P384(*k.verifying_key()), 384),
            Inner::Ed25519(k) => (VerifyKey::Ed25519(k.verifying_key()), 0),
        };
        let spki_der = encode_verify_key(&verify)?;
        Ok(PrivateKey {
            inner,
            spki_der,
            bits,
        })
    }

    /// Generates a key the way Vault's `key_type` / `key_bits` ask: RSA 2048, 3072, 4096 or
    /// 8192 bits (0 means 2048), EC 256 or 384 (0 means 256), Ed25519 (bits ignored).
    pub fn generate(key_type: KeyType, bits: u32) -> Result<Self, PkiError> {
        let inner = match key_type {
            KeyType::Rsa => {
                let bits = if bits == 0 { 2048 } else { bits };
                if !matches!(bits, 2048 | 3072 | 4096 | 8192) {
                    return Err(PkiError::UnsupportedKeyBits {
                        key_type: key_type.as_str(),
                        bits,
                    });
                }
                let key = RsaPrivateKey::new(&mut getrandom::SysRng, bits as usize)
                    .map_err(|e| PkiError::Random(format!("rsa key generation: {e}")))?;
                Inner::Rsa(Box::new(key))
            }
            KeyType::Ec => match bits {
                0 | 256 => {
                    Inner::P256(random_scalar::<_, 32>(p256::ecdsa::SigningKey::from_slice)?)
                }
                384 => Inner::P384(random_scalar::<_, 48>(p384::ecdsa::SigningKey::from_slice)?),
                _ => {
                    return Err(PkiError::UnsupportedKeyBits {
                        key_type: key_type.as_str(),
                        bits,
                    });
                }
            },
            KeyType::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                random_bytes(seed.as_mut())?;
                Inner::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
        };
        Self::from_inner(inner)
    }

    /// Reads the first private key in PEM text: PKCS#8 "PRIVATE KEY", PKCS#1
    /// "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY" (other blocks, such as openssl's
    /// "EC PARAMETERS", are skipped).
    pub fn from_pem(pem_text: &str) -> Result<Self, PkiError> {
        let blocks = super::pem::pem_decode_all(pem_text)?;
        for (label, der) in &blocks {
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(der),
                "RSA PRIVATE KEY" => return Self::from_pkcs1_der(der),
                "EC PRIVATE KEY" => return Self::from_sec1_der(der),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(PkiError::InvalidPrivateKey(
                        "encrypted private keys are not supported".into(),
                    ));
                }
                _ => {}
            }
        }
        Err(PkiError::InvalidPem(
            "no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block found".into(),
        ))
    }

    /// Reads a DER private key in any of PKCS#8, PKCS#1 or SEC1.
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        Self::from_pkcs8_der(der)
            .or_else(|first| Self::from_pkcs1_der(der).map_err(|_| first.clone()))
            .or_else(|first| Self::from_sec1_der(der).map_err(|_| first))
    }

    /// Reads a PKCS#8 PrivateKeyInfo (what WebCrypto's `exportKey("pkcs8")` produces).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        let bad = |e: String| PkiError::InvalidPrivateKey(e);
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| bad(e.to_string()))?;
        let oid = info.algorithm.oid.to_string();
        let inner = match oid.as_str() {
            OID_RSA_ENCRYPTION => Inner::Rsa(Box::new(
                RsaPrivateKey::from_pkcs8_der(der).map_err(|e| bad(e.to_string()))?,
            )),
            OID_EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<pkcs8::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => Inner::P256(
                        p256::ecdsa::SigningKey::from_pkcs8_der(der)
                            .map_err(|e| bad(e.to_string()))?,
                    ),
                    OID_P384 => Inner::P384(
                        p384::ecdsa::SigningKey::from_pkcs8_der(der)
                            .map_err(|e| bad(e.to_string()))?,
                    ),
                    other => {
                        return Err(PkiError::UnsupportedPublicKey(format!(
                            "ec key on curve {}",
                            if other.is_empty() { "(none)" } else { other }
                        )));
                    }
                }
            }
            OID_ED25519 => Inner::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|e| bad(e.to_string()))?,
            )),
            other => return Err(PkiError::UnsupportedPublicKey(other.to_string())),
        };
        Self::from_inner(inner)
    }

    /// Reads a PKCS#1 RSAPrivateKey.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, PkiError> {
        let key = RsaPrivateKey::from_pkcs1_der(der)
            .map_err(|e| PkiError::InvalidPrivateKey(format!("rsa private key: {e}")))?;
        Self::from_inner(Inner::Rsa(Box::new(key)))
    }

    /// Reads a SEC1 ECPrivateKey on P-256 or P-384.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, PkiError> {
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Self::from_inner(Inner::P256(k.into()));
        }
        match p384::SecretKey::from_sec1_der(der) {
            Ok(k) => Self::from_inner(Inner::P384(k.into())),
            Err(e) => Err(PkiError::InvalidPrivateKey(format!(
                "ec private key (p-256 or p-384): {e}"
            ))),
        }
    }

    /// PKCS#8 PrivateKeyInfo DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let doc = match &self.inner {
            Inner::Rsa(k) => k.to_pkcs8_der(),
            Inner::P256(k) => k.to_pkcs8_der(),
            Inner::P384(k) => k.to_pkcs8_der(),
            Inner::Ed25519(k) => {
                // PKCS#8 v1 (RFC 8410 §7), as Go and OpenSSL write it: OpenSSL 3.0
                // does not read the v2 form (with the public key) ed25519-dalek writes.
                let seed = Zeroizing::new(der::tlv(der::OCTET_STRING, k.as_bytes()));
                let body = Zeroizing::new(
                    [
                        der::uint(&[]),
                        der::tlv(der::SEQUENCE, &der::oid(OID_ED25519)?),
                        der::tlv(der::OCTET_STRING, &seed),
                    ]
                    .concat(),
                );
                return Ok(Zeroizing::new(der::tlv(der::SEQUENCE, &body)));
            }
        }
        .map_err(|e| PkiError::Encoding(format!("pkcs#8 private key: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// PKCS#8 "PRIVATE KEY" PEM.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, PkiError> {
        let der = self.to_pkcs8_der()?;
        Ok(Zeroizing::new(super::pem::pem_encode("PRIVATE KEY", &der)))
    }

    /// The DER Vault returns for `private_key_format=der`: PKCS#1 for RSA, SEC1 for EC and
    /// PKCS#8 for Ed25519.
    pub fn to_vault_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        match &self.inner {
            Inner::Rsa(k) => k
                .to_pkcs1_der()
                .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
                .map_err(|e| PkiError::Encoding(format!("pkcs#1 private key: {e}"))),
            Inner::P256(k) => p256::SecretKey::from(k)
                .to_sec1_der()
                .map_err(|e| PkiError::Encoding(format!("sec1 private key: {e}"))),
            Inner::P384(k) => p384::SecretKey::from(k)
                .to_sec1_der()
                .map_err(|e| PkiError::Encoding(format!("sec1 private key: {e}"))),
            Inner::Ed25519(_) => self.to_pkcs8_der(),
        }
    }

    /// The PEM label Vault uses for this key type (see [`PrivateKey::to_vault_der`]).
    pub fn vault_pem_label(&self) -> &'static str {
        match self.inner {
            Inner::Rsa(_) => "RSA PRIVATE KEY",
            Inner::P256(_) | Inner::P384(_) => "EC PRIVATE KEY",
            Inner::Ed25519(_) => "PRIVATE KEY",
        }
    }

    /// The PEM Vault returns for `private_key_format=pem` (the default).
    pub fn to_vault_pem(&self) -> Result<Zeroizing<String>, PkiError> {
        let der = self.to_vault_der()?;
        Ok(Zeroizing::new(super::pem::pem_encode(
            self.vault_pem_label(),
            &der,
        )))
    }

    /// The key algorithm.
    pub fn key_type(&self) -> KeyType {
        match self.inner {
            Inner::Rsa(_) => KeyType::Rsa,
            Inner::P256(_) | Inner::P384(_) => KeyType::Ec,
            Inner::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The key size as Vault reports it (modulus bits, curve bits, 0 for Ed25519).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The public key's SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    /// The public key as [`PublicKeyInfo`].
    pub fn public_key_info(&self) -> PublicKeyInfo {
        PublicKeyInfo {
            key_type: self.key_type(),
            bits: self.bits,
            spki_der: self.spki_der.clone(),
        }
    }

    /// Whether `public` is this key's public half.
    pub fn matches(&self, public: &PublicKeyInfo) -> bool {
        public.spki_der == self.spki_der
    }

    /// A signer using the hash Vault's `signature_bits` asks for (0 = the default:
    /// SHA-256 for RSA, the curve's own hash for ECDSA; ignored for Ed25519), with
    /// PKCS#1 v1.5 padding for RSA unless `use_pss`.
    pub fn signer(&self, signature_bits: u32, use_pss: bool) -> Result<Signer<'_>, PkiError> {
        let key_type = self.key_type();
        let unsupported = PkiError::UnsupportedSignatureBits {
            key_type: key_type.as_str(),
            bits: signature_bits,
        };
        let hash = match (&self.inner, signature_bits) {
            (Inner::Ed25519(_), _) => None,
            (Inner::Rsa(_), 0) | (Inner::P256(_), 0) => Some(HashAlg::Sha256),
            (Inner::P384(_), 0) => Some(HashAlg::Sha384),
            (_, bits) => Some(HashAlg::from_signature_bits(bits).ok_or(unsupported)?),
        };
        let scheme = match (&self.inner, hash) {
            (Inner::Rsa(_), Some(h)) if use_pss => Scheme::RsaPss(h),
            (Inner::Rsa(_), Some(h)) => Scheme::RsaPkcs1(h),
            (Inner::P256(_) | Inner::P384(_), Some(h)) => Scheme::Ecdsa(h),
            _ => Scheme::Ed25519,
        };
        Ok(Signer { key: self, scheme })
    }

    /// Signs `msg` with [`PrivateKey::signer`]`(signature_bits, false)`.
    pub fn sign(&self, msg: &[u8], signature_bits: u32) -> Result<Vec<u8>, PkiError> {
        self.signer(signature_bits, false)?.sign(msg)
    }
}

/// Draws a random scalar until the curve accepts it (a retry is astronomically rare).
fn random_scalar<K, const N: usize>(
    from_slice: impl Fn(&[u8]) -> Result<K, p256::ecdsa::Error>,
) -> Result<K, PkiError> {
    for _ in 0..16 {
        let mut bytes = Zeroizing::new([0u8; N]);
        random_bytes(bytes.as_mut())?;
        if let Ok(key) = from_slice(bytes.as_ref()) {
            return Ok(key);
        }
    }
    Err(PkiError::Random("no valid ec scalar drawn".into()))
}

/// How a [`Signer`] signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    RsaPkcs1(HashAlg),
    RsaPss(HashAlg),
    Ecdsa(HashAlg),
    Ed25519,
}

/// A private key bound to a signature algorithm; signs the bytes of a TBS structure.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    key: &'a PrivateKey,
    scheme: Scheme,
}

impl Signer<'_> {
    /// The signature algorithm's OID, dotted.
    pub fn algorithm_oid(&self) -> &'static str {
        match self.scheme {
            Scheme::RsaPkcs1(HashAlg::Sha1) => OID_SHA1_WITH_RSA,
            Scheme::RsaPkcs1(HashAlg::Sha256) => OID_SHA256_WITH_RSA,
            Scheme::RsaPkcs1(HashAlg::Sha384) => OID_SHA384_WITH_RSA,
            Scheme::RsaPkcs1(HashAlg::Sha512) => OID_SHA512_WITH_RSA,
            Scheme::RsaPss(_) => OID_RSA_PSS,
            Scheme::Ecdsa(HashAlg::Sha1) => OID_ECDSA_WITH_SHA1,
            Scheme::Ecdsa(HashAlg::Sha256) => OID_ECDSA_WITH_SHA256,
            Scheme::Ecdsa(HashAlg::Sha384) => OID_ECDSA_WITH_SHA384,
            Scheme::Ecdsa(HashAlg::Sha512) => OID_ECDSA_WITH_SHA512,
            Scheme::Ed25519 => OID_ED25519,
        }
    }

    /// Go's name for the algorithm, as Vault shows it (e.g. "SHA256-RSA", "ECDSA-SHA384").
    pub fn algorithm_name(&self) -> &'static str {
        signature_algorithm_name(self.algorithm_oid(), self.pss_hash())
    }

    fn pss_hash(&self) -> Option<HashAlg> {
        match self.scheme {
            Scheme::RsaPss(h) => Some(h),
            _ => None,
        }
    }

    /// The AlgorithmIdentifier DER that goes into the signed structure.
    pub fn algorithm_identifier_der(&self) -> Result<Vec<u8>, PkiError> {
        let oid = der::oid(self.algorithm_oid())?;
        let mut content = oid;
        match self.scheme {
            Scheme::RsaPkcs1(_) => content.extend_from_slice(&der::NULL),
            Scheme::RsaPss(h) => {
                // RSASSA-PSS-params with the hash, MGF1 over the same hash, and a salt as
                // long as the hash (what Go and OpenSSL produce).
                let hash_alg = der::tlv(
                    der::SEQUENCE,
                    &[der::oid(h.oid())?, der::NULL.to_vec()].concat(),
                );
                let mgf = der::tlv(
                    der::SEQUENCE,
                    &[der::oid(OID_MGF1)?, hash_alg.clone()].concat(),
                );
                let salt = der::uint(&[h.output_len() as u8]);
                let params = [
                    der::tlv(0xa0, &hash_alg),
                    der::tlv(0xa1, &mgf),
                    der::tlv(0xa2, &salt),
                ]
                .concat();
                content.extend_from_slice(&der::tlv(der::SEQUENCE, &params));
            }
            Scheme::Ecdsa(_) | Scheme::Ed25519 => {}
        }
        Ok(der::tlv(der::SEQUENCE, &content))
    }

    /// Signs `msg`; ECDSA signatures come out DER-encoded, as X.509 wants them.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        let failed = |e: String| PkiError::Encoding(format!("signing: {e}"));
        match (&self.key.inner, self.scheme) {
            (Inner::Rsa(k), Scheme::RsaPkcs1(h)) => {
                let mut rng = getrandom::SysRng;
                match h {
                    HashAlg::Sha1 => k.pkcs1v15_sign_with_rng::<Sha1, _>(&mut rng, msg),
                    HashAlg::Sha256 => k.pkcs1v15_sign_with_rng::<Sha256, _>(&mut rng, msg),
                    HashAlg::Sha384 => k.pkcs1v15_sign_with_rng::<Sha384, _>(&mut rng, msg),
                    HashAlg::Sha512 => k.pkcs1v15_sign_with_rng::<Sha512, _>(&mut rng, msg),
                }
                .map_err(|e| failed(e.to_string()))
            }
            (Inner::Rsa(k), Scheme::RsaPss(h)) => {
                let mut rng = getrandom::SysRng;
                match h {
                    HashAlg::Sha1 => k.pss_sign_with_rng::<Sha1, _>(&mut rng, msg),
                    HashAlg::Sha256 => k.pss_sign_with_rng::<Sha256, _>(&mut rng, msg),
                    HashAlg::Sha384 => k.pss_sign_with_rng::<Sha384, _>(&mut rng, msg),
                    HashAlg::Sha512 => k.pss_sign_with_rng::<Sha512, _>(&mut rng, msg),
                }
                .map_err(|e| failed(e.to_string()))
            }
            (Inner::P256(k), Scheme::Ecdsa(h)) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(&h.digest(msg))
                    .map_err(|e| failed(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Inner::P384(k), Scheme::Ecdsa(h)) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash(&h.digest(msg))
                    .map_err(|e| failed(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Inner::Ed25519(k), Scheme::Ed25519) => {
                let sig: ed25519_dalek::Signature =
                    k.try_sign(msg).map_err(|e| failed(e.to_string()))?;
                Ok(sig.to_bytes().to_vec())
            }
            _ => Err(failed("key and signature scheme disagree".into())),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &PrivateKey {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn key_type_names_round_trip() {
        for kt in [KeyType::Rsa, KeyType::Ec, KeyType::Ed25519] {
            assert_eq!(kt.as_str().parse::<KeyType>(), Ok(kt));
            assert_eq!(serde_json::to_string(&kt).ok(), Some(format!("\"{kt}\"")));
        }
        assert_eq!(
            "dsa".parse::<KeyType>(),
            Err(PkiError::UnsupportedKeyType("dsa".into()))
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn generate_rejects_bad_sizes() {
        assert!(matches!(
            PrivateKey::generate(KeyType::Rsa, 1024),
            Err(PkiError::UnsupportedKeyBits { .. })
        ));
        assert!(matches!(
            PrivateKey::generate(KeyType::Ec, 521),
            Err(PkiError::UnsupportedKeyBits { .. })
        ));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ec_and_ed25519_keys_round_trip_through_every_encoding() {
        for (kt, bits, want_bits) in [
            (KeyType::Ec, 0, 256),
            (KeyType::Ec, 384, 384),
            (KeyType::Ed25519, 0, 0),
        ] {
            let key = PrivateKey::generate(kt, bits).expect("generate");
            assert_eq!(key.key_type(), kt);
            assert_eq!(key.bits(), want_bits);
            let pkcs8 = key.to_pkcs8_der().expect("pkcs8");
            let again = PrivateKey::from_pkcs8_der(&pkcs8).expect("from pkcs8");
            assert_eq!(again.public_key_der(), key.public_key_der());
            let pem = key.to_pkcs8_pem().expect("pem");
            let again = PrivateKey::from_pem(&pem).expect("from pem");
            assert_eq!(again.public_key_der(), key.public_key_der());
            let vault = key.to_vault_pem().expect("vault pem");
            assert!(vault.starts_with(&format!("-----BEGIN {}-----", key.vault_pem_label())));
            let again = PrivateKey::from_pem(&vault).expect("from vault pem");
            assert_eq!(again.public_key_der(), key.public_key_der());
            let again = PrivateKey::from_der(&key.to_vault_der().expect("der")).expect("der");
            assert_eq!(again.public_key_der(), key.public_key_der());
            let info = PublicKeyInfo::from_spki_der(&key.public_key_der()).expect("spki");
            assert_eq!(info, key.public_key_info());
            assert!(key.matches(&info));
            assert_eq!(info.key_id().len(), 20);
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bad_key_input_is_an_error_not_a_panic() {
        assert!(PrivateKey::from_pkcs8_der(&[]).is_err());
        assert!(PrivateKey::from_pkcs8_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(PrivateKey::from_der(b"garbage").is_err());
        assert!(matches!(
            PrivateKey::from_pem("no pem here"),
            Err(PkiError::InvalidPem(_))
        ));
        assert!(PublicKeyInfo::from_spki_der(&[0x30, 0x00]).is_err());
        let key = PrivateKey::generate(KeyType::Ed25519, 0).expect("generate");
        let mut spki = key.public_key_der();
        if let Some(last) = spki.last_mut() {
            *last ^= 0xff;
        }
        // Flipping a key byte yields another (or an invalid) key, never a panic.
        let _ = PublicKeyInfo::from_spki_der(&spki);
        assert!(format!("{key:?}").contains("Ed25519"));
    }
}

/// Keys exchanged with openssl in both directions.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::*;
    use crate::pki::testutil::{Scratch, openssl};

    fn public_der_by_openssl(scratch: &Scratch, key_path: &str, name: &str) -> Vec<u8> {
        let out = scratch.path(name);
        openssl(&[
            "pkey", "-in", key_path, "-pubout", "-outform", "DER", "-out", &out,
        ]);
        std::fs::read(&out).expect("read public key")
    }

    #[test]
    fn openssl_keys_load_and_our_keys_load_in_openssl() {
        let scratch = Scratch::new("keys");
        // SEC1 with an EC PARAMETERS block before it, PKCS#1, and PKCS#8 of each kind.
        let sec1 = scratch.path("sec1.pem");
        openssl(&["ecparam", "-name", "secp384r1", "-genkey", "-out", &sec1]);
        let pkcs1 = scratch.path("pkcs1.pem");
        openssl(&["genrsa", "-traditional", "-out", &pkcs1, "2048"]);
        let ed = scratch.path("ed.pem");
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", &ed]);
        let p256 = scratch.path("p256.pem");
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &p256,
        ]);
        for (path, kt, bits) in [
            (&sec1, KeyType::Ec, 384),
            (&pkcs1, KeyType::Rsa, 2048),
            (&ed, KeyType::Ed25519, 0),
            (&p256, KeyType::Ec, 256),
        ] {
            let text = std::fs::read_to_string(path).expect("read key");
            let key = PrivateKey::from_pem(&text).expect("openssl key loads");
            assert_eq!((key.key_type(), key.bits()), (kt, bits));
            let theirs = public_der_by_openssl(&scratch, path, "theirs.der");
            assert_eq!(key.public_key_der(), theirs, "{kt}");
        }

        for (kt, bits) in [
            (KeyType::Rsa, 2048),
            (KeyType::Ec, 256),
            (KeyType::Ec, 384),
            (KeyType::Ed25519, 0),
        ] {
            let key = PrivateKey::generate(kt, bits).expect("key");
            for (name, pem) in [
                ("vault", key.to_vault_pem().expect("vault pem")),
                ("pkcs8", key.to_pkcs8_pem().expect("pkcs8 pem")),
            ] {
                let path = scratch.write(&format!("ours-{kt}-{bits}-{name}.pem"), pem.as_bytes());
                openssl(&["pkey", "-in", &path, "-noout", "-check"]);
                let theirs = public_der_by_openssl(&scratch, &path, "ours-pub.der");
                assert_eq!(key.public_key_der(), theirs, "{kt} {name}");
            }
        }
    }
}
