//! `auth/<kubernetes>/role/:name` (create, update, read, delete) and `role` (LIST): which
//! service accounts may log in (bound names and namespaces, `*` globs), the audience their
//! JWT must carry, and the token the login hands out (policies and TTLs, with Vault's
//! legacy `policies`/`ttl`/`max_ttl` names).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::mounts::Mount;
use crate::engine::pki::issuers::{bool_field, list_field, ttl_field};
use crate::engine::{Engine, EngineError, Operation, Response, field_str};
use shared::api::kubernetes::KubernetesRole as KubernetesRoleRead;

const ALIAS_NAME_SOURCES: &[&str] = &["serviceaccount_uid", "serviceaccount_name"];

/// Token fields this engine does not implement: refused when set, not silently ignored.
const UNSUPPORTED: &[&str] = &[
    "bound_service_account_namespace_selector",
    "token_bound_cidrs",
    "bound_cidrs",
    "token_period",
    "period",
    "token_strictly_bind_ip",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubeRole {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    pub audience: String,
    /// Stored and shown; the engine has no identity store, so no alias is created.
    pub alias_name_source: String,
    pub token_policies: Vec<String>,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    pub token_explicit_max_ttl: u64,
    pub token_no_default_policy: bool,
    /// How many requests a login token may make (0: unlimited).
    pub token_num_uses: i64,
    /// Which deprecated field names were used to write it (read back under both names).
    pub legacy: Vec<String>,
}

fn key(mount: &Mount, name: &str) -> String {
    format!("{}role/{}", mount.storage_prefix(), name.to_lowercase())
}

fn prefix(mount: &Mount) -> String {
    format!("{}role/", mount.storage_prefix())
}

/// Vault's `GenericNameRegex`: word characters, with `-` and `.` inside.
fn valid_name(name: &str) -> Result<(), EngineError> {
    // The same rule as PKI roles, from `shared` (the SPA checks names with it too).
    if shared::pki::role::is_valid_role_name(name) {
        Ok(())
    } else {
        Err(EngineError::bad(format!(
            "invalid role name {name:?}: use letters, digits, '_', and '-' or '.' inside"
        )))
    }
}

pub fn load(engine: &Engine, mount: &Mount, name: &str) -> Result<Option<KubeRole>, EngineError> {
    Ok(engine.store.get(&key(mount, name))?)
}

pub fn exists(engine: &Engine, mount: &Mount, name: &str) -> Result<bool, EngineError> {
    Ok(load(engine, mount, name)?.is_some())
}

pub fn handle(
    engine: &Engine,
    mount: &Mount,
    name: &str,
    op: Operation,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    match op {
        Operation::Read => match load(engine, mount, name)? {
            Some(role) => Response::typed(&role.to_response()),
            None => Err(EngineError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => write(engine, mount, name, op, data),
        Operation::Delete => {
            engine.store.delete(&key(mount, name))?;
            Ok(Response::empty())
        }
        _ => Err(EngineError::Unsupported),
    }
}

pub fn list(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    Response::list(engine.store.list(&prefix(mount))?)
}

/// The value of `new` (or its deprecated name `old`) if given, as Vault's
/// `tokenutil.UpgradeValue` reads them: both at once is not an error, `new` wins; a role
/// written with `old` shows it too (with the new value) until a write gives only `new`.
fn upgraded<'a>(
    data: &'a Map<String, Value>,
    old: &'static str,
    new: &'static str,
    legacy: &mut Vec<String>,
) -> Result<Option<(&'static str, &'a Value)>, EngineError> {
    let given = |k: &str| data.get(k).filter(|v| !v.is_null());
    let (old_given, new_given) = (given(old), given(new));
    match old_given {
        Some(_) if !legacy.iter().any(|l| l == old) => legacy.push(old.to_string()),
        None if new_given.is_some() => legacy.retain(|l| l != old),
        _ => {}
    }
    Ok(match (old_given, new_given) {
        (_, Some(v)) => Some((new, v)),
        (Some(v), None) => Some((old, v)),
        (None, None) => None,
    })
}

fn policies_from(field: &str, v: &Value) -> Result<Vec<String>, EngineError> {
    let mut out = shared::pki::fields::parse_comma_string_slice(field, v)
        .map_err(|e| EngineError::bad(e.validation_message()))?;
    out.retain(|p| !p.is_empty());
    for p in &mut out {
        *p = p.to_lowercase();
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A whole-number field (`token_num_uses`), as Vault's `TypeInt` reads it.
fn whole_number(key: &str, v: &Value) -> Result<i64, EngineError> {
    shared::pki::fields::parse_int(key, v).map_err(|e| EngineError::bad(e.to_string()))
}

fn write(
    engine: &Engine,
    mount: &Mount,
    name: &str,
    op: Operation,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    valid_name(name)?;
    for field in UNSUPPORTED {
        let set = match data.get(*field) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty() && s != "0",
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::Bool(b)) => *b,
            Some(_) => true,
        };
        if set {
            return Err(EngineError::bad(format!(
                "{field} is not supported by this server"
            )));
        }
    }
    let existing = load(engine, mount, name)?;
    let mut role = match (existing, op) {
        (Some(r), _) => r,
        (None, Operation::Create) => KubeRole::default(),
        (None, _) => {
            return Err(EngineError::bad(
                "role entry not found during update operation",
            ));
        }
    };
    let mut legacy = std::mem::take(&mut role.legacy);
    if let Some((k, v)) = upgraded(data, "policies", "token_policies", &mut legacy)? {
        role.token_policies = policies_from(k, v)?;
    }
    for (old, new, slot) in [
        ("ttl", "token_ttl", &mut role.token_ttl),
        ("max_ttl", "token_max_ttl", &mut role.token_max_ttl),
    ] {
        if let Some((k, _)) = upgraded(data, old, new, &mut legacy)? {
            *slot = ttl_field(data, k)?;
        }
    }
    if let Some((k, v)) = upgraded(data, "num_uses", "token_num_uses", &mut legacy)? {
        role.token_num_uses = whole_number(k, v)?;
    }
    role.legacy = legacy;
    if role.token_num_uses < 0 {
        return Err(EngineError::bad("'token_num_uses' cannot be negative"));
    }
    // Vault refuses a root token only at login ("auth methods cannot create root
    // tokens"); this engine refuses the role that could never log in as soon as it is
    // written, naming the field.
    if role.token_policies.iter().any(|p| p.trim() == "root") {
        return Err(EngineError::bad(
            "token_policies cannot contain \"root\": auth methods cannot create root tokens",
        ));
    }
    if data.contains_key("token_explicit_max_ttl") {
        role.token_explicit_max_ttl = ttl_field(data, "token_explicit_max_ttl")?;
    }
    if data.contains_key("token_no_default_policy") {
        role.token_no_default_policy = bool_field(data, "token_no_default_policy", false)?;
    }
    if role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl {
        return Err(EngineError::bad(
            "'token_ttl' cannot be greater than 'token_max_ttl'",
        ));
    }
    if let Some(t) = field_str(data, "token_type")
        && !matches!(t.as_str(), "" | "default" | "service" | "default-service")
    {
        return Err(EngineError::bad(format!(
            "token_type {t:?} is not supported by this server: only service tokens"
        )));
    }

    if data.contains_key("bound_service_account_names") {
        role.bound_service_account_names = list_field(data, "bound_service_account_names")?;
    }
    if role.bound_service_account_names.is_empty() {
        return Err(EngineError::bad(
            "\"bound_service_account_names\" can not be empty",
        ));
    }
    if role.bound_service_account_names.len() > 1
        && role.bound_service_account_names.iter().any(|n| n == "*")
    {
        return Err(EngineError::bad("can not mix \"*\" with values"));
    }
    if data.contains_key("bound_service_account_namespaces") {
        role.bound_service_account_namespaces =
            list_field(data, "bound_service_account_namespaces")?;
    }
    if role.bound_service_account_namespaces.is_empty() {
        return Err(EngineError::bad(
            "\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set",
        ));
    }
    if role.bound_service_account_namespaces.len() > 1
        && role
            .bound_service_account_namespaces
            .iter()
            .any(|n| n == "*")
    {
        return Err(EngineError::bad("can not mix \"*\" with values"));
    }
    if data.contains_key("audience") {
        role.audience = field_str(data, "audience").unwrap_or_default();
    }
    match field_str(data, "alias_name_source") {
        Some(s) if !s.is_empty() => role.alias_name_source = s,
        _ if role.alias_name_source.is_empty() => {
            role.alias_name_source = ALIAS_NAME_SOURCES[0].into()
        }
        _ => {}
    }
    if !ALIAS_NAME_SOURCES.contains(&role.alias_name_source.as_str()) {
        return Err(EngineError::bad(format!(
            "invalid alias_name_source, must be one of: {}",
            ALIAS_NAME_SOURCES.join(", ")
        )));
    }

    engine.store.put(&key(mount, name), &role)?;
    let mut res = Response::empty();
    if role.token_max_ttl > mount.max_ttl() {
        res.warnings.push("max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated".into());
    }
    Ok(res)
}

impl KubeRole {
    /// The role as Vault's `GET auth/<kubernetes>/role/:name` shows it.
    pub fn to_response(&self) -> KubernetesRoleRead {
        let legacy = |name: &str| self.legacy.iter().any(|l| l == name);
        KubernetesRoleRead {
            bound_service_account_names: self.bound_service_account_names.clone(),
            bound_service_account_namespaces: self.bound_service_account_namespaces.clone(),
            bound_service_account_namespace_selector: String::new(),
            alias_name_source: self.alias_name_source.clone(),
            audience: (!self.audience.is_empty()).then(|| self.audience.clone()),
            token_policies: self.token_policies.clone(),
            token_ttl: self.token_ttl,
            token_max_ttl: self.token_max_ttl,
            token_explicit_max_ttl: self.token_explicit_max_ttl,
            token_no_default_policy: self.token_no_default_policy,
            token_bound_cidrs: Vec::new(),
            token_num_uses: self.token_num_uses,
            token_period: 0,
            token_strictly_bind_ip: false,
            token_type: "default".into(),
            policies: legacy("policies").then(|| self.token_policies.clone()),
            ttl: (legacy("ttl") && self.token_ttl > 0).then_some(self.token_ttl),
            max_ttl: (legacy("max_ttl") && self.token_max_ttl > 0).then_some(self.token_max_ttl),
            num_uses: legacy("num_uses").then_some(self.token_num_uses),
        }
    }

    /// Whether `name` may log in: `*` alone allows all, otherwise a glob must match.
    pub fn allows_name(&self, name: &str) -> bool {
        matches!(self.bound_service_account_names.as_slice(), [only] if only == "*")
            || self
                .bound_service_account_names
                .iter()
                .any(|p| glob(p, name))
    }

    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.bound_service_account_namespaces
            .first()
            .is_some_and(|first| first == "*")
            || self
                .bound_service_account_namespaces
                .iter()
                .any(|p| glob(p, namespace))
    }
}

/// `ryanuber/go-glob`'s `Glob`, which Vault's `StrListContainsGlob` uses; one port of it
/// lives in `shared` for the PKI role checks and serves here too.
pub use shared::pki::names::glob_match as glob;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_as_go_glob() {
        let cases = [
            ("*", "anything", true),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("cert-manager", "cert-manager", true),
            ("cert-manager", "cert-manager2", false),
            ("cert-*", "cert-manager", true),
            ("cert-*", "cert-", true),
            ("cert-*", "xcert-manager", false),
            ("*-manager", "cert-manager", true),
            ("*-manager", "cert-manager-x", false),
            ("team-*-ci", "team-a-ci", true),
            ("team-*-ci", "team-ci", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("*prod*", "my-prod-ns", true),
            ("*prod*", "staging", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
        ];
        for (pattern, subject, want) in cases {
            assert_eq!(glob(pattern, subject), want, "{pattern:?} vs {subject:?}");
        }
    }

    #[test]
    fn bound_names_and_namespaces() {
        let role = |names: &[&str], namespaces: &[&str]| KubeRole {
            bound_service_account_names: names.iter().map(|s| s.to_string()).collect(),
            bound_service_account_namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            ..KubeRole::default()
        };
        let r = role(&["cert-manager", "issuer-*"], &["cert-manager", "team-*"]);
        assert!(r.allows_name("cert-manager"));
        assert!(r.allows_name("issuer-a"));
        assert!(!r.allows_name("default"));
        assert!(r.allows_namespace("team-blue"));
        assert!(!r.allows_namespace("kube-system"));
        let any = role(&["*"], &["*"]);
        assert!(any.allows_name("whoever") && any.allows_namespace("wherever"));
        assert!(!role(&[], &[]).allows_name("x"));
        assert!(!role(&[], &[]).allows_namespace("x"));
    }

    #[test]
    fn role_names_follow_vaults_pattern() {
        for ok in ["cert-manager", "a", "role.v2", "x_y"] {
            valid_name(ok).expect(ok);
        }
        for bad in ["", "-a", "a-", "a/b", "a b", ".a"] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
    }
}
