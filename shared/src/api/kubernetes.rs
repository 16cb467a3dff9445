//! The Kubernetes auth method (`auth/<mount>/config`, `role/:name`, `login`).

use serde::{Deserialize, Serialize};

/// `auth/<mount>/config` as written. `token_reviewer_jwt` is write-only: a read answers
/// `token_reviewer_jwt_set` instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesConfig {
    pub kubernetes_host: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kubernetes_ca_cert: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_reviewer_jwt: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pem_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    #[serde(default)]
    pub disable_iss_validation: bool,
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
}

/// `GET auth/<mount>/config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesConfigRead {
    pub kubernetes_host: String,
    #[serde(default)]
    pub kubernetes_ca_cert: String,
    #[serde(default)]
    pub pem_keys: Vec<String>,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub disable_iss_validation: bool,
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
    #[serde(default)]
    pub token_reviewer_jwt_set: bool,
    #[serde(default)]
    pub use_annotations_as_alias_metadata: bool,
}

/// `auth/<mount>/role/:name`: which service accounts may log in, and the token they get.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesRole {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    /// cert-manager's Vault issuer asks for `vault://<namespace>/<issuer>` (or
    /// `vault://<issuer>` for a ClusterIssuer) unless the Issuer names one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// Seconds (reads) or a duration text (writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_max_ttl: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias_name_source: String,
}

/// `POST auth/<mount>/login`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesLogin {
    pub role: String,
    pub jwt: String,
}
