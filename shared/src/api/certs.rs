//! The console's certificate index (issue 15): the documented search extension the
//! Certificates page and the Overview use, beside Vault's own `LIST <mount>/certs` and
//! `LIST <mount>/certs/detailed` (which the engine answers in OpenBao 2.7's shape).
//!
//! Routes (signed in; the caller's token must be allowed to `list`
//! `<mount>/certs/detailed`, which the server checks by asking Vault with that token):
//! - `GET /api/certs/<mount>?q=&status=&days=&issuer=&role=&from=&to=&sort=&after=&limit=`
//!   → [`CertPage`]: one page of matching certificates, the count of all matches and a
//!   cursor for the next page ([`CertQuery`] is the query string).
//! - `GET /api/certs/<mount>/export.csv?<the same query>` → every match as CSV
//!   ([`CSV_HEADER`]), streamed.
//! - `GET /api/certs/<mount>/summary` → [`CertSummary`]: the Overview's numbers.
//! - `GET /api/certs/<mount>/timeline` → [`Timeline`]: expiries per day and per hour.
//! - `GET /api/certs/<mount>/cert/<serial>` → [`CertDetail`]: one certificate decoded.
//!
//! `<mount>` is the mount path without slashes at either end (`pki_int`), percent-encoded
//! when it has several segments. In embedded mode the engine's SQLite index answers;
//! in upstream mode a bounded in-memory index per console replica, filled from the
//! upstream's `LIST certs/detailed` (or `LIST certs` + `cert/<serial>`), refreshed when
//! older than a few seconds; [`IndexSource`] says which, and how fresh.

use serde::{Deserialize, Serialize};

/// Prefix of the certificate index routes.
pub const PATH: &str = "/api/certs";
/// Rows per page when the query does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most rows one page returns.
pub const MAX_LIMIT: u32 = 500;
/// Days ahead that `status=expiring` looks when `days` is not given.
pub const DEFAULT_EXPIRING_DAYS: u32 = 30;
/// Days of the timeline's daily bars, and hours of its hourly bars.
pub const TIMELINE_DAYS: usize = 90;
pub const TIMELINE_HOURS: usize = 24;
/// The CSV export's header line (its columns, in order).
pub const CSV_HEADER: &str = "serial_number,common_name,sans,issuer_id,role,not_before,not_after,status,revoked_at,key_type,key_bits";

/// `/api/certs/<mount>` (the mount path percent-encoded as one segment).
pub fn mount_path(mount: &str) -> String {
    format!("{PATH}/{}", encode_component(mount.trim_matches('/')))
}

/// Which certificates a query keeps, by state at the server's `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Every certificate.
    #[default]
    All,
    /// Not revoked, `not_after` in the future.
    Valid,
    /// Valid, and `not_after` within `days` days.
    Expiring,
    /// Not revoked, `not_after` passed.
    Expired,
    /// Revoked (whether or not expired since).
    Revoked,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 5] = [
        StatusFilter::All,
        StatusFilter::Valid,
        StatusFilter::Expiring,
        StatusFilter::Expired,
        StatusFilter::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Valid => "valid",
            StatusFilter::Expiring => "expiring",
            StatusFilter::Expired => "expired",
            StatusFilter::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A certificate's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Valid,
    Expired,
    Revoked,
}

impl CertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Expired => "expired",
            CertStatus::Revoked => "revoked",
        }
    }
}

/// Order of the list. Ties are broken by the index's row id, so paging is stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sort {
    /// Soonest `not_after` first (what expires next).
    #[default]
    #[serde(rename = "not_after")]
    NotAfter,
    /// Latest `not_after` first.
    #[serde(rename = "-not_after")]
    NotAfterDesc,
    /// Oldest issue first.
    #[serde(rename = "issued")]
    Issued,
    /// Newest issue first.
    #[serde(rename = "-issued")]
    IssuedDesc,
}

impl Sort {
    pub const ALL: [Sort; 4] = [
        Sort::NotAfter,
        Sort::NotAfterDesc,
        Sort::Issued,
        Sort::IssuedDesc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::NotAfter => "not_after",
            Sort::NotAfterDesc => "-not_after",
            Sort::Issued => "issued",
            Sort::IssuedDesc => "-issued",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// One search of the index: the query string of `/api/certs/<mount>` and of the
/// Certificates page's address (`/certificates?q=...`), so a filtered list is a link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertQuery {
    /// Substring of the common name or of any SAN (case-insensitive), or, when it looks
    /// like one (`1a:2b...`, hex pairs joined by colons), a serial-number prefix.
    pub q: String,
    pub status: StatusFilter,
    /// For `status=expiring`: within this many days.
    pub days: u32,
    /// Only certificates of this issuer ID ("" for any).
    pub issuer: String,
    /// Only certificates issued through this role ("" for any; certificates signed by
    /// `sign-verbatim` or `root/sign-intermediate` have no role).
    pub role: String,
    /// `not_after` at or after this Unix time (the timeline's bars set `from`/`to`).
    pub from: Option<i64>,
    /// `not_after` before this Unix time.
    pub to: Option<i64>,
    pub sort: Sort,
    /// The cursor of the previous page's [`CertPage::next`] ("" for the first page).
    pub after: String,
    pub limit: u32,
}

impl Default for CertQuery {
    fn default() -> Self {
        CertQuery {
            q: String::new(),
            status: StatusFilter::All,
            days: DEFAULT_EXPIRING_DAYS,
            issuer: String::new(),
            role: String::new(),
            from: None,
            to: None,
            sort: Sort::NotAfter,
            after: String::new(),
            limit: DEFAULT_LIMIT,
        }
    }
}

/// A query-string field that could not be read, with Vault-style words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

impl CertQuery {
    /// The query string (without `?`): only fields that differ from the default, in a
    /// fixed order, so equal queries give equal links.
    pub fn to_query_string(&self) -> String {
        let d = CertQuery::default();
        let mut parts: Vec<(&str, String)> = vec![];
        if !self.q.is_empty() {
            parts.push(("q", self.q.clone()));
        }
        if self.status != d.status {
            parts.push(("status", self.status.as_str().into()));
        }
        if self.days != d.days {
            parts.push(("days", self.days.to_string()));
        }
        if !self.issuer.is_empty() {
            parts.push(("issuer", self.issuer.clone()));
        }
        if !self.role.is_empty() {
            parts.push(("role", self.role.clone()));
        }
        if let Some(f) = self.from {
            parts.push(("from", f.to_string()));
        }
        if let Some(t) = self.to {
            parts.push(("to", t.to_string()));
        }
        if self.sort != d.sort {
            parts.push(("sort", self.sort.as_str().into()));
        }
        if !self.after.is_empty() {
            parts.push(("after", self.after.clone()));
        }
        if self.limit != d.limit {
            parts.push(("limit", self.limit.to_string()));
        }
        parts
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode_component(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Reads a query string (with or without the leading `?`). Unknown fields are
    /// ignored (a link may carry more); a known field with a bad value is an error that
    /// names it. `limit` above [`MAX_LIMIT`] is lowered to it.
    pub fn parse(qs: &str) -> Result<CertQuery, QueryError> {
        let mut out = CertQuery::default();
        let qs = qs.strip_prefix('?').unwrap_or(qs);
        for pair in qs.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component(k);
            let value = decode_component(v);
            let bad = |field: &'static str, message: String| QueryError { field, message };
            match key.as_str() {
                "q" => out.q = value.trim().to_string(),
                "status" => {
                    out.status = StatusFilter::parse(&value).ok_or_else(|| {
                        bad(
                            "status",
                            format!(
                                "{value:?} is not a status: use all, valid, expiring, expired or revoked"
                            ),
                        )
                    })?
                }
                "days" => {
                    out.days = value
                        .parse::<u32>()
                        .ok()
                        .filter(|d| (1..=3650).contains(d))
                        .ok_or_else(|| {
                            bad("days", format!("{value:?} is not a number of days from 1 to 3650"))
                        })?
                }
                "issuer" => out.issuer = value,
                "role" => out.role = value,
                "from" | "to" => {
                    let t = value.parse::<i64>().map_err(|_| {
                        bad(
                            if key == "from" { "from" } else { "to" },
                            format!("{value:?} is not a Unix time in seconds"),
                        )
                    })?;
                    if key == "from" {
                        out.from = Some(t);
                    } else {
                        out.to = Some(t);
                    }
                }
                "sort" => {
                    out.sort = Sort::parse(&value).ok_or_else(|| {
                        bad(
                            "sort",
                            format!(
                                "{value:?} is not an order: use not_after, -not_after, issued or -issued"
                            ),
                        )
                    })?
                }
                "after" => out.after = value,
                "limit" => {
                    out.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|l| *l >= 1)
                        .ok_or_else(|| {
                            bad("limit", format!("{value:?} is not a positive number of rows"))
                        })?
                        .min(MAX_LIMIT)
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The same query from its first page.
    pub fn first_page(&self) -> CertQuery {
        CertQuery {
            after: String::new(),
            ..self.clone()
        }
    }

    /// Whether `q` asks for a serial-number prefix rather than a name: two hex digits,
    /// then colon-joined hex pairs (`1a:`, `1a:2b:3`).
    pub fn serial_prefix(&self) -> Option<String> {
        let q = self.q.to_ascii_lowercase();
        let b = q.as_bytes();
        if b.len() < 3 || !b[0].is_ascii_hexdigit() || !b[1].is_ascii_hexdigit() || b[2] != b':' {
            return None;
        }
        let ok = q.split(':').enumerate().all(|(i, part)| {
            part.len() <= 2
                && part.bytes().all(|c| c.is_ascii_hexdigit())
                && (part.len() == 2 || i == q.split(':').count() - 1)
        });
        ok.then_some(q)
    }
}

/// One certificate in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRow {
    /// Vault's form: lower-case hex pairs joined by colons.
    pub serial_number: String,
    #[serde(default)]
    pub common_name: String,
    /// Every SAN as text: DNS names, IP addresses, URIs and e-mail addresses, in the
    /// certificate's order.
    #[serde(default)]
    pub sans: Vec<String>,
    /// Vault's issuer ID ("" when the index could not tell).
    #[serde(default)]
    pub issuer_id: String,
    /// The issuer's subject, as OpenBao prints it (`CN=Example Intermediate`).
    #[serde(default)]
    pub issuer: String,
    /// The role that issued it ("" when unknown or none).
    #[serde(default)]
    pub role: String,
    pub not_before: i64,
    pub not_after: i64,
    /// When it was stored (issued); `not_before` when the index could not tell.
    #[serde(default)]
    pub issued_at: i64,
    /// Unix time of revocation, 0 while not revoked.
    #[serde(default)]
    pub revoked_at: i64,
    /// `rsa`, `ec` or `ed25519`, as Vault names key types.
    #[serde(default)]
    pub key_type: String,
    #[serde(default)]
    pub key_bits: u32,
    #[serde(default)]
    pub is_ca: bool,
}

impl CertRow {
    pub fn status(&self, now: i64) -> CertStatus {
        if self.revoked_at > 0 {
            CertStatus::Revoked
        } else if self.not_after <= now {
            CertStatus::Expired
        } else {
            CertStatus::Valid
        }
    }

    /// The row as one CSV line (no line end), columns as [`CSV_HEADER`]; the SANs are
    /// joined by spaces. Fields are quoted when they must be, and a field that a
    /// spreadsheet would read as a formula is prefixed with `'`.
    pub fn csv_line(&self, now: i64) -> String {
        let cols = [
            self.serial_number.clone(),
            self.common_name.clone(),
            self.sans.join(" "),
            self.issuer_id.clone(),
            self.role.clone(),
            rfc3339(self.not_before),
            rfc3339(self.not_after),
            self.status(now).as_str().to_string(),
            if self.revoked_at > 0 {
                rfc3339(self.revoked_at)
            } else {
                String::new()
            },
            self.key_type.clone(),
            self.key_bits.to_string(),
        ];
        cols.iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-`, `@`, tab or CR gets a `'` so spreadsheets do not run it.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Where the index's answers come from, and how fresh they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSource {
    /// `engine` (the embedded engine's own index, always current) or `upstream` (this
    /// replica's in-memory copy of the upstream Vault's certificates).
    pub kind: String,
    /// Unix time of the last refresh (the answer's time for `engine`).
    #[serde(default)]
    pub refreshed_at: i64,
    /// Certificates in the index for this mount.
    #[serde(default)]
    pub indexed: u64,
    /// False when the upstream has more certificates than the index holds.
    #[serde(default = "yes")]
    pub complete: bool,
    /// How the upstream was read (`LIST certs/detailed`, or `LIST certs` + `cert/<serial>`)
    /// and anything the page should say about it.
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

/// An issuer that certificates of the mount name, for the issuer filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerChoice {
    pub issuer_id: String,
    /// Its subject (`CN=...`), or its Vault name.
    pub name: String,
}

/// `GET /api/certs/<mount>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertPage {
    /// The server's time, for "time left" and the status of each row.
    pub now: i64,
    pub rows: Vec<CertRow>,
    /// Every certificate matching the query (all pages).
    pub total: u64,
    /// Cursor of the next page; `None` on the last page.
    #[serde(default)]
    pub next: Option<String>,
    pub source: IndexSource,
    /// The issuers and roles the mount's certificates name, for the filters.
    #[serde(default)]
    pub issuers: Vec<IssuerChoice>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `GET /api/certs/<mount>/summary`: the Overview's numbers (each links to the list
/// filtered the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSummary {
    pub now: i64,
    pub total: u64,
    pub valid: u64,
    /// Issued (stored) in the last 24 hours.
    pub issued_24h: u64,
    /// Valid and expiring within 24 hours / 7 days.
    pub expiring_24h: u64,
    pub expiring_7d: u64,
    pub expired: u64,
    pub revoked: u64,
    pub source: IndexSource,
}

/// `GET /api/certs/<mount>/timeline`: certificates whose `not_after` falls in each bar
/// (revoked ones included, so a bar's count equals the list its click opens).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub now: i64,
    /// Start of the first daily bar: today's midnight, UTC.
    pub day_start: i64,
    /// [`TIMELINE_DAYS`] counts, bar `i` covering `[day_start + i·86400, +86400)`.
    pub days: Vec<u64>,
    /// Start of the first hourly bar: the current hour, UTC.
    pub hour_start: i64,
    /// [`TIMELINE_HOURS`] counts, bar `i` covering `[hour_start + i·3600, +3600)`.
    pub hours: Vec<u64>,
}

impl Timeline {
    /// Midnight UTC of the day holding `t`, and the start of its hour.
    pub fn starts(now: i64) -> (i64, i64) {
        (now - now.rem_euclid(86_400), now - now.rem_euclid(3_600))
    }
}

/// One X.509 extension, decoded for people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionView {
    /// Its name (`Subject Alternative Name`) or, when unknown, its OID.
    pub name: String,
    pub oid: String,
    pub critical: bool,
    /// Its value in words (`DNS:a.example.com, IP:10.0.0.1`).
    pub value: String,
}

/// `GET /api/certs/<mount>/cert/<serial>`: one certificate, read from Vault
/// (`<mount>/cert/<serial>`) with the caller's token and decoded by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertDetail {
    pub now: i64,
    pub mount: String,
    pub row: CertRow,
    /// The certificate, PEM.
    pub certificate: String,
    /// Subject and issuer distinguished names, as OpenBao prints them.
    pub subject: String,
    pub issuer: String,
    /// `ECDSA P-256`, `RSA 2048`, `Ed25519`.
    pub public_key: String,
    pub signature_algorithm: String,
    pub extensions: Vec<ExtensionView>,
    /// Upper-case hex pairs joined by colons, as `openssl x509 -fingerprint` prints them.
    pub sha256_fingerprint: String,
    pub sha1_fingerprint: String,
    /// The chain to a self-signed root verifies (from the mount's issuers).
    pub chain_ok: bool,
    /// The chain check in words: the subjects up to the root, or what is wrong.
    pub chain_message: String,
    /// The issuer's chain, PEM, issuer first (to download with the certificate).
    #[serde(default)]
    pub ca_chain: Vec<String>,
}

/// Unix time as RFC 3339 in UTC, seconds precision (`2026-12-03T14:59:54Z`, as OpenBao's
/// `certs/detailed` prints `not_after`).
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` (a space, as forms send it); a malformed escape stays as it is,
/// and bytes that are not UTF-8 become U+FFFD.
pub fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_string_round_trips_and_omits_defaults() {
        assert_eq!(CertQuery::default().to_query_string(), "");
        let q = CertQuery {
            q: "api & co.example".into(),
            status: StatusFilter::Expiring,
            days: 7,
            issuer: "9b2c".into(),
            role: "web".into(),
            from: Some(1_800_000_000),
            to: Some(1_800_086_400),
            sort: Sort::IssuedDesc,
            after: "1800000000.42".into(),
            limit: 100,
        };
        let s = q.to_query_string();
        assert_eq!(
            s,
            "q=api%20%26%20co.example&status=expiring&days=7&issuer=9b2c&role=web&from=1800000000&to=1800086400&sort=-issued&after=1800000000.42&limit=100"
        );
        assert_eq!(CertQuery::parse(&s).unwrap(), q);
        assert_eq!(CertQuery::parse(&format!("?{s}")).unwrap(), q);
    }

    #[test]
    fn bad_fields_are_named_and_limit_is_capped() {
        for (qs, field) in [
            ("status=old", "status"),
            ("days=0", "days"),
            ("days=x", "days"),
            ("from=yesterday", "from"),
            ("to=1.5", "to"),
            ("sort=name", "sort"),
            ("limit=0", "limit"),
            ("limit=-1", "limit"),
        ] {
            assert_eq!(CertQuery::parse(qs).unwrap_err().field, field, "{qs}");
        }
        assert_eq!(CertQuery::parse("limit=100000").unwrap().limit, MAX_LIMIT);
        assert_eq!(CertQuery::parse("unknown=1&q=a+b").unwrap().q, "a b");
        assert_eq!(CertQuery::parse("q=%zz%4").unwrap().q, "%zz%4");
        assert_eq!(CertQuery::parse("q=%C3%A9t%C3%A9").unwrap().q, "été");
    }

    #[test]
    fn serial_prefixes_are_told_from_names() {
        let sp = |q: &str| {
            CertQuery {
                q: q.into(),
                ..Default::default()
            }
            .serial_prefix()
        };
        assert_eq!(sp("1A:2b"), Some("1a:2b".into()));
        assert_eq!(sp("1a:2"), Some("1a:2".into()));
        assert_eq!(sp("1a:"), Some("1a:".into()));
        assert_eq!(sp("1a"), None);
        assert_eq!(sp("api.example.com"), None);
        assert_eq!(sp("fd:00::1"), None);
        assert_eq!(sp("1a:2:3b"), None);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-x,y"), "\"'-x,y\"");
        let row = CertRow {
            serial_number: "0a:0b".into(),
            common_name: "a.example.com".into(),
            sans: vec!["a.example.com".into(), "10.0.0.1".into()],
            issuer_id: "i".into(),
            not_before: 0,
            not_after: 86_400,
            revoked_at: 0,
            key_type: "ec".into(),
            key_bits: 256,
            ..Default::default()
        };
        assert_eq!(
            row.csv_line(10),
            "0a:0b,a.example.com,a.example.com 10.0.0.1,i,,1970-01-01T00:00:00Z,1970-01-02T00:00:00Z,valid,,ec,256"
        );
        assert_eq!(
            CSV_HEADER.split(',').count(),
            row.csv_line(10).split(',').count()
        );
    }

    #[test]
    fn rfc3339_and_timeline_starts() {
        assert_eq!(rfc3339(1_796_309_394), "2026-12-03T14:49:54Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let (day, hour) = Timeline::starts(1_796_309_394);
        assert_eq!(rfc3339(day), "2026-12-03T00:00:00Z");
        assert_eq!(rfc3339(hour), "2026-12-03T14:00:00Z");
    }

    #[test]
    fn status_of_a_row() {
        let mut r = CertRow {
            not_after: 100,
            ..Default::default()
        };
        assert_eq!(r.status(99), CertStatus::Valid);
        assert_eq!(r.status(100), CertStatus::Expired);
        r.revoked_at = 50;
        assert_eq!(r.status(10), CertStatus::Revoked);
    }
}
