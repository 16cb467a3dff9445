//! `sys/*`: health and seal status, secrets engine and auth method mounts (and their
//! tune), ACL policies and capabilities.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GET sys/health` (answered bare, without the envelope).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthStatus {
    pub initialized: bool,
    pub sealed: bool,
    pub standby: bool,
    #[serde(default)]
    pub performance_standby: bool,
    #[serde(default)]
    pub replication_performance_mode: String,
    #[serde(default)]
    pub replication_dr_mode: String,
    #[serde(default)]
    pub server_time_utc: i64,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub enterprise: bool,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_id: String,
    #[serde(default)]
    pub echo_duration_ms: i64,
    #[serde(default)]
    pub clock_skew_ms: i64,
}

/// `GET sys/seal-status` (answered bare).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SealStatus {
    #[serde(rename = "type")]
    pub kind: String,
    pub initialized: bool,
    pub sealed: bool,
    pub t: u32,
    pub n: u32,
    pub progress: u32,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub build_date: String,
    #[serde(default)]
    pub migration: bool,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_id: String,
    #[serde(default)]
    pub recovery_seal: bool,
    #[serde(default)]
    pub storage_type: String,
}

/// A mount's lease settings, as `sys/mounts` lists them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountConfig {
    #[serde(default)]
    pub default_lease_ttl: u64,
    #[serde(default)]
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    /// Only the token store's entry has one (`default-service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

/// One entry of `GET sys/mounts` / `sys/auth` (a map path → entry), and
/// `GET sys/mounts/:path`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub config: MountConfig,
    /// `null` for the token store, an object (maybe empty) for the others.
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
    #[serde(default)]
    pub external_entropy_access: bool,
    #[serde(default)]
    pub plugin_version: String,
    #[serde(default)]
    pub running_sha256: String,
    #[serde(default)]
    pub running_plugin_version: String,
    /// Plugins only (the token store has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation_status: Option<String>,
}

/// `POST sys/mounts/:path` and `sys/auth/:path`: enable a secrets engine or auth method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnableMount {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<MountTuneInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
}

/// The lease settings of `EnableMount` and of `POST sys/mounts/:path/tune`: durations as
/// Vault takes them (`"10m"`, seconds, or `"system"` for the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountTuneInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lease_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lease_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `GET sys/mounts/:path/tune`: the effective TTLs in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountTune {
    pub default_lease_ttl: u64,
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default)]
    pub description: String,
    /// Only when the mount has options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
}

/// `GET sys/policies/acl/:name` (and the older `sys/policy/:name`, which adds `rules`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AclPolicy {
    pub name: String,
    /// The HCL text.
    #[serde(default)]
    pub policy: String,
    /// The older endpoint's name for `policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// OpenBao's check-and-set version (absent for `root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_slashes_in_identity_templates: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_wildcards_in_identity_templates: Option<bool>,
}

/// `POST sys/policies/acl/:name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteAclPolicy {
    pub policy: String,
    /// Check-and-set: the version being replaced (0: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas: Option<u64>,
}

/// `POST sys/capabilities-self` (and `sys/capabilities` with a `token`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapabilitiesRequest {
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The answer to `CapabilitiesRequest`: each path → its capabilities; with one path,
/// also `capabilities` (Vault's older single-path form).
pub type Capabilities = std::collections::BTreeMap<String, Vec<String>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_entry_reads_openbao_json_and_writes_the_token_store_form() {
        let json = r#"{"accessor":"pki_1","config":{"default_lease_ttl":0,"force_no_cache":false,
            "max_lease_ttl":0},"description":"","external_entropy_access":false,"local":false,
            "options":null,"plugin_version":"","running_plugin_version":"v2.7.2+builtin.bao",
            "running_sha256":"","seal_wrap":false,"type":"pki","uuid":"u"}"#;
        let m: MountEntry = serde_json::from_str(json).unwrap();
        assert_eq!(m.kind, "pki");
        assert!(m.options.is_none());
        let out = serde_json::to_value(&m).unwrap();
        assert_eq!(out["options"], Value::Null);
        assert!(out.get("deprecation_status").is_none());
        assert!(out["config"].get("token_type").is_none());
    }
}
