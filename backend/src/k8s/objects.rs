//! The cluster objects the view reads, as our own serde types: only the fields the view
//! uses are declared, so everything else in an object (a TLS Secret's `tls.key` above
//! all) is skipped by the deserializer and never held in memory, logged or serialised.
//! Each type names its API (group, version, plural) for `kube::Api` through a small
//! `kube::Resource` impl (no derive macros, no generated CRD code).

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use serde::Deserialize;

macro_rules! resource {
    ($ty:ident, $scope:ty, $group:expr, $version:expr, $kind:expr, $plural:expr) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;
            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

/// A status condition (cert-manager's and Kubernetes' shape).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: String,
}

/// The condition of `type_` in a list.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IssuerRef {
    pub name: String,
    pub kind: String,
    pub group: String,
}

/// cert-manager.io/v1 Certificate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Certificate {
    pub metadata: ObjectMeta,
    pub spec: CertificateSpec,
    pub status: CertificateStatus,
}
resource!(
    Certificate,
    NamespaceResourceScope,
    "cert-manager.io",
    "v1",
    "Certificate",
    "certificates"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CertificateSpec {
    pub secret_name: String,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub duration: String,
    pub renew_before: String,
    pub issuer_ref: IssuerRef,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CertificateStatus {
    pub conditions: Vec<Condition>,
    pub not_before: String,
    pub not_after: String,
    pub renewal_time: String,
    pub revision: Option<u64>,
    pub last_failure_time: String,
}

/// cert-manager.io/v1 CertificateRequest (its CSR and certificate are not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CertificateRequest {
    pub metadata: ObjectMeta,
    pub status: RequestStatus,
}
resource!(
    CertificateRequest,
    NamespaceResourceScope,
    "cert-manager.io",
    "v1",
    "CertificateRequest",
    "certificaterequests"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RequestStatus {
    pub conditions: Vec<Condition>,
    pub failure_time: String,
}

/// cert-manager.io/v1 Issuer and ClusterIssuer (one spec).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Issuer {
    pub metadata: ObjectMeta,
    pub spec: IssuerSpec,
    pub status: IssuerStatus,
}
resource!(
    Issuer,
    NamespaceResourceScope,
    "cert-manager.io",
    "v1",
    "Issuer",
    "issuers"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClusterIssuer {
    pub metadata: ObjectMeta,
    pub spec: IssuerSpec,
    pub status: IssuerStatus,
}
resource!(
    ClusterIssuer,
    ClusterResourceScope,
    "cert-manager.io",
    "v1",
    "ClusterIssuer",
    "clusterissuers"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IssuerSpec {
    pub vault: Option<VaultSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VaultSpec {
    pub server: String,
    pub path: String,
    pub auth: VaultAuth,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VaultAuth {
    pub kubernetes: Option<VaultKubernetesAuth>,
    #[serde(rename = "appRole")]
    pub app_role: Option<VaultAppRole>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VaultKubernetesAuth {
    pub role: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VaultAppRole {
    pub role_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IssuerStatus {
    pub conditions: Vec<Condition>,
}

/// networking.k8s.io/v1 Ingress: only its TLS entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ingress {
    pub metadata: ObjectMeta,
    pub spec: IngressSpec,
}
resource!(
    Ingress,
    NamespaceResourceScope,
    "networking.k8s.io",
    "v1",
    "Ingress",
    "ingresses"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressSpec {
    pub tls: Vec<IngressTls>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressTls {
    pub hosts: Vec<String>,
    pub secret_name: String,
}

/// A v1 Secret of type `kubernetes.io/tls`, as far as the view reads it: `tls.crt` and
/// `ca.crt`. There is deliberately no field for `tls.key`: serde skips it while parsing,
/// so the private key is never held, logged or serialised by this server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TlsSecret {
    pub metadata: ObjectMeta,
    #[serde(rename = "type")]
    pub type_: String,
    pub data: TlsData,
}
resource!(
    TlsSecret,
    NamespaceResourceScope,
    "",
    "v1",
    "Secret",
    "secrets"
);

/// The public halves of a TLS Secret's data (base64, as the API sends them).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct TlsData {
    #[serde(rename = "tls.crt")]
    pub tls_crt: Option<String>,
    #[serde(rename = "ca.crt")]
    pub ca_crt: Option<String>,
}

impl std::fmt::Debug for TlsData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsData")
            .field("tls.crt", &self.tls_crt.as_ref().map(String::len))
            .field("ca.crt", &self.ca_crt.as_ref().map(String::len))
            .finish()
    }
}

/// An annotation's value, `""` when absent.
pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> &'a str {
    meta.annotations
        .as_ref()
        .and_then(|a: &BTreeMap<String, String>| a.get(key))
        .map(String::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_secret_is_read_without_its_key() {
        let json = r#"{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/tls",
            "metadata":{"name":"web","namespace":"fruits"},
            "data":{"tls.crt":"Y2VydA==","tls.key":"UFJJVkFURSBLRVk=","ca.crt":"Y2E="}}"#;
        let s: TlsSecret = serde_json::from_str(json).unwrap();
        assert_eq!(s.data.tls_crt.as_deref(), Some("Y2VydA=="));
        let debug = format!("{s:?}");
        assert!(!debug.contains("UFJJVkFURSBLRVk"), "{debug}");
    }
}
