//! The PKI secrets engine (`<mount>/...`): CAs and issuers, URLs, roles, signing and the
//! certificate store.

use serde::{Deserialize, Serialize};

/// `POST <mount>/root/generate/:type` and `<mount>/intermediate/generate/:type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerateCa {
    pub common_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// Roots only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ou: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<String>,
}

/// The answer to a root generation (and the `certificate` part of `sign-intermediate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratedRoot {
    pub certificate: String,
    #[serde(default)]
    pub issuing_ca: String,
    #[serde(default)]
    pub serial_number: String,
    /// Unix seconds.
    #[serde(default)]
    pub expiration: i64,
    #[serde(default)]
    pub issuer_id: String,
    #[serde(default)]
    pub issuer_name: String,
    #[serde(default)]
    pub key_id: String,
    #[serde(default)]
    pub key_name: String,
    /// `exported` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_type: Option<String>,
}

/// The answer to `<mount>/intermediate/generate/:type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratedCsr {
    pub csr: String,
    #[serde(default)]
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_type: Option<String>,
}

/// `POST <mount>/root/sign-intermediate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignIntermediate {
    pub csr: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
}

/// `POST <mount>/intermediate/set-signed` (and `issuers/import/bundle`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetSigned {
    /// The signed certificate, and the chain above it (root included) after it.
    pub certificate: String,
}

/// The answer to `set-signed` and `issuers/import/*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    #[serde(default)]
    pub imported_issuers: Option<Vec<String>>,
    #[serde(default)]
    pub imported_keys: Option<Vec<String>>,
    #[serde(default)]
    pub existing_issuers: Option<Vec<String>>,
    #[serde(default)]
    pub existing_keys: Option<Vec<String>>,
    /// Issuer id → key id (`""` without a key).
    #[serde(default)]
    pub mapping: std::collections::BTreeMap<String, String>,
}

/// `<mount>/config/urls`: the AIA and CRL addresses put in issued certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urls {
    #[serde(default)]
    pub issuing_certificates: Vec<String>,
    #[serde(default)]
    pub crl_distribution_points: Vec<String>,
    #[serde(default)]
    pub delta_crl_distribution_points: Vec<String>,
    #[serde(default)]
    pub ocsp_servers: Vec<String>,
    #[serde(default)]
    pub enable_templating: bool,
}

/// One issuer in `LIST <mount>/issuers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerSummary {
    #[serde(default)]
    pub issuer_name: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub serial_number: String,
    #[serde(default)]
    pub key_id: String,
}

/// `<mount>/config/issuers`: the default issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuersConfig {
    #[serde(default)]
    pub default: String,
    #[serde(default)]
    pub default_follows_latest_issuer: bool,
}

/// One key in `LIST <mount>/keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySummary {
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub key_type: String,
    #[serde(default)]
    pub key_bits: u32,
}

/// `GET <mount>/issuer/:ref/json` (unauthenticated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerCert {
    pub certificate: String,
    #[serde(default)]
    pub ca_chain: Vec<String>,
    #[serde(default)]
    pub issuer_id: String,
    #[serde(default)]
    pub issuer_name: String,
}

/// `GET <mount>/issuer/:ref`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    pub issuer_id: String,
    #[serde(default)]
    pub issuer_name: String,
    #[serde(default)]
    pub key_id: String,
    pub certificate: String,
    /// The issuer's certificate, then its parents as far as the mount knows them.
    #[serde(default)]
    pub ca_chain: Vec<String>,
    #[serde(default)]
    pub manual_chain: Option<Vec<String>>,
    #[serde(default)]
    pub leaf_not_after_behavior: String,
    #[serde(default)]
    pub usage: String,
    #[serde(default)]
    pub revocation_signature_algorithm: String,
    #[serde(default)]
    pub issuing_certificates: Vec<String>,
    #[serde(default)]
    pub crl_distribution_points: Vec<String>,
    #[serde(default)]
    pub delta_crl_distribution_points: Vec<String>,
    #[serde(default)]
    pub ocsp_servers: Vec<String>,
    #[serde(default)]
    pub revoked: bool,
}

/// `POST <mount>/sign/:role` (and `sign-verbatim`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignRequest {
    pub csr: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alt_names: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip_sans: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri_sans: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub not_after: String,
}

/// The answer to `sign`, `issue`, `sign-verbatim` and `sign-intermediate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signed {
    pub certificate: String,
    #[serde(default)]
    pub issuing_ca: String,
    /// The issuer upwards; Vault's leaves the root out when the mount is an intermediate
    /// whose chain was not imported with it.
    #[serde(default)]
    pub ca_chain: Vec<String>,
    pub serial_number: String,
    /// Unix seconds.
    #[serde(default)]
    pub expiration: i64,
    /// Unix seconds; leaf answers only (not `sign-intermediate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// `issue` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_type: Option<String>,
}

/// `GET <mount>/cert/:serial` (and `cert/ca`, `cert/ca_chain`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertRecord {
    pub certificate: String,
    /// `cert/ca_chain` only: the chain as one PEM text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_chain: Option<String>,
    /// Unix seconds; 0 when valid.
    #[serde(default)]
    pub revocation_time: i64,
    #[serde(default)]
    pub revocation_time_rfc3339: String,
    /// Only for a revoked certificate (OpenBao's form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<String>,
}

/// `POST <mount>/revoke`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Revoke {
    pub serial_number: String,
}

/// The answer to `revoke`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Revoked {
    pub revocation_time: i64,
    #[serde(default)]
    pub revocation_time_rfc3339: String,
    #[serde(default)]
    pub state: String,
}
