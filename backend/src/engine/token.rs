//! Token auth (`auth/token/*`): Vault-style service tokens (`hvs.` + random), stored only
//! as SHA-256 hashes, with policies, TTL, accessor and parent; `create`, `lookup-self`,
//! `lookup`, `renew-self`, `revoke-self`, `revoke`, `lookup-accessor`; and the tokens
//! auth methods hand out at login ([`create_login_token`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::engine::mounts::{Mount, Route, SYSTEM_DEFAULT_TTL, SYSTEM_MAX_TTL};
use crate::engine::storage::{StorageError, Tx};
use crate::engine::{
    Caller, Engine, EngineError, Operation, Request, Response, field_str, rfc3339,
};
use shared::pki::duration::parse_duration_value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub accessor: String,
    pub policies: Vec<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    pub creation_time: i64,
    /// Seconds; 0 for a token that never expires (root).
    pub ttl: u64,
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// Unix time of expiry; `None` for never.
    pub expire_time: Option<i64>,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub parent_accessor: Option<String>,
    #[serde(default)]
    pub num_uses: u64,
    /// Unix time of the last renewal.
    #[serde(default)]
    pub issue_time: i64,
    /// The longest life renewals may give it, counted from creation: an auth method
    /// role's `token_max_ttl` or its mount's maximum (0: the system maximum).
    #[serde(default)]
    pub max_ttl: u64,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token_string() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).expect("the OS random source works");
    // 248 = 4 * 62: values below it map to the alphabet without bias; redraw the rest.
    let mut out = String::from("hvs.");
    for mut b in raw {
        while b >= 248 {
            let mut one = [0u8; 1];
            getrandom::fill(&mut one).expect("the OS random source works");
            b = one[0];
        }
        out.push(ALPHABET[(b % 62) as usize] as char);
    }
    out
}

impl TokenEntry {
    pub fn new_root(now: i64) -> (String, TokenEntry) {
        let entry = TokenEntry {
            accessor: random_accessor(),
            policies: vec!["root".into()],
            display_name: "root".into(),
            meta: BTreeMap::new(),
            creation_time: now,
            ttl: 0,
            explicit_max_ttl: 0,
            expire_time: None,
            renewable: false,
            path: "auth/token/root".into(),
            parent_accessor: None,
            num_uses: 0,
            issue_time: now,
            max_ttl: 0,
        };
        (new_token_string(), entry)
    }

    /// The `auth` block Vault returns when it hands out a token.
    pub fn auth_block(&self, client_token: &str, token_policies: &[String]) -> Value {
        json!({
            "client_token": client_token,
            "accessor": self.accessor,
            "policies": self.policies,
            "token_policies": token_policies,
            "identity_policies": null,
            "metadata": if self.meta.is_empty() { Value::Null } else { json!(self.meta) },
            "lease_duration": self.ttl,
            "renewable": self.renewable,
            "entity_id": "",
            "token_type": "service",
            "orphan": self.parent_accessor.is_none(),
            "mfa_requirement": null,
            "num_uses": self.num_uses,
        })
    }

    fn lookup_data(&self, id: Option<&str>, now: i64) -> Value {
        json!({
            "accessor": self.accessor,
            "creation_time": self.creation_time,
            "creation_ttl": self.ttl,
            "display_name": self.display_name,
            "entity_id": "",
            "expire_time": self.expire_time.map(rfc3339),
            "explicit_max_ttl": self.explicit_max_ttl,
            "id": id.unwrap_or(""),
            "issue_time": rfc3339(self.issue_time),
            "meta": if self.meta.is_empty() { Value::Null } else { json!(self.meta) },
            "num_uses": self.num_uses,
            "orphan": self.parent_accessor.is_none(),
            "path": self.path,
            "policies": self.policies,
            "renewable": self.renewable,
            "ttl": self.expire_time.map(|e| (e - now).max(0)).unwrap_or(0),
            "type": "service",
        })
    }
}

fn random_accessor() -> String {
    new_token_string()[4..].to_string()
}

pub fn store_entry(tx: &mut Tx<'_>, token: &str, entry: &TokenEntry) -> Result<(), StorageError> {
    let h = hash(token);
    tx.put(&format!("token/id/{h}"), entry)?;
    tx.put(&format!("token/accessor/{}", entry.accessor), &h)
}

/// The live entry for `token`; an expired token is removed and reads as absent.
pub fn lookup(engine: &Engine, token: &str, now: i64) -> Result<Option<TokenEntry>, EngineError> {
    let key = format!("token/id/{}", hash(token));
    let Some(entry) = engine.store.get::<TokenEntry>(&key)? else {
        return Ok(None);
    };
    if entry.expire_time.is_some_and(|e| e <= now) {
        engine
            .store
            .atomic(|tx| revoke_in(tx, &hash(token), &entry))?;
        return Ok(None);
    }
    Ok(Some(entry))
}

fn revoke_in(tx: &mut Tx<'_>, token_hash: &str, entry: &TokenEntry) -> Result<(), StorageError> {
    tx.delete(&format!("token/id/{token_hash}"))?;
    tx.delete(&format!("token/accessor/{}", entry.accessor))?;
    Ok(())
}

pub fn handle(
    engine: &Engine,
    caller: &Caller,
    route: &Route,
    req: &Request,
) -> Result<Response, EngineError> {
    let now = crate::engine::now();
    let op = req.operation;
    let self_token = req.token.as_deref().unwrap_or("");
    match (route.rel.as_str(), op) {
        ("create" | "create-orphan", Operation::Create | Operation::Update) => {
            create(engine, caller, req, now)
        }
        ("lookup-self", Operation::Read | Operation::Create | Operation::Update) => {
            let entry = caller.token.as_ref().ok_or(EngineError::PermissionDenied)?;
            Ok(Response::data(entry.lookup_data(Some(self_token), now)))
        }
        ("lookup", Operation::Create | Operation::Update) => {
            let t = field_str(&req.data, "token")
                .ok_or_else(|| EngineError::bad("missing token to look up"))?;
            let entry = lookup(engine, &t, now)?.ok_or_else(|| EngineError::bad("bad token"))?;
            Ok(Response::data(entry.lookup_data(Some(&t), now)))
        }
        ("lookup-accessor", Operation::Create | Operation::Update) => {
            let acc = field_str(&req.data, "accessor")
                .ok_or_else(|| EngineError::bad("missing accessor"))?;
            let h: String = engine
                .store
                .get(&format!("token/accessor/{acc}"))?
                .ok_or_else(|| EngineError::bad("invalid accessor"))?;
            let entry: TokenEntry = engine
                .store
                .get(&format!("token/id/{h}"))?
                .ok_or_else(|| EngineError::bad("invalid accessor"))?;
            Ok(Response::data(entry.lookup_data(None, now)))
        }
        ("renew-self", Operation::Create | Operation::Update) => {
            let entry = caller.token.clone().ok_or(EngineError::PermissionDenied)?;
            renew(engine, self_token, entry, &req.data, now)
        }
        ("revoke-self", Operation::Create | Operation::Update) => {
            let entry = caller.token.as_ref().ok_or(EngineError::PermissionDenied)?;
            engine
                .store
                .atomic(|tx| revoke_in(tx, &hash(self_token), entry))?;
            Ok(Response::empty())
        }
        ("revoke", Operation::Create | Operation::Update) => {
            let t =
                field_str(&req.data, "token").ok_or_else(|| EngineError::bad("missing token"))?;
            if let Some(entry) = lookup(engine, &t, now)? {
                engine.store.atomic(|tx| revoke_in(tx, &hash(&t), &entry))?;
            }
            Ok(Response::empty())
        }
        (
            "create" | "create-orphan" | "lookup-self" | "lookup" | "renew-self" | "revoke-self"
            | "revoke" | "lookup-accessor",
            _,
        ) => Err(EngineError::Unsupported),
        _ => Err(EngineError::no_route(&req.path)),
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        _ => vec![],
    }
}

fn bool_field(data: &Map<String, Value>, key: &str) -> Result<Option<bool>, EngineError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(Some(true)),
            "false" | "0" | "f" | "F" | "FALSE" | "False" | "" => Ok(Some(false)),
            _ => Err(EngineError::bad(format!(
                "error converting input {s} for field \"{key}\""
            ))),
        },
        Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(_) => Err(EngineError::bad(format!(
            "error converting input for field \"{key}\""
        ))),
    }
}

fn ttl_field(data: &Map<String, Value>, key: &str) -> Result<u64, EngineError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => parse_duration_value(v)
            .map_err(|e| EngineError::bad(format!("error parsing \"{key}\": {e}"))),
    }
}

fn create(
    engine: &Engine,
    caller: &Caller,
    req: &Request,
    now: i64,
) -> Result<Response, EngineError> {
    let parent = caller.token.as_ref().ok_or(EngineError::PermissionDenied)?;
    let data = &req.data;
    let mut policies = string_list(data.get("policies"));
    if policies.is_empty() {
        // Vault: a child without explicit policies inherits the parent's.
        policies = parent
            .policies
            .iter()
            .filter(|p| *p != "default")
            .cloned()
            .collect();
    }
    for p in &mut policies {
        *p = p.trim().to_lowercase();
    }
    let no_default = bool_field(data, "no_default_policy")?.unwrap_or(false);
    let parent_root = parent.policies.iter().any(|p| p == "root");
    if !parent_root
        && let Some(p) = policies
            .iter()
            .find(|p| !parent.policies.contains(p) && p.as_str() != "default")
    {
        return Err(EngineError::bad(format!(
            "child policies must be subset of parent: {p} is not in the parent's policies"
        )));
    }
    let token_policies = {
        let mut v = policies.clone();
        if !no_default && !v.iter().any(|p| p == "default" || p == "root") {
            v.push("default".into());
        }
        v.sort();
        v.dedup();
        v
    };
    let explicit_max = ttl_field(data, "explicit_max_ttl")?;
    let mut ttl = ttl_field(data, "ttl")?;
    let mut warnings = vec![];
    if ttl == 0 {
        ttl = SYSTEM_DEFAULT_TTL;
    }
    let max = if explicit_max > 0 {
        explicit_max.min(SYSTEM_MAX_TTL)
    } else {
        SYSTEM_MAX_TTL
    };
    if ttl > max {
        warnings.push(format!("TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly", fmt_go(ttl), fmt_go(max)));
        ttl = max;
    }
    // A child never outlives a parent with an expiry.
    if let Some(pe) = parent.expire_time {
        let left = (pe - now).max(0) as u64;
        if ttl > left {
            ttl = left;
        }
    }
    let orphan =
        req.path.ends_with("create-orphan") || bool_field(data, "no_parent")?.unwrap_or(false);
    let meta: BTreeMap<String, String> = match data.get("meta") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => BTreeMap::new(),
    };
    let display = field_str(data, "display_name").unwrap_or_else(|| "token".into());
    let entry = TokenEntry {
        accessor: random_accessor(),
        policies: token_policies.clone(),
        display_name: if display.starts_with("token") {
            display
        } else {
            format!("token-{display}")
        },
        meta,
        creation_time: now,
        ttl,
        explicit_max_ttl: explicit_max,
        expire_time: Some(now + ttl as i64),
        renewable: bool_field(data, "renewable")?.unwrap_or(true),
        path: "auth/token/create".into(),
        parent_accessor: if orphan {
            None
        } else {
            Some(parent.accessor.clone())
        },
        num_uses: 0,
        issue_time: now,
        max_ttl: 0,
    };
    let token = new_token_string();
    engine.store.atomic(|tx| store_entry(tx, &token, &entry))?;
    let mut res = Response {
        auth: Some(entry.auth_block(&token, &token_policies)),
        ..Default::default()
    };
    res.warnings = warnings;
    Ok(res)
}

fn renew(
    engine: &Engine,
    token: &str,
    mut entry: TokenEntry,
    data: &Map<String, Value>,
    now: i64,
) -> Result<Response, EngineError> {
    if entry.expire_time.is_none() {
        return Err(EngineError::bad("lease is not renewable"));
    }
    if !entry.renewable {
        return Err(EngineError::bad("lease is not renewable"));
    }
    let increment = match ttl_field(data, "increment")? {
        0 => entry.ttl,
        i => i,
    };
    let max = [entry.explicit_max_ttl, entry.max_ttl]
        .into_iter()
        .filter(|t| *t > 0)
        .min()
        .unwrap_or(SYSTEM_MAX_TTL);
    let limit = entry.creation_time + max as i64;
    let new_expiry = (now + increment as i64).min(limit);
    entry.expire_time = Some(new_expiry);
    entry.ttl = (new_expiry - now).max(0) as u64;
    entry.issue_time = now;
    engine.store.atomic(|tx| store_entry(tx, token, &entry))?;
    let policies = entry.policies.clone();
    Ok(Response {
        auth: Some(entry.auth_block(token, &policies)),
        ..Default::default()
    })
}

/// What an auth method's login hands to the token store (Vault's `logical.Auth`).
#[derive(Debug, Clone, Default)]
pub struct LoginAuth {
    /// The role's token policies, before `default` is added.
    pub policies: Vec<String>,
    /// The role's `token_no_default_policy`.
    pub no_default_policy: bool,
    /// The method's display name; Vault prefixes the mount path (`kubernetes-ns-name`).
    pub display_name: String,
    pub meta: BTreeMap<String, String>,
    /// The role's `token_ttl` (0: the mount's default lease TTL).
    pub ttl: u64,
    /// The role's `token_max_ttl` (0: the mount's maximum lease TTL).
    pub max_ttl: u64,
    /// The role's `token_explicit_max_ttl` (0: none).
    pub explicit_max_ttl: u64,
}

/// Vault's `SanitizePolicies`: trimmed, lower-cased, deduplicated and sorted, with
/// `default` added unless asked not to (or `root` is among them).
pub fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if add_default && !out.iter().any(|p| p == "root" || p == "default") {
        out.push("default".into());
    }
    out.sort();
    out.dedup();
    out
}

/// Mints the service token a successful login returns (an orphan, as Vault's login
/// tokens are), with Vault's `CalculateTTL`: the role's TTL or else the mount's default,
/// capped by the role's and the mount's maximum. Answers Vault's `auth` block.
pub fn create_login_token(
    engine: &Engine,
    mount: &Mount,
    auth: LoginAuth,
    now: i64,
) -> Result<Response, EngineError> {
    let mut max = mount.max_ttl();
    for limit in [auth.max_ttl, auth.explicit_max_ttl] {
        if limit > 0 && limit < max {
            max = limit;
        }
    }
    let mut ttl = if auth.ttl > 0 {
        auth.ttl
    } else {
        mount.default_ttl()
    };
    let mut warnings = vec![];
    if ttl > max {
        warnings.push(format!(
            "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
            fmt_go(ttl),
            fmt_go(max)
        ));
        ttl = max;
    }
    let policies = sanitize_policies(&auth.policies, !auth.no_default_policy);
    let source = mount.path.trim_end_matches('/').replace('/', "-");
    let entry = TokenEntry {
        accessor: random_accessor(),
        policies: policies.clone(),
        display_name: format!("{source}-{}", auth.display_name),
        meta: auth.meta,
        creation_time: now,
        ttl,
        explicit_max_ttl: auth.explicit_max_ttl,
        expire_time: Some(now + ttl as i64),
        renewable: true,
        path: format!("auth/{}login", mount.path),
        parent_accessor: None,
        num_uses: 0,
        issue_time: now,
        max_ttl: max,
    };
    let token = new_token_string();
    engine.store.atomic(|tx| store_entry(tx, &token, &entry))?;
    Ok(Response {
        auth: Some(entry.auth_block(&token, &policies)),
        warnings,
        ..Default::default()
    })
}

fn fmt_go(secs: u64) -> String {
    shared::pki::duration::format_go(secs)
}
