//! The embedded engine: an in-process implementation of the Vault HTTP API subset
//! (sys, token auth, PKI) with Vault's semantics, SQLite storage, CA keys encrypted at
//! rest, ACL policies and an audit log.
//!
//! [`Engine::handle`] is the whole request path: route → authenticate → authorise (ACL)
//! → audit the request → the backend's handler → audit the response; a request refused
//! on the way is audited with its error. It is synchronous;
//! the HTTP layer runs it on the blocking pool.

pub mod audit;
pub mod barrier;
pub mod kubernetes;
pub mod mounts;
pub mod pki;
pub mod policy;
pub mod storage;
pub mod sys;
pub mod token;
pub mod wire;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use wire::Operation;
pub use wire::{EngineError, Request, Response};

use crate::engine::audit::Audit;
use crate::engine::barrier::Barrier;
use crate::engine::mounts::{Backend, LogicalBackend, Route};
use crate::engine::storage::Store;
use crate::engine::token::TokenEntry;

/// The secrets engines and auth methods this engine can mount: one line each.
pub static BACKENDS: &[&'static dyn LogicalBackend] = &[&pki::Pki, &kubernetes::Kubernetes];

/// Where the engine keeps its files, and how it gets its key-encryption key.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// Base64 of the 32-byte KEK; `None` uses (or creates) `<data_dir>/kek`.
    pub kek: Option<String>,
    /// Audit log file; `None` uses `<data_dir>/audit.log`.
    pub audit_log: Option<PathBuf>,
    /// How long a Kubernetes login waits for the cluster's TokenReview answer.
    pub kubernetes_timeout: std::time::Duration,
}

pub const DB_FILE: &str = "pki-console.db";
pub const KEK_FILE: &str = "kek";
pub const ROOT_TOKEN_FILE: &str = "root-token";
pub const AUDIT_FILE: &str = "audit.log";

#[derive(Debug)]
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) barrier: Barrier,
    audit: Audit,
    /// Parsed ACL policies, so a request does not parse HCL again.
    pub(crate) policies: policy::PolicyCache,
    /// Bounds a Kubernetes login's TokenReview exchange.
    pub(crate) kubernetes_timeout: std::time::Duration,
}

/// Who is making a request, once their token checked out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: Option<TokenEntry>,
    pub acl: policy::Acl,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| t.policies.iter().any(|p| p == "root"))
    }
}

impl Engine {
    /// Opens (or initialises) the engine in `config.data_dir`.
    pub fn open(config: &EngineConfig) -> anyhow::Result<Engine> {
        // 0700 directory, 0600 files, also when an older version left them open.
        barrier::private_dir(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {} (mode 0700): {e}",
                config.data_dir.display()
            )
        })?;
        for file in [ROOT_TOKEN_FILE, crate::session::KEY_FILE] {
            let path = config.data_dir.join(file);
            barrier::tighten(&path)
                .map_err(|e| anyhow::anyhow!("cannot make {} private: {e}", path.display()))?;
        }
        let barrier = Barrier::load(config.kek.as_deref(), &config.data_dir.join(KEK_FILE))?;
        let store = Store::open(&config.data_dir.join(DB_FILE))?;
        let audit_path = config
            .audit_log
            .clone()
            .unwrap_or_else(|| config.data_dir.join(AUDIT_FILE));
        let audit = Audit::open(&audit_path, &store)?;
        let engine = Engine {
            store,
            barrier,
            audit,
            policies: policy::PolicyCache::default(),
            kubernetes_timeout: config.kubernetes_timeout,
        };
        engine.initialise(&config.data_dir)?;
        pki::certs::backfill_index(&engine)?;
        Ok(engine)
    }

    /// Runs `f` on the certificate index of the PKI mount at `mount_path` (`pki_int`, no
    /// slash at either end), with the index's mount key, on one of the store's read
    /// connections (the last committed state; it never waits for a write batch).
    pub fn cert_index<T>(
        &self,
        mount_path: &str,
        f: impl FnOnce(&rusqlite::Connection, &str) -> T,
    ) -> Result<T, EngineError> {
        if mount_path.is_empty()
            || mount_path.starts_with('/')
            || mount_path.ends_with('/')
            || mount_path.contains("//")
        {
            return Err(EngineError::bad(format!(
                "{mount_path:?} is not a mount path (no slash at either end)"
            )));
        }
        let want = format!("{mount_path}/");
        let mount = mounts::load(self, mounts::Table::Secrets)?
            .into_iter()
            .find(|m| m.path == want && m.kind == "pki")
            .ok_or_else(|| EngineError::NotFound(format!("no PKI mount at {mount_path}")))?;
        Ok(self.store.read_conn(|conn| f(conn, &mount.uuid))?)
    }

    /// First start: the built-in policies, the token mount and a root token, written to
    /// a 0600 file (the token itself is never logged).
    fn initialise(&self, data_dir: &Path) -> anyhow::Result<()> {
        if self.store.get::<bool>("core/initialized")?.unwrap_or(false) {
            return Ok(());
        }
        let root_file = data_dir.join(ROOT_TOKEN_FILE);
        let (root_token, entry) = token::TokenEntry::new_root(now());
        self.store.atomic(|tx| {
            token::store_entry(tx, &root_token, &entry)?;
            sys::store_policy(tx, "default", policy::DEFAULT_POLICY_HCL)?;
            mounts::init_tables(tx)?;
            tx.put("core/initialized", &true)
        })?;
        let _ = std::fs::remove_file(&root_file);
        barrier::write_private_file(&root_file, format!("{root_token}\n").as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", root_file.display()))?;
        tracing::info!(file = %root_file.display(), "initialised the embedded engine; the root token is in this file");
        Ok(())
    }

    /// Serves one Vault API request. Every request that reaches the engine leaves an audit
    /// line, the refused ones too: an unknown route, a missing or unknown token or an ACL
    /// denial is logged as one `request` entry whose `error` says why (as Vault's audit
    /// broker logs a request that fails its checks), then answered.
    pub fn handle(&self, mut req: Request) -> Result<Response, EngineError> {
        let mut caller = Caller::anonymous();
        let route = match self.admit(&mut req, &mut caller) {
            Ok(route) => route,
            Err(e) => {
                self.audit.request(&caller, &req, Some(&e))?;
                return Err(e);
            }
        };
        self.audit.request(&caller, &req, None)?;
        let result = match &route.backend {
            Backend::Sys => sys::handle(self, &caller, &route, &req),
            Backend::Token => token::handle(self, &caller, &route, &req),
            Backend::Mounted(backend, mount) => backend.handle(self, mount, &route.rel, &req),
        };
        self.audit.response(&caller, &req, &result)?;
        result
    }

    /// `hmac-sha256:<hex>` of `value` under the audit log's salt: how the server's own
    /// logs show accessors, so they correlate with the audit log without revealing them.
    pub fn hmac(&self, value: &str) -> String {
        self.audit.hmac(value)
    }

    /// Records that console session `sid` was signed out, until `exp` (when its cookie
    /// expires anyway), so every server on this data directory refuses its cookie; drops
    /// the records that have expired.
    pub fn revoke_session(&self, sid: &str, exp: i64) -> Result<(), EngineError> {
        let now = now();
        self.store.atomic(|tx| {
            for key in tx.list(REVOKED_SESSIONS)? {
                let full = format!("{REVOKED_SESSIONS}{key}");
                if tx.get::<i64>(&full)?.is_none_or(|e| e <= now) {
                    tx.delete(&full)?;
                }
            }
            tx.put(&format!("{REVOKED_SESSIONS}{sid}"), &exp)
        })?;
        Ok(())
    }

    /// Whether console session `sid` was signed out (and its cookie not yet expired).
    pub fn session_revoked(&self, sid: &str) -> Result<bool, EngineError> {
        let exp = self.store.get::<i64>(&format!("{REVOKED_SESSIONS}{sid}"))?;
        Ok(exp.is_some_and(|e| e > now()))
    }

    /// The checks before a handler runs: the path is canonical, a backend serves it, the
    /// token is known (unless the path is unauthenticated), and the ACL allows the
    /// operation. `caller` is filled in as soon as the token checked out, for the audit
    /// line of a denial.
    fn admit(&self, req: &mut Request, caller: &mut Caller) -> Result<Route, EngineError> {
        check_canonical(&req.path)?;
        let route = mounts::route(self, BACKENDS, &req.path)?;
        let unauthenticated =
            special_paths(&route.backend).unauthenticated(&route.rel, req.operation);
        *caller = self.authenticate(req.token.as_deref(), unauthenticated)?;
        req.operation = self.resolve_operation(&route, req)?;
        if !unauthenticated {
            self.authorise(caller, &route, req)?;
        }
        Ok(route)
    }

    fn authenticate(
        &self,
        token: Option<&str>,
        unauthenticated: bool,
    ) -> Result<Caller, EngineError> {
        let entry = match token.filter(|t| !t.is_empty()) {
            Some(t) => match token::lookup(self, t, now())? {
                Some(e) => Some(e),
                None if unauthenticated => None,
                None => return Err(EngineError::PermissionDenied),
            },
            None if unauthenticated => None,
            None => return Err(EngineError::PermissionDenied),
        };
        let acl = match &entry {
            Some(e) => sys::acl_for(self, &e.policies)?,
            None => policy::Acl::new(&[], false),
        };
        Ok(Caller { token: entry, acl })
    }

    /// Vault asks a write whether its target exists: `create` capability for a new
    /// entry, `update` for an existing one (and for paths without such a check).
    fn resolve_operation(&self, route: &Route, req: &Request) -> Result<Operation, EngineError> {
        if req.operation != Operation::Update {
            return Ok(req.operation);
        }
        let exists = match &route.backend {
            Backend::Sys => sys::exists(self, &route.rel)?,
            Backend::Token => None,
            Backend::Mounted(backend, mount) => backend.exists(self, mount, &route.rel)?,
        };
        Ok(if exists == Some(false) {
            Operation::Create
        } else {
            Operation::Update
        })
    }

    /// The one place the ACL is asked about a request: the normalised path the router
    /// saw, the operation (`resolve_operation` already chose create or update, as Vault's
    /// existence checks do) and the request's data, for `allowed_parameters`,
    /// `denied_parameters` and `required_parameters` (body of a write, query of a read).
    fn authorise(&self, caller: &Caller, route: &Route, req: &Request) -> Result<(), EngineError> {
        let decision = caller
            .acl
            .authorize(&policy::AclRequest::new(&req.path, req.operation).with_data(&req.data));
        if !decision.allowed {
            return Err(EngineError::AclDenied);
        }
        if special_paths(&route.backend).needs_sudo(&route.rel, req.operation) && !decision.sudo {
            return Err(EngineError::AclDenied);
        }
        Ok(())
    }
}

/// Refuses (never rewrites) a path that is not in the normal form `vault::api_path`
/// makes: no leading, trailing or doubled `/`, no `.` or `..` segment. Requests from
/// `/v1/*` are normalised already; this keeps the server's own calls to the same rule.
pub fn check_canonical(path: &str) -> Result<(), EngineError> {
    if path.is_empty() {
        return Ok(());
    }
    for segment in path.split('/') {
        if segment == "." || segment == ".." {
            return Err(EngineError::bad(RELATIVE_PATH));
        }
        if segment.is_empty() {
            return Err(EngineError::no_route(path));
        }
    }
    Ok(())
}

/// Storage prefix of signed-out console sessions (`session.rs`): id → cookie expiry.
const REVOKED_SESSIONS: &str = "session/revoked/";

/// Vault's answer to a `.` or `..` path segment.
pub const RELATIVE_PATH: &str = "relative paths not supported";

impl Caller {
    /// No token: the caller of an unauthenticated path, or of a request refused before
    /// its token checked out.
    pub fn anonymous() -> Caller {
        Caller {
            token: None,
            acl: policy::Acl::new(&[], false),
        }
    }
}

/// Each backend's own declaration of its special paths (Vault's `SpecialPaths`): the
/// request path asks only this, and the router (`mounts.rs`) knows none of them.
fn special_paths(backend: &Backend) -> &'static wire::SpecialPaths {
    match backend {
        Backend::Sys => &sys::SPECIAL_PATHS,
        Backend::Token => &wire::SpecialPaths::NONE,
        Backend::Mounted(backend, _) => backend.special_paths(),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 in UTC, as Vault prints times.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A random identifier in UUID v4 form, as Vault uses for ids and accessors.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A `TypeString` request field (`shared::pki::fields`), for handlers whose schema
/// `fields::validate` already checked: a value that does not convert reads as absent.
pub fn field_str(data: &Map<String, Value>, key: &str) -> Option<String> {
    shared::pki::fields::get_string(data, key).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(dir: &Path) -> Engine {
        let config = crate::config::Config::for_tests(dir.join("data"));
        Engine::open(&config.engine()).expect("the engine opens")
    }

    fn root(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("data").join(ROOT_TOKEN_FILE))
            .expect("the root token file")
            .trim()
            .to_string()
    }

    fn request(path: &str, token: &str) -> Request {
        Request {
            operation: Operation::Read,
            path: path.to_string(),
            data: Map::new(),
            token: Some(token.to_string()),
            remote_addr: None,
            id: uuid(),
        }
    }

    /// The server's own calls (`vault::call`) skip `vault::api_path`: the engine still
    /// never serves a path the router would read differently from the ACL.
    #[test]
    fn non_canonical_paths_are_refused_not_rewritten() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let engine = engine(dir.path());
        let root = root(dir.path());
        assert!(
            engine
                .handle(request("sys/policies/acl/default", &root))
                .is_ok()
        );
        for path in [
            "sys//policies/acl/default",
            "/sys/policies/acl/default",
            "sys/policies/acl/default/",
            "auth/token//lookup-self",
        ] {
            let e = engine.handle(request(path, &root)).expect_err(path);
            assert_eq!(e.status(), 404, "{path}: {e}");
        }
        for path in [
            "sys/./policies/acl/default",
            "sys/policies/acl/../acl/default",
        ] {
            let e = engine.handle(request(path, &root)).expect_err(path);
            assert_eq!(e.to_string(), RELATIVE_PATH, "{path}");
        }
    }

    #[test]
    fn signed_out_sessions_are_kept_until_their_cookie_expires() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let engine = engine(dir.path());
        let t = now();
        engine.revoke_session("live", t + 3600).expect("stored");
        engine.revoke_session("gone", t - 1).expect("stored");
        assert!(engine.session_revoked("live").expect("read"));
        assert!(!engine.session_revoked("gone").expect("read"));
        assert!(!engine.session_revoked("never").expect("read"));
        // The next sign-out drops the expired entry from storage.
        engine.revoke_session("other", t + 60).expect("stored");
        let kept = engine.store.list(REVOKED_SESSIONS).expect("listed");
        assert_eq!(kept, vec!["live".to_string(), "other".to_string()]);
    }
}
