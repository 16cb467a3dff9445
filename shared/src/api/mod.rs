//! Wire types of the Vault HTTP API (and the console's own small endpoints), shared by
//! the engine that produces them, the SPA, the tests and the server's own calls. Field
//! names follow Vault exactly; fields Vault may leave out get `#[serde(default)]`, so the
//! same types read OpenBao's answers. One file per Vault area: `sys` (mounts, policies,
//! capabilities, health), `token` (the token store and the `auth` block of a login),
//! `pki` (the PKI secrets engine), `kubernetes` (the Kubernetes auth method).
//!
//! Requests are typed too, for the clients that send them; the engine decodes what it
//! receives with `pki::fields` (Vault's weak typing: `"true"`, `"1h"`, comma lists), so
//! it accepts everything a Vault client may send, not only what these types produce.

pub mod certs;
pub mod kubernetes;
pub mod overview;
pub mod pki;
pub mod sys;
pub mod token;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Vault's response envelope: every successful `/v1/*` answer has this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub lease_id: String,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub lease_duration: u64,
    pub data: Option<T>,
    #[serde(default)]
    pub wrap_info: Option<serde_json::Value>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    #[serde(default)]
    pub auth: Option<serde_json::Value>,
}

/// The `data` of a `LIST`: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    #[serde(default)]
    pub keys: Vec<String>,
}

/// The `data` of a detailed `LIST` (`issuers`, `keys`, `certs/detailed`): the keys and,
/// for each, a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfoList<T> {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default = "BTreeMap::new")]
    pub key_info: BTreeMap<String, T>,
}

impl<T> Default for KeyInfoList<T> {
    fn default() -> Self {
        KeyInfoList {
            keys: Vec::new(),
            key_info: BTreeMap::new(),
        }
    }
}

/// Vault's error body: `{"errors": ["..."]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<String>,
}

/// `GET /healthz`: liveness of the console server itself (not of Vault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    /// `embedded` or `upstream`.
    #[serde(default)]
    pub mode: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_reads_vault_json_with_missing_optional_fields() {
        let json = r#"{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,
            "data":{"keys":["a","b"]},"wrap_info":null,"warnings":null,"auth":null}"#;
        let env: Envelope<serde_json::Value> = serde_json::from_str(json).unwrap();
        assert_eq!(env.request_id, "r1");
        assert_eq!(env.data.unwrap()["keys"][1], "b");

        let sparse: Envelope<serde_json::Value> = serde_json::from_str(r#"{"data":null}"#).unwrap();
        assert!(sparse.data.is_none());
        assert!(sparse.warnings.is_none());
    }

    #[test]
    fn error_body_round_trips() {
        let body: ErrorBody = serde_json::from_str(r#"{"errors":["permission denied"]}"#).unwrap();
        assert_eq!(body.errors, vec!["permission denied".to_string()]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"errors":["permission denied"]}"#
        );
    }
}
