//! `sys/*`: health and seal status, secrets engine and auth method mounts (with tune),
//! ACL policies (`sys/policies/acl/:name` and the older `sys/policy/:name`), and
//! `sys/capabilities-self` and `sys/capabilities`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::engine::mounts::{self, Mount, Route, Table};
use crate::engine::policy::{self, Acl, Policy};
use crate::engine::storage::{StorageError, Tx};
use crate::engine::wire::{PathRule, SpecialPaths, to_value};
use crate::engine::{Caller, Engine, EngineError, Operation, Request, Response, field_str, now};
use shared::api::sys as api;
use shared::pki::duration::parse_duration_value;
use shared::pki::fields::{self, FieldType};

/// The request fields of `sys/mounts/:path` and `sys/auth/:path`, as OpenBao types them.
const ENABLE_FIELDS: &[(&str, FieldType)] = &[
    ("type", FieldType::String),
    ("description", FieldType::String),
    ("config", FieldType::Map),
    ("options", FieldType::KvPairs),
    ("local", FieldType::Bool),
    ("seal_wrap", FieldType::Bool),
    ("external_entropy_access", FieldType::Bool),
    ("plugin_version", FieldType::String),
];

/// `sys/mounts/:path/tune` (durations are strings there: `"system"` is one).
const TUNE_FIELDS: &[(&str, FieldType)] = &[
    ("default_lease_ttl", FieldType::String),
    ("max_lease_ttl", FieldType::String),
    ("description", FieldType::String),
    ("options", FieldType::KvPairs),
];

/// `sys/policies/acl/:name` and `sys/policy/:name`.
const POLICY_FIELDS: &[(&str, FieldType)] = &[
    ("policy", FieldType::String),
    ("rules", FieldType::String),
    ("cas", FieldType::Int),
    ("cas_required", FieldType::Bool),
    ("allow_slashes_in_identity_templates", FieldType::Bool),
    ("allow_wildcards_in_identity_templates", FieldType::Bool),
];

/// `sys/capabilities-self` and `sys/capabilities` (`path` is the deprecated name of
/// `paths`; `token` only for `sys/capabilities`).
const CAPABILITIES_FIELDS: &[(&str, FieldType)] = &[
    ("paths", FieldType::CommaStringSlice),
    ("path", FieldType::CommaStringSlice),
    ("token", FieldType::String),
];

fn validate(data: &Map<String, Value>, schema: &[(&str, FieldType)]) -> Result<(), EngineError> {
    fields::validate(data, schema).map_err(field_error)
}

fn field_error(e: fields::FieldError) -> EngineError {
    EngineError::bad(e.validation_message())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPolicy {
    name: String,
    raw: String,
    /// OpenBao's policy version: 1 for the first write, one more for each rewrite (0 in
    /// entries written before versions were kept, read as 1).
    #[serde(default)]
    version: u64,
    /// RFC 3339 time of the last write.
    #[serde(default)]
    modified: String,
    /// Every write must then carry `cas` (check-and-set) with the current version.
    #[serde(default)]
    cas_required: bool,
}

/// Writes (or rewrites) a policy with the next version; `cas_required` is kept unless given.
pub fn store_policy(tx: &mut Tx<'_>, name: &str, raw: &str) -> Result<(), StorageError> {
    store_policy_versioned(tx, name, raw, None)
}

fn store_policy_versioned(
    tx: &mut Tx<'_>,
    name: &str,
    raw: &str,
    cas_required: Option<bool>,
) -> Result<(), StorageError> {
    let key = format!("policy/{name}");
    let old: Option<StoredPolicy> = tx.get(&key)?;
    let version = old.as_ref().map(|p| p.version.max(1) + 1).unwrap_or(1);
    let cas_required = cas_required.unwrap_or_else(|| old.is_some_and(|p| p.cas_required));
    tx.put(
        &key,
        &StoredPolicy {
            name: name.into(),
            raw: raw.into(),
            version,
            modified: crate::engine::rfc3339(now()),
            cas_required,
        },
    )
}

/// The ACL for a token's policies (`root` grants everything; unknown names grant nothing).
pub fn acl_for(engine: &Engine, names: &[String]) -> Result<Acl, EngineError> {
    if names.iter().any(|n| n == "root") {
        return Ok(Acl::new(&[], true));
    }
    let mut policies = Vec::new();
    for name in names {
        if let Some(p) = engine
            .store
            .get::<StoredPolicy>(&format!("policy/{name}"))?
        {
            // Parsed once per stored text (`policy::PolicyCache`), not on every request.
            match engine.policies.get_or_parse(&p.name, &p.raw) {
                Ok(parsed) => policies.push(parsed),
                Err(e) => {
                    tracing::warn!(policy = %name, error = %e, "stored policy does not parse; ignored")
                }
            }
        }
    }
    Ok(Acl::from_policies(
        policies.iter().map(|p| p.as_ref()),
        false,
    ))
}

/// Vault's special paths of `sys/`: health, seal status and leader need no token;
/// changing auth methods and audit devices needs `sudo`.
pub const SPECIAL_PATHS: SpecialPaths = SpecialPaths {
    unauthenticated: &[PathRule {
        patterns: &["health", "seal-status", "leader"],
        operations: &[],
    }],
    sudo: &[PathRule {
        patterns: &["auth/*", "audit", "audit/*"],
        operations: &[
            Operation::Create,
            Operation::Update,
            Operation::Patch,
            Operation::Delete,
        ],
    }],
};

/// Existence checks for writes (Vault's create-vs-update distinction).
pub fn exists(engine: &Engine, rel: &str) -> Result<Option<bool>, EngineError> {
    let name = rel
        .strip_prefix("policies/acl/")
        .or_else(|| rel.strip_prefix("policy/"));
    match name {
        Some(n) => Ok(Some(
            engine
                .store
                .get::<StoredPolicy>(&format!("policy/{}", n.to_lowercase()))?
                .is_some(),
        )),
        None => Ok(None),
    }
}

pub fn handle(
    engine: &Engine,
    caller: &Caller,
    route: &Route,
    req: &Request,
) -> Result<Response, EngineError> {
    let rel = route.rel.as_str();
    let op = req.operation;
    let segs: Vec<&str> = rel.split('/').collect();
    let write = matches!(op, Operation::Create | Operation::Update);
    match (segs.as_slice(), op) {
        (["health"], Operation::Read) => Ok(Response::bare(200, health())),
        (["seal-status"], Operation::Read) => Ok(Response::bare(200, seal_status())),
        (["leader"], Operation::Read) => Ok(Response::bare(
            200,
            json!({"ha_enabled": false, "is_self": true, "leader_address": "", "leader_cluster_address": "", "performance_standby": false}),
        )),

        (["mounts"], Operation::Read) => list_mounts(engine, Table::Secrets),
        (["mounts", path @ ..], _) if !path.is_empty() && path.last() == Some(&"tune") => {
            let p = path[..path.len() - 1].join("/");
            match op {
                Operation::Read => read_tune(engine, Table::Secrets, &p),
                Operation::Create | Operation::Update => {
                    tune(engine, Table::Secrets, &p, &req.data)
                }
                _ => Err(EngineError::Unsupported),
            }
        }
        (["mounts", path @ ..], _) if !path.is_empty() => {
            let p = path.join("/");
            match op {
                Operation::Read => read_mount(engine, Table::Secrets, &p),
                Operation::Create | Operation::Update => {
                    enable(engine, Table::Secrets, &p, &req.data)
                }
                Operation::Delete => disable(engine, Table::Secrets, &p),
                _ => Err(EngineError::Unsupported),
            }
        }
        (["auth"], Operation::Read) => list_mounts(engine, Table::Auth),
        (["auth", path @ ..], _) if !path.is_empty() && path.last() == Some(&"tune") => {
            let p = path[..path.len() - 1].join("/");
            match op {
                Operation::Read => read_tune(engine, Table::Auth, &p),
                Operation::Create | Operation::Update => tune(engine, Table::Auth, &p, &req.data),
                _ => Err(EngineError::Unsupported),
            }
        }
        (["auth", path @ ..], _) if !path.is_empty() => {
            let p = path.join("/");
            match op {
                Operation::Create | Operation::Update => enable(engine, Table::Auth, &p, &req.data),
                Operation::Delete => disable(engine, Table::Auth, &p),
                Operation::Read => read_mount(engine, Table::Auth, &p),
                _ => Err(EngineError::Unsupported),
            }
        }

        (["policies", "acl"] | ["policy"], Operation::List) => list_policies(engine, false),
        (["policy"], Operation::Read) => list_policies(engine, true),
        (["policies", "acl", name] | ["policy", name], _) => {
            let legacy = segs[0] == "policy";
            match op {
                Operation::Read => read_policy(engine, name, legacy),
                _ if write => write_policy(engine, name, &req.data),
                Operation::Delete => delete_policy(engine, name),
                _ => Err(EngineError::Unsupported),
            }
        }
        (["capabilities"], Operation::Create | Operation::Update) => {
            capabilities_of(engine, &req.data)
        }
        (["capabilities-self"], Operation::Create | Operation::Update) => {
            capabilities_self(caller, &req.data)
        }
        _ => Err(EngineError::no_route(&req.path)),
    }
}

fn health() -> Value {
    to_value(&api::HealthStatus {
        initialized: true,
        sealed: false,
        standby: false,
        performance_standby: false,
        replication_performance_mode: "disabled".into(),
        replication_dr_mode: "disabled".into(),
        server_time_utc: now(),
        version: format!("{}+pki-console", shared::VERSION),
        enterprise: false,
        cluster_name: "pki-console".into(),
        cluster_id: String::new(),
        echo_duration_ms: 0,
        clock_skew_ms: 0,
    })
    .unwrap_or_default()
}

fn seal_status() -> Value {
    to_value(&api::SealStatus {
        kind: "shamir".into(),
        initialized: true,
        sealed: false,
        t: 1,
        n: 1,
        progress: 0,
        nonce: String::new(),
        version: format!("{}+pki-console", shared::VERSION),
        build_date: String::new(),
        migration: false,
        cluster_name: "pki-console".into(),
        cluster_id: String::new(),
        recovery_seal: false,
        storage_type: "sqlite".into(),
    })
    .unwrap_or_default()
}

fn list_mounts(engine: &Engine, table: Table) -> Result<Response, EngineError> {
    let mut map = Map::new();
    for m in mounts::load(engine, table)? {
        map.insert(m.path.clone(), to_value(&m.entry())?);
    }
    // Vault repeats the mounts at the top level for old clients.
    let mut res = Response::data(Value::Object(map.clone()));
    res.bare = false;
    res.auth = None;
    Ok(Response {
        data: Some(Value::Object(map)),
        ..res
    })
}

fn find(engine: &Engine, table: Table, path: &str) -> Result<Mount, EngineError> {
    let want = mounts::normalise(path);
    mounts::load(engine, table)?
        .into_iter()
        .find(|m| m.path == want)
        .ok_or_else(|| EngineError::bad(format!("no mount at \"{want}\"")))
}

fn read_mount(engine: &Engine, table: Table, path: &str) -> Result<Response, EngineError> {
    Response::typed(&find(engine, table, path)?.entry())
}

fn read_tune(engine: &Engine, table: Table, path: &str) -> Result<Response, EngineError> {
    let m = find(engine, table, path)?;
    Response::typed(&api::MountTune {
        default_lease_ttl: m.default_ttl(),
        max_lease_ttl: m.max_ttl(),
        force_no_cache: false,
        description: m.description.clone(),
        // As OpenBao: `options` only when the mount has some.
        options: (!m.options.is_empty()).then(|| m.options.clone()),
    })
}

fn ttl_in(data: &Map<String, Value>, key: &str) -> Result<Option<u64>, EngineError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "system" || s.is_empty() => Ok(Some(0)),
        Some(v) => parse_duration_value(v)
            .map(Some)
            .map_err(|e| EngineError::bad(e.to_string())),
    }
}

fn validate_mount_path(path: &str) -> Result<String, EngineError> {
    let p = mounts::normalise(path);
    let inner = p.trim_end_matches('/');
    if inner.is_empty()
        || inner
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(EngineError::bad(format!("invalid mount path \"{path}\"")));
    }
    if !inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        return Err(EngineError::bad(format!(
            "invalid mount path \"{path}\": only letters, digits, '-', '_', '.' and '/' are allowed"
        )));
    }
    for reserved in ["sys/", "auth/", "cubbyhole/", "identity/"] {
        if p.starts_with(reserved) || reserved.starts_with(&p) {
            return Err(EngineError::bad(format!(
                "cannot mount at reserved path \"{p}\""
            )));
        }
    }
    Ok(p)
}

fn enable(
    engine: &Engine,
    table: Table,
    path: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate(data, ENABLE_FIELDS)?;
    let kind = field_str(data, "type").unwrap_or_default();
    let allowed = mounts::kinds(crate::engine::BACKENDS, table);
    let what = match table {
        Table::Secrets => "secrets engine",
        Table::Auth => "auth method",
    };
    if kind.is_empty() {
        return Err(EngineError::bad(
            "backend type must be specified as a string",
        ));
    }
    if !allowed.contains(&kind.as_str()) {
        // OpenBao's text; the types this server has are in the log.
        tracing::info!(kind = %kind, available = ?allowed, "no such {what} here");
        return Err(EngineError::bad(format!(
            "plugin not found in the catalog: {kind}"
        )));
    }
    let path = match table {
        Table::Secrets => validate_mount_path(path)?,
        Table::Auth => mounts::normalise(path),
    };
    let mut mount = Mount::new(
        &path,
        &kind,
        &field_str(data, "description").unwrap_or_default(),
    );
    if let Some(cfg) = fields::get_map(data, "config").map_err(field_error)? {
        // OpenBao decodes `config` into its struct of strings first, then parses each.
        for (key, what) in [("default_lease_ttl", "default"), ("max_lease_ttl", "max")] {
            let text = fields::get_string(&cfg, key).map_err(|_| {
                EngineError::bad("unable to convert given mount config information")
            })?;
            let secs = match text.as_deref() {
                None | Some("") | Some("system") => 0,
                Some(t) => parse_duration_value(&Value::String(t.to_owned())).map_err(|e| {
                    EngineError::bad(format!("unable to parse {what} TTL of {t}: {e}"))
                })?,
            };
            match key {
                "default_lease_ttl" => mount.config.default_lease_ttl = secs,
                _ => mount.config.max_lease_ttl = secs,
            }
        }
    }
    if let Some(o) = fields::get_kv_pairs(data, "options").map_err(field_error)? {
        if o.contains_key("version") {
            return Err(EngineError::bad(format!(
                "{what} \"{kind}\" does not allow setting a version"
            )));
        }
        mount.options = o;
    }
    engine.store.atomic_with(|tx| {
        let mut all = mounts::load_tx(tx, table)?;
        if let Some(existing) = all
            .iter()
            .find(|m| path.starts_with(&m.path) || m.path.starts_with(&path))
        {
            return Err(EngineError::bad(format!(
                "path is already in use at {}",
                existing.path
            )));
        }
        all.push(mount);
        mounts::save(tx, table, &all)?;
        Ok(())
    })?;
    Ok(Response::empty())
}

fn disable(engine: &Engine, table: Table, path: &str) -> Result<Response, EngineError> {
    let want = mounts::normalise(path);
    if table == Table::Auth && want == "token/" {
        return Err(EngineError::bad(
            "token credential backend cannot be disabled",
        ));
    }
    engine.store.atomic_with(|tx| {
        let mut all = mounts::load_tx(tx, table)?;
        if let Some(pos) = all
            .iter()
            .position(|m| m.path == want && m.kind != "system")
        {
            let m = all.remove(pos);
            tx.delete_prefix(&m.storage_prefix())?;
            mounts::save(tx, table, &all)?;
        }
        Ok::<_, EngineError>(())
    })?;
    // Vault answers 204 whether or not something was mounted there.
    Ok(Response::empty())
}

fn tune(
    engine: &Engine,
    table: Table,
    path: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate(data, TUNE_FIELDS)?;
    let want = mounts::normalise(path);
    let default = ttl_in(data, "default_lease_ttl")?;
    let max = ttl_in(data, "max_lease_ttl")?;
    let description = field_str(data, "description");
    engine.store.atomic_with(|tx| {
        let mut all = mounts::load_tx(tx, table)?;
        let m = all.iter_mut().find(|m| m.path == want).ok_or_else(|| {
            EngineError::bad(format!(
                "tune of path \"{want}\" failed: no mount entry found"
            ))
        })?;
        let new_max = max.unwrap_or(m.config.max_lease_ttl);
        let new_default = default.unwrap_or(m.config.default_lease_ttl);
        let eff_max = if new_max == 0 {
            mounts::SYSTEM_MAX_TTL
        } else {
            new_max
        };
        if new_default > eff_max {
            return Err(EngineError::bad(
                "backend max lease TTL cannot be less than backend default lease TTL",
            ));
        }
        m.config.max_lease_ttl = new_max;
        m.config.default_lease_ttl = new_default;
        if let Some(d) = description {
            m.description = d;
        }
        mounts::save(tx, table, &all)?;
        Ok::<_, EngineError>(())
    })?;
    Ok(Response::empty())
}

fn list_policies(engine: &Engine, legacy_read: bool) -> Result<Response, EngineError> {
    let mut names = engine.store.list("policy/")?;
    names.push("root".into());
    names.sort();
    if legacy_read {
        return Ok(Response::data(json!({ "keys": names, "policies": names })));
    }
    Response::list(names)
}

fn read_policy(engine: &Engine, name: &str, legacy: bool) -> Result<Response, EngineError> {
    let name = name.to_lowercase();
    if name == "root" {
        // Vault: the root policy has no rules to show.
        return Response::typed(&api::AclPolicy {
            name: "root".into(),
            rules: Some(String::new()),
            ..Default::default()
        });
    }
    let p = engine
        .store
        .get::<StoredPolicy>(&format!("policy/{name}"))?
        .ok_or_else(|| EngineError::NotFound(String::new()))?;
    Response::typed(&api::AclPolicy {
        name: p.name,
        rules: legacy.then(|| p.raw.clone()),
        policy: p.raw,
        version: Some(p.version.max(1)),
        modified: Some(p.modified),
        cas_required: Some(p.cas_required),
        // Identity templating's options: this server has neither.
        allow_slashes_in_identity_templates: Some(false),
        allow_wildcards_in_identity_templates: Some(false),
    })
}

fn write_policy(
    engine: &Engine,
    name: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    validate(data, POLICY_FIELDS)?;
    let name = policy::validate_name(name).map_err(|e| EngineError::bad(e.to_string()))?;
    if name == "root" {
        return Err(EngineError::bad("cannot update \"root\" policy"));
    }
    let raw = field_str(data, "policy")
        .or_else(|| field_str(data, "rules"))
        .unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(EngineError::bad("'policy' parameter not supplied or empty"));
    }
    // A policy that does not parse is refused; the stored one stays as it was.
    Policy::parse(&name, &raw).map_err(|e| EngineError::bad(e.to_string()))?;
    let cas = fields::get_int(data, "cas").map_err(field_error)?;
    let cas_required = fields::get_bool(data, "cas_required").map_err(field_error)?;
    for option in [
        "allow_slashes_in_identity_templates",
        "allow_wildcards_in_identity_templates",
    ] {
        if fields::get_bool(data, option).map_err(field_error)? == Some(true) {
            return Err(EngineError::bad(format!(
                "{option} is not supported by this server (it has no identity templating)"
            )));
        }
    }
    engine.store.atomic_with(|tx| {
        // OpenBao's check-and-set: `cas` must name the current version (0: none yet),
        // and a policy with `cas_required` takes no write without it.
        let current: Option<StoredPolicy> = tx.get(&format!("policy/{name}"))?;
        let version = current.as_ref().map(|p| p.version.max(1)).unwrap_or(0);
        match cas {
            Some(c) if c != version as i64 => {
                return Err(EngineError::bad(format!(
                    "check-and-set parameter {c} did not match the current version {version}"
                )));
            }
            None if current.as_ref().is_some_and(|p| p.cas_required) => {
                return Err(EngineError::bad(
                    "check-and-set parameter required for this call",
                ));
            }
            _ => {}
        }
        store_policy_versioned(tx, &name, &raw, cas_required)?;
        Ok::<_, EngineError>(())
    })?;
    engine.policies.invalidate(&name);
    Ok(Response::empty())
}

fn delete_policy(engine: &Engine, name: &str) -> Result<Response, EngineError> {
    let name = name.to_lowercase();
    match name.as_str() {
        "root" => Err(EngineError::bad("cannot delete \"root\" policy")),
        "default" => Err(EngineError::bad("cannot delete default policy")),
        _ => {
            engine.store.delete(&format!("policy/{name}"))?;
            engine.policies.invalidate(&name);
            Ok(Response::empty())
        }
    }
}

/// `sys/capabilities`: another token's capabilities (Vault needs `update` on this path,
/// which only root or an explicit policy grants).
fn capabilities_of(engine: &Engine, data: &Map<String, Value>) -> Result<Response, EngineError> {
    validate(data, CAPABILITIES_FIELDS)?;
    let token = field_str(data, "token").unwrap_or_default();
    if token.is_empty() {
        // OpenBao answers this one with 500.
        return Err(EngineError::Internal(
            "1 error occurred:\n\t* no token found\n\n".into(),
        ));
    }
    let entry = crate::engine::token::lookup(engine, &token, now())?
        .ok_or_else(|| EngineError::bad("1 error occurred:\n\t* invalid token\n\n"))?;
    let caller = Caller {
        acl: acl_for(engine, &entry.policies)?,
        token: Some(entry),
    };
    capabilities_self(&caller, data)
}

fn capabilities_self(caller: &Caller, data: &Map<String, Value>) -> Result<Response, EngineError> {
    validate(data, CAPABILITIES_FIELDS)?;
    let mut paths = fields::get_comma_string_slice(data, "paths")
        .map_err(field_error)?
        .unwrap_or_default();
    paths.extend(
        fields::get_comma_string_slice(data, "path")
            .map_err(field_error)?
            .unwrap_or_default(),
    );
    if paths.is_empty() {
        return Err(EngineError::bad("paths must be supplied"));
    }
    if paths.iter().any(|p| p.is_empty()) {
        // OpenBao's multierror text.
        return Err(EngineError::bad("1 error occurred:\n\t* missing path\n\n"));
    }
    let mut out = Map::new();
    let mut all = vec![];
    for p in &paths {
        let caps = caller.acl.capabilities(p.trim_start_matches('/'));
        all = caps.clone();
        out.insert(p.clone(), json!(caps));
    }
    if paths.len() == 1 {
        out.insert("capabilities".into(), json!(all));
    }
    Ok(Response::data(Value::Object(out)))
}
