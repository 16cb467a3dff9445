//! Algorithm identifiers and names: Vault's key types, the OIDs of key algorithms,
//! curves, hashes and signature algorithms, and Go's names for them (what Vault shows).
//! A leaf module (rcgen's `sign_algo` layout): keys, certificates, CSRs, CRLs and chain
//! checks all read these tables here rather than from each other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::der;
use super::error::PkiError;

/// The key algorithms Vault knows, by their `key_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// RSA (2048, 3072, 4096 or 8192 bits).
    Rsa,
    /// ECDSA over NIST P-256 or P-384.
    Ec,
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    /// Vault's name: "rsa", "ec" or "ed25519".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ec => "ec",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// The `key_bits` Vault uses when 0 is given: 2048 for RSA, 256 for EC, 0 for Ed25519.
    pub fn default_bits(self) -> u32 {
        match self {
            KeyType::Rsa => 2048,
            KeyType::Ec => 256,
            KeyType::Ed25519 => 0,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rsa" => Ok(KeyType::Rsa),
            "ec" => Ok(KeyType::Ec),
            "ed25519" => Ok(KeyType::Ed25519),
            _ => Err(PkiError::UnsupportedKeyType(s.to_string())),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Key algorithms and curves

pub(crate) const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub(crate) const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
pub(crate) const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub(crate) const OID_P256: &str = "1.2.840.10045.3.1.7";
pub(crate) const OID_P384: &str = "1.3.132.0.34";
pub(crate) const OID_P521: &str = "1.3.132.0.35";
pub(crate) const OID_ED25519: &str = "1.3.101.112";

// ----------------------------------------------------------------------------------------
// Hashes

pub(crate) const OID_SHA1: &str = "1.3.14.3.2.26";
pub(crate) const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub(crate) const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub(crate) const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
/// MGF1, the mask generation function of RSASSA-PSS.
pub(crate) const OID_MGF1: &str = "1.2.840.113549.1.1.8";

/// The hash used in a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub(crate) fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha1 => Sha1::digest(msg).to_vec(),
            HashAlg::Sha256 => Sha256::digest(msg).to_vec(),
            HashAlg::Sha384 => Sha384::digest(msg).to_vec(),
            HashAlg::Sha512 => Sha512::digest(msg).to_vec(),
        }
    }

    pub(crate) fn oid(self) -> &'static str {
        match self {
            HashAlg::Sha1 => OID_SHA1,
            HashAlg::Sha256 => OID_SHA256,
            HashAlg::Sha384 => OID_SHA384,
            HashAlg::Sha512 => OID_SHA512,
        }
    }

    pub(crate) fn from_oid(oid: &str) -> Option<Self> {
        [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ]
        .into_iter()
        .find(|h| h.oid() == oid)
    }

    pub(crate) fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub(crate) fn from_signature_bits(bits: u32) -> Option<Self> {
        match bits {
            256 => Some(HashAlg::Sha256),
            384 => Some(HashAlg::Sha384),
            512 => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

// ----------------------------------------------------------------------------------------
// Signature algorithms

pub(crate) const OID_SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
/// The old OIW sha1WithRSASignature, still read (Go reads it too).
pub(crate) const OID_SHA1_WITH_RSA_OIW: &str = "1.3.14.3.2.29";
pub(crate) const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub(crate) const OID_SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
pub(crate) const OID_SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
pub(crate) const OID_ECDSA_WITH_SHA1: &str = "1.2.840.10045.4.1";
pub(crate) const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
pub(crate) const OID_ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
pub(crate) const OID_ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";

/// A signature algorithm, resolved from its identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigAlg {
    RsaPkcs1(HashAlg),
    RsaPss { hash: HashAlg, salt_len: usize },
    Ecdsa(HashAlg),
    Ed25519,
}

pub(crate) fn resolve(oid: &str, params: Option<&[u8]>) -> Result<SigAlg, PkiError> {
    Ok(match oid {
        OID_SHA1_WITH_RSA | OID_SHA1_WITH_RSA_OIW => SigAlg::RsaPkcs1(HashAlg::Sha1),
        OID_SHA256_WITH_RSA => SigAlg::RsaPkcs1(HashAlg::Sha256),
        OID_SHA384_WITH_RSA => SigAlg::RsaPkcs1(HashAlg::Sha384),
        OID_SHA512_WITH_RSA => SigAlg::RsaPkcs1(HashAlg::Sha512),
        OID_ECDSA_WITH_SHA1 => SigAlg::Ecdsa(HashAlg::Sha1),
        OID_ECDSA_WITH_SHA256 => SigAlg::Ecdsa(HashAlg::Sha256),
        OID_ECDSA_WITH_SHA384 => SigAlg::Ecdsa(HashAlg::Sha384),
        OID_ECDSA_WITH_SHA512 => SigAlg::Ecdsa(HashAlg::Sha512),
        OID_ED25519 => SigAlg::Ed25519,
        OID_RSA_PSS => {
            let (hash, salt_len) = pss_params(params)?;
            SigAlg::RsaPss { hash, salt_len }
        }
        other => return Err(PkiError::UnsupportedSignatureAlgorithm(other.to_string())),
    })
}

/// RSASSA-PSS-params: the hash (MGF1 must use the same one) and the salt length.
fn pss_params(params: Option<&[u8]>) -> Result<(HashAlg, usize), PkiError> {
    let bad = |why: &str| PkiError::UnsupportedSignatureAlgorithm(format!("rsassa-pss with {why}"));
    let malformed =
        |e: der::DerError| PkiError::SignatureInvalid(format!("rsassa-pss parameters: {e}"));
    let mut hash = HashAlg::Sha1;
    let mut mgf_hash = HashAlg::Sha1;
    let mut salt_len = 20usize;
    if let Some(params) = params {
        let (_, content) = der::expect(params, der::SEQUENCE).map_err(malformed)?;
        for field in der::children(content).map_err(malformed)? {
            let tlv = der::split(field).map_err(malformed)?;
            match tlv.tag {
                0xa0 => hash = alg_hash(tlv.content).ok_or_else(|| bad("an unknown hash"))?,
                0xa1 => {
                    let (oid, mgf_params) = alg_id_parts(tlv.content)
                        .map_err(|_| bad("a malformed mask generation function"))?;
                    if oid != OID_MGF1 {
                        return Err(bad("a mask generation function other than mgf1"));
                    }
                    mgf_hash = mgf_params
                        .and_then(alg_hash)
                        .ok_or_else(|| bad("an unknown mgf1 hash"))?;
                }
                0xa2 => {
                    let (_, int) = der::expect(tlv.content, der::INTEGER).map_err(malformed)?;
                    if int.len() > 4 || int.first().is_some_and(|b| *b & 0x80 != 0) {
                        return Err(bad("an invalid salt length"));
                    }
                    salt_len = int
                        .iter()
                        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                }
                0xa3 => {
                    let (_, int) = der::expect(tlv.content, der::INTEGER).map_err(malformed)?;
                    if int != [1] {
                        return Err(bad("a trailer field other than 1"));
                    }
                }
                _ => return Err(bad("unknown parameters")),
            }
        }
    }
    if hash != mgf_hash {
        return Err(bad("an mgf1 hash different from the message hash"));
    }
    Ok((hash, salt_len))
}

fn alg_hash(alg_id: &[u8]) -> Option<HashAlg> {
    alg_id_parts(alg_id)
        .ok()
        .and_then(|(oid, _)| HashAlg::from_oid(&oid))
}

/// An AlgorithmIdentifier's OID (dotted) and parameters (whole TLV, if any).
pub(crate) fn alg_id_parts(alg_id: &[u8]) -> Result<(String, Option<&[u8]>), der::DerError> {
    let (_, content) = der::expect(alg_id, der::SEQUENCE)?;
    let oid = der::split(content)?;
    if oid.tag != der::OID {
        return Err(der::DerError("algorithm is not an oid".into()));
    }
    let params = if oid.rest.is_empty() {
        None
    } else {
        Some(oid.rest)
    };
    Ok((der::oid_to_string(oid.content)?, params))
}

/// Go's name for a signature algorithm ("SHA256-RSA", "SHA384-RSAPSS", "ECDSA-SHA256",
/// "Ed25519"), or "unknown".
pub(crate) fn signature_algorithm_name(oid: &str, pss_hash: Option<HashAlg>) -> &'static str {
    match oid {
        OID_SHA1_WITH_RSA | OID_SHA1_WITH_RSA_OIW => "SHA1-RSA",
        OID_SHA256_WITH_RSA => "SHA256-RSA",
        OID_SHA384_WITH_RSA => "SHA384-RSA",
        OID_SHA512_WITH_RSA => "SHA512-RSA",
        OID_ECDSA_WITH_SHA1 => "ECDSA-SHA1",
        OID_ECDSA_WITH_SHA256 => "ECDSA-SHA256",
        OID_ECDSA_WITH_SHA384 => "ECDSA-SHA384",
        OID_ECDSA_WITH_SHA512 => "ECDSA-SHA512",
        OID_ED25519 => "Ed25519",
        OID_RSA_PSS => match pss_hash {
            Some(HashAlg::Sha256) => "SHA256-RSAPSS",
            Some(HashAlg::Sha384) => "SHA384-RSAPSS",
            Some(HashAlg::Sha512) => "SHA512-RSAPSS",
            _ => "RSAPSS",
        },
        _ => "unknown",
    }
}

/// The Go name of the algorithm in an AlgorithmIdentifier DER (its OID if unknown).
pub(crate) fn algorithm_name_of_der(alg_id: &[u8]) -> String {
    match alg_id_parts(alg_id) {
        Ok((oid, params)) => {
            let pss_hash = resolve(&oid, params).ok().and_then(|a| match a {
                SigAlg::RsaPss { hash, .. } => Some(hash),
                _ => None,
            });
            match signature_algorithm_name(&oid, pss_hash) {
                "unknown" => oid,
                name => name.to_string(),
            }
        }
        Err(_) => "unknown".to_string(),
    }
}
