//! The token store (`auth/token/*`) and the `auth` block every login answers with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `auth` block of a response that hands out a token (`auth/token/create`, a
/// Kubernetes login).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Auth {
    pub client_token: String,
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// `null` when the token has no metadata.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Seconds (0: no expiry, the root token).
    #[serde(default)]
    pub lease_duration: u64,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub mfa_requirement: Option<serde_json::Value>,
    #[serde(default)]
    pub num_uses: i64,
}

/// `POST auth/token/create` (and `create-orphan`): durations as Vault takes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateToken {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_max_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_parent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_default_policy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// `GET auth/token/lookup-self` (and `lookup`, `lookup-accessor`, where `id` is empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenLookup {
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub creation_time: i64,
    #[serde(default)]
    pub creation_ttl: u64,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub entity_id: String,
    /// RFC 3339; `null` for a token that never expires.
    #[serde(default)]
    pub expire_time: Option<String>,
    #[serde(default)]
    pub explicit_max_ttl: u64,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub issue_time: String,
    #[serde(default)]
    pub meta: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub num_uses: i64,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub renewable: bool,
    /// Seconds left.
    #[serde(default)]
    pub ttl: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
}
