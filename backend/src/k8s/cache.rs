//! The watches' cache: each object reduced at once to the little the view shows (times
//! parsed, a TLS Secret's `tls.crt` parsed into its serial, names and dates), keyed by
//! namespace and name. Nothing of a Secret but that parsed summary is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use shared::k8s_view::{DEFAULT_DURATION, SecretCert};
use shared::pki::cert::parse_certificate;
use shared::pki::duration::parse_duration;
use shared::pki::pem::certificates_from_pem;

use super::objects::{
    self, Certificate, CertificateRequest, ClusterIssuer, Condition, Ingress, Issuer, TlsSecret,
    annotation, condition,
};

/// Namespace and name (namespace empty for cluster-scoped objects).
pub type Key = (String, String);

#[derive(Debug, Default)]
pub struct Cache {
    pub certificates: HashMap<Key, CertEntry>,
    pub requests: HashMap<Key, RequestEntry>,
    pub issuers: HashMap<Key, IssuerEntry>,
    pub cluster_issuers: HashMap<Key, IssuerEntry>,
    pub ingresses: HashMap<Key, IngressEntry>,
    pub secrets: HashMap<Key, SecretCert>,
    /// The kinds whose first list is in.
    pub synced: BTreeSet<&'static str>,
    /// The latest error of each watch, in words.
    pub errors: BTreeMap<&'static str, String>,
}

/// What a watch does with its kind's objects.
pub trait Store<K> {
    fn apply(&mut self, obj: &K);
    fn delete(&mut self, obj: &K);
    fn replace(&mut self, objs: Vec<K>);
}

fn key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

macro_rules! store {
    ($ty:ty, $field:ident, $entry:path) => {
        impl Store<$ty> for Cache {
            fn apply(&mut self, obj: &$ty) {
                self.$field.insert(key(&obj.metadata), $entry(obj));
            }
            fn delete(&mut self, obj: &$ty) {
                self.$field.remove(&key(&obj.metadata));
            }
            fn replace(&mut self, objs: Vec<$ty>) {
                self.$field = objs
                    .into_iter()
                    .map(|o| (key(&o.metadata), $entry(&o)))
                    .collect();
            }
        }
    };
}

store!(Certificate, certificates, CertEntry::from);
store!(CertificateRequest, requests, RequestEntry::from);
store!(Issuer, issuers, issuer_entry);
store!(ClusterIssuer, cluster_issuers, cluster_issuer_entry);
store!(Ingress, ingresses, IngressEntry::from);
store!(TlsSecret, secrets, secret_cert);

/// RFC 3339 to unix seconds (`None` for empty or unreadable).
pub fn timestamp(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// A condition reduced: status, reason, message and since when.
#[derive(Debug, Clone, Default)]
pub struct Cond {
    pub status: Option<bool>,
    pub reason: String,
    pub message: String,
    pub since: Option<i64>,
}

impl Cond {
    fn of(conditions: &[Condition], type_: &str) -> Cond {
        match condition(conditions, type_) {
            Some(c) => Cond {
                status: match c.status.as_str() {
                    "True" => Some(true),
                    "False" => Some(false),
                    _ => None,
                },
                reason: c.reason.clone(),
                message: c.message.clone(),
                since: timestamp(&c.last_transition_time),
            },
            None => Cond::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CertEntry {
    pub ready: Cond,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub renewal_time: Option<i64>,
    pub revision: Option<u64>,
    /// `Issuer` or `ClusterIssuer`.
    pub issuer_kind: String,
    pub issuer_name: String,
    pub secret_name: String,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub duration: u64,
    pub renew_before: Option<u64>,
}

impl CertEntry {
    fn from(c: &Certificate) -> CertEntry {
        let kind = if c.spec.issuer_ref.kind == "ClusterIssuer" {
            "ClusterIssuer"
        } else {
            "Issuer"
        };
        CertEntry {
            ready: Cond::of(&c.status.conditions, "Ready"),
            not_before: timestamp(&c.status.not_before),
            not_after: timestamp(&c.status.not_after),
            renewal_time: timestamp(&c.status.renewal_time),
            revision: c.status.revision,
            issuer_kind: kind.into(),
            issuer_name: c.spec.issuer_ref.name.clone(),
            secret_name: c.spec.secret_name.clone(),
            common_name: c.spec.common_name.clone(),
            dns_names: c.spec.dns_names.clone(),
            duration: parse_duration(&c.spec.duration)
                .ok()
                .filter(|d| *d > 0)
                .unwrap_or(DEFAULT_DURATION),
            renew_before: parse_duration(&c.spec.renew_before).ok().filter(|d| *d > 0),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RequestEntry {
    /// The Certificate it was made for (`cert-manager.io/certificate-name`).
    pub certificate: String,
    pub revision: Option<u64>,
    pub created: i64,
    /// `reason: message` when it failed or was denied.
    pub failure: Option<String>,
}

impl RequestEntry {
    fn from(r: &CertificateRequest) -> RequestEntry {
        let ready = condition(&r.status.conditions, "Ready");
        let denied = condition(&r.status.conditions, "Denied").filter(|c| c.status == "True");
        let invalid =
            condition(&r.status.conditions, "InvalidRequest").filter(|c| c.status == "True");
        let failed = ready
            .filter(|c| c.status == "False" && matches!(c.reason.as_str(), "Failed" | "Denied"));
        let failure = denied
            .or(invalid)
            .or(failed)
            .map(|c| format!("{}: {}", c.reason, c.message));
        RequestEntry {
            certificate: annotation(&r.metadata, "cert-manager.io/certificate-name").to_string(),
            revision: annotation(&r.metadata, "cert-manager.io/certificate-revision")
                .parse()
                .ok(),
            created: r
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
                .unwrap_or(0),
            failure,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IssuerEntry {
    pub ready: Cond,
    pub vault: Option<objects::VaultSpec>,
}

fn issuer_entry(i: &Issuer) -> IssuerEntry {
    IssuerEntry {
        ready: Cond::of(&i.status.conditions, "Ready"),
        vault: i.spec.vault.clone(),
    }
}

fn cluster_issuer_entry(i: &ClusterIssuer) -> IssuerEntry {
    IssuerEntry {
        ready: Cond::of(&i.status.conditions, "Ready"),
        vault: i.spec.vault.clone(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct IngressEntry {
    pub tls: Vec<objects::IngressTls>,
}

impl IngressEntry {
    fn from(i: &Ingress) -> IngressEntry {
        IngressEntry {
            tls: i.spec.tls.clone(),
        }
    }
}

/// The parsed public half of a TLS Secret: the leaf of `tls.crt` and whether `ca.crt`
/// (or the rest of `tls.crt`) holds a root.
pub fn secret_cert(s: &TlsSecret) -> SecretCert {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = |v: &Option<String>| -> Vec<Vec<u8>> {
        v.as_deref()
            .and_then(|t| b64.decode(t.trim()).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| certificates_from_pem(&text).ok())
            .unwrap_or_default()
    };
    let leaf_chain = pem(&s.data.tls_crt);
    let ca = pem(&s.data.ca_crt);
    let Some(leaf) = leaf_chain.first() else {
        return SecretCert {
            error: "tls.crt holds no PEM certificate".into(),
            ..SecretCert::default()
        };
    };
    let info = match parse_certificate(leaf) {
        Ok(i) => i,
        Err(e) => {
            return SecretCert {
                error: format!("tls.crt: {e}"),
                ..SecretCert::default()
            };
        }
    };
    let chain_has_root = leaf_chain[1..]
        .iter()
        .chain(ca.iter())
        .filter_map(|der| parse_certificate(der).ok())
        .any(|c| c.self_issued);
    SecretCert {
        serial: info.serial,
        subject: info.subject_dn,
        issuer: info.issuer_dn,
        dns_names: info.sans.dns,
        not_after: info.not_after,
        chain_has_root,
        error: String::new(),
    }
}
