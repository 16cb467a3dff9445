//! Token auth (`auth/token/*`): Vault-style service tokens (`hvs.` + random), stored only
//! as SHA-256 hashes, with policies, TTL, accessor, parent and use limit; `create`,
//! `create-orphan`, `lookup-self`, `lookup`, `lookup-accessor`, `renew-self`,
//! `revoke-self`, `revoke`, `revoke-orphan`, `revoke-accessor`; and the tokens auth
//! methods hand out at login ([`create_login_token`]).
//!
//! The token tree, as Vault keeps it: every child is indexed under its parent
//! (`token/children/<parent accessor>/<child accessor>`, written in the same transaction
//! as the child), so revoking a token revokes its whole subtree in one transaction, and
//! `revoke-orphan` turns the children into orphans. A child may be given a longer TTL
//! than its parent (Vault allows it) but never outlives it: there is no sweeper; instead
//! every lookup walks the token's parent chain (a few reads, through the accessor index)
//! and a missing or expired ancestor revokes that ancestor's subtree on the spot, so a
//! child of an expired parent is refused at its next use exactly as if Vault's
//! expiration manager had revoked it. `num_uses` is counted down in the same transaction
//! that authenticates the request; the last use revokes the token (and its children)
//! and shows as `num_uses: -1` to the request it authenticates, as in Vault. Tokens
//! nobody presents again are removed by a small sweep after each token is handed out
//! (the oldest expired first, through a `token/expiry/` index), so storage does not grow
//! with dead tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::engine::mounts::{Mount, Route, SYSTEM_DEFAULT_TTL, SYSTEM_MAX_TTL};
use crate::engine::storage::{StorageError, Store, Tx};
use crate::engine::wire::to_value;
use crate::engine::{
    Caller, Engine, EngineError, Operation, Request, Response, field_str, rfc3339,
};
use shared::api::token as api;
use shared::pki::duration::parse_duration_value;
use shared::pki::fields;

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
    /// Uses left (0: unlimited; -1: this request was the last).
    #[serde(default)]
    pub num_uses: i64,
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
        to_value(&api::Auth {
            client_token: client_token.to_owned(),
            accessor: self.accessor.clone(),
            policies: self.policies.clone(),
            token_policies: token_policies.to_vec(),
            metadata: (!self.meta.is_empty()).then(|| self.meta.clone()),
            lease_duration: self.ttl,
            renewable: self.renewable,
            entity_id: String::new(),
            token_type: "service".into(),
            orphan: self.parent_accessor.is_none(),
            mfa_requirement: None,
            num_uses: self.num_uses,
        })
        .unwrap_or_default()
    }

    fn lookup_data(&self, id: Option<&str>, now: i64) -> Value {
        to_value(&api::TokenLookup {
            accessor: self.accessor.clone(),
            creation_time: self.creation_time,
            creation_ttl: self.ttl,
            display_name: self.display_name.clone(),
            entity_id: String::new(),
            expire_time: self.expire_time.map(rfc3339),
            explicit_max_ttl: self.explicit_max_ttl,
            id: id.unwrap_or("").to_owned(),
            issue_time: rfc3339(self.issue_time),
            meta: (!self.meta.is_empty()).then(|| self.meta.clone()),
            num_uses: self.num_uses,
            orphan: self.parent_accessor.is_none(),
            path: self.path.clone(),
            policies: self.policies.clone(),
            renewable: self.renewable,
            ttl: self.expire_time.map(|e| (e - now).max(0)).unwrap_or(0),
            kind: "service".into(),
        })
        .unwrap_or_default()
    }
}

fn random_accessor() -> String {
    new_token_string()[4..].to_string()
}

fn children_prefix(accessor: &str) -> String {
    format!("token/children/{accessor}/")
}

/// Stores a new token, with its accessor and its place under its parent.
pub fn store_entry(tx: &mut Tx<'_>, token: &str, entry: &TokenEntry) -> Result<(), StorageError> {
    let h = hash(token);
    tx.put(&format!("token/id/{h}"), entry)?;
    tx.put(&format!("token/accessor/{}", entry.accessor), &h)?;
    if let Some(parent) = &entry.parent_accessor {
        tx.put(
            &format!("{}{}", children_prefix(parent), entry.accessor),
            &true,
        )?;
    }
    if let Some(key) = expiry_key(entry) {
        tx.put(&key, &true)?;
    }
    Ok(())
}

/// The expiry index: `token/expiry/<unix time, 12 digits>-<accessor>`, so the tokens
/// due first list first.
const EXPIRY_PREFIX: &str = "token/expiry/";

fn expiry_key(entry: &TokenEntry) -> Option<String> {
    entry
        .expire_time
        .map(|t| format!("{EXPIRY_PREFIX}{:012}-{}", t.max(0), entry.accessor))
}

/// Tokens revoked per sweep, at most.
const SWEEP_BATCH: usize = 32;

/// Revokes (with their subtrees) up to [`SWEEP_BATCH`] tokens whose time is up, oldest
/// first, so tokens nobody presents again do not stay in storage for ever. Runs after
/// each token is handed out; a use of an expired token revokes it anyway (`live_in`).
fn sweep_expired(store: &Store, now: i64) -> Result<usize, StorageError> {
    let due: Vec<String> = store
        .list_page(EXPIRY_PREFIX, None, SWEEP_BATCH)?
        .into_iter()
        .take_while(|k| {
            k.get(..12)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t <= now)
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    store.atomic(|tx| {
        let mut revoked = 0;
        for name in &due {
            let key = format!("{EXPIRY_PREFIX}{name}");
            let accessor = name.get(13..).unwrap_or_default();
            if let Some((h, e)) = by_accessor(tx, accessor)? {
                if expired(&e, now) {
                    revoke_tree(tx, &h, &e)?;
                    revoked += 1;
                }
                if expiry_key(&e).as_deref() == Some(key.as_str()) {
                    continue;
                }
            }
            tx.delete(&key)?;
        }
        Ok(revoked)
    })
}

/// [`sweep_expired`] for the request path: a failure is logged, never the request's.
fn sweep(engine: &Engine, now: i64) {
    if let Err(e) = sweep_expired(&engine.store, now) {
        tracing::warn!(error = %e, "could not sweep expired tokens");
    }
}

/// The stored entry behind an accessor, with its token hash.
fn by_accessor(tx: &Tx<'_>, accessor: &str) -> Result<Option<(String, TokenEntry)>, StorageError> {
    let Some(h) = tx.get::<String>(&format!("token/accessor/{accessor}"))? else {
        return Ok(None);
    };
    Ok(tx
        .get::<TokenEntry>(&format!("token/id/{h}"))?
        .map(|e| (h, e)))
}

fn expired(entry: &TokenEntry, now: i64) -> bool {
    entry.expire_time.is_some_and(|e| e <= now)
}

/// A parent chain longer than this is treated as broken (it cannot happen: a parent is
/// always older than its child, so there are no cycles).
const MAX_DEPTH: usize = 1024;

/// The entry for a token hash if it is live: not expired, and every ancestor present and
/// not expired. A dead token, or a dead ancestor, is revoked with its subtree here.
fn live_in(
    tx: &mut Tx<'_>,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenEntry>, StorageError> {
    let Some(entry) = tx.get::<TokenEntry>(&format!("token/id/{token_hash}"))? else {
        return Ok(None);
    };
    if expired(&entry, now) {
        revoke_tree(tx, token_hash, &entry)?;
        return Ok(None);
    }
    let mut next = entry.parent_accessor.clone();
    let mut depth = 0;
    while let Some(accessor) = next {
        depth += 1;
        match by_accessor(tx, &accessor)? {
            Some((_, pe)) if !expired(&pe, now) && depth <= MAX_DEPTH => {
                next = pe.parent_accessor.clone();
            }
            Some((ph, pe)) => {
                // An expired ancestor: its whole subtree goes, this token with it.
                revoke_tree(tx, &ph, &pe)?;
                revoke_tree(tx, token_hash, &entry)?;
                return Ok(None);
            }
            None => {
                // The parent was revoked before the index existed, or the chain is
                // broken: the token must not outlive it.
                revoke_tree(tx, token_hash, &entry)?;
                return Ok(None);
            }
        }
    }
    Ok(Some(entry))
}

/// The live entry for a token presented to authenticate a request: counts one use of a
/// use-limited token (atomically with the check), revoking it on its last one; that
/// last request still runs, and sees `num_uses` -1. Dead tokens read as absent.
pub fn lookup(engine: &Engine, token: &str, now: i64) -> Result<Option<TokenEntry>, EngineError> {
    let h = hash(token);
    // Usually a read (no use to count, nothing expired): then it never waits for a write
    // batch; `read_or_write` runs it on the writer as soon as it writes.
    Ok(engine.store.read_or_write(|tx| {
        let Some(mut entry) = live_in(tx, &h, now)? else {
            return Ok(None);
        };
        if entry.num_uses > 0 {
            entry.num_uses -= 1;
            if entry.num_uses == 0 {
                revoke_tree(tx, &h, &entry)?;
                entry.num_uses = -1;
            } else {
                tx.put(&format!("token/id/{h}"), &entry)?;
            }
        }
        Ok(Some(entry))
    })?)
}

/// The live entry for `token`, without counting a use (`lookup`, `revoke`).
fn peek(engine: &Engine, token: &str, now: i64) -> Result<Option<TokenEntry>, EngineError> {
    let h = hash(token);
    Ok(engine.store.read_or_write(|tx| live_in(tx, &h, now))?)
}

/// Revokes a token and every descendant, in the caller's transaction.
fn revoke_tree(tx: &mut Tx<'_>, token_hash: &str, entry: &TokenEntry) -> Result<(), StorageError> {
    let mut stack = vec![(token_hash.to_string(), entry.clone())];
    while let Some((h, e)) = stack.pop() {
        let prefix = children_prefix(&e.accessor);
        for child in tx.list(&prefix)? {
            if let Some(found) = by_accessor(tx, child.trim_end_matches('/'))? {
                stack.push(found);
            }
        }
        tx.delete_prefix(&prefix)?;
        remove_one(tx, &h, &e)?;
    }
    Ok(())
}

/// Deletes one token: its entry, its accessor, and its link under its parent.
fn remove_one(tx: &mut Tx<'_>, token_hash: &str, entry: &TokenEntry) -> Result<(), StorageError> {
    tx.delete(&format!("token/id/{token_hash}"))?;
    tx.delete(&format!("token/accessor/{}", entry.accessor))?;
    if let Some(parent) = &entry.parent_accessor {
        tx.delete(&format!("{}{}", children_prefix(parent), entry.accessor))?;
    }
    if let Some(key) = expiry_key(entry) {
        tx.delete(&key)?;
    }
    Ok(())
}

/// `revoke-orphan`: revokes the token alone; its children become orphans.
fn revoke_orphan_in(
    tx: &mut Tx<'_>,
    token_hash: &str,
    entry: &TokenEntry,
) -> Result<(), StorageError> {
    let prefix = children_prefix(&entry.accessor);
    for child in tx.list(&prefix)? {
        if let Some((ch, mut ce)) = by_accessor(tx, child.trim_end_matches('/'))? {
            ce.parent_accessor = None;
            tx.put(&format!("token/id/{ch}"), &ce)?;
        }
    }
    tx.delete_prefix(&prefix)?;
    remove_one(tx, token_hash, entry)
}

/// Root, or `sudo` on the request's path: what Vault asks of orphan creation with
/// `no_parent` and of `revoke-orphan`.
fn root_or_sudo(caller: &Caller, req: &Request) -> bool {
    caller.is_root() || caller.acl.allows_sudo(&req.path)
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
            // Vault: no token looks up the caller's own.
            let t = field_str(&req.data, "token")
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| self_token.to_string());
            let entry =
                peek(engine, &t, now)?.ok_or_else(|| EngineError::Forbidden("bad token".into()))?;
            Ok(Response::data(entry.lookup_data(Some(&t), now)))
        }
        ("lookup-accessor", Operation::Create | Operation::Update) => {
            let acc = field_str(&req.data, "accessor")
                .ok_or_else(|| EngineError::bad("missing accessor"))?;
            let entry = engine
                .store
                .atomic(|tx| match by_accessor(tx, &acc)? {
                    Some((h, _)) => live_in(tx, &h, now),
                    None => Ok(None),
                })?
                // OpenBao's wording for this one is wrapped in Go's multierror text.
                .ok_or_else(|| EngineError::bad("1 error occurred:\n\t* invalid accessor\n\n"))?;
            Ok(Response::data(entry.lookup_data(None, now)))
        }
        ("renew-self", Operation::Create | Operation::Update) => {
            let entry = caller.token.clone().ok_or(EngineError::PermissionDenied)?;
            renew(engine, self_token, entry, &req.data, now)
        }
        ("renew", Operation::Create | Operation::Update) => {
            let t = token_to_revoke(req)?;
            let entry =
                peek(engine, &t, now)?.ok_or_else(|| EngineError::bad("token not found"))?;
            renew(engine, &t, entry, &req.data, now)
        }
        ("revoke-self", Operation::Create | Operation::Update) => {
            let h = hash(self_token);
            engine.store.atomic(|tx| match live_in(tx, &h, now)? {
                Some(entry) => revoke_tree(tx, &h, &entry),
                None => Ok(()),
            })?;
            Ok(Response::empty())
        }
        ("revoke", Operation::Create | Operation::Update) => {
            let t = token_to_revoke(req)?;
            let h = hash(&t);
            engine.store.atomic(|tx| match live_in(tx, &h, now)? {
                Some(entry) => revoke_tree(tx, &h, &entry),
                None => Ok(()),
            })?;
            Ok(Response::empty())
        }
        ("revoke-orphan", Operation::Create | Operation::Update) => {
            if !root_or_sudo(caller, req) {
                return Err(EngineError::bad(
                    "root or sudo privileges required to revoke and orphan",
                ));
            }
            let t = token_to_revoke(req)?;
            let h = hash(&t);
            let found = engine.store.atomic(|tx| match live_in(tx, &h, now)? {
                Some(entry) => revoke_orphan_in(tx, &h, &entry).map(|()| true),
                None => Ok(false),
            })?;
            if !found {
                return Err(EngineError::bad("token to revoke not found"));
            }
            Ok(Response::empty())
        }
        ("revoke-accessor", Operation::Create | Operation::Update) => {
            let acc = field_str(&req.data, "accessor")
                .filter(|a| !a.is_empty())
                .ok_or_else(|| EngineError::bad("missing accessor"))?;
            let found = engine.store.atomic(|tx| match by_accessor(tx, &acc)? {
                Some((h, entry)) => revoke_tree(tx, &h, &entry).map(|()| true),
                None => Ok(false),
            })?;
            if !found {
                return Ok(Response::empty().with_warning("No token found with this accessor"));
            }
            Ok(Response::empty())
        }
        (
            "create" | "create-orphan" | "lookup-self" | "lookup" | "renew" | "renew-self"
            | "revoke-self" | "revoke" | "revoke-orphan" | "revoke-accessor" | "lookup-accessor",
            _,
        ) => Err(EngineError::Unsupported),
        _ => Err(EngineError::no_route(&req.path)),
    }
}

fn token_to_revoke(req: &Request) -> Result<String, EngineError> {
    field_str(&req.data, "token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EngineError::bad("missing token ID"))
}

/// A boolean request field, decoded as OpenBao's `FieldData` does (shared's `fields`).
fn bool_field(data: &Map<String, Value>, key: &str) -> Result<Option<bool>, EngineError> {
    fields::get_bool(data, key).map_err(|e| EngineError::bad(e.validation_message()))
}

fn ttl_field(data: &Map<String, Value>, key: &str) -> Result<u64, EngineError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => parse_duration_value(v)
            // OpenBao answers Go's parse error as it is.
            .map_err(|e| EngineError::bad(e.to_string())),
    }
}

fn route_is_orphan(req: &Request) -> bool {
    req.path.trim_end_matches('/').ends_with("/create-orphan")
}

/// A use limit: a non-negative whole number (0: unlimited).
fn num_uses_field(data: &Map<String, Value>, key: &str) -> Result<i64, EngineError> {
    let n = match data.get(key) {
        None | Some(Value::Null) => return Ok(0),
        Some(v) => shared::pki::fields::parse_int(key, v)
            .map_err(|e| EngineError::bad(e.validation_message()))?,
    };
    if n < 0 {
        return Err(EngineError::bad("number of uses cannot be negative"));
    }
    Ok(n)
}

fn create(
    engine: &Engine,
    caller: &Caller,
    req: &Request,
    now: i64,
) -> Result<Response, EngineError> {
    let parent = caller.token.as_ref().ok_or(EngineError::PermissionDenied)?;
    fields::check_struct_string_list(&req.data, "policies").map_err(EngineError::bad)?;
    // Vault: a token on its last use is already being revoked, and a use-limited one
    // may not have children (it could hand its uses on to them).
    if parent.num_uses < 0 {
        return Err(EngineError::bad(
            "parent token lookup failed: no parent found",
        ));
    }
    if parent.num_uses > 0 {
        return Err(EngineError::bad(
            "restricted use token cannot generate child tokens",
        ));
    }
    let data = &req.data;
    let mut policies = fields::struct_string_list(data, "policies");
    if policies.is_empty() {
        // Vault: a child without explicit policies inherits the parent's.
        policies = parent
            .policies
            .iter()
            .filter(|p| *p != "default")
            .cloned()
            .collect();
    }
    // Vault's `policyutil.SanitizePolicies`: trimmed, lower-cased, empty entries dropped.
    for p in &mut policies {
        *p = p.trim().to_lowercase();
    }
    policies.retain(|p| !p.is_empty());
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
    // OpenBao names each policy that is not (yet) written; the token is made anyway.
    let mut warnings = vec![];
    for p in token_policies
        .iter()
        .filter(|p| *p != "default" && *p != "root")
    {
        if engine.store.get::<Value>(&format!("policy/{p}"))?.is_none() {
            warnings.push(format!("Policy \"{p}\" does not exist"));
        }
    }
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
    // A child may be given a longer TTL than its parent, as in Vault; it still dies
    // with it (`live_in` checks the parent chain at every use).
    let no_parent = bool_field(data, "no_parent")?.unwrap_or(false);
    if no_parent && !root_or_sudo(caller, req) {
        return Err(EngineError::bad(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let orphan = route_is_orphan(req) || no_parent;
    let num_uses = num_uses_field(data, "num_uses")?;
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
        num_uses,
        issue_time: now,
        max_ttl: 0,
    };
    let token = new_token_string();
    engine.store.atomic(|tx| store_entry(tx, &token, &entry))?;
    sweep(engine, now);
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
    // Read, change and write in one transaction, so a concurrent use (`num_uses`) or
    // revocation is neither undone nor resurrected; a token whose last use this request
    // was is gone already and stays gone.
    let h = hash(token);
    engine.store.atomic(|tx| {
        if let Some(mut stored) = live_in(tx, &h, now)? {
            if let Some(old) = expiry_key(&stored) {
                tx.delete(&old)?;
            }
            stored.expire_time = entry.expire_time;
            stored.ttl = entry.ttl;
            stored.issue_time = now;
            tx.put(&format!("token/id/{h}"), &stored)?;
            if let Some(new) = expiry_key(&stored) {
                tx.put(&new, &true)?;
            }
        }
        Ok(())
    })?;
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
    /// The role's `token_num_uses` (0: unlimited).
    pub num_uses: i64,
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
    // Vault's core refuses this whatever the method or its role say.
    if policies.iter().any(|p| p == "root") {
        return Err(EngineError::bad("auth methods cannot create root tokens"));
    }
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
        num_uses: auth.num_uses.max(0),
        issue_time: now,
        max_ttl: max,
    };
    let token = new_token_string();
    engine.store.atomic(|tx| store_entry(tx, &token, &entry))?;
    sweep(engine, now);
    Ok(Response {
        auth: Some(entry.auth_block(&token, &policies)),
        warnings,
        ..Default::default()
    })
}

fn fmt_go(secs: u64) -> String {
    shared::pki::duration::format_go(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token under `parent` (or an orphan) expiring at `expire_time`.
    fn token(parent: Option<&TokenEntry>, expire_time: Option<i64>) -> (String, TokenEntry) {
        let (t, mut e) = TokenEntry::new_root(1_000);
        e.policies = vec!["default".into()];
        e.expire_time = expire_time;
        e.parent_accessor = parent.map(|p| p.accessor.clone());
        (t, e)
    }

    fn live(store: &Store, t: &str, now: i64) -> bool {
        store
            .atomic(|tx| live_in(tx, &hash(t), now))
            .expect("storage")
            .is_some()
    }

    fn stored(store: &Store, t: &str) -> Option<TokenEntry> {
        store
            .get(&format!("token/id/{}", hash(t)))
            .expect("storage")
    }

    #[test]
    fn the_index_survives_a_restart_and_revocation_cascades() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let (p, pe) = token(None, None);
        let (c, ce) = token(Some(&pe), None);
        let (g, ge) = token(Some(&ce), None);
        let (o, oe) = token(None, None);
        {
            let store = Store::open(&path).expect("open");
            store
                .atomic(|tx| {
                    for (t, e) in [(&p, &pe), (&c, &ce), (&g, &ge), (&o, &oe)] {
                        store_entry(tx, t, e)?;
                    }
                    Ok(())
                })
                .expect("store");
        }
        let store = Store::open(&path).expect("reopen");
        assert!(live(&store, &g, 2_000));
        store
            .atomic(|tx| revoke_tree(tx, &hash(&p), &pe))
            .expect("revoke");
        // Gone from storage, not merely refused: the entries, accessors and index.
        for t in [&p, &c, &g] {
            assert!(stored(&store, t).is_none());
        }
        for e in [&pe, &ce, &ge] {
            assert!(
                store
                    .get::<String>(&format!("token/accessor/{}", e.accessor))
                    .expect("storage")
                    .is_none()
            );
        }
        assert!(store.list("token/children/").expect("list").is_empty());
        assert!(live(&store, &o, 2_000), "an unrelated token stays");
    }

    #[test]
    fn an_expired_ancestor_takes_its_whole_subtree() {
        let store = Store::memory().expect("store");
        let (p, pe) = token(None, Some(1_500));
        let (c, ce) = token(Some(&pe), Some(9_000));
        let (g, ge) = token(Some(&ce), Some(9_000));
        let (s, se) = token(Some(&pe), Some(9_000));
        store
            .atomic(|tx| {
                for (t, e) in [(&p, &pe), (&c, &ce), (&g, &ge), (&s, &se)] {
                    store_entry(tx, t, e)?;
                }
                Ok(())
            })
            .expect("store");
        assert!(live(&store, &g, 1_499), "before the parent expires");
        assert!(!live(&store, &g, 1_500), "the grandchild dies with it");
        for t in [&p, &c, &g, &s] {
            assert!(stored(&store, t).is_none(), "the whole subtree is revoked");
        }
    }

    #[test]
    fn a_child_whose_parent_vanished_is_refused() {
        let store = Store::memory().expect("store");
        let (_, pe) = token(None, None);
        let (c, ce) = token(Some(&pe), None);
        // The parent was never stored (or removed without the index, by an older build).
        store.atomic(|tx| store_entry(tx, &c, &ce)).expect("store");
        assert!(!live(&store, &c, 2_000));
        assert!(stored(&store, &c).is_none());
    }

    #[test]
    fn revoke_orphan_keeps_the_children_as_orphans() {
        let store = Store::memory().expect("store");
        let (p, pe) = token(None, None);
        let (c, ce) = token(Some(&pe), None);
        let (g, ge) = token(Some(&ce), None);
        store
            .atomic(|tx| {
                for (t, e) in [(&p, &pe), (&c, &ce), (&g, &ge)] {
                    store_entry(tx, t, e)?;
                }
                revoke_orphan_in(tx, &hash(&p), &pe)
            })
            .expect("revoke-orphan");
        assert!(stored(&store, &p).is_none());
        let child = stored(&store, &c).expect("the child stays");
        assert_eq!(child.parent_accessor, None);
        assert!(live(&store, &g, 2_000));
        assert_eq!(
            stored(&store, &g).and_then(|e| e.parent_accessor),
            Some(ce.accessor.clone())
        );
        assert!(
            store
                .list(&children_prefix(&pe.accessor))
                .expect("list")
                .is_empty()
        );
    }

    #[test]
    fn the_sweep_removes_expired_tokens_and_their_children_only() {
        let store = Store::memory().expect("store");
        let mk = |parent: Option<&TokenEntry>, expire: Option<i64>| {
            let (t, mut e) = TokenEntry::new_root(1_000);
            e.expire_time = expire;
            e.parent_accessor = parent.map(|p| p.accessor.clone());
            (t, e)
        };
        let (old, old_e) = mk(None, Some(1_100));
        let (child, child_e) = mk(Some(&old_e), Some(9_000));
        let (fresh, fresh_e) = mk(None, Some(5_000));
        let (forever, forever_e) = mk(None, None);
        store
            .atomic(|tx| {
                for (t, e) in [
                    (&old, &old_e),
                    (&child, &child_e),
                    (&fresh, &fresh_e),
                    (&forever, &forever_e),
                ] {
                    store_entry(tx, t, e)?;
                }
                Ok(())
            })
            .expect("store");
        assert_eq!(sweep_expired(&store, 1_000).expect("sweep"), 0);
        assert_eq!(sweep_expired(&store, 2_000).expect("sweep"), 1);
        let gone = |t: &str| {
            store
                .get::<TokenEntry>(&format!("token/id/{}", hash(t)))
                .expect("get")
                .is_none()
        };
        assert!(gone(&old) && gone(&child), "expired, with its subtree");
        assert!(!gone(&fresh) && !gone(&forever));
        // The index keeps only the fresh token (the child's key went with the child).
        let keys = store.list(EXPIRY_PREFIX).expect("list");
        assert_eq!(keys, vec![format!("{:012}-{}", 5_000, fresh_e.accessor)]);
    }
}
