//! Durable storage for the embedded engine: one SQLite database (WAL, synchronous=FULL,
//! so an acknowledged write survives `kill -9`) holding a sorted key-value space, the way
//! Vault's physical backends do. Values are JSON; key material inside them is sealed by
//! the barrier before it gets here. Schema changes are numbered migrations. The database
//! file is made 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
//! database's mode); files left 0644 by older versions are tightened at open.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage: value at {key} is corrupt: {err}")]
    Corrupt { key: String, err: serde_json::Error },
    #[error("storage: cannot encode value for {key}: {err}")]
    Encode { key: String, err: serde_json::Error },
    #[error("storage: database schema version {0} is newer than this binary understands")]
    TooNew(i64),
    #[error("storage: cannot make {path} readable by its owner only: {err}")]
    Private { path: String, err: std::io::Error },
}

/// Creates the database file with mode 0600 if it is missing, and takes group and other
/// permissions away from it and its `-wal`/`-shm` files.
fn make_private(db: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    drop(opts.open(db)?);
    crate::engine::barrier::tighten(db)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        crate::engine::barrier::tighten(Path::new(&side))?;
    }
    Ok(())
}

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the key-value space.
    "CREATE TABLE entries (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
];

pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// The writes of one request, applied atomically by [`Store::atomic`].
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StorageError> {
        make_private(path).map_err(|err| StorageError::Private {
            path: path.display().to_string(),
            err,
        })?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = Store {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory store, for unit tests.
    pub fn memory() -> Result<Store, StorageError> {
        let store = Store {
            conn: Mutex::new(Connection::open_in_memory()?),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StorageError> {
        let mut conn = self.lock();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StorageError::TooNew(version));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied write: SQLite rolls
        // back the open transaction, so the connection is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        let conn = self.lock();
        get_in(&conn, key)
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StorageError> {
        self.atomic(|tx| tx.put(key, value))
    }

    pub fn delete(&self, key: &str) -> Result<bool, StorageError> {
        self.atomic(|tx| tx.delete(key))
    }

    /// Keys directly below `prefix` (which ends in `/`), Vault-style: a deeper key shows
    /// as its first segment with a trailing `/`. Sorted, without duplicates.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let conn = self.lock();
        list_in(&conn, prefix, None, usize::MAX)
    }

    /// Like [`Store::list`], starting after `after` and returning at most `limit` keys.
    pub fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        let conn = self.lock();
        list_in(&conn, prefix, after, limit)
    }

    /// Runs `f` in one transaction: all of its writes land, or none do.
    pub fn atomic<R>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        let mut conn = self.lock();
        let mut tx = Tx {
            tx: conn.transaction()?,
        };
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Like [`Store::atomic`] for callers with their own error type: the transaction is
    /// rolled back when `f` fails.
    pub fn atomic_with<R, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = self.lock();
        let mut tx = Tx {
            tx: conn.transaction().map_err(StorageError::from)?,
        };
        let out = f(&mut tx)?;
        tx.tx.commit().map_err(StorageError::from)?;
        Ok(out)
    }
}

impl Tx<'_> {
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        get_in(&self.tx, key)
    }

    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(value).map_err(|err| StorageError::Encode {
            key: key.into(),
            err,
        })?;
        self.tx.execute(
            "INSERT INTO entries (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, bytes],
        )?;
        Ok(())
    }

    pub fn delete(&mut self, key: &str) -> Result<bool, StorageError> {
        Ok(self
            .tx
            .execute("DELETE FROM entries WHERE key = ?1", params![key])?
            > 0)
    }

    /// Deletes every key that starts with `prefix`; returns how many.
    pub fn delete_prefix(&mut self, prefix: &str) -> Result<usize, StorageError> {
        let (lo, hi) = prefix_range(prefix);
        Ok(self.tx.execute(
            "DELETE FROM entries WHERE key >= ?1 AND key < ?2",
            params![lo, hi],
        )?)
    }

    pub fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        list_in(&self.tx, prefix, None, usize::MAX)
    }
}

fn get_in<T: DeserializeOwned>(conn: &Connection, key: &str) -> Result<Option<T>, StorageError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM entries WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()?;
    bytes
        .map(|b| {
            serde_json::from_slice(&b).map_err(|err| StorageError::Corrupt {
                key: key.into(),
                err,
            })
        })
        .transpose()
}

/// `[prefix, prefix-with-last-byte-incremented)`: every key starting with `prefix`.
fn prefix_range(prefix: &str) -> (String, String) {
    let mut hi = prefix.as_bytes().to_vec();
    // Keys are UTF-8; bumping the last byte of an ASCII prefix stays valid UTF-8. For an
    // empty prefix the upper bound is the largest possible key.
    match hi.last_mut() {
        Some(b) if *b < 0x7f => *b += 1,
        _ => hi.push(0x7f),
    }
    (
        prefix.to_string(),
        String::from_utf8_lossy(&hi).into_owned(),
    )
}

fn list_in(
    conn: &Connection,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let (lo, hi) = prefix_range(prefix);
    let mut stmt =
        conn.prepare_cached("SELECT key FROM entries WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
    let rows = stmt.query_map(params![lo, hi], |r| r.get::<_, String>(0))?;
    let mut out: Vec<String> = Vec::new();
    for key in rows {
        let key = key?;
        let rest = &key[prefix.len()..];
        let item = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) == Some(item) {
            continue;
        }
        if after.is_some_and(|a| item <= a) {
            continue;
        }
        out.push(item.to_string());
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_delete() {
        let s = Store::memory().unwrap();
        s.put("roles/b", &"B").unwrap();
        s.put("roles/a", &"A").unwrap();
        s.put("roles/sub/x", &1).unwrap();
        s.put("rolesX", &2).unwrap();
        assert_eq!(s.get::<String>("roles/a").unwrap().as_deref(), Some("A"));
        assert_eq!(s.list("roles/").unwrap(), vec!["a", "b", "sub/"]);
        assert_eq!(s.list_page("roles/", Some("a"), 1).unwrap(), vec!["b"]);
        assert!(s.delete("roles/a").unwrap());
        assert!(!s.delete("roles/a").unwrap());
        assert_eq!(s.list("roles/").unwrap(), vec!["b", "sub/"]);
        assert!(s.list("nothing/").unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private_also_when_older_versions_left_them_open() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db");
        let side = |s: &str| dir.path().join(format!("test.db{s}"));
        let s = Store::open(&db).unwrap();
        s.put("k", &1).unwrap();
        for p in [db.clone(), side("-wal"), side("-shm")] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let again = Store::open(&db).unwrap();
        assert_eq!(again.get::<i32>("k").unwrap(), Some(1));
        for p in [db.clone(), side("-wal"), side("-shm")] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }

    #[test]
    fn failed_transaction_leaves_nothing_behind() {
        let s = Store::memory().unwrap();
        s.put("keep", &1).unwrap();
        let r: Result<(), StorageError> = s.atomic(|tx| {
            tx.put("half", &1)?;
            tx.delete("keep")?;
            Err(StorageError::TooNew(99))
        });
        assert!(r.is_err());
        assert_eq!(s.get::<i32>("keep").unwrap(), Some(1));
        assert_eq!(s.get::<i32>("half").unwrap(), None);
    }

    #[test]
    fn delete_prefix_only_touches_the_prefix() {
        let s = Store::memory().unwrap();
        for k in ["m/1/a", "m/1/b/c", "m/10/a", "m/2/a"] {
            s.put(k, &0).unwrap();
        }
        let n = s.atomic(|tx| tx.delete_prefix("m/1/")).unwrap();
        assert_eq!(n, 2);
        assert_eq!(s.list("m/").unwrap(), vec!["10/", "2/"]);
    }

    #[test]
    fn reopening_keeps_data_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        Store::open(&path).unwrap().put("k", &"v").unwrap();
        let s = Store::open(&path).unwrap();
        assert_eq!(s.get::<String>("k").unwrap().as_deref(), Some("v"));
        let v: i64 = s
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }
}
