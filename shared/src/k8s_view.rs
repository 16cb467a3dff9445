//! The Kubernetes view (`/api/k8s/*`): its wire types, and the pure judgements the server
//! makes over the cluster's objects: a cert-manager Certificate's renewal status (which
//! understands short lifetimes: with 10-minute certificates "expires soon" is noise, so
//! the question is whether renewal happens), whether a certificate serves an Ingress host,
//! and whether a Vault PKI role allows what a Certificate asks for. No I/O: the server
//! feeds these with what its watches cached, the page only renders the answer.

use serde::{Deserialize, Serialize};

use crate::pki::duration::format_go;
use crate::pki::names::check_alt_name;
use crate::pki::role::Role;

/// `GET`: the joined view ([`K8sView`]). Query `q` filters rows by name, namespace or host.
pub const VIEW_PATH: &str = "/api/k8s/view";
/// `GET`: the cache's version ([`K8sVersion`]), cheap enough to poll every second.
pub const VERSION_PATH: &str = "/api/k8s/version";
/// Most rows of one table in one answer; the page says when more matched.
pub const MAX_ROWS: usize = 300;

/// The cache's version: it changes whenever a watch event changed a cached object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct K8sVersion {
    pub version: u64,
}

/// Everything the `/kubernetes` page shows, joined on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct K8sView {
    /// A cluster is configured (`--kubeconfig` or in-cluster). When false, the page says
    /// how to connect one and every list is empty.
    pub configured: bool,
    /// Every watch has listed its objects once (until then the lists may be partial).
    pub synced: bool,
    /// The latest watch error, in words (RBAC refusals, an unreachable API server).
    pub errors: Vec<String>,
    /// The cache version these rows come from.
    pub version: u64,
    /// Server time the statuses were judged at, unix seconds.
    pub now: i64,
    pub totals: Totals,
    pub certificates: Vec<CertificateRow>,
    pub issuers: Vec<IssuerRow>,
    pub ingresses: Vec<IngressRow>,
}

/// How many objects the cache holds and how many rows matched the filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub certificates: usize,
    pub certificates_matched: usize,
    /// Matching Certificates whose renewal status is a problem (counted before the rows
    /// are capped at [`MAX_ROWS`]).
    #[serde(default)]
    pub certificates_failing: usize,
    pub issuers: usize,
    pub ingresses: usize,
    pub ingresses_matched: usize,
    pub secrets: usize,
    pub certificate_requests: usize,
}

/// One cert-manager Certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub namespace: String,
    pub name: String,
    /// The Ready condition: `None` when the Certificate has none yet.
    pub ready: Option<bool>,
    pub ready_reason: String,
    pub ready_message: String,
    pub not_after: Option<i64>,
    pub renewal_time: Option<i64>,
    pub revision: Option<u64>,
    /// `Issuer/<name>` or `ClusterIssuer/<name>`.
    pub issuer: String,
    pub issuer_ready: Option<bool>,
    pub secret_name: String,
    pub dns_names: Vec<String>,
    pub common_name: String,
    /// `spec.duration` in seconds (cert-manager's default, 90 days, when unset).
    pub duration: u64,
    /// The latest failed CertificateRequest: `<name>: <reason>: <message>`.
    pub last_failure: Option<String>,
    pub status: RenewalStatus,
    /// The serial of the certificate in the Secret (Vault's `1a:2b:...` form).
    pub serial: Option<String>,
    /// Problems in words: issuer not Ready, role forbids a name, chain lacks the root.
    pub flags: Vec<String>,
}

/// A cert-manager Issuer or ClusterIssuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRow {
    /// `Issuer` or `ClusterIssuer`.
    pub kind: String,
    /// Empty for a ClusterIssuer.
    pub namespace: String,
    pub name: String,
    pub ready: Option<bool>,
    pub ready_reason: String,
    pub ready_message: String,
    pub vault: Option<VaultIssuer>,
}

/// A Vault issuer's settings and the console's check of its PKI role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultIssuer {
    pub server: String,
    /// `spec.vault.path`: `<mount>/sign/<role>`.
    pub path: String,
    /// The Kubernetes auth role it logs in with (`auth.kubernetes.role`), if any.
    pub auth_role: String,
    /// The PKI role named by `path` and what the console found: `ok`, or the problem.
    pub pki_role: String,
    pub role_check: Vec<String>,
}

/// One Ingress and its TLS entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressRow {
    pub namespace: String,
    pub name: String,
    pub tls: Vec<IngressTls>,
}

/// One `spec.tls` entry, followed to its Secret and Certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressTls {
    pub hosts: Vec<String>,
    pub secret_name: String,
    /// The TLS Secret's certificate, parsed on the server (`None`: no such Secret).
    pub secret: Option<SecretCert>,
    /// The Certificate (same namespace) whose `secretName` this is.
    pub certificate: Option<String>,
    pub flags: Vec<String>,
}

/// What the console read from a TLS Secret: the certificate and the chain, never the key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretCert {
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub dns_names: Vec<String>,
    pub not_after: i64,
    /// `ca.crt` holds a self-issued (root) certificate.
    pub chain_has_root: bool,
    /// Why `tls.crt` could not be read, if it could not.
    pub error: String,
}

/// Where a Certificate's renewal stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
    /// Ready, and the next renewal is still ahead.
    #[default]
    OnSchedule,
    /// Not Ready yet, for less than one renewal window (a first issuance in progress).
    Issuing,
    /// renewalTime has passed and no new revision was issued.
    Overdue,
    /// The latest CertificateRequest failed.
    Failing,
    /// Not Ready for longer than one renewal window.
    Stalled,
    /// The certificate in the Secret is past its notAfter.
    Expired,
}

impl RenewalStatus {
    /// The words the page shows.
    pub fn label(self) -> &'static str {
        match self {
            RenewalStatus::OnSchedule => "renewing on schedule",
            RenewalStatus::Issuing => "issuing",
            RenewalStatus::Overdue => "renewal overdue",
            RenewalStatus::Failing => "failing",
            RenewalStatus::Stalled => "stalled",
            RenewalStatus::Expired => "expired",
        }
    }

    /// A class name for the badge (`status-<name>`).
    pub fn class(self) -> &'static str {
        match self {
            RenewalStatus::OnSchedule => "on-schedule",
            RenewalStatus::Issuing => "issuing",
            RenewalStatus::Overdue => "overdue",
            RenewalStatus::Failing => "failing",
            RenewalStatus::Stalled => "stalled",
            RenewalStatus::Expired => "expired",
        }
    }

    /// Whether it needs a person.
    pub fn is_problem(self) -> bool {
        !matches!(self, RenewalStatus::OnSchedule | RenewalStatus::Issuing)
    }
}

/// cert-manager's default `spec.duration` (90 days).
pub const DEFAULT_DURATION: u64 = 90 * 24 * 3600;

/// What the renewal status is judged from (times in unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenewalInput {
    /// The Ready condition's status (`None`: no condition yet).
    pub ready: Option<bool>,
    /// When the Ready condition last changed (`lastTransitionTime`).
    pub ready_since: Option<i64>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub renewal_time: Option<i64>,
    /// `spec.duration` in seconds.
    pub duration: u64,
    /// `spec.renewBefore` in seconds, if set.
    pub renew_before: Option<u64>,
    /// The latest CertificateRequest of the Certificate failed (or was denied).
    pub last_request_failed: bool,
}

/// One renewal window: the time between renewalTime and notAfter, which is how long
/// cert-manager gives itself to renew. From the status when both times are known, else
/// `renewBefore`, else cert-manager's default of a third of the duration.
pub fn renewal_window(input: &RenewalInput) -> u64 {
    if let (Some(renew), Some(after)) = (input.renewal_time, input.not_after)
        && after > renew
    {
        return (after - renew) as u64;
    }
    match input.renew_before {
        Some(rb) if rb > 0 => rb,
        _ => (input.duration.max(1) / 3).max(1),
    }
}

/// A little slack before renewalTime counts as passed: cert-manager re-queues at
/// renewalTime and issuing takes a moment, so a fresh renewal is not "overdue" at once.
/// A fifth of the window, at most a minute.
pub fn overdue_grace(window: u64) -> u64 {
    (window / 5).clamp(1, 60)
}

/// Judges a Certificate's renewal at `now`. In order: expired (notAfter passed), stalled
/// (not Ready for longer than one renewal window), failing (the latest request failed),
/// overdue (renewalTime passed, with [`overdue_grace`], and no new revision moved it),
/// issuing (not Ready, briefly), else on schedule.
pub fn renewal_status(input: &RenewalInput, now: i64) -> RenewalStatus {
    let window = renewal_window(input) as i64;
    if let Some(after) = input.not_after
        && after <= now
    {
        return RenewalStatus::Expired;
    }
    let ready = input.ready == Some(true);
    if !ready {
        // Not Ready since the condition's transition; without one, since the current
        // certificate began (or assume it just started).
        let since = input.ready_since.or(input.not_before).unwrap_or(now);
        if now - since > window {
            return RenewalStatus::Stalled;
        }
    }
    if input.last_request_failed {
        return RenewalStatus::Failing;
    }
    if let Some(renew) = input.renewal_time
        && now > renew + overdue_grace(window as u64) as i64
    {
        return RenewalStatus::Overdue;
    }
    if ready {
        RenewalStatus::OnSchedule
    } else {
        RenewalStatus::Issuing
    }
}

/// Whether a certificate name (`*.example.com` allowed) covers an Ingress host, as a TLS
/// client checks it: case-insensitive, a wildcard standing for exactly one label.
pub fn name_covers(name: &str, host: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = name.strip_prefix("*.") {
        match host.split_once('.') {
            Some((first, tail)) => !first.is_empty() && tail == rest,
            None => false,
        }
    } else {
        name == host
    }
}

/// Whether any of the certificate's names covers `host`.
pub fn cert_serves_host(dns_names: &[String], host: &str) -> bool {
    dns_names.iter().any(|n| name_covers(n, host))
}

/// A Vault issuer's `path`, `<mount>/sign/<role>` (or `issue`), split into mount and
/// role. `None` for a path of another shape (`sign-verbatim`, an empty role).
pub fn split_sign_path(path: &str) -> Option<(String, String)> {
    let path = path.trim().trim_matches('/');
    let path = path.strip_prefix("v1/").unwrap_or(path);
    for verb in ["/sign/", "/issue/"] {
        if let Some((mount, role)) = path.rsplit_once(verb)
            && !mount.is_empty()
            && !role.is_empty()
            && !role.contains('/')
        {
            return Some((mount.to_string(), role.to_string()));
        }
    }
    None
}

/// What the PKI role says about one Certificate: every name it would refuse, and a
/// `duration` beyond `max_ttl` (Vault would cut the certificate short, and cert-manager
/// would then renew late or not at all). Empty when the role allows it all.
pub fn check_role_for_certificate(
    role: &Role,
    common_name: &str,
    dns_names: &[String],
    duration: u64,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut names: Vec<&str> = dns_names.iter().map(String::as_str).collect();
    if !common_name.is_empty() && !names.contains(&common_name) {
        names.push(common_name);
    }
    for name in names {
        if let Err(e) = check_alt_name(role, name) {
            out.push(format!("the role forbids {name}: {e}"));
        }
    }
    if role.max_ttl > 0 && duration > role.max_ttl {
        out.push(format!(
            "duration {} is longer than the role's max_ttl {}",
            format_go(duration),
            format_go(role.max_ttl)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn ready_cert() -> RenewalInput {
        // A 10-minute certificate issued 2 minutes ago, renewal at 2/3.
        RenewalInput {
            ready: Some(true),
            ready_since: Some(NOW - 120),
            not_before: Some(NOW - 120),
            not_after: Some(NOW + 480),
            renewal_time: Some(NOW + 280),
            duration: 600,
            renew_before: None,
            last_request_failed: false,
        }
    }

    #[test]
    fn the_window_comes_from_the_status_then_the_spec() {
        assert_eq!(renewal_window(&ready_cert()), 200);
        let spec_only = RenewalInput {
            not_after: None,
            renew_before: Some(120),
            ..ready_cert()
        };
        assert_eq!(renewal_window(&spec_only), 120);
        let default = RenewalInput {
            not_after: None,
            ..ready_cert()
        };
        assert_eq!(renewal_window(&default), 200);
    }

    #[test]
    fn each_status_for_its_case() {
        assert_eq!(
            renewal_status(&ready_cert(), NOW),
            RenewalStatus::OnSchedule
        );
        // renewalTime passed (beyond the grace) and no new revision moved it.
        let overdue = RenewalInput {
            renewal_time: Some(NOW - 100),
            not_after: Some(NOW + 100),
            ..ready_cert()
        };
        assert_eq!(renewal_status(&overdue, NOW), RenewalStatus::Overdue);
        // Just past renewalTime: cert-manager is at it, not overdue yet.
        let just = RenewalInput {
            renewal_time: Some(NOW - 5),
            not_after: Some(NOW + 195),
            ..ready_cert()
        };
        assert_eq!(renewal_status(&just, NOW), RenewalStatus::OnSchedule);
        let failing = RenewalInput {
            last_request_failed: true,
            ..ready_cert()
        };
        assert_eq!(renewal_status(&failing, NOW), RenewalStatus::Failing);
        // Not Ready for longer than one window (200 s).
        let stalled = RenewalInput {
            ready: Some(false),
            ready_since: Some(NOW - 1_000),
            ..ready_cert()
        };
        assert_eq!(renewal_status(&stalled, NOW), RenewalStatus::Stalled);
        // Stalled wins over failing: it has been failing for too long.
        let stalled_failing = RenewalInput {
            last_request_failed: true,
            ..stalled
        };
        assert_eq!(
            renewal_status(&stalled_failing, NOW),
            RenewalStatus::Stalled
        );
        let issuing = RenewalInput {
            ready: Some(false),
            ready_since: Some(NOW - 10),
            ..ready_cert()
        };
        assert_eq!(renewal_status(&issuing, NOW), RenewalStatus::Issuing);
        let expired = RenewalInput {
            not_after: Some(NOW - 1),
            renewal_time: Some(NOW - 200),
            ..ready_cert()
        };
        assert_eq!(renewal_status(&expired, NOW), RenewalStatus::Expired);
        // A brand-new Certificate with no status at all is issuing, not stalled.
        let fresh = RenewalInput {
            duration: 600,
            ..RenewalInput::default()
        };
        assert_eq!(renewal_status(&fresh, NOW), RenewalStatus::Issuing);
    }

    #[test]
    fn labels_are_the_words_of_the_issue() {
        assert_eq!(RenewalStatus::OnSchedule.label(), "renewing on schedule");
        assert_eq!(RenewalStatus::Overdue.label(), "renewal overdue");
        assert!(RenewalStatus::Failing.is_problem());
        assert!(!RenewalStatus::Issuing.is_problem());
        let json = serde_json::to_string(&RenewalStatus::OnSchedule).unwrap();
        assert_eq!(json, "\"on_schedule\"");
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers(
            "*.fruits.testlab.local",
            "apple.fruits.testlab.local"
        ));
        assert!(!name_covers(
            "*.fruits.testlab.local",
            "fruits.testlab.local"
        ));
        assert!(!name_covers(
            "*.fruits.testlab.local",
            "a.b.fruits.testlab.local"
        ));
        assert!(name_covers("Apple.Example.com.", "apple.example.com"));
        assert!(!name_covers("apple.example.com", "pear.example.com"));
        assert!(cert_serves_host(
            &["x.example".into(), "apple.example.com".into()],
            "apple.example.com"
        ));
    }

    #[test]
    fn sign_paths_split_into_mount_and_role() {
        assert_eq!(
            split_sign_path("pki_int/sign/fruits-catalog"),
            Some(("pki_int".into(), "fruits-catalog".into()))
        );
        assert_eq!(
            split_sign_path("/v1/team/pki/issue/web/"),
            Some(("team/pki".into(), "web".into()))
        );
        assert_eq!(split_sign_path("pki/sign-verbatim"), None);
        assert_eq!(split_sign_path("pki/sign/"), None);
    }

    #[test]
    fn the_role_is_checked_against_names_and_duration() {
        let role = Role {
            allowed_domains: vec!["fruits.testlab.local".into()],
            allow_subdomains: true,
            max_ttl: 3600,
            ..Role::default()
        };
        let ok = check_role_for_certificate(&role, "", &["apple.fruits.testlab.local".into()], 600);
        assert!(ok.is_empty(), "{ok:?}");
        let bad = check_role_for_certificate(
            &role,
            "",
            &[
                "apple.fruits.testlab.local".into(),
                "veggies.testlab.local".into(),
            ],
            7200,
        );
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].contains("veggies.testlab.local"), "{bad:?}");
        assert!(bad[1].contains("max_ttl 1h"), "{bad:?}");
    }
}
