//! Algorithm identifiers and names: Vault's key types, the OIDs of key algorithms,
//! curves, hashes and signature algorithms, and Go's names for them (what Vault shows).
//! A leaf module (rcgen's `sign_algo` layout): keys, certificates, CSRs, CRLs and chain
//! checks all read these tables here rather than from each other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
