//! `GET /api/overview`: everything the Overview page shows, in one answer (one request,
//! and one small type for the page's WebAssembly to read). Public parts for anyone: the
//! CA hierarchy of the published PKI mounts. Signed in (cookie or `X-Vault-Token`), per PKI
//! mount the caller may list the certificates of, the certificate index's numbers, and
//! with a Kubernetes cluster configured, how many Certificates fail to renew.

use serde::{Deserialize, Serialize};

use super::certs::CertSummary;

/// The route.
pub const PATH: &str = "/api/overview";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub now: i64,
    /// The answer was made for a signed-in caller (the numbers below are theirs to see).
    pub signed_in: bool,
    /// Every issuer of every published PKI mount, each with its chain up to the root.
    pub cas: Vec<CaNode>,
    /// Why a published mount shows nothing (not there, unreachable), in words.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Signed in: the numbers of each PKI mount the caller may list.
    #[serde(default)]
    pub mounts: Vec<MountNumbers>,
    /// Signed in, and a cluster configured: its Certificates.
    #[serde(default)]
    pub kubernetes: Option<KubernetesNumbers>,
}

/// One issuer and its chain, for the hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaNode {
    pub mount: String,
    pub issuer_id: String,
    /// Its name in Vault, else its common name.
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    /// The chain ends in a self-signed root that verifies.
    pub complete: bool,
    /// Why not, in words.
    #[serde(default)]
    pub problem: Option<String>,
    /// The issuer first, its root last (when complete).
    pub chain: Vec<ChainLink>,
}

/// One certificate of a chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    pub common_name: String,
    pub not_before: i64,
    pub not_after: i64,
    #[serde(default)]
    pub self_signed: bool,
}

/// A mount's numbers, or why there are none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountNumbers {
    pub mount: String,
    #[serde(default)]
    pub summary: Option<CertSummary>,
    /// Vault's refusal or the index's error, in words.
    #[serde(default)]
    pub error: Option<String>,
}

/// A cluster's cert-manager Certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesNumbers {
    pub certificates: u64,
    /// Certificates whose renewal needs a person (failed, stuck, not ready).
    pub failing: u64,
}
