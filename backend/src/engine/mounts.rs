//! Mount tables (secrets engines and auth methods) and request routing: which backend
//! serves a (normalised) path, and the effective lease TTLs of a mount (mount tune, else
//! the system defaults). A mountable backend is a [`LogicalBackend`] (Vault's
//! `logical.Backend`): its mount type, its table, its special paths (which need no token
//! or need `sudo`), its existence check and its handler. The router knows no backend's
//! paths or types: it is handed the registered backends (`engine::BACKENDS`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::api::sys as api;

use crate::engine::storage::{StorageError, Tx};
use crate::engine::wire::SpecialPaths;
use crate::engine::{Engine, EngineError, Request, Response};

/// A secrets engine or auth method the engine can mount (Vault's `logical.Backend`).
/// Adding one is its module, which implements this, plus one line in `engine::BACKENDS`.
pub trait LogicalBackend: Sync + std::fmt::Debug {
    /// The mount type `sys/mounts/:path` or `sys/auth/:path` takes (`pki`, `kubernetes`).
    fn kind(&self) -> &'static str;
    /// The table its mounts live in: secrets engines or auth methods.
    fn table(&self) -> Table;
    /// Its paths that need no token, and those that need `sudo` (relative to the mount).
    fn special_paths(&self) -> &'static SpecialPaths;
    /// Vault's existence check for a write: `Some(false)` makes it a `create`,
    /// `Some(true)` an `update`; `None` for paths without such a check (an `update`).
    fn exists(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
    ) -> Result<Option<bool>, EngineError>;
    /// Serves a request that passed the token and ACL checks; `rel` is relative to the
    /// mount, without slashes at either end.
    fn handle(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
        req: &Request,
    ) -> Result<Response, EngineError>;
}

/// Vault's system-wide default and maximum lease TTL: 768h (32 days).
pub const SYSTEM_DEFAULT_TTL: u64 = 768 * 3600;
pub const SYSTEM_MAX_TTL: u64 = 768 * 3600;

const SECRETS_TABLE: &str = "core/mounts";
const AUTH_TABLE: &str = "core/auth";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountConfig {
    #[serde(default)]
    pub default_lease_ttl: u64,
    #[serde(default)]
    pub max_lease_ttl: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// With a trailing slash, as Vault lists it: `pki_int/`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub accessor: String,
    pub uuid: String,
    #[serde(default)]
    pub config: MountConfig,
    #[serde(default)]
    pub options: serde_json::Map<String, Value>,
}

impl Mount {
    pub fn new(path: &str, kind: &str, description: &str) -> Mount {
        Mount {
            path: normalise(path),
            kind: kind.to_string(),
            description: description.to_string(),
            accessor: format!("{kind}_{}", &crate::engine::uuid()[..8]),
            uuid: crate::engine::uuid(),
            config: MountConfig::default(),
            options: Default::default(),
        }
    }

    /// The mount's default lease TTL in seconds (its tune, else the system default).
    pub fn default_ttl(&self) -> u64 {
        match self.config.default_lease_ttl {
            0 => SYSTEM_DEFAULT_TTL.min(self.max_ttl()),
            t => t,
        }
    }

    /// The mount's maximum lease TTL in seconds (its tune, else the system maximum).
    pub fn max_ttl(&self) -> u64 {
        match self.config.max_lease_ttl {
            0 => SYSTEM_MAX_TTL,
            t => t,
        }
    }

    /// Storage prefix of everything this mount owns.
    pub fn storage_prefix(&self) -> String {
        format!("mount/{}/", self.uuid)
    }

    /// The entry as `sys/mounts` and `sys/auth` list it.
    pub fn entry(&self) -> api::MountEntry {
        // OpenBao's built-in token store: not a plugin, no options, a token type.
        let token_store = self.kind == "token";
        api::MountEntry {
            kind: self.kind.clone(),
            description: self.description.clone(),
            accessor: self.accessor.clone(),
            uuid: self.uuid.clone(),
            config: api::MountConfig {
                default_lease_ttl: self.config.default_lease_ttl,
                max_lease_ttl: self.config.max_lease_ttl,
                force_no_cache: false,
                token_type: token_store.then(|| "default-service".to_owned()),
            },
            options: (!token_store).then(|| self.options.clone()),
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            plugin_version: String::new(),
            running_sha256: String::new(),
            running_plugin_version: format!("v{}+builtin.pki-console", shared::VERSION),
            deprecation_status: (!token_store).then(|| "supported".to_owned()),
        }
    }
}

/// `pki` and `/pki/` both become `pki/`.
pub fn normalise(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}

pub fn init_tables(tx: &mut Tx<'_>) -> Result<(), StorageError> {
    let sys = Mount::new(
        "sys",
        "system",
        "system endpoints used for control, policy and debugging",
    );
    tx.put(SECRETS_TABLE, &vec![sys])?;
    let token = Mount::new("token", "token", "token based credentials");
    tx.put(AUTH_TABLE, &vec![token])
}

/// Which table a mount lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Secrets,
    Auth,
}

impl Table {
    fn key(self) -> &'static str {
        match self {
            Table::Secrets => SECRETS_TABLE,
            Table::Auth => AUTH_TABLE,
        }
    }
}

pub fn load(engine: &Engine, table: Table) -> Result<Vec<Mount>, EngineError> {
    Ok(engine.store.get(table.key())?.unwrap_or_default())
}

pub fn save(tx: &mut Tx<'_>, table: Table, mounts: &[Mount]) -> Result<(), StorageError> {
    tx.put(table.key(), &mounts)
}

pub fn load_tx(tx: &Tx<'_>, table: Table) -> Result<Vec<Mount>, StorageError> {
    Ok(tx.get(table.key())?.unwrap_or_default())
}

/// The backend that serves a request.
#[derive(Debug, Clone)]
pub enum Backend {
    Sys,
    Token,
    /// A mount of a registered backend (`engine::BACKENDS`).
    Mounted(&'static dyn LogicalBackend, Mount),
}

/// A resolved request path: the backend and the path relative to its mount.
#[derive(Debug, Clone)]
pub struct Route {
    pub backend: Backend,
    pub rel: String,
}

/// The backend of `path`, the normalised path the ACL is asked about (`vault::api_path`
/// made it; `Engine::handle` refused anything else). The path is taken as it is: no
/// slash is stripped or added here, so the router and the ACL always see the same path.
/// `backends` are the registered ones; a mount whose type has none is not routed.
pub fn route(
    engine: &Engine,
    backends: &[&'static dyn LogicalBackend],
    path: &str,
) -> Result<Route, EngineError> {
    if path == "sys" || path.starts_with("sys/") {
        return Ok(Route {
            backend: Backend::Sys,
            rel: path.strip_prefix("sys/").unwrap_or("").into(),
        });
    }
    let (table, rest) = match path.strip_prefix("auth/") {
        Some(rest) if rest == "token" || rest.starts_with("token/") => {
            return Ok(Route {
                backend: Backend::Token,
                rel: rest.strip_prefix("token/").unwrap_or("").into(),
            });
        }
        Some(rest) => (Table::Auth, rest),
        None => (Table::Secrets, path),
    };
    let with_slash = format!("{rest}/");
    let found = load(engine, table)?
        .into_iter()
        .filter(|m| with_slash.starts_with(&m.path))
        .filter_map(|m| {
            let backend = backends
                .iter()
                .find(|b| b.table() == table && b.kind() == m.kind)?;
            Some((*backend, m))
        })
        .max_by_key(|(_, m)| m.path.len());
    match found {
        Some((backend, m)) => {
            let rel = with_slash[m.path.len()..].trim_end_matches('/').to_string();
            Ok(Route {
                backend: Backend::Mounted(backend, m),
                rel,
            })
        }
        None => Err(EngineError::no_route(path)),
    }
}

/// The mount types of `table` that `backends` can serve, as `sys/mounts` enables them.
pub fn kinds(backends: &[&'static dyn LogicalBackend], table: Table) -> Vec<&'static str> {
    backends
        .iter()
        .filter(|b| b.table() == table)
        .map(|b| b.kind())
        .collect()
}
