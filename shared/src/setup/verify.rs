//! Verify, after apply: the server mints a short-lived token with only the new policy,
//! asks `sys/capabilities-self` about the role's sign path, and signs the browser's
//! throw-away CSR with it; [`check_issued`] then judges the answer — chain complete to a
//! self-signed root, lifetime within the role's maximum, the requested name in the
//! certificate. The wire types of `/api/setup/verify` live here too.

use serde::{Deserialize, Serialize};

use super::WizardState;
use crate::api::pki::Signed;
use crate::pki::cert::{self, CertInfo};
use crate::pki::verify::verify_chain;

/// `POST /api/setup/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub state: WizardState,
    /// A CSR made in the browser for `name` (its key never leaves the browser).
    pub csr: String,
    pub name: String,
}

/// One verdict of the verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &str, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.to_owned(),
            ok,
            detail: detail.into(),
        }
    }
}

/// The answer of `/api/setup/verify` (the token it used is never in it: it is revoked
/// before the answer is sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// The capabilities the policy grants on the role's sign path.
    pub capabilities: Vec<String>,
    pub serial_number: String,
    pub certificate: String,
    pub ca_chain: Vec<String>,
}

impl VerifyReport {
    /// A report from its checks: ok when every one is.
    pub fn from_checks(checks: Vec<Check>) -> VerifyReport {
        VerifyReport {
            ok: !checks.is_empty() && checks.iter().all(|c| c.ok),
            checks,
            ..Default::default()
        }
    }
}

/// The verdict on `sys/capabilities-self` for the sign path.
pub fn check_capabilities(path: &str, capabilities: &[String]) -> Check {
    let ok = capabilities
        .iter()
        .any(|c| c == "update" || c == "create" || c == "root");
    Check::new(
        "policy allows signing",
        ok,
        if ok {
            format!("{path}: {}", capabilities.join(", "))
        } else {
            format!(
                "{path}: [{}] — the policy must grant update on the role's sign path",
                capabilities.join(", ")
            )
        },
    )
}

/// Judges a `sign/:role` answer for `name` at unix time `now`: the chain, the lifetime
/// against `max_ttl` seconds, the name.
pub fn check_issued(signed: &Signed, name: &str, max_ttl: u64, now: i64) -> Vec<Check> {
    let parse = |pem: &str| -> Result<(Vec<u8>, CertInfo), String> {
        let der = cert::pem_decode_all(pem)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .ok_or("no certificate in the PEM")?;
        let info = cert::parse_certificate(&der).map_err(|e| e.to_string())?;
        Ok((der, info))
    };
    let (leaf_der, leaf) = match parse(&signed.certificate) {
        Ok(x) => x,
        Err(e) => return vec![Check::new("certificate", false, e)],
    };
    let mut checks = Vec::new();

    let chain: Result<Vec<(Vec<u8>, CertInfo)>, String> =
        signed.ca_chain.iter().map(|p| parse(p)).collect();
    checks.push(match chain {
        Err(e) => Check::new("chain complete to the root", false, e),
        Ok(chain) => match chain.split_last() {
            None => Check::new("chain complete to the root", false, "the answer has no ca_chain"),
            Some(((_, root), _)) if root.subject_der != root.issuer_der => Check::new(
                "chain complete to the root",
                false,
                format!(
                    "the chain ends at {:?}, which is not a root (Vault's ca_chain without the root: import the \
                     intermediate with its full chain)",
                    root.subject_dn
                ),
            ),
            Some(((root_der, root), middle)) => {
                let middle: Vec<Vec<u8>> = middle.iter().map(|(d, _)| d.clone()).collect();
                match verify_chain(&leaf_der, &middle, root_der, now) {
                    Ok(()) => Check::new(
                        "chain complete to the root",
                        true,
                        format!("{} → {} certificate(s) → {}", leaf.subject_dn, middle.len(), root.subject_dn),
                    ),
                    Err(e) => Check::new("chain complete to the root", false, e.to_string()),
                }
            }
        },
    });

    // Vault backdates not_before by 30 s; the lifetime that matters is from now.
    let left = leaf.not_after - now;
    let ok = left <= max_ttl as i64 + 60 && left > 0;
    checks.push(Check::new(
        "lifetime within the role",
        ok,
        format!(
            "valid {} more, the role allows {}",
            crate::pki::duration::format_human(left.max(0) as u64),
            crate::pki::duration::format_human(max_ttl)
        ),
    ));

    let names: Vec<String> = leaf
        .sans
        .dns
        .iter()
        .cloned()
        .chain(std::iter::once(leaf.common_name.clone()))
        .collect();
    let ok = names.iter().any(|n| n.eq_ignore_ascii_case(name));
    checks.push(Check::new(
        "names as requested",
        ok,
        if ok {
            format!("{name} is in the certificate")
        } else {
            format!("{name} is not in the certificate ({})", names.join(", "))
        },
    ));
    checks
}
