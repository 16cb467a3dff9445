//! The certificate index (`/api/certs/<mount>...`, `shared::api::certs`): one page of a
//! search, the Overview's summary, the expiry timeline and one certificate decoded; and
//! Vault's own `<mount>/revoke`. The index routes authenticate with the session cookie.

use gloo_net::http::Method;
use serde::Deserialize;
use shared::api::Envelope;
use shared::api::certs::{CertDetail, CertPage, CertQuery, Timeline, encode_component, mount_path};

use super::{ApiError, get_json, send};

/// Rows the Certificates page asks for per page.
pub const PAGE_SIZE: u32 = 100;

/// A serial as a path segment: Vault's `1a:2b:...` form stays as it is (colons are
/// allowed in a path segment), anything else is percent-encoded.
fn serial_segment(serial: &str) -> String {
    if serial
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'-')
    {
        serial.to_string()
    } else {
        encode_component(serial)
    }
}

fn with_query(base: String, query: &str) -> String {
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}

/// `GET /api/certs/<mount>?<query>`: one page of matches.
pub async fn page(mount: &str, query: &CertQuery) -> Result<CertPage, ApiError> {
    get_json(&with_query(mount_path(mount), &query.to_query_string())).await
}

/// `GET /api/certs/<mount>/timeline`.
pub async fn timeline(mount: &str) -> Result<Timeline, ApiError> {
    get_json(&format!("{}/timeline", mount_path(mount))).await
}

/// `GET /api/certs/<mount>/cert/<serial>`.
pub async fn detail(mount: &str, serial: &str) -> Result<CertDetail, ApiError> {
    get_json(&format!(
        "{}/cert/{}",
        mount_path(mount),
        serial_segment(serial)
    ))
    .await
}

/// The CSV export of every match of `query` (all pages): a plain link, so the browser
/// downloads it with the session cookie (a GET needs no CSRF token).
pub fn export_href(mount: &str, query: &CertQuery) -> String {
    let q = CertQuery {
        after: String::new(),
        limit: shared::api::certs::DEFAULT_LIMIT,
        ..query.clone()
    };
    with_query(
        format!("{}/export.csv", mount_path(mount)),
        &q.to_query_string(),
    )
}

/// What `<mount>/revoke` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Revoked {
    #[serde(default)]
    pub revocation_time: i64,
    #[serde(default)]
    pub revocation_time_rfc3339: String,
}

/// `POST /v1/<mount>/revoke {"serial_number": ...}` (with the CSRF header, as every write).
pub async fn revoke(mount: &str, serial: &str) -> Result<Revoked, ApiError> {
    let env: Envelope<Revoked> = send(
        Method::POST,
        &format!("/v1/{}/revoke", mount.trim_matches('/')),
        Some(&serde_json::json!({ "serial_number": serial })),
    )
    .await?;
    Ok(env.data.unwrap_or_default())
}
