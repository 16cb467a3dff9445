//! Durable storage for the embedded engine: one SQLite database (WAL, synchronous=FULL,
//! so an acknowledged write survives `kill -9`) holding a sorted key-value space, the way
//! Vault's physical backends do. Values are JSON; key material inside them is sealed by
//! the barrier before it gets here. Schema changes are numbered migrations. The database
//! file is made 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
//! database's mode); files left 0644 by older versions are tightened at open.
//!
//! **Group commit.** Writes go through one writer connection. Concurrent
//! [`Store::atomic`] calls join one SQLite transaction (a *batch*): each closure runs
//! alone on the writer, inside its own `SAVEPOINT`, so it reads the state every earlier
//! closure of the batch left (read-then-write stays serialisable) and a closure that
//! fails rolls back only itself. The last closure in (no other writer waiting to enter,
//! or the batch full) commits: one `COMMIT`, one WAL fsync for the whole batch. Every
//! caller whose closure wrote, or read what an earlier closure of the batch wrote, returns
//! only once its batch is durable (or with the commit's error), so `kill -9` loses nothing
//! acknowledged. Plain reads ([`Store::get`], [`Store::list`], [`Store::read_or_write`])
//! use a small pool of read connections and never wait for a batch (WAL readers see the
//! last committed state).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
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
    #[error("storage: the batch this write was part of failed to commit: {0}")]
    BatchFailed(String),
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
    // 2: the certificate index (`crate::certindex`); the engine fills it from the
    // certificates already stored at its next open (`pki::certs::backfill_index`).
    crate::certindex::SCHEMA,
];

/// The most closures one batch takes before it commits even with writers waiting.
const MAX_BATCH: usize = 512;
/// Read connections kept open (more readers wait for one to come back).
const READERS: usize = 8;
/// How many failed batch ids are remembered for their late waiters.
const FAILED_KEPT: usize = 64;

pub struct Store {
    writer: Mutex<Writer>,
    /// Callers of `atomic` between "want the writer" and "hold the writer": while any
    /// are, the holder leaves the batch open for them instead of committing.
    entering: AtomicUsize,
    commits: Mutex<Commits>,
    committed: Condvar,
    /// `None` for the in-memory store: reads then use the writer connection.
    readers: Option<Readers>,
}

struct Writer {
    conn: Connection,
    /// A batch transaction is open on `conn`.
    open: bool,
    /// Id of the open batch (or of the next one).
    batch: u64,
    /// Closures run in the open batch, and whether any of them wrote.
    members: usize,
    dirty: bool,
}

struct Commits {
    /// Every batch with an id up to this one has committed or failed.
    done: u64,
    /// Recent batches whose commit failed, with SQLite's error.
    failed: VecDeque<(u64, String)>,
}

struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<(Vec<Connection>, usize)>,
    returned: Condvar,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// The writes of one request, applied atomically by [`Store::atomic`] (or the reads of
/// one [`Store::read_or_write`] attempt, on a read-only connection).
pub struct Tx<'a> {
    tx: &'a Connection,
}

/// Rolls back a closure's savepoint unless it finished (also when the closure panics).
struct Savepoint<'a> {
    conn: &'a Connection,
    armed: bool,
}

impl Savepoint<'_> {
    fn begin(conn: &Connection) -> Result<Savepoint<'_>, StorageError> {
        conn.execute_batch("SAVEPOINT closure")?;
        Ok(Savepoint { conn, armed: true })
    }

    fn release(mut self) -> Result<(), StorageError> {
        self.armed = false;
        self.conn.execute_batch("RELEASE closure")?;
        Ok(())
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self
                .conn
                .execute_batch("ROLLBACK TO closure; RELEASE closure");
        }
    }
}

/// What a batch member must do once its closure ran.
enum After {
    /// Nothing it depends on is uncommitted: answer now.
    Return,
    /// Wait until batch `n` is durable.
    Wait(u64),
    /// It committed the batch itself; this is the commit's outcome.
    Committed(Result<(), StorageError>),
}

fn open_conn(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StorageError> {
        make_private(path).map_err(|err| StorageError::Private {
            path: path.display().to_string(),
            err,
        })?;
        let conn = open_conn(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = Store::with(
            conn,
            Some(Readers {
                path: path.to_path_buf(),
                idle: Mutex::new((Vec::new(), 0)),
                returned: Condvar::new(),
            }),
        );
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory store, for unit tests (one connection: reads share the writer's).
    pub fn memory() -> Result<Store, StorageError> {
        let store = Store::with(Connection::open_in_memory()?, None);
        store.migrate()?;
        Ok(store)
    }

    fn with(conn: Connection, readers: Option<Readers>) -> Store {
        Store {
            writer: Mutex::new(Writer {
                conn,
                open: false,
                batch: 1,
                members: 0,
                dirty: false,
            }),
            entering: AtomicUsize::new(0),
            commits: Mutex::new(Commits {
                done: 0,
                failed: VecDeque::new(),
            }),
            committed: Condvar::new(),
            readers,
        }
    }

    fn migrate(&self) -> Result<(), StorageError> {
        let mut w = self.lock();
        let conn = &mut w.conn;
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

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock cannot leave a half-applied write: the closure's
        // savepoint is rolled back as it unwinds, so the connection is safe to keep using.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a read connection (the last committed state), or on the writer for
    /// the in-memory store.
    fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        let Some(readers) = &self.readers else {
            return f(&self.lock().conn);
        };
        let conn = {
            let mut idle = readers.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(c) = idle.0.pop() {
                    break Some(c);
                }
                if idle.1 < READERS {
                    idle.1 += 1;
                    break None;
                }
                idle = readers
                    .returned
                    .wait(idle)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        let conn = match conn {
            Some(c) => c,
            None => match open_conn(&readers.path).and_then(|c| {
                // Readers never write: a write attempt fails with SQLITE_READONLY (which
                // `read_or_write` takes as "run it on the writer"). A small page cache
                // each keeps the server's memory low.
                c.pragma_update(None, "query_only", true)?;
                c.pragma_update(None, "cache_size", -1024)?;
                Ok(c)
            }) {
                Ok(c) => c,
                Err(e) => {
                    let mut idle = readers.idle.lock().unwrap_or_else(|p| p.into_inner());
                    idle.1 -= 1;
                    readers.returned.notify_one();
                    return Err(e);
                }
            },
        };
        let out = f(&conn);
        let mut idle = readers.idle.lock().unwrap_or_else(|p| p.into_inner());
        if conn.is_autocommit() {
            idle.0.push(conn);
        } else {
            // A transaction left open by a failed `read_or_write`: drop the connection.
            idle.1 -= 1;
        }
        readers.returned.notify_one();
        out
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        self.read(|conn| get_in(conn, key))
    }

    /// Runs `f` on a read connection (the last committed state; never the writer, so it
    /// does not wait for a batch), for queries of the certificate index. The in-memory
    /// store has only its writer.
    pub fn read_conn<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R, StorageError> {
        self.read(|conn| Ok(f(conn)))
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
        self.read(|conn| list_in(conn, prefix, None, usize::MAX))
    }

    /// Like [`Store::list`], starting after `after` and returning at most `limit` keys.
    pub fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        self.read(|conn| list_in(conn, prefix, after, limit))
    }

    /// Runs `f` in one transaction: all of its writes land, or none do.
    pub fn atomic<R>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        self.atomic_with(f)
    }

    /// Like [`Store::atomic`] for callers with their own error type: the closure's writes
    /// are rolled back when `f` fails.
    pub fn atomic_with<R, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.entering.fetch_add(1, Ordering::SeqCst);
        let mut w = self.lock();
        self.entering.fetch_sub(1, Ordering::SeqCst);
        let (out, after) = self.run_in_batch(&mut w, f)?;
        drop(w);
        match after {
            After::Return => {}
            After::Committed(r) => r?,
            After::Wait(batch) => self.wait_for(batch)?,
        }
        out
    }

    /// Runs `f` in the open batch (opening one if needed) under its own savepoint, then
    /// commits the batch if no other writer is about to join it.
    #[allow(clippy::type_complexity)] // the closure's outcome and what to do next
    fn run_in_batch<R, E: From<StorageError>>(
        &self,
        w: &mut Writer,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<(Result<R, E>, After), StorageError> {
        let saw_uncommitted = w.dirty;
        let before = w.conn.total_changes();
        let ran = (|| {
            if !w.open {
                w.conn.execute_batch("BEGIN IMMEDIATE")?;
                w.open = true;
            }
            let sp = Savepoint::begin(&w.conn)?;
            let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                f(&mut Tx { tx: &w.conn })
            })) {
                Ok(out) => out,
                Err(panic) => {
                    // Its writes roll back; the batch that earlier members wait on still
                    // commits (here, unless another writer is about to join it and will).
                    drop(sp);
                    if self.entering.load(Ordering::SeqCst) == 0 {
                        let _ = self.commit(w);
                    }
                    std::panic::resume_unwind(panic);
                }
            };
            if out.is_ok() {
                sp.release()?;
            } else {
                drop(sp);
            }
            Ok::<_, StorageError>(out)
        })();
        // Even when this closure could not run, the batch others wait on must commit.
        let out = match ran {
            Ok(out) => out,
            Err(e) => {
                if w.open && self.entering.load(Ordering::SeqCst) == 0 {
                    let _ = self.commit(w);
                }
                return Err(e);
            }
        };
        let wrote = out.is_ok() && w.conn.total_changes() != before;
        w.dirty |= wrote;
        w.members += 1;
        let batch = w.batch;
        let last_in = self.entering.load(Ordering::SeqCst) == 0 || w.members >= MAX_BATCH;
        let after = if last_in {
            After::Committed(self.commit(w))
        } else if wrote || saw_uncommitted {
            After::Wait(batch)
        } else {
            After::Return
        };
        Ok((out, after))
    }

    /// Commits the open batch (one fsync when it wrote) and wakes its waiters.
    fn commit(&self, w: &mut Writer) -> Result<(), StorageError> {
        let result = w.conn.execute_batch("COMMIT").map_err(StorageError::from);
        if result.is_err() {
            let _ = w.conn.execute_batch("ROLLBACK");
        }
        let batch = w.batch;
        w.open = false;
        w.batch += 1;
        w.members = 0;
        w.dirty = false;
        let mut c = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        c.done = batch;
        if let Err(e) = &result {
            c.failed.push_back((batch, e.to_string()));
            if c.failed.len() > FAILED_KEPT {
                c.failed.pop_front();
            }
        }
        drop(c);
        self.committed.notify_all();
        result
    }

    /// Blocks until batch `batch` committed; its error if the commit failed.
    fn wait_for(&self, batch: u64) -> Result<(), StorageError> {
        let mut c = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        while c.done < batch {
            c = self.committed.wait(c).unwrap_or_else(|p| p.into_inner());
        }
        match c.failed.iter().find(|(b, _)| *b == batch) {
            Some((_, e)) => Err(StorageError::BatchFailed(e.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` on a read connection in one read transaction (a consistent snapshot of
    /// the committed state); if `f` tries to write, runs it again through
    /// [`Store::atomic`]. For transactions that usually only read (a token's lookup, which
    /// writes only to count a use or to revoke a dead token): they then never wait for a
    /// batch, yet stay serialisable (a read-only run is a transaction at its snapshot).
    pub fn read_or_write<R>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        if self.readers.is_none() {
            return self.atomic(f);
        }
        let first = self.read(|conn| {
            conn.execute_batch("BEGIN DEFERRED")?;
            let out = f(&mut Tx { tx: conn });
            match &out {
                Ok(_) => conn.execute_batch("COMMIT")?,
                Err(_) => {
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
            out
        });
        match first {
            Err(StorageError::Sqlite(e)) if e.sqlite_error_code() == Some(ErrorCode::ReadOnly) => {
                self.atomic(f)
            }
            other => other,
        }
    }
}

impl Tx<'_> {
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        get_in(self.tx, key)
    }

    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(value).map_err(|err| StorageError::Encode {
            key: key.into(),
            err,
        })?;
        self.tx
            .prepare_cached(
                "INSERT INTO entries (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, bytes])?;
        Ok(())
    }

    pub fn delete(&mut self, key: &str) -> Result<bool, StorageError> {
        Ok(self
            .tx
            .execute("DELETE FROM entries WHERE key = ?1", params![key])?
            > 0)
    }

    /// Deletes every key that starts with `prefix`; returns how many. Deleting all of a
    /// mount (`mount/<uuid>/`, as disabling it does) also drops its certificate index rows.
    pub fn delete_prefix(&mut self, prefix: &str) -> Result<usize, StorageError> {
        let (lo, hi) = prefix_range(prefix);
        let n = self.tx.execute(
            "DELETE FROM entries WHERE key >= ?1 AND key < ?2",
            params![lo, hi],
        )?;
        if let Some(uuid) = prefix
            .strip_prefix("mount/")
            .and_then(|r| r.strip_suffix('/'))
            .filter(|u| !u.is_empty() && !u.contains('/'))
        {
            crate::certindex::delete_mount(self.tx, uuid)?;
        }
        Ok(n)
    }

    /// The transaction's connection, for statements that must commit with the key-value
    /// writes (the certificate index's rows).
    pub fn conn(&self) -> &Connection {
        self.tx
    }

    pub fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        list_in(self.tx, prefix, None, usize::MAX)
    }
}

fn get_in<T: DeserializeOwned>(conn: &Connection, key: &str) -> Result<Option<T>, StorageError> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM entries WHERE key = ?1")?
        .query_row(params![key], |r| r.get(0))
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
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    /// Many writers at once: each read-then-write increment sees every earlier one (no
    /// lost update), a failing closure in the middle of a batch rolls back only itself,
    /// and the batches are on disk for a second opening of the file.
    #[test]
    fn concurrent_transactions_batch_yet_stay_serialisable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let s = std::sync::Arc::new(Store::open(&path).unwrap());
        s.put("n", &0).unwrap();
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        s.atomic(|tx| {
                            let n: i64 = tx.get("n")?.unwrap_or(0);
                            tx.put("n", &(n + 1))?;
                            tx.put(&format!("k/{t}-{i}"), &i)
                        })
                        .unwrap();
                        let r: Result<(), StorageError> = s.atomic(|tx| {
                            tx.put("n", &-1_000_000)?;
                            tx.put(&format!("bad/{t}-{i}"), &i)?;
                            Err(StorageError::TooNew(0))
                        });
                        assert!(r.is_err());
                        assert!(s.get::<i64>("n").unwrap().unwrap() > 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.get::<i64>("n").unwrap(), Some(800));
        assert_eq!(s.list("k/").unwrap().len(), 800);
        assert!(s.list("bad/").unwrap().is_empty());
        let again = Store::open(&path).unwrap();
        assert_eq!(again.get::<i64>("n").unwrap(), Some(800));
    }

    #[test]
    fn a_panicking_closure_leaves_the_store_usable() {
        let s = std::sync::Arc::new(Store::memory().unwrap());
        let s2 = s.clone();
        let r = std::thread::spawn(move || {
            s2.atomic(|tx| -> Result<(), StorageError> {
                tx.put("half", &1)?;
                panic!("a bug in a handler")
            })
        })
        .join();
        assert!(r.is_err());
        s.put("after", &2).unwrap();
        assert_eq!(s.get::<i32>("half").unwrap(), None);
        assert_eq!(s.get::<i32>("after").unwrap(), Some(2));
    }

    /// A closure that panics while earlier members of its batch wait for the commit:
    /// they still get their answer, and their writes are stored.
    #[test]
    fn a_panic_in_a_batch_does_not_strand_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(Store::open(&dir.path().join("db")).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..40 {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            s.atomic(|tx| {
                                tx.put(&format!("k/{t}-{i}"), &i)?;
                                if (t + i) % 5 == 0 {
                                    panic!("a bug in a handler");
                                }
                                Ok(())
                            })
                        }));
                        assert_eq!(r.is_err(), (t + i) % 5 == 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.list("k/").unwrap().len(), 8 * 40 - 8 * 40 / 5);
    }

    /// `read_or_write` answers from a reader while the closure only reads, and runs it
    /// on the writer as soon as it writes.
    #[test]
    fn read_or_write_falls_back_to_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        s.put("uses", &2).unwrap();
        let read = |s: &Store| {
            s.read_or_write(|tx| {
                let n: i64 = tx.get("uses")?.unwrap_or(0);
                if n > 1 {
                    tx.put("uses", &(n - 1))?;
                }
                Ok(n)
            })
            .unwrap()
        };
        assert_eq!(read(&s), 2);
        assert_eq!(read(&s), 1);
        assert_eq!(read(&s), 1);
        assert_eq!(s.get::<i64>("uses").unwrap(), Some(1));
    }
}
