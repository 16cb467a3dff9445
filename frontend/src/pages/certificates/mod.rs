//! `/certificates` and `/certificates/<serial>`: every certificate a PKI mount issued,
//! searched through the console's certificate index (`shared::api::certs`).
//!
//! The address is the page's state: `?mount=<mount>&<CertQuery>` (the mount is a field of
//! this page only; `CertQuery::parse` ignores it), so a filtered list is a link, a reload
//! restores it, and the detail page carries the same query back to the list.

mod detail;
mod list;
mod timeline;

pub use detail::CertificateDetail;
pub use list::Certificates;

use leptos::prelude::*;
use shared::api::certs::{CertQuery, CertStatus, QueryError, decode_component, encode_component};
use shared::nav;

use crate::api::ApiError;
use crate::api::vault::PkiMount;

/// The page's own field beside the query: which PKI mount.
pub const MOUNT_FIELD: &str = "mount";

/// The mount and the query of a page address's query string (with or without `?`).
pub fn parse_search(search: &str) -> (Option<String>, Result<CertQuery, QueryError>) {
    let s = search.strip_prefix('?').unwrap_or(search);
    let mount = s
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == MOUNT_FIELD)
        .map(|(_, v)| decode_component(v).trim_matches('/').to_string())
        .filter(|m| !m.is_empty());
    (mount, CertQuery::parse(s))
}

/// The query string of the list for `mount` and `query` (without `?`).
pub fn search_string(mount: &str, query: &CertQuery) -> String {
    let qs = query.to_query_string();
    let m = format!("{MOUNT_FIELD}={}", encode_component(mount));
    if qs.is_empty() {
        m
    } else {
        format!("{m}&{qs}")
    }
}

/// `/certificates?mount=...&<query>`.
pub fn list_href(mount: &str, query: &CertQuery) -> String {
    format!("{}?{}", nav::CERTIFICATES.path, search_string(mount, query))
}

/// `/certificates/<serial>?<search>`: the detail page, carrying the list's query so its
/// back link returns to the same list.
pub fn detail_href(serial: &str, search: &str) -> String {
    let search = search.strip_prefix('?').unwrap_or(search);
    if search.is_empty() {
        format!("{}/{serial}", nav::CERTIFICATES.path)
    } else {
        format!("{}/{serial}?{search}", nav::CERTIFICATES.path)
    }
}

/// The mount to show when the address names none: `pki_int` if there is one, else an
/// intermediate-looking one, else the first.
pub fn preferred_mount(mounts: &[PkiMount]) -> Option<String> {
    mounts
        .iter()
        .find(|m| m.path == "pki_int")
        .or_else(|| mounts.iter().find(|m| m.path.contains("int")))
        .or_else(|| mounts.first())
        .map(|m| m.path.clone())
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A span of seconds in short words: `12 d 4 h`, `3 h 12 m`, `5 m`, `40 s`.
pub(super) fn short_span(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d >= 365 {
        format!("{} y {} d", d / 365, d % 365)
    } else if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} m")
    } else if m > 0 {
        format!("{m} m")
    } else {
        format!("{secs} s")
    }
}

/// Time left until `not_after` at `now`: `3 h 12 m`, or `expired 2 d 1 h ago`.
pub fn time_left(now: i64, not_after: i64) -> String {
    if not_after > now {
        short_span(not_after - now)
    } else {
        format!("expired {} ago", short_span(now - not_after))
    }
}

/// `EC 256`, `RSA 2048`, `Ed25519`.
pub fn key_text(key_type: &str, bits: u32) -> String {
    let name = match key_type {
        "ec" => "EC",
        "rsa" => "RSA",
        "ed25519" => return "Ed25519".into(),
        "" => return "—".into(),
        other => other,
    };
    if bits > 0 {
        format!("{name} {bits}")
    } else {
        name.to_string()
    }
}

/// A certificate's status as a badge (text, not colour alone).
pub fn status_badge(status: CertStatus) -> impl IntoView {
    let label = match status {
        CertStatus::Valid => "Valid",
        CertStatus::Expired => "Expired",
        CertStatus::Revoked => "Revoked",
    };
    view! {
        <span class=format!("cert-status cert-status-{}", status.as_str()) data-status=status.as_str()>{label}</span>
    }
}

/// What to do about an error of the index, in words.
pub fn error_hint(e: &ApiError, mount: &str) -> Option<String> {
    match e {
        ApiError::Network(_) => Some("Check that the console server is running and reachable, then try again.".into()),
        ApiError::Status { status: 401, .. } => Some("Sign in again: the console no longer knows this session.".into()),
        ApiError::Status { status: 403, .. } => Some(format!(
            "The signed-in token's policies must allow list on {mount}/certs/detailed (and read on {mount}/cert/*) for the certificate index."
        )),
        ApiError::Status { status: 404, .. } => Some(format!(
            "There is no PKI mount {mount:?}, or it has no such certificate: pick another mount."
        )),
        ApiError::Status { status: 400, .. } => Some("A filter in the address is not valid: change it, or clear the filters.".into()),
        ApiError::Status { status: 502..=504, .. } => Some("The upstream Vault did not answer: check that it is unsealed and reachable from the console.".into()),
        _ => None,
    }
}

/// An error of the index with its hint, as an alert.
pub fn error_view(what: &str, e: &ApiError, mount: &str) -> impl IntoView {
    let hint = error_hint(e, mount);
    view! {
        <div class="error" role="alert">
            <p>{format!("{what}: {e}")}</p>
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_strings_round_trip_with_the_mount() {
        let q = CertQuery {
            q: "needle 7".into(),
            status: shared::api::certs::StatusFilter::Revoked,
            ..Default::default()
        };
        let s = search_string("pki/int", &q);
        assert_eq!(s, "mount=pki%2Fint&q=needle%207&status=revoked");
        let (m, parsed) = parse_search(&format!("?{s}"));
        assert_eq!(m.as_deref(), Some("pki/int"));
        assert_eq!(parsed.unwrap(), q);
        assert_eq!(parse_search("q=a").0, None);
    }

    #[test]
    fn words() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(time_left(0, 3 * 3600 + 12 * 60), "3 h 12 m");
        assert_eq!(time_left(2 * 86_400 + 10, 0), "expired 2 d 0 h ago");
        assert_eq!(key_text("ec", 256), "EC 256");
        assert_eq!(key_text("ed25519", 0), "Ed25519");
    }
}
