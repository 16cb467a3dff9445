//! The certificate index (issue 15): one row per issued certificate in SQLite, so the
//! Certificates page can search, filter, sort and count a million certificates in a few
//! milliseconds. Pure functions over a [`rusqlite::Connection`]: the embedded engine
//! keeps the index in its own database (written in the same transaction as the
//! certificate's storage entry, the mount key being the mount's UUID), and upstream mode
//! can run the same functions on an in-memory connection with the mount path as key. The
//! mount key is opaque here.
//!
//! Layout:
//! - `cert_index`: the rows ([`CertRow`]'s fields), keyed by `(mount, serial)`, with
//!   indexes for keyset paging by `not_after` and by `issued_at` (the row id, SQLite's
//!   rowid, is the last column of every index, so `ORDER BY not_after, id` is an index
//!   walk), for the status counts (`revoked_at, not_after`) and for the issuer and role
//!   filters.
//! - `cert_names`: the distinct *name sets* (common name and every SAN, lower-cased,
//!   newline-joined) of each mount with how many rows carry them; a row points at its set
//!   by `name_id`. Renewals repeat a name set, so this table is much smaller than the
//!   index, and a substring search is a search of the name sets: `cert_names_fts`, an
//!   FTS5 `trigram` table with `cert_names` as external content, kept in sync by
//!   triggers. The count of a name search without other filters is the sum of the sets'
//!   counts, so it does not grow with the number of certificates.
//! - `cert_stats`: the row count per mount (triggers), for the unfiltered total.

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use shared::api::certs::{
    CertQuery, CertRow, CertSummary, IssuerChoice, Sort, StatusFilter, TIMELINE_DAYS,
    TIMELINE_HOURS, Timeline,
};
use shared::pki::cert;
use shared::pki::key::PkiError;

/// The index's tables, indexes and triggers (idempotent).
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS cert_names (
    id INTEGER PRIMARY KEY,
    mount TEXT NOT NULL,
    names TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    UNIQUE (mount, names)
);
CREATE VIRTUAL TABLE IF NOT EXISTS cert_names_fts USING fts5(
    names, content = 'cert_names', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER IF NOT EXISTS cert_names_ai AFTER INSERT ON cert_names BEGIN
    INSERT INTO cert_names_fts (rowid, names) VALUES (new.id, new.names);
END;
CREATE TRIGGER IF NOT EXISTS cert_names_ad AFTER DELETE ON cert_names BEGIN
    INSERT INTO cert_names_fts (cert_names_fts, rowid, names) VALUES ('delete', old.id, old.names);
END;
CREATE TRIGGER IF NOT EXISTS cert_names_au AFTER UPDATE OF names ON cert_names BEGIN
    INSERT INTO cert_names_fts (cert_names_fts, rowid, names) VALUES ('delete', old.id, old.names);
    INSERT INTO cert_names_fts (rowid, names) VALUES (new.id, new.names);
END;

CREATE TABLE IF NOT EXISTS cert_index (
    id INTEGER PRIMARY KEY,
    mount TEXT NOT NULL,
    serial TEXT NOT NULL,
    common_name TEXT NOT NULL,
    name_id INTEGER NOT NULL,
    sans TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    role TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0,
    key_type TEXT NOT NULL,
    key_bits INTEGER NOT NULL,
    is_ca INTEGER NOT NULL,
    UNIQUE (mount, serial)
);
CREATE INDEX IF NOT EXISTS cert_index_not_after ON cert_index (mount, not_after);
CREATE INDEX IF NOT EXISTS cert_index_issued ON cert_index (mount, issued_at);
CREATE INDEX IF NOT EXISTS cert_index_status ON cert_index (mount, revoked_at, not_after);
CREATE INDEX IF NOT EXISTS cert_index_issuer ON cert_index (mount, issuer_id, not_after);
CREATE INDEX IF NOT EXISTS cert_index_role ON cert_index (mount, role, not_after);
CREATE INDEX IF NOT EXISTS cert_index_name ON cert_index (name_id, not_after);

CREATE TABLE IF NOT EXISTS cert_stats (
    mount TEXT PRIMARY KEY NOT NULL,
    total INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS cert_index_ai AFTER INSERT ON cert_index BEGIN
    UPDATE cert_names SET n = n + 1 WHERE id = new.name_id;
    INSERT INTO cert_stats (mount, total) VALUES (new.mount, 1)
        ON CONFLICT (mount) DO UPDATE SET total = total + 1;
END;
CREATE TRIGGER IF NOT EXISTS cert_index_ad AFTER DELETE ON cert_index BEGIN
    UPDATE cert_names SET n = n - 1 WHERE id = old.name_id;
    DELETE FROM cert_names WHERE id = old.name_id AND n <= 0;
    UPDATE cert_stats SET total = total - 1 WHERE mount = old.mount;
END;
CREATE TRIGGER IF NOT EXISTS cert_index_au AFTER UPDATE OF name_id ON cert_index
WHEN old.name_id <> new.name_id BEGIN
    UPDATE cert_names SET n = n + 1 WHERE id = new.name_id;
    UPDATE cert_names SET n = n - 1 WHERE id = old.name_id;
    DELETE FROM cert_names WHERE id = old.name_id AND n <= 0;
END;
"#;

/// Whether a name search matching `n` of the mount's `total` rows finds its page by
/// walking the sort order and checking each row's name set (about `total / n` rows
/// read per row kept) rather than by reading all `n` matching rows and sorting them:
/// when `n² > page × total`.
fn walks(n: i64, total: u64, page: u32) -> bool {
    (n as i128) * (n as i128) > i128::from(page) * i128::from(total)
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A cursor that no page of this index produced.
    #[error("after: {0:?} is not a cursor of this list")]
    BadCursor(String),
    #[error("certificate index: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Creates the index's tables if they are missing.
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// The text a name search looks in: the common name and every SAN, lower-cased,
/// without repeats, one per line.
pub fn names_of(row: &CertRow) -> String {
    let mut out: Vec<String> = Vec::with_capacity(row.sans.len() + 1);
    for n in std::iter::once(&row.common_name).chain(&row.sans) {
        let n = n.to_lowercase();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out.join("\n")
}

/// Inserts or replaces the row of `row.serial_number` in `mount`.
pub fn upsert(conn: &Connection, mount: &str, row: &CertRow) -> rusqlite::Result<()> {
    let names = names_of(row);
    let name_id: i64 = conn
        .prepare_cached(
            "INSERT INTO cert_names (mount, names, n) VALUES (?1, ?2, 0)
             ON CONFLICT (mount, names) DO UPDATE SET n = n RETURNING id",
        )?
        .query_row(params![mount, names], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO cert_index (mount, serial, common_name, name_id, sans, issuer_id, issuer,
             role, not_before, not_after, issued_at, revoked_at, key_type, key_bits, is_ca)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (mount, serial) DO UPDATE SET common_name = excluded.common_name,
             name_id = excluded.name_id, sans = excluded.sans, issuer_id = excluded.issuer_id,
             issuer = excluded.issuer, role = excluded.role, not_before = excluded.not_before,
             not_after = excluded.not_after, issued_at = excluded.issued_at,
             revoked_at = excluded.revoked_at, key_type = excluded.key_type,
             key_bits = excluded.key_bits, is_ca = excluded.is_ca",
    )?
    .execute(params![
        mount,
        row.serial_number,
        row.common_name,
        name_id,
        row.sans.join("\n"),
        row.issuer_id,
        row.issuer,
        row.role,
        row.not_before,
        row.not_after,
        row.issued_at,
        row.revoked_at,
        row.key_type,
        row.key_bits,
        row.is_ca,
    ])?;
    Ok(())
}

/// Marks a certificate revoked at `at` (Unix time); false when it is not in the index.
pub fn set_revoked(
    conn: &Connection,
    mount: &str,
    serial: &str,
    at: i64,
) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE cert_index SET revoked_at = ?3 WHERE mount = ?1 AND serial = ?2")?
        .execute(params![mount, serial, at])?
        > 0)
}

/// Removes one certificate; false when it was not in the index.
pub fn delete(conn: &Connection, mount: &str, serial: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM cert_index WHERE mount = ?1 AND serial = ?2")?
        .execute(params![mount, serial])?
        > 0)
}

/// Removes every row of a mount; returns how many.
pub fn delete_mount(conn: &Connection, mount: &str) -> rusqlite::Result<usize> {
    let n = conn.execute("DELETE FROM cert_index WHERE mount = ?1", params![mount])?;
    conn.execute("DELETE FROM cert_names WHERE mount = ?1", params![mount])?;
    conn.execute("DELETE FROM cert_stats WHERE mount = ?1", params![mount])?;
    Ok(n)
}

/// Rows of a mount.
pub fn count(conn: &Connection, mount: &str) -> rusqlite::Result<u64> {
    Ok(conn
        .prepare_cached("SELECT total FROM cert_stats WHERE mount = ?1")?
        .query_row(params![mount], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0)
        .max(0) as u64)
}

const COLUMNS: &str = "c.serial, c.common_name, c.sans, c.issuer_id, c.issuer, c.role, \
     c.not_before, c.not_after, c.issued_at, c.revoked_at, c.key_type, c.key_bits, c.is_ca, c.id";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(CertRow, i64)> {
    let sans: String = r.get(2)?;
    Ok((
        CertRow {
            serial_number: r.get(0)?,
            common_name: r.get(1)?,
            sans: sans
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            issuer_id: r.get(3)?,
            issuer: r.get(4)?,
            role: r.get(5)?,
            not_before: r.get(6)?,
            not_after: r.get(7)?,
            issued_at: r.get(8)?,
            revoked_at: r.get(9)?,
            key_type: r.get(10)?,
            key_bits: r.get(11)?,
            is_ca: r.get(12)?,
        },
        r.get(13)?,
    ))
}

/// `q` as one FTS5 string: every character literal (quotes doubled), so operators such
/// as `OR`, `NEAR(`, `*` or `^` in it are only text.
fn fts_string(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// `q` as a LIKE pattern with `\` as the escape character.
fn like_contains(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The smallest string greater than every string starting with `prefix` (ASCII).
fn prefix_end(prefix: &str) -> String {
    let mut b = prefix.as_bytes().to_vec();
    while let Some(last) = b.pop() {
        if last < 0x7f {
            b.push(last + 1);
            return String::from_utf8_lossy(&b).into_owned();
        }
    }
    "\u{7f}".into()
}

/// The WHERE clause and parameters of a query's filters, except the name search.
struct Filters {
    sql: String,
    params: Vec<Box<dyn ToSql>>,
}

impl Filters {
    fn push(&mut self, clause: &str, value: impl ToSql + 'static) {
        self.params.push(Box::new(value));
        let n = self.params.len();
        self.sql
            .push_str(&format!(" AND {}", clause.replace('?', &format!("?{n}"))));
    }

    fn new(mount: &str, q: &CertQuery, now: i64) -> Filters {
        let mut f = Filters {
            sql: "c.mount = ?1".into(),
            params: vec![Box::new(mount.to_string())],
        };
        match q.status {
            StatusFilter::All => {}
            StatusFilter::Valid => {
                f.push("c.revoked_at = ?", 0i64);
                f.push("c.not_after > ?", now);
            }
            StatusFilter::Expiring => {
                f.push("c.revoked_at = ?", 0i64);
                f.push("c.not_after > ?", now);
                f.push("c.not_after <= ?", now + i64::from(q.days) * 86_400);
            }
            StatusFilter::Expired => {
                f.push("c.revoked_at = ?", 0i64);
                f.push("c.not_after <= ?", now);
            }
            StatusFilter::Revoked => f.push("c.revoked_at > ?", 0i64),
        }
        if !q.issuer.is_empty() {
            f.push("c.issuer_id = ?", q.issuer.clone());
        }
        if !q.role.is_empty() {
            f.push("c.role = ?", q.role.clone());
        }
        if let Some(from) = q.from {
            f.push("c.not_after >= ?", from);
        }
        if let Some(to) = q.to {
            f.push("c.not_after < ?", to);
        }
        f
    }

    /// Only the mount: no filter beyond it.
    fn is_bare(&self) -> bool {
        self.params.len() == 1
    }

    fn refs(&self) -> Vec<&dyn ToSql> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &dyn ToSql)
            .collect()
    }
}

/// The name sets of `mount` that contain `text` (lower-cased), and how many rows carry
/// them.
fn matching_names(conn: &Connection, mount: &str, text: &str) -> rusqlite::Result<(Vec<i64>, i64)> {
    let text = text.to_lowercase();
    if text.contains('\0') {
        // No name holds a NUL, and SQLite's LIKE would read one as the pattern's end.
        return Ok((vec![], 0));
    }
    let (sql, pattern) = if text.chars().count() >= 3 {
        (
            // CROSS JOIN: the trigram index first, then each match's row (the other way
            // round, SQLite would run the MATCH once per name set of the mount).
            "SELECT n.id, n.n FROM cert_names_fts f CROSS JOIN cert_names n ON n.id = f.rowid
             WHERE cert_names_fts MATCH ?2 AND n.mount = ?1",
            fts_string(&text),
        )
    } else {
        (
            "SELECT n.id, n.n FROM cert_names n WHERE n.mount = ?1 AND n.names LIKE ?2 ESCAPE '\\'",
            like_contains(&text),
        )
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut ids = vec![];
    let mut total = 0i64;
    for r in stmt.query_map(params![mount, pattern], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (id, n) = r?;
        ids.push(id);
        total += n;
    }
    ids.sort_unstable();
    Ok((ids, total))
}

/// One page of the certificates of `mount` that match `q` at `now`, the cursor of the
/// next page (`None` on the last) and the number of all matches.
pub fn search(
    conn: &Connection,
    mount: &str,
    q: &CertQuery,
    now: i64,
) -> Result<(Vec<CertRow>, Option<String>, u64), IndexError> {
    let mut f = Filters::new(mount, q, now);
    let (key, desc) = match q.sort {
        Sort::NotAfter => ("not_after", false),
        Sort::NotAfterDesc => ("not_after", true),
        Sort::Issued => ("issued_at", false),
        Sort::IssuedDesc => ("issued_at", true),
    };
    let cursor = if q.after.is_empty() {
        None
    } else {
        let bad = || IndexError::BadCursor(q.after.clone());
        let (k, id) = q.after.split_once('.').ok_or_else(bad)?;
        Some((
            k.parse::<i64>().map_err(|_| bad())?,
            id.parse::<i64>().map_err(|_| bad())?,
        ))
    };
    let limit = q.limit.clamp(1, shared::api::certs::MAX_LIMIT);

    // The name search: a serial-number prefix (a range of the unique index), or the
    // name sets that contain the text.
    let mut names: Option<(Vec<i64>, i64)> = None;
    if let Some(prefix) = q.serial_prefix() {
        f.push("c.serial >= ?", prefix.clone());
        f.push("c.serial < ?", prefix_end(&prefix));
    } else if !q.q.is_empty() {
        names = Some(matching_names(conn, mount, &q.q)?);
    }
    let bare = f.is_bare();
    let mut walk = false;
    if let Some((ids, n)) = &names {
        if ids.is_empty() {
            return Ok((vec![], None, 0));
        }
        // Few matching rows: read them through the `name_id` index (and sort them).
        // Many: walk the sort order (or the status index, to count) and check each row's
        // name set (`+` keeps SQLite from using the `name_id` index).
        walk = walks(*n, count(conn, mount)?, limit + 1);
        let plus = if walk { "+" } else { "" };
        let list = format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        f.push(
            &format!("{plus}c.name_id IN (SELECT value FROM json_each(?))"),
            list,
        );
    }

    // Count.
    let total = match &names {
        Some((_, n)) if bare => *n as u64,
        None if bare => count(conn, mount)?,
        _ => {
            let from = from_table(&names, walk, "cert_index_status");
            let sql = format!("SELECT count(*) FROM {from} WHERE {}", f.sql);
            let mut stmt = conn.prepare_cached(&sql)?;
            stmt.query_row(f.refs().as_slice(), |r| r.get::<_, i64>(0))? as u64
        }
    };

    // The page.
    if let Some((k, id)) = cursor {
        let op = if desc { "<" } else { ">" };
        f.push(&format!("(c.{key}, c.id) {op} (?, "), k);
        // The second value of the row comparison.
        f.params.push(Box::new(id));
        let n = f.params.len();
        f.sql.push_str(&format!("?{n})"));
    }
    let index = if key == "not_after" {
        "cert_index_not_after"
    } else {
        "cert_index_issued"
    };
    let from = from_table(&names, walk, index);
    let dir = if desc { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} WHERE {} ORDER BY c.{key} {dir}, c.id {dir} LIMIT {}",
        f.sql,
        limit + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt
        .query_map(f.refs().as_slice(), read_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(r, id)| {
            let k = if key == "not_after" {
                r.not_after
            } else {
                r.issued_at
            };
            format!("{k}.{id}")
        })
    } else {
        None
    };
    Ok((rows.into_iter().map(|(r, _)| r).collect(), next, total))
}

/// The table of a query, with the index SQLite must use for a name search: the
/// `name_id` index for few matching rows, else `walk_index` (see [`search`]).
fn from_table(names: &Option<(Vec<i64>, i64)>, walk: bool, walk_index: &str) -> String {
    match names {
        None => "cert_index c".into(),
        Some(_) if walk => format!("cert_index c INDEXED BY {walk_index}"),
        Some(_) => "cert_index c INDEXED BY cert_index_name".into(),
    }
}

fn count_where(conn: &Connection, sql: &str, p: &[&dyn ToSql]) -> rusqlite::Result<u64> {
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM cert_index WHERE {sql}"))?
        .query_row(p, |r| r.get::<_, i64>(0))? as u64)
}

/// The Overview's numbers for `mount` at `now` (`source` left for the caller).
pub fn summary(conn: &Connection, mount: &str, now: i64) -> rusqlite::Result<CertSummary> {
    let live = "mount = ?1 AND revoked_at = 0 AND not_after > ?2";
    Ok(CertSummary {
        now,
        total: count(conn, mount)?,
        valid: count_where(conn, live, &[&mount, &now])?,
        issued_24h: count_where(
            conn,
            "mount = ?1 AND issued_at > ?2",
            &[&mount, &(now - 86_400)],
        )?,
        expiring_24h: count_where(
            conn,
            &format!("{live} AND not_after <= ?3"),
            &[&mount, &now, &(now + 86_400)],
        )?,
        expiring_7d: count_where(
            conn,
            &format!("{live} AND not_after <= ?3"),
            &[&mount, &now, &(now + 7 * 86_400)],
        )?,
        expired: count_where(
            conn,
            "mount = ?1 AND revoked_at = 0 AND not_after <= ?2",
            &[&mount, &now],
        )?,
        revoked: count_where(conn, "mount = ?1 AND revoked_at > 0", &[&mount])?,
        source: Default::default(),
    })
}

/// Expiries per day for [`TIMELINE_DAYS`] days from today's midnight (UTC) and per hour
/// for [`TIMELINE_HOURS`] hours from the current hour; revoked certificates included.
pub fn timeline(conn: &Connection, mount: &str, now: i64) -> rusqlite::Result<Timeline> {
    let (day_start, hour_start) = Timeline::starts(now);
    let bucket = |start: i64, width: i64, n: usize| -> rusqlite::Result<Vec<u64>> {
        let mut out = vec![0u64; n];
        let mut stmt = conn.prepare_cached(
            "SELECT (not_after - ?2) / ?3 AS b, count(*) FROM cert_index
             WHERE mount = ?1 AND not_after >= ?2 AND not_after < ?4 GROUP BY b",
        )?;
        let rows = stmt.query_map(
            params![mount, start, width, start + width * n as i64],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        for r in rows {
            let (b, c) = r?;
            if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
                *slot = c as u64;
            }
        }
        Ok(out)
    };
    Ok(Timeline {
        now,
        day_start,
        days: bucket(day_start, 86_400, TIMELINE_DAYS)?,
        hour_start,
        hours: bucket(hour_start, 3_600, TIMELINE_HOURS)?,
    })
}

/// The distinct values of a column of `mount`'s rows, each found by one index seek
/// (a skip scan), so the cost is the number of values, not of rows.
fn distinct(conn: &Connection, mount: &str, column: &str) -> rusqlite::Result<Vec<String>> {
    let sql = format!(
        "WITH RECURSIVE v(x) AS (
             SELECT min({column}) FROM cert_index WHERE mount = ?1
             UNION ALL
             SELECT (SELECT min({column}) FROM cert_index WHERE mount = ?1 AND {column} > v.x)
             FROM v WHERE v.x IS NOT NULL)
         SELECT x FROM v WHERE x IS NOT NULL"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map(params![mount], |r| r.get::<_, String>(0))?
        .collect()
}

/// The issuers and the roles that `mount`'s certificates name, for the filters (roles
/// without the empty one).
pub fn choices(
    conn: &Connection,
    mount: &str,
) -> rusqlite::Result<(Vec<IssuerChoice>, Vec<String>)> {
    let mut issuers = vec![];
    for id in distinct(conn, mount, "issuer_id")? {
        if id.is_empty() {
            continue;
        }
        let name: String = conn
            .prepare_cached(
                "SELECT issuer FROM cert_index WHERE mount = ?1 AND issuer_id = ?2 LIMIT 1",
            )?
            .query_row(params![mount, id], |r| r.get(0))?;
        issuers.push(IssuerChoice {
            name: if name.is_empty() { id.clone() } else { name },
            issuer_id: id,
        });
    }
    let roles = distinct(conn, mount, "role")?
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    Ok((issuers, roles))
}

/// Every SAN of a DER certificate as text (DNS names, IP addresses, URIs, e-mail
/// addresses), from the parsed certificate: kind by kind in that order.
fn sans_of(info: &cert::CertInfo) -> Vec<String> {
    let s = &info.sans;
    s.dns
        .iter()
        .cloned()
        .chain(s.ip.iter().map(|ip| ip.to_string()))
        .chain(s.uri.iter().cloned())
        .chain(s.email.iter().cloned())
        .collect()
}

/// The index row of a certificate (PEM, or DER), with what the certificate does not
/// say: its issuer's Vault ID, the role it was issued through ("" for none) and when it
/// was stored (0: its `not_before`).
pub fn row_from_pem_or_der(
    pem_or_der: &[u8],
    issuer_id: &str,
    role: &str,
    issued_at: i64,
) -> Result<CertRow, PkiError> {
    // DER is a SEQUENCE (0x30); anything else is read as PEM text (the first
    // certificate in it).
    let der = if pem_or_der.first() != Some(&0x30) {
        let text = std::str::from_utf8(pem_or_der)
            .map_err(|e| PkiError::InvalidCertificate(e.to_string()))?;
        cert::pem_decode_all(text)?
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .ok_or_else(|| PkiError::InvalidCertificate("no certificate in the PEM".into()))?
    } else {
        pem_or_der.to_vec()
    };
    let info = cert::parse_certificate(&der)?;
    Ok(CertRow {
        serial_number: info.serial.clone(),
        common_name: info.common_name.clone(),
        sans: sans_of(&info),
        issuer_id: issuer_id.into(),
        issuer: info.issuer_dn.clone(),
        role: role.into(),
        not_before: info.not_before,
        not_after: info.not_after,
        issued_at: if issued_at > 0 {
            issued_at
        } else {
            info.not_before
        },
        revoked_at: 0,
        key_type: info.key_type.clone(),
        key_bits: info.key_bits,
        is_ca: info.is_ca,
    })
}

/// `LIST certs/detailed`'s page: the rows of `mount` with a serial after `after` (""
/// for the first), in serial order, at most `limit` (0 for all).
pub fn by_serial(
    conn: &Connection,
    mount: &str,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<CertRow>> {
    let limit = if limit == 0 { -1 } else { limit as i64 };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM cert_index c WHERE c.mount = ?1 AND c.serial > ?2
         ORDER BY c.serial LIMIT ?3"
    ))?;
    stmt.query_map(params![mount, after, limit], |r| {
        read_row(r).map(|(r, _)| r)
    })?
    .collect()
}

/// Serials of `mount`'s revoked certificates, in serial order.
pub fn revoked_serials(conn: &Connection, mount: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT serial FROM cert_index WHERE mount = ?1 AND revoked_at > 0 ORDER BY serial",
    )?;
    stmt.query_map(params![mount], |r| r.get(0))?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_309_394; // 2026-12-03T14:49:54Z
    const DAY: i64 = 86_400;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        create_schema(&c).unwrap();
        c
    }

    fn row(i: i64, cn: &str, not_after: i64) -> CertRow {
        CertRow {
            serial_number: format!("{:02x}:{:02x}:{:02x}", i / 65536, (i / 256) % 256, i % 256),
            common_name: cn.into(),
            sans: vec![cn.into(), format!("10.0.{}.{}", i / 256, i % 256)],
            issuer_id: if i % 2 == 0 { "iss-a" } else { "iss-b" }.into(),
            issuer: if i % 2 == 0 { "CN=a" } else { "CN=b,O=y" }.into(),
            role: ["web", "api", ""][(i % 3) as usize].into(),
            not_before: not_after - 30 * DAY,
            not_after,
            issued_at: NOW - 1000 * i,
            revoked_at: 0,
            key_type: "ec".into(),
            key_bits: 256,
            is_ca: false,
        }
    }

    fn q(f: impl FnOnce(&mut CertQuery)) -> CertQuery {
        let mut q = CertQuery::default();
        f(&mut q);
        q
    }

    fn serials(rows: &[CertRow]) -> Vec<String> {
        rows.iter().map(|r| r.serial_number.clone()).collect()
    }

    /// 300 rows: expiries spread from 10 days ago to 20 days ahead (one per 2.4 hours),
    /// every 10th revoked; names cycle over a few services.
    fn seeded() -> Connection {
        let c = db();
        for i in 0..300i64 {
            let mut r = row(
                i,
                &format!("svc-{}.team-{}.example.com", i % 25, i % 4),
                NOW - 10 * DAY + i * 8640 + 1,
            );
            if i % 10 == 0 {
                r.revoked_at = NOW - 5;
            }
            upsert(&c, "m1", &r).unwrap();
        }
        upsert(&c, "m2", &row(1, "other.example.com", NOW + DAY)).unwrap();
        c
    }

    fn all_pages(c: &Connection, mut query: CertQuery) -> (Vec<CertRow>, u64) {
        let mut out = vec![];
        let mut total = None;
        loop {
            let (rows, next, t) = search(c, "m1", &query, NOW).unwrap();
            assert!(
                total.is_none_or(|x| x == t),
                "total is the same on every page"
            );
            total = Some(t);
            out.extend(rows);
            match next {
                Some(n) => query.after = n,
                None => break,
            }
        }
        (out, total.unwrap())
    }

    #[test]
    fn fts5_trigram_is_available() {
        let c = db();
        upsert(&c, "m", &row(1, "Alpha.Example.COM", NOW)).unwrap();
        let (ids, n) = matching_names(&c, "m", "HA.exa").unwrap();
        assert_eq!((ids.len(), n), (1, 1));
    }

    #[test]
    fn each_filter() {
        let c = seeded();
        let check = |query: CertQuery, keep: &dyn Fn(&CertRow) -> bool| {
            let (got, total) = all_pages(&c, query.clone());
            let (every, _) = all_pages(&c, CertQuery::default());
            let want: Vec<_> = every.iter().filter(|r| keep(r)).cloned().collect();
            assert_eq!(serials(&got), serials(&want), "{query:?}");
            assert_eq!(total, want.len() as u64, "{query:?}");
            assert!(!want.is_empty(), "{query:?} keeps something");
        };
        check(q(|q| q.status = StatusFilter::Valid), &|r| {
            r.revoked_at == 0 && r.not_after > NOW
        });
        check(
            q(|q| {
                q.status = StatusFilter::Expiring;
                q.days = 7
            }),
            &|r| r.revoked_at == 0 && r.not_after > NOW && r.not_after <= NOW + 7 * DAY,
        );
        check(q(|q| q.status = StatusFilter::Expired), &|r| {
            r.revoked_at == 0 && r.not_after <= NOW
        });
        check(q(|q| q.status = StatusFilter::Revoked), &|r| {
            r.revoked_at > 0
        });
        check(q(|q| q.issuer = "iss-b".into()), &|r| {
            r.issuer_id == "iss-b"
        });
        check(q(|q| q.role = "api".into()), &|r| r.role == "api");
        check(
            q(|q| {
                q.from = Some(NOW);
                q.to = Some(NOW + 3 * DAY)
            }),
            &|r| r.not_after >= NOW && r.not_after < NOW + 3 * DAY,
        );
        check(q(|q| q.q = "svc-7.".into()), &|r| {
            r.common_name.starts_with("svc-7.")
        });
        check(q(|q| q.q = "SVC-1".into()), &|r| {
            r.common_name.starts_with("svc-1")
        });
        // An IP SAN, and a name shorter than a trigram (LIKE).
        check(q(|q| q.q = "10.0.1.2".into()), &|r| {
            r.sans.iter().any(|s| s.contains("10.0.1.2"))
        });
        check(q(|q| q.q = "-3".into()), &|r| {
            r.common_name.contains("-3") || r.sans.iter().any(|s| s.contains("-3"))
        });
        // Name search combined with filters, both plans.
        check(
            q(|q| {
                q.q = "example".into();
                q.status = StatusFilter::Valid;
                q.role = "web".into()
            }),
            &|r| r.revoked_at == 0 && r.not_after > NOW && r.role == "web",
        );
        check(
            q(|q| {
                q.q = "svc-5.".into();
                q.status = StatusFilter::Revoked
            }),
            &|r| r.revoked_at > 0 && r.common_name.starts_with("svc-5."),
        );
        // The other mount stays apart.
        assert_eq!(search(&c, "m2", &CertQuery::default(), NOW).unwrap().2, 1);
    }

    #[test]
    fn many_matches_walk_the_sort_order() {
        let c = db();
        for i in 0..2_100 {
            upsert(&c, "m1", &row(i, "same.example.com", NOW + i)).unwrap();
        }
        let (rows, next, total) = search(&c, "m1", &q(|q| q.q = "same.ex".into()), NOW).unwrap();
        assert!(walks(2_100, 2_100, 51) && !walks(12, 300, 51));
        assert_eq!(total, 2_100);
        assert_eq!(rows.len(), 50);
        assert_eq!(rows[0].not_after, NOW);
        assert!(next.is_some());
    }

    #[test]
    fn each_sort_pages_without_gaps_or_repeats() {
        let c = seeded();
        for sort in Sort::ALL {
            for limit in [1, 7, 50, 500] {
                let (rows, total) = all_pages(
                    &c,
                    q(|q| {
                        q.sort = sort;
                        q.limit = limit
                    }),
                );
                assert_eq!(rows.len(), 300, "{sort:?} {limit}");
                assert_eq!(total, 300);
                let mut seen: Vec<_> = serials(&rows);
                seen.sort();
                seen.dedup();
                assert_eq!(seen.len(), 300, "no repeats: {sort:?} {limit}");
                let keys: Vec<i64> = rows
                    .iter()
                    .map(|r| match sort {
                        Sort::NotAfter | Sort::NotAfterDesc => r.not_after,
                        Sort::Issued | Sort::IssuedDesc => r.issued_at,
                    })
                    .collect();
                let mut sorted = keys.clone();
                sorted.sort();
                if matches!(sort, Sort::NotAfterDesc | Sort::IssuedDesc) {
                    sorted.reverse();
                }
                assert_eq!(keys, sorted, "{sort:?}");
            }
        }
    }

    #[test]
    fn equal_sort_keys_page_by_id() {
        let c = db();
        for i in 0..20 {
            upsert(&c, "m1", &row(i, "x.example.com", NOW + DAY)).unwrap();
        }
        let (rows, _) = all_pages(&c, q(|q| q.limit = 3));
        assert_eq!(rows.len(), 20);
        let (rows, _) = all_pages(
            &c,
            q(|q| {
                q.limit = 3;
                q.sort = Sort::NotAfterDesc
            }),
        );
        assert_eq!(rows.len(), 20);
    }

    #[test]
    fn bad_cursor_names_after() {
        let c = seeded();
        for after in ["x", "1.", ".2", "1.2.3", "abc.def"] {
            let e = search(&c, "m1", &q(|q| q.after = after.into()), NOW).unwrap_err();
            assert!(e.to_string().starts_with("after:"), "{e}");
        }
    }

    #[test]
    fn hostile_queries_are_plain_text() {
        let c = seeded();
        let mut odd = row(900, "we\"ird%_x*.example.com", NOW + DAY);
        odd.sans = vec!["a OR b.example.com".into(), "near(x).example.com".into()];
        upsert(&c, "m1", &odd).unwrap();
        for (text, want) in [
            ("\"", 1),
            ("\"\"", 0),
            ("*", 1),
            ("%", 1),
            ("_", 1),
            ("%_", 1),
            ("d%_x*", 1),
            ("NEAR(", 1),
            ("near(x)", 1),
            ("OR", 1),
            (" or b", 1),
            ("a OR b", 1),
            ("svc OR team", 0),
            ("e\"ir", 1),
            ("^svc", 0),
            ("svc*", 0),
            ("'); DROP TABLE cert_index; --", 0),
            ("\\", 0),
            ("\u{0}", 0),
        ] {
            let (rows, _, total) = search(&c, "m1", &q(|q| q.q = text.into()), NOW)
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(total, want, "{text:?}");
            assert_eq!(rows.len() as u64, want, "{text:?}");
        }
        // `%` and `_` are not wildcards in the short (LIKE) search either.
        assert_eq!(
            search(&c, "m1", &q(|q| q.q = "s%".into()), NOW).unwrap().2,
            0
        );
        assert_eq!(count(&c, "m1").unwrap(), 301);
    }

    #[test]
    fn serial_prefix() {
        let c = seeded();
        // Serials 00:01:00 .. 00:01:ff are rows 256..299.
        let (rows, total) = all_pages(&c, q(|q| q.q = "00:01:".into()));
        assert_eq!(total, 44);
        assert!(rows.iter().all(|r| r.serial_number.starts_with("00:01:")));
        let (_, total) = all_pages(&c, q(|q| q.q = "00:01:2".into()));
        assert_eq!(total, 12);
        let (rows, total) = all_pages(&c, q(|q| q.q = "00:00:0A".into()));
        assert_eq!((total, serials(&rows)), (1, vec!["00:00:0a".to_string()]));
    }

    #[test]
    fn revoke_delete_and_counts() {
        let c = seeded();
        assert_eq!(count(&c, "m1").unwrap(), 300);
        assert!(set_revoked(&c, "m1", "00:00:01", NOW).unwrap());
        assert!(!set_revoked(&c, "m1", "ff:ff:ff", NOW).unwrap());
        let (rows, _, _) = search(&c, "m1", &q(|q| q.q = "00:00:01".into()), NOW).unwrap();
        assert_eq!(rows[0].revoked_at, NOW);
        assert!(delete(&c, "m1", "00:00:01").unwrap());
        assert!(!delete(&c, "m1", "00:00:01").unwrap());
        assert_eq!(count(&c, "m1").unwrap(), 299);
        // Upserting a row again replaces it.
        let r = row(2, "renamed.example.org", NOW + 5);
        upsert(&c, "m1", &r).unwrap();
        assert_eq!(count(&c, "m1").unwrap(), 299);
        assert_eq!(
            search(&c, "m1", &q(|q| q.q = "renamed".into()), NOW)
                .unwrap()
                .2,
            1
        );
        let s = summary(&c, "m1", NOW).unwrap();
        let (every, _) = all_pages(&c, CertQuery::default());
        let n = |f: &dyn Fn(&CertRow) -> bool| every.iter().filter(|r| f(r)).count() as u64;
        assert_eq!(s.total, 299);
        assert_eq!(s.valid, n(&|r| r.revoked_at == 0 && r.not_after > NOW));
        assert_eq!(s.expired, n(&|r| r.revoked_at == 0 && r.not_after <= NOW));
        assert_eq!(s.revoked, n(&|r| r.revoked_at > 0));
        assert_eq!(
            s.expiring_7d,
            n(&|r| r.revoked_at == 0 && r.not_after > NOW && r.not_after <= NOW + 7 * DAY)
        );
        assert_eq!(
            s.expiring_24h,
            n(&|r| r.revoked_at == 0 && r.not_after > NOW && r.not_after <= NOW + DAY)
        );
        assert_eq!(s.issued_24h, n(&|r| r.issued_at > NOW - DAY));
        assert_eq!(s.valid + s.expired + s.revoked, s.total);
        assert_eq!(delete_mount(&c, "m1").unwrap(), 299);
        assert_eq!(count(&c, "m1").unwrap(), 0);
        assert_eq!(count(&c, "m2").unwrap(), 1);
        let names: i64 = c
            .query_row(
                "SELECT count(*) FROM cert_names WHERE mount = 'm1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(names, 0);
        assert_eq!(
            search(&c, "m1", &q(|q| q.q = "svc".into()), NOW).unwrap().2,
            0
        );
    }

    #[test]
    fn timeline_buckets() {
        let c = db();
        let (day, hour) = Timeline::starts(NOW);
        for (i, t) in [
            day - 1,              // yesterday: outside
            day,                  // day 0
            NOW + 10,             // day 0, hour 0
            hour + 3600,          // hour 1
            day + 86_400 + 5,     // day 1
            day + 89 * 86_400,    // day 89
            day + 90 * 86_400,    // outside
            hour + 24 * 3600 - 1, // hour 23
        ]
        .into_iter()
        .enumerate()
        {
            upsert(&c, "m", &row(i as i64, "t.example.com", t)).unwrap();
        }
        set_revoked(&c, "m", "00:00:02", NOW).unwrap();
        let t = timeline(&c, "m", NOW).unwrap();
        assert_eq!((t.day_start, t.hour_start), (day, hour));
        assert_eq!(t.days.len(), TIMELINE_DAYS);
        assert_eq!(t.hours.len(), TIMELINE_HOURS);
        assert_eq!(t.days.iter().sum::<u64>(), 6);
        assert_eq!(t.days[89], 1);
        assert_eq!(t.hours[0], 1);
        assert_eq!(t.hours[1], 1);
        assert_eq!(t.hours[23], 1);
        let day1 = t.days[1];
        let (rows, _, total) = search(
            &c,
            "m",
            &q(|q| {
                q.from = Some(day + 86_400);
                q.to = Some(day + 2 * 86_400)
            }),
            NOW,
        )
        .unwrap();
        assert_eq!(total, day1);
        assert_eq!(rows.len() as u64, day1);
    }

    #[test]
    fn choices_are_distinct() {
        let c = seeded();
        let (issuers, roles) = choices(&c, "m1").unwrap();
        assert_eq!(
            issuers,
            vec![
                IssuerChoice {
                    issuer_id: "iss-a".into(),
                    name: "CN=a".into()
                },
                IssuerChoice {
                    issuer_id: "iss-b".into(),
                    name: "CN=b,O=y".into()
                }
            ]
        );
        assert_eq!(roles, vec!["api".to_string(), "web".to_string()]);
        assert_eq!(choices(&c, "none").unwrap(), (vec![], vec![]));
    }

    #[test]
    fn rows_from_certificates() {
        use shared::pki::cert::{CertSpec, Sans, Subject};
        use shared::pki::key::{KeyType, PrivateKey};
        let key = PrivateKey::generate(KeyType::Ec, 256).unwrap();
        let spec = CertSpec {
            serial: vec![0x1a, 0x2b],
            not_before: NOW - 60,
            not_after: NOW + DAY,
            subject: Subject {
                common_name: "Root".into(),
                organization: vec!["Org".into()],
                ..Default::default()
            },
            sans: Sans {
                dns: vec!["Root.example.com".into()],
                ip: vec!["10.1.2.3".parse().unwrap()],
                uri: vec!["spiffe://x/y".into()],
                email: vec!["a@example.com".into()],
            },
            is_ca: true,
            ..Default::default()
        };
        let der = cert::self_sign(&spec, &key, 0).unwrap();
        let pem = cert::pem_encode("CERTIFICATE", &der);
        let with_text = format!("Certificate:\n    Subject: CN=Root\n{pem}");
        for input in [der.clone(), pem.into_bytes(), with_text.into_bytes()] {
            let r = row_from_pem_or_der(&input, "iss", "web", 0).unwrap();
            assert_eq!(r.serial_number, "1a:2b");
            assert_eq!(r.common_name, "Root");
            assert_eq!(
                r.sans,
                vec![
                    "Root.example.com",
                    "10.1.2.3",
                    "spiffe://x/y",
                    "a@example.com"
                ]
            );
            assert_eq!(r.issuer, "CN=Root,O=Org");
            assert_eq!(
                (r.key_type.as_str(), r.key_bits, r.is_ca),
                ("ec", 256, true)
            );
            assert_eq!(r.issued_at, NOW - 60);
            assert_eq!(
                names_of(&r),
                "root\nroot.example.com\n10.1.2.3\nspiffe://x/y\na@example.com"
            );
        }
    }

    #[test]
    fn by_serial_pages_in_serial_order() {
        let c = seeded();
        let first = by_serial(&c, "m1", "", 2).unwrap();
        assert_eq!(serials(&first), vec!["00:00:00", "00:00:01"]);
        let next = by_serial(&c, "m1", "00:00:01", 1).unwrap();
        assert_eq!(serials(&next), vec!["00:00:02"]);
        assert_eq!(by_serial(&c, "m1", "", 0).unwrap().len(), 300);
        assert_eq!(revoked_serials(&c, "m1").unwrap().len(), 30);
    }
}
