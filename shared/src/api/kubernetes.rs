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
    /// Whether a reviewer JWT is stored (the JWT itself is never answered).
    #[serde(default)]
    pub token_reviewer_jwt_set: bool,
}

/// `POST auth/<mount>/role/:name`: which service accounts may log in, and the token they
/// get. Durations as Vault takes them (`"10m"` or seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteKubernetesRole {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    /// cert-manager's Vault issuer asks for `vault://<namespace>/<issuer>` (or
    /// `vault://<issuer>` for a ClusterIssuer) unless the Issuer names one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    #[serde(default)]
    pub token_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_ttl: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_max_ttl: String,
}

/// `GET auth/<mount>/role/:name`. A role written with the deprecated names (`policies`,
/// `ttl`, `max_ttl`, `num_uses`) shows them too, as Vault does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesRole {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    #[serde(default)]
    pub bound_service_account_namespace_selector: String,
    #[serde(default)]
    pub alias_name_source: String,
    /// Only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// Seconds.
    #[serde(default)]
    pub token_ttl: u64,
    #[serde(default)]
    pub token_max_ttl: u64,
    #[serde(default)]
    pub token_explicit_max_ttl: u64,
    #[serde(default)]
    pub token_no_default_policy: bool,
    #[serde(default)]
    pub token_bound_cidrs: Vec<String>,
    #[serde(default)]
    pub token_num_uses: i64,
    #[serde(default)]
    pub token_period: u64,
    #[serde(default)]
    pub token_strictly_bind_ip: bool,
    #[serde(default)]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<i64>,
}

/// `POST auth/<mount>/login`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesLogin {
    pub role: String,
    pub jwt: String,
}
