//! Vault ACL policies: parsing HCL (or JSON) policy text and checking capabilities.
//!
//! This re-implements, with Vault's semantics:
//! - `ParseACLPolicy` (`vault/policy.go`): `path` blocks, `capabilities`, the legacy
//!   `policy = "read" | "write" | "sudo" | "deny"` shorthand, `deny`, `+` and `*` wildcards,
//!   `allowed_parameters` / `denied_parameters` / `required_parameters`,
//!   `min_wrapping_ttl` / `max_wrapping_ttl`, and the key validation and error texts;
//! - `NewACL`, `AllowOperation`, `Capabilities` and `CheckAllowedFromNonExactPaths`
//!   (`vault/acl.go`): rules on the same pattern from several policies are merged (union,
//!   `deny` wins), while between different patterns only the most specific one decides
//!   (exact, then Vault's priority rules for globs and `+` segments);
//! - the policy-name rules of `vault/policy_store.go` (names lower-cased and trimmed, `root`
//!   immutable, `default` not deletable) and Vault's built-in `default` policy text.
//!
//! Not supported: templated paths (`{{identity.entity.id}}`) are parsed but never match, since
//! the engine has no identity entities (Vault skips them the same way for tokens without an
//! entity); `control_group`, `mfa_methods` and `subscribe_event_types` are accepted and ignored.

use crate::engine::wire::Operation;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hcl::{BlockLabel, Expression, ObjectKey, Structure};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Name of the built-in policy that grants everything.
pub const ROOT_POLICY_NAME: &str = "root";

/// Name of the built-in policy attached to (almost) every token.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Vault's built-in `default` policy, verbatim (including the leading newline), as returned by
/// `vault policy read default` on a fresh server.
pub const DEFAULT_POLICY_HCL: &str = r#"
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"#;

/// Policies that can never be written (Vault's `immutablePolicies`).
const IMMUTABLE_POLICIES: [&str; 3] = [ROOT_POLICY_NAME, "response-wrapping", "control-group"];

/// Keys allowed inside a `path` block (Vault's list in `parsePaths`).
const VALID_PATH_KEYS: [&str; 11] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "control_group",
    "subscribe_event_types",
];

/// Errors from parsing a policy or validating a policy name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The policy name is empty after trimming.
    #[error("policy name must not be empty")]
    EmptyName,
    /// The policy name contains control characters.
    #[error("policy name {name:?} must not contain control characters")]
    InvalidName { name: String },
    /// The policy text is empty or only whitespace.
    #[error("'policy' parameter not supplied or empty")]
    EmptyPolicy,
    /// The text is not valid HCL (or JSON).
    #[error("failed to parse policy: {0}")]
    Syntax(String),
    /// A top-level key other than `name` or `path`.
    #[error("failed to parse policy: invalid key {key:?}")]
    InvalidTopLevelKey { key: String },
    /// A key inside a `path` block that Vault does not know.
    #[error("failed to parse policy: path {path:?}: invalid key {key:?}")]
    InvalidPathKey { path: String, key: String },
    /// An unknown capability, in a `path` block.
    #[error("failed to parse policy: path {path:?}: invalid capability {capability:?}")]
    InvalidCapability { path: String, capability: String },
    /// An unknown capability string, outside of any policy.
    #[error("invalid capability {capability:?}")]
    UnknownCapability { capability: String },
    /// A legacy `policy = "..."` value other than deny/read/write/sudo.
    #[error("failed to parse policy: path {path:?}: invalid policy {policy:?}")]
    InvalidLegacyPolicy { path: String, policy: String },
    /// `+*` in a path.
    #[error("failed to parse policy: path {path:?}: invalid use of wildcards ('+*' is forbidden)")]
    InvalidWildcard { path: String },
    /// Unbalanced or unknown `{{...}}` templating in a path.
    #[error("failed to validate policy templating: path {path:?}: {reason}")]
    InvalidTemplate { path: String, reason: String },
    /// A field whose value has the wrong type or an invalid value.
    #[error("failed to parse policy: path {path:?}: field {field:?} {reason}")]
    InvalidField {
        path: String,
        field: String,
        reason: String,
    },
    /// An attempt to write an immutable policy (`root`, `response-wrapping`, `control-group`).
    #[error("cannot update {name:?} policy")]
    CannotUpdate { name: String },
    /// An attempt to delete an immutable policy.
    #[error("cannot delete {name:?} policy")]
    CannotDelete { name: String },
    /// An attempt to delete the `default` policy.
    #[error("cannot delete default policy")]
    CannotDeleteDefault,
}

const DENY_BIT: u32 = 1;
const CREATE_BIT: u32 = 1 << 1;
const READ_BIT: u32 = 1 << 2;
const UPDATE_BIT: u32 = 1 << 3;
const DELETE_BIT: u32 = 1 << 4;
const LIST_BIT: u32 = 1 << 5;
const SUDO_BIT: u32 = 1 << 6;
const PATCH_BIT: u32 = 1 << 7;
const SUBSCRIBE_BIT: u32 = 1 << 8;

/// A capability as written in a policy's `capabilities` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Sudo,
    Deny,
    Subscribe,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 9] = [
        Capability::Create,
        Capability::Read,
        Capability::Update,
        Capability::Patch,
        Capability::Delete,
        Capability::List,
        Capability::Sudo,
        Capability::Deny,
        Capability::Subscribe,
    ];

    /// The string Vault uses for this capability.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
            Capability::Subscribe => "subscribe",
        }
    }

    fn bit(self) -> u32 {
        match self {
            Capability::Deny => DENY_BIT,
            Capability::Create => CREATE_BIT,
            Capability::Read => READ_BIT,
            Capability::Update => UPDATE_BIT,
            Capability::Delete => DELETE_BIT,
            Capability::List => LIST_BIT,
            Capability::Sudo => SUDO_BIT,
            Capability::Patch => PATCH_BIT,
            Capability::Subscribe => SUBSCRIBE_BIT,
        }
    }

    fn from_bits(bits: u32) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| bits & c.bit() != 0)
            .collect()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Capability {
    type Err = PolicyError;

    /// Parses Vault's capability strings exactly (case-sensitive, as Vault does).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| PolicyError::UnknownCapability {
                capability: s.to_string(),
            })
    }
}

/// The ACL's view of an operation (the enum itself is the engine's wire type).
impl Operation {
    /// The capability this operation needs.
    pub fn capability(self) -> Capability {
        match self {
            Operation::Create => Capability::Create,
            Operation::Read => Capability::Read,
            Operation::Update => Capability::Update,
            Operation::Patch => Capability::Patch,
            Operation::Delete => Capability::Delete,
            Operation::List => Capability::List,
        }
    }

    /// Operations whose request parameters are checked against parameter constraints.
    fn checks_parameters(self) -> bool {
        matches!(
            self,
            Operation::Read | Operation::Update | Operation::Create | Operation::Patch
        )
    }
}

/// One `path "..." { ... }` block of a policy, after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    /// The path pattern as written (one leading `/` removed), e.g. `pki_int/sign/*`.
    pub path: String,
    /// The effective capabilities (`[Deny]` alone when the block denies).
    pub capabilities: Vec<Capability>,
    /// `allowed_parameters`, keys lower-cased; an empty list allows any value.
    pub allowed_parameters: BTreeMap<String, Vec<Value>>,
    /// `denied_parameters`, keys lower-cased; an empty list denies any value.
    pub denied_parameters: BTreeMap<String, Vec<Value>>,
    /// `required_parameters`.
    pub required_parameters: Vec<String>,
    /// `min_wrapping_ttl`, if set and non-zero.
    pub min_wrapping_ttl: Option<Duration>,
    /// `max_wrapping_ttl`, if set and non-zero.
    pub max_wrapping_ttl: Option<Duration>,
    /// Whether the path uses `{{identity...}}` templating (such rules never match here).
    pub templated: bool,
    bits: u32,
    /// Key in the ACL: the path without the trailing `*` for plain prefix rules.
    key: String,
    is_prefix: bool,
    has_segment_wildcards: bool,
}

/// A named, parsed ACL policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Normalised (trimmed, lower-cased) name.
    pub name: String,
    /// The policy text exactly as given.
    pub raw: String,
    rules: Vec<PathRule>,
}

impl Policy {
    /// Parses a policy. `hcl` may be HCL or, like Vault accepts, JSON
    /// (`{"path": {"secret/*": {"capabilities": ["read"]}}}`). The name is normalised with
    /// [`validate_name`].
    pub fn parse(name: &str, hcl: &str) -> Result<Policy, PolicyError> {
        let name = validate_name(name)?;
        if hcl.trim().is_empty() {
            return Err(PolicyError::EmptyPolicy);
        }
        let blocks = if hcl.trim_start().starts_with('{') {
            blocks_from_json(hcl)?
        } else {
            blocks_from_hcl(hcl)?
        };
        let rules = blocks
            .iter()
            .map(|(path, body)| parse_path_rule(path, body))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            name,
            raw: hcl.to_string(),
            rules,
        })
    }

    /// Vault's built-in `default` policy.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY_NAME, DEFAULT_POLICY_HCL).unwrap_or_else(|_| Policy {
            name: DEFAULT_POLICY_NAME.to_string(),
            raw: DEFAULT_POLICY_HCL.to_string(),
            rules: Vec::new(),
        })
    }

    /// The parsed `path` blocks, in order.
    pub fn rules(&self) -> &[PathRule] {
        &self.rules
    }

    /// Whether any path uses identity templating.
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(|r| r.templated)
    }
}

/// Parsed policies kept in memory by name, so a request does not parse HCL again.
///
/// An entry is used only while the stored text is the one it was parsed from: the caller
/// reads the policy's text from storage on every request (a cheap keyed read) and the
/// cache answers the parsed form for that exact text. A write or delete, by any handler or
/// by another process on the same database, is therefore seen at once; [`invalidate`]
/// also drops an entry eagerly when a policy is written or deleted. Bounded: at
/// [`PolicyCache::MAX_ENTRIES`] names the cache starts over.
///
/// [`invalidate`]: PolicyCache::invalidate
#[derive(Debug, Default)]
pub struct PolicyCache {
    entries: Mutex<HashMap<String, Arc<Policy>>>,
}

impl PolicyCache {
    /// Most policies kept; Vault installations have tens to hundreds.
    pub const MAX_ENTRIES: usize = 4096;

    /// The parsed policy `name` whose stored text is `raw`: from memory when that text was
    /// parsed before, else parsed now (outside the lock) and kept.
    pub fn get_or_parse(&self, name: &str, raw: &str) -> Result<Arc<Policy>, PolicyError> {
        if let Some(p) = self.lock().get(name)
            && p.raw == raw
        {
            return Ok(Arc::clone(p));
        }
        let parsed = Arc::new(Policy::parse(name, raw)?);
        let mut entries = self.lock();
        if entries.len() >= Self::MAX_ENTRIES && !entries.contains_key(name) {
            entries.clear();
        }
        entries.insert(name.to_string(), Arc::clone(&parsed));
        Ok(parsed)
    }

    /// Forgets `name` (its policy was written or deleted).
    pub fn invalidate(&self, name: &str) {
        self.lock().remove(name);
    }

    /// How many parsed policies are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Policy>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Normalises a policy name like Vault's policy store (trim, lower-case) and rejects empty
/// names and control characters.
pub fn validate_name(name: &str) -> Result<String, PolicyError> {
    let normalised = name.trim().to_lowercase();
    if normalised.is_empty() {
        return Err(PolicyError::EmptyName);
    }
    if normalised.chars().any(char::is_control) {
        return Err(PolicyError::InvalidName { name: normalised });
    }
    Ok(normalised)
}

/// Checks that a policy may be created or updated under this name (Vault refuses `root`,
/// `response-wrapping` and `control-group`). Returns the normalised name.
pub fn ensure_writable(name: &str) -> Result<String, PolicyError> {
    let name = validate_name(name)?;
    if IMMUTABLE_POLICIES.contains(&name.as_str()) {
        return Err(PolicyError::CannotUpdate { name });
    }
    Ok(name)
}

/// Checks that a policy may be deleted (not an immutable one, not `default`). Returns the
/// normalised name.
pub fn ensure_deletable(name: &str) -> Result<String, PolicyError> {
    let name = validate_name(name)?;
    if IMMUTABLE_POLICIES.contains(&name.as_str()) {
        return Err(PolicyError::CannotDelete { name });
    }
    if name == DEFAULT_POLICY_NAME {
        return Err(PolicyError::CannotDeleteDefault);
    }
    Ok(name)
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// `(path as written, body)` pairs, in document order.
type PathBlocks = Vec<(String, Map<String, Value>)>;

fn blocks_from_hcl(text: &str) -> Result<PathBlocks, PolicyError> {
    let body = hcl::parse(text).map_err(|e| PolicyError::Syntax(e.to_string().trim().into()))?;
    let mut blocks = Vec::new();
    for structure in body {
        match structure {
            Structure::Attribute(attr) => match attr.key.as_str() {
                "name" => {
                    if !matches!(attr.expr, Expression::String(_)) {
                        return Err(PolicyError::Syntax(
                            "field \"name\" must be a string".into(),
                        ));
                    }
                }
                "path" => {
                    let value = expr_to_value(&attr.expr).map_err(|reason| {
                        PolicyError::Syntax(format!("field \"path\" {reason}"))
                    })?;
                    blocks.extend(path_object_entries(value)?);
                }
                other => {
                    return Err(PolicyError::InvalidTopLevelKey {
                        key: other.to_string(),
                    });
                }
            },
            Structure::Block(block) => {
                if block.identifier.as_str() != "path" {
                    return Err(PolicyError::InvalidTopLevelKey {
                        key: block.identifier.as_str().to_string(),
                    });
                }
                let [label] = block.labels.as_slice() else {
                    return Err(PolicyError::Syntax(format!(
                        "a path block needs exactly one label (the path), found {}",
                        block.labels.len()
                    )));
                };
                let path = label_str(label).to_string();
                let body = body_to_map(&block.body).map_err(|(field, reason)| {
                    PolicyError::InvalidField {
                        path: path.clone(),
                        field,
                        reason,
                    }
                })?;
                blocks.push((path, body));
            }
        }
    }
    Ok(blocks)
}

fn blocks_from_json(text: &str) -> Result<PathBlocks, PolicyError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(PolicyError::Syntax(
            "does not contain a root object".to_string(),
        ));
    };
    let mut blocks = Vec::new();
    for (key, value) in top {
        match key.as_str() {
            "name" => {
                if !value.is_string() {
                    return Err(PolicyError::Syntax(
                        "field \"name\" must be a string".into(),
                    ));
                }
            }
            "path" => match value {
                // HCL1's JSON form also allows a list of path objects.
                Value::Array(items) => {
                    for item in items {
                        blocks.extend(path_object_entries(item)?);
                    }
                }
                other => blocks.extend(path_object_entries(other)?),
            },
            _ => return Err(PolicyError::InvalidTopLevelKey { key }),
        }
    }
    Ok(blocks)
}

/// `{ "secret/*" = { capabilities = [...] }, ... }` → path blocks.
fn path_object_entries(value: Value) -> Result<PathBlocks, PolicyError> {
    let Value::Object(paths) = value else {
        return Err(PolicyError::Syntax(
            "field \"path\" must be an object of path blocks".to_string(),
        ));
    };
    paths
        .into_iter()
        .map(|(path, body)| match body {
            Value::Object(body) => Ok((path, body)),
            _ => Err(PolicyError::Syntax(format!(
                "path {path:?} must be an object"
            ))),
        })
        .collect()
}

fn label_str(label: &BlockLabel) -> &str {
    match label {
        BlockLabel::Identifier(ident) => ident.as_str(),
        BlockLabel::String(s) => s.as_str(),
    }
}

/// Converts a block body into a JSON object; nested blocks become (label-keyed) objects.
/// Errors are `(field, reason)`.
fn body_to_map(body: &hcl::Body) -> Result<Map<String, Value>, (String, String)> {
    let mut map = Map::new();
    for structure in body {
        match structure {
            Structure::Attribute(attr) => {
                let value = expr_to_value(&attr.expr)
                    .map_err(|reason| (attr.key.as_str().to_string(), reason))?;
                map.insert(attr.key.as_str().to_string(), value);
            }
            Structure::Block(block) => {
                let field = block.identifier.as_str().to_string();
                let mut value = Value::Object(body_to_map(&block.body)?);
                for label in block.labels.iter().rev() {
                    let mut wrapper = Map::new();
                    wrapper.insert(label_str(label).to_string(), value);
                    value = Value::Object(wrapper);
                }
                match (map.get_mut(&field), value) {
                    (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                    (_, value) => {
                        map.insert(field, value);
                    }
                }
            }
        }
    }
    Ok(map)
}

/// Converts a literal HCL expression to JSON; anything computed is refused.
fn expr_to_value(expr: &Expression) -> Result<Value, String> {
    Ok(match expr {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| "has an invalid number".to_string())?
            }
        }
        Expression::String(s) => Value::String(s.clone()),
        Expression::Array(items) => {
            Value::Array(items.iter().map(expr_to_value).collect::<Result<_, _>>()?)
        }
        Expression::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object {
                let key = match key {
                    ObjectKey::Identifier(ident) => ident.as_str().to_string(),
                    ObjectKey::Expression(Expression::String(s)) => s.clone(),
                    ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                    _ => return Err("has an object key that is not a literal string".into()),
                };
                map.insert(key, expr_to_value(value)?);
            }
            Value::Object(map)
        }
        Expression::Parenthesis(inner) => expr_to_value(inner)?,
        _ => return Err("must be a literal value (no interpolation or expressions)".into()),
    })
}

/// Validates `{{...}}` templating in a path; returns whether the path is templated.
fn check_template(path: &str) -> Result<bool, PolicyError> {
    let err = |reason: &str| PolicyError::InvalidTemplate {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let mut rest = path;
    let mut templated = false;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(err("unbalanced '{{' (missing '}}')"));
        };
        let param = after[..end].trim();
        if !param.starts_with("identity.") {
            return Err(err("only identity.* parameters can be templated"));
        }
        templated = true;
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(err("unbalanced '}}' (missing '{{')"));
    }
    Ok(templated)
}

fn parse_path_rule(raw_path: &str, body: &Map<String, Value>) -> Result<PathRule, PolicyError> {
    let field_err = |field: &str, reason: &str| PolicyError::InvalidField {
        path: raw_path.to_string(),
        field: field.to_string(),
        reason: reason.to_string(),
    };

    let templated = check_template(raw_path)?;
    if let Some(key) = body.keys().find(|k| !VALID_PATH_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::InvalidPathKey {
            path: raw_path.to_string(),
            key: key.clone(),
        });
    }

    // Paths in Vault start after the "/" of the API path.
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path).to_string();
    if path.contains("+*") {
        return Err(PolicyError::InvalidWildcard { path });
    }
    let has_segment_wildcards = path == "+" || path.contains("/+") || path.starts_with("+/");
    let (key, is_prefix) = match path.strip_suffix('*') {
        Some(stripped) if !has_segment_wildcards => (stripped.to_string(), true),
        _ => (path.clone(), false),
    };

    let mut caps: Vec<String> = match body.get("capabilities") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => string_list(value)
            .ok_or_else(|| field_err("capabilities", "must be a list of strings"))?,
    };
    match body.get("policy") {
        None | Some(Value::Null) => {}
        Some(Value::String(legacy)) => match legacy.as_str() {
            "" => {}
            "deny" => caps = vec!["deny".to_string()],
            "read" => caps.extend(["read", "list"].map(String::from)),
            "write" => {
                caps.extend(["create", "read", "update", "delete", "list"].map(String::from))
            }
            "sudo" => caps
                .extend(["create", "read", "update", "delete", "list", "sudo"].map(String::from)),
            other => {
                return Err(PolicyError::InvalidLegacyPolicy {
                    path: raw_path.to_string(),
                    policy: other.to_string(),
                });
            }
        },
        Some(_) => return Err(field_err("policy", "must be a string")),
    }

    let mut rule = PathRule {
        path,
        capabilities: Vec::new(),
        allowed_parameters: BTreeMap::new(),
        denied_parameters: BTreeMap::new(),
        required_parameters: Vec::new(),
        min_wrapping_ttl: None,
        max_wrapping_ttl: None,
        templated,
        bits: 0,
        key,
        is_prefix,
        has_segment_wildcards,
    };

    for cap in &caps {
        let capability = Capability::from_str(cap).map_err(|_| PolicyError::InvalidCapability {
            path: raw_path.to_string(),
            capability: cap.clone(),
        })?;
        if capability == Capability::Deny {
            // Like Vault: deny replaces everything and the rest of the block is not read.
            rule.bits = DENY_BIT;
            rule.capabilities = vec![Capability::Deny];
            return Ok(rule);
        }
        rule.bits |= capability.bit();
    }
    rule.capabilities = Capability::from_bits(rule.bits);

    if let Some(value) = body.get("allowed_parameters") {
        rule.allowed_parameters = parameter_map(value)
            .ok_or_else(|| field_err("allowed_parameters", "must be an object of lists"))?;
    }
    if let Some(value) = body.get("denied_parameters") {
        rule.denied_parameters = parameter_map(value)
            .ok_or_else(|| field_err("denied_parameters", "must be an object of lists"))?;
    }
    if let Some(value) = body.get("required_parameters") {
        rule.required_parameters = string_list(value)
            .ok_or_else(|| field_err("required_parameters", "must be a list of strings"))?;
    }
    for field in ["mfa_methods", "subscribe_event_types"] {
        if let Some(value) = body.get(field) {
            string_list(value).ok_or_else(|| field_err(field, "must be a list of strings"))?;
        }
    }
    rule.min_wrapping_ttl = wrapping_ttl(body, "min_wrapping_ttl", raw_path)?;
    rule.max_wrapping_ttl = wrapping_ttl(body, "max_wrapping_ttl", raw_path)?;
    if let (Some(min), Some(max)) = (rule.min_wrapping_ttl, rule.max_wrapping_ttl)
        && max < min
    {
        return Err(field_err(
            "max_wrapping_ttl",
            "cannot be less than min_wrapping_ttl",
        ));
    }
    Ok(rule)
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// `{ "name" = ["v1", "v2"], "other" = [] }`; a scalar is taken as a one-element list.
fn parameter_map(value: &Value) -> Option<BTreeMap<String, Vec<Value>>> {
    match value {
        Value::Null => Some(BTreeMap::new()),
        Value::Object(map) => Some(
            map.iter()
                .map(|(k, v)| {
                    let values = match v {
                        Value::Array(items) => items.clone(),
                        Value::Null => Vec::new(),
                        scalar => vec![scalar.clone()],
                    };
                    (k.to_lowercase(), values)
                })
                .collect(),
        ),
        _ => None,
    }
}

fn wrapping_ttl(
    body: &Map<String, Value>,
    field: &str,
    path: &str,
) -> Result<Option<Duration>, PolicyError> {
    let Some(value) = body.get(field) else {
        return Ok(None);
    };
    let duration = parse_duration_second(value).map_err(|reason| PolicyError::InvalidField {
        path: path.to_string(),
        field: field.to_string(),
        reason,
    })?;
    Ok(duration.filter(|d| !d.is_zero()))
}

/// Vault's `parseutil.ParseDurationSecond` on an HCL value: the one duration parser of
/// `shared` (`parse_hcl_duration`), with its Go texts.
fn parse_duration_second(value: &Value) -> Result<Option<Duration>, String> {
    shared::pki::duration::parse_hcl_duration(value).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// ACL
// ---------------------------------------------------------------------------------------------

/// Merged permissions of every rule with the same pattern (Vault's `ACLPermissions`).
#[derive(Debug, Clone, Default)]
struct Permissions {
    bits: u32,
    min_wrapping_ttl: Option<Duration>,
    max_wrapping_ttl: Option<Duration>,
    allowed_parameters: BTreeMap<String, Vec<Value>>,
    denied_parameters: BTreeMap<String, Vec<Value>>,
    required_parameters: Vec<String>,
    /// Capability bit → names of the policies granting it.
    granting: BTreeMap<u32, Vec<String>>,
}

impl Permissions {
    fn from_rule(rule: &PathRule, policy: &str) -> Permissions {
        let mut perms = Permissions {
            bits: rule.bits,
            min_wrapping_ttl: rule.min_wrapping_ttl,
            max_wrapping_ttl: rule.max_wrapping_ttl,
            allowed_parameters: rule.allowed_parameters.clone(),
            denied_parameters: rule.denied_parameters.clone(),
            required_parameters: rule.required_parameters.clone(),
            granting: BTreeMap::new(),
        };
        perms.add_granting(rule.bits, policy);
        perms
    }

    fn add_granting(&mut self, bits: u32, policy: &str) {
        for cap in Capability::from_bits(bits) {
            let names = self.granting.entry(cap.bit()).or_default();
            if !names.iter().any(|n| n == policy) {
                names.push(policy.to_string());
            }
        }
    }

    /// Vault's merge in `NewACL`.
    fn merge(&mut self, rule: &PathRule, policy: &str) {
        if self.bits & DENY_BIT != 0 {
            return;
        }
        if rule.bits & DENY_BIT != 0 {
            self.bits = DENY_BIT;
            self.allowed_parameters.clear();
            self.denied_parameters.clear();
            return;
        }
        self.bits |= rule.bits;
        self.add_granting(rule.bits, policy);
        // The lesser of two maxima / minima wins.
        if let Some(max) = rule.max_wrapping_ttl
            && self.max_wrapping_ttl.is_none_or(|current| max < current)
        {
            self.max_wrapping_ttl = Some(max);
        }
        if let Some(min) = rule.min_wrapping_ttl
            && self.min_wrapping_ttl.is_none_or(|current| min < current)
        {
            self.min_wrapping_ttl = Some(min);
        }
        merge_parameters(&mut self.allowed_parameters, &rule.allowed_parameters);
        merge_parameters(&mut self.denied_parameters, &rule.denied_parameters);
        for param in &rule.required_parameters {
            if !self.required_parameters.contains(param) {
                self.required_parameters.push(param.clone());
            }
        }
    }
}

/// An empty list on either side wins (any value); otherwise the lists are concatenated.
fn merge_parameters(
    existing: &mut BTreeMap<String, Vec<Value>>,
    new: &BTreeMap<String, Vec<Value>>,
) {
    for (key, values) in new {
        match existing.get_mut(key) {
            Some(current) if current.is_empty() => {}
            Some(current) if values.is_empty() => current.clear(),
            Some(current) => {
                let mut merged = values.clone();
                merged.append(current);
                *current = merged;
            }
            None => {
                existing.insert(key.clone(), values.clone());
            }
        }
    }
}

/// A request to check against an [`Acl`], with the optional details Vault also looks at.
#[derive(Debug, Clone, Copy)]
pub struct AclRequest<'a> {
    /// Request path without `/v1/`, e.g. `pki_int/sign/fruits-catalog`.
    pub path: &'a str,
    pub operation: Operation,
    /// Request parameters (body, or query for reads), for parameter constraints.
    pub data: Option<&'a Map<String, Value>>,
    /// Requested response-wrapping TTL, for `min_wrapping_ttl` / `max_wrapping_ttl`.
    pub wrap_ttl: Option<Duration>,
}

impl<'a> AclRequest<'a> {
    pub fn new(path: &'a str, operation: Operation) -> AclRequest<'a> {
        AclRequest {
            path,
            operation,
            data: None,
            wrap_ttl: None,
        }
    }

    pub fn with_data(mut self, data: &'a Map<String, Value>) -> AclRequest<'a> {
        self.data = Some(data);
        self
    }

    pub fn with_wrap_ttl(mut self, ttl: Duration) -> AclRequest<'a> {
        self.wrap_ttl = Some(ttl);
        self
    }
}

/// The outcome of [`Acl::authorize`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclDecision {
    /// The operation is permitted.
    pub allowed: bool,
    /// The matched rule has `sudo` (Vault's `RootPrivs`), regardless of the operation; a
    /// root-protected path needs `allowed && sudo`.
    pub sudo: bool,
    /// The ACL is the root policy.
    pub is_root: bool,
    /// Policies granting the needed capability (for audit logs), empty when denied.
    pub granting_policies: Vec<String>,
}

/// The compiled ACL of a token: every rule of its policies, merged per pattern.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    root: bool,
    exact: HashMap<String, Permissions>,
    prefix: HashMap<String, Permissions>,
    /// Keyed by the full pattern (a trailing `*` kept).
    segment: HashMap<String, Permissions>,
}

struct Candidate<'a> {
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    pattern: &'a str,
    perms: &'a Permissions,
}

impl Candidate<'_> {
    /// Vault's priority order: the later the first wildcard/glob, non-prefix over prefix,
    /// fewer `+` segments, longer pattern, then lexicographically greater.
    fn priority(&self, other: &Candidate<'_>) -> Ordering {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.is_prefix.cmp(&self.is_prefix))
            .then_with(|| other.wildcards.cmp(&self.wildcards))
            .then_with(|| self.pattern.len().cmp(&other.pattern.len()))
            .then_with(|| self.pattern.cmp(other.pattern))
    }
}

impl Acl {
    /// Builds the ACL from a token's policies. `root` (or a policy named `root`) allows
    /// everything. Templated rules are skipped (no identity entities in the engine).
    pub fn new(policies: &[Policy], root: bool) -> Acl {
        Acl::from_policies(policies, root)
    }

    /// As [`Acl::new`], from policies held anywhere (the [`PolicyCache`]'s shared ones).
    pub fn from_policies<'a>(policies: impl IntoIterator<Item = &'a Policy>, root: bool) -> Acl {
        let mut acl = Acl {
            root,
            ..Acl::default()
        };
        for policy in policies {
            if policy.name == ROOT_POLICY_NAME {
                acl.root = true;
            }
            for rule in policy.rules.iter().filter(|r| !r.templated) {
                let tree = if rule.has_segment_wildcards {
                    &mut acl.segment
                } else if rule.is_prefix {
                    &mut acl.prefix
                } else {
                    &mut acl.exact
                };
                match tree.get_mut(&rule.key) {
                    Some(existing) => existing.merge(rule, &policy.name),
                    None => {
                        tree.insert(rule.key.clone(), Permissions::from_rule(rule, &policy.name));
                    }
                }
            }
        }
        acl
    }

    /// Whether this is the root ACL.
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// Whether `op` on `path` (no `/v1/`) is allowed, with no request data and no wrapping.
    /// For `List`, a trailing `/` is added as Vault's HTTP layer does.
    pub fn allows(&self, path: &str, op: Operation) -> bool {
        self.authorize(&AclRequest::new(path, op)).allowed
    }

    /// Whether the rule matching `path` grants `sudo` (needed on root-protected paths).
    pub fn allows_sudo(&self, path: &str) -> bool {
        self.root
            || self
                .lookup(trim_leading_slashes(path), false)
                .is_some_and(|p| p.bits & SUDO_BIT != 0)
    }

    /// The capabilities on `path` as `sys/capabilities-self` returns them: sorted, `["root"]`
    /// for root, `["deny"]` when denied or when nothing matches.
    pub fn capabilities(&self, path: &str) -> Vec<String> {
        if self.root {
            return vec![ROOT_POLICY_NAME.to_string()];
        }
        let bits = self
            .lookup(trim_leading_slashes(path), true)
            .map_or(0, |p| p.bits);
        if bits & DENY_BIT != 0 || bits == 0 {
            return vec![Capability::Deny.as_str().to_string()];
        }
        let mut caps: Vec<String> = Capability::from_bits(bits)
            .into_iter()
            .map(|c| c.as_str().to_string())
            .collect();
        caps.sort();
        caps
    }

    /// Vault's `AllowOperation`: capability, wrapping TTL and parameter checks.
    pub fn authorize(&self, req: &AclRequest<'_>) -> AclDecision {
        if self.root {
            return AclDecision {
                allowed: true,
                sudo: true,
                is_root: true,
                granting_policies: vec![ROOT_POLICY_NAME.to_string()],
            };
        }
        let op = req.operation;
        let trimmed = trim_leading_slashes(req.path);
        let list_path;
        let path = if op == Operation::List && !trimmed.ends_with('/') {
            list_path = format!("{trimmed}/");
            list_path.as_str()
        } else {
            trimmed
        };
        let mut decision = AclDecision::default();
        let Some(perms) = self.lookup(path, op == Operation::List) else {
            return decision;
        };
        decision.sudo = perms.bits & SUDO_BIT != 0;
        let needed = op.capability().bit();
        if perms.bits & needed == 0 {
            return decision;
        }
        if let Some(max) = perms.max_wrapping_ttl
            && req.wrap_ttl.is_none_or(|ttl| ttl > max)
        {
            return decision;
        }
        if let Some(min) = perms.min_wrapping_ttl
            && req.wrap_ttl.is_none_or(|ttl| ttl < min)
        {
            return decision;
        }
        if let (Some(min), Some(max)) = (perms.min_wrapping_ttl, perms.max_wrapping_ttl)
            && max < min
        {
            return decision;
        }
        if op.checks_parameters() && !parameters_allowed(perms, req.data) {
            return decision;
        }
        decision.allowed = true;
        decision.granting_policies = perms.granting.get(&needed).cloned().unwrap_or_default();
        decision
    }

    /// Finds the rule deciding `path`: exact match first, then Vault's list fallbacks, then the
    /// highest-priority prefix / segment-wildcard pattern.
    fn lookup(&self, path: &str, list: bool) -> Option<&Permissions> {
        if let Some(perms) = self.exact.get(path) {
            return Some(perms);
        }
        let without_slash = path.strip_suffix('/');
        if list && let Some(perms) = self.exact.get(without_slash.unwrap_or(path)) {
            return Some(perms);
        }
        if list
            && let Some(stripped) = without_slash
            && let Some(perms) = self.non_exact(stripped)
        {
            return Some(perms);
        }
        self.non_exact(path)
    }

    /// Vault's `CheckAllowedFromNonExactPaths` (without the bare-mount mode).
    fn non_exact(&self, path: &str) -> Option<&Permissions> {
        let prefix = self
            .prefix
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, perms)| Candidate {
                first_wildcard: prefix.len(),
                is_prefix: true,
                wildcards: 0,
                pattern: prefix,
                perms,
            });
        let parts: Vec<&str> = path.split('/').collect();
        self.segment
            .iter()
            .filter_map(|(full, perms)| match_segment_pattern(full, &parts, perms))
            .chain(prefix)
            .max_by(|a, b| a.priority(b))
            .map(|c| c.perms)
    }
}

fn match_segment_pattern<'a>(
    full: &'a str,
    parts: &[&str],
    perms: &'a Permissions,
) -> Option<Candidate<'a>> {
    if full.is_empty() {
        return None;
    }
    let first_wildcard = full.find('+').unwrap_or(0);
    let (pattern, is_prefix) = match full.strip_suffix('*') {
        Some(stripped) => (stripped, true),
        None => (full, false),
    };
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() < pattern_parts.len() || (!is_prefix && parts.len() != pattern_parts.len()) {
        return None;
    }
    let last = pattern_parts.len() - 1;
    let mut wildcards = 0;
    for (i, (acl_part, part)) in pattern_parts.iter().zip(parts).enumerate() {
        if *acl_part == "+" {
            wildcards += 1;
        } else if acl_part == part || (is_prefix && i == last && part.starts_with(acl_part)) {
            // literal segment, or the globbed last segment
        } else {
            return None;
        }
    }
    Some(Candidate {
        first_wildcard,
        is_prefix,
        wildcards,
        pattern,
        perms,
    })
}

fn trim_leading_slashes(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// Required / denied / allowed parameter checks from `AllowOperation`.
fn parameters_allowed(perms: &Permissions, data: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let data = data.unwrap_or(&empty);
    if perms
        .required_parameters
        .iter()
        .any(|p| !data.contains_key(&p.to_lowercase()))
    {
        return false;
    }
    if data.is_empty() {
        return true;
    }
    if !perms.denied_parameters.is_empty() {
        if perms.denied_parameters.contains_key("*") {
            return false;
        }
        let denied = data.iter().any(|(name, value)| {
            perms
                .denied_parameters
                .get(&name.to_lowercase())
                .is_some_and(|list| value_in_list(value, list, true))
        });
        if denied {
            return false;
        }
    }
    if perms.allowed_parameters.is_empty() {
        return true;
    }
    let allowed_all = perms.allowed_parameters.contains_key("*");
    if allowed_all && perms.allowed_parameters.len() == 1 {
        return true;
    }
    data.iter().all(
        |(name, value)| match perms.allowed_parameters.get(&name.to_lowercase()) {
            None => allowed_all,
            Some(list) => value_in_list(value, list, false),
        },
    )
}

/// An empty list matches anything; strings match with a leading and/or trailing `*` glob.
///
/// Numbers: Vault compares the request's `json.Number` with the policy's integer by
/// `reflect.DeepEqual`, which is never true, so in OpenBao 2.7.2 a number in the request
/// matches no listed value. We keep that where it refuses (`allowed_parameters`:
/// `numbers_match` false) but not where it would let a request through that the policy
/// names (`denied_parameters`: numbers compared by value, so `"key_bits" = [1024]`
/// denies `1024`; a documented departure).
fn value_in_list(value: &Value, list: &[Value], numbers_match: bool) -> bool {
    list.is_empty()
        || list.iter().any(|item| match (item, value) {
            (Value::String(pattern), Value::String(v)) => globbed_strings_match(pattern, v),
            (_, Value::Number(_)) if !numbers_match => false,
            _ => item == value,
        })
}

/// Vault's `strutil.GlobbedStringsMatch`.
fn globbed_strings_match(item: &str, value: &str) -> bool {
    if item.len() < 2 {
        return value == item;
    }
    match (item.strip_prefix('*'), item.strip_suffix('*')) {
        (Some(_), Some(_)) => value.contains(&item[1..item.len() - 1]),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, Some(prefix)) => value.starts_with(prefix),
        (None, None) => value == item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acl_of(hcls: &[&str]) -> Acl {
        let policies: Vec<Policy> = hcls
            .iter()
            .enumerate()
            .map(|(i, text)| match Policy::parse(&format!("p{i}"), text) {
                Ok(policy) => policy,
                Err(e) => panic!("policy {i} should parse: {e}"),
            })
            .collect();
        Acl::new(&policies, false)
    }

    fn check(policy_hcl: &str, path: &str, op: Operation, expected: bool) {
        check_many(&[policy_hcl], path, op, expected);
    }

    fn check_many(hcls: &[&str], path: &str, op: Operation, expected: bool) {
        let acl = acl_of(hcls);
        assert_eq!(
            acl.allows(path, op),
            expected,
            "{op} {path} with policies {hcls:?}"
        );
    }

    use Operation::{Create, Delete, List, Patch, Read, Update};

    const FRUITS: &str =
        r#"path "pki_int/sign/fruits-catalog" { capabilities = ["create","update"] }"#;
    const SECRET_FOO_READ: &str = r#"path "secret/foo" { capabilities = ["read"] }"#;
    const SECRET_BAR_GLOB: &str = r#"path "secret/bar/*" { capabilities = ["read"] }"#;
    const DENY_SUPER: &str = r#"
        path "secret/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
        # explicitly denied, takes precedence
        path "secret/super-secret" { capabilities = ["deny"] }
    "#;

    #[test]
    #[rustfmt::skip]
    fn single_policy_table() {
        let cases: &[(&str, &str, Operation, bool)] = &[
            // exact path
            (SECRET_FOO_READ, "secret/foo", Read, true),
            (SECRET_FOO_READ, "secret/foo", Update, false),
            (SECRET_FOO_READ, "secret/food", Read, false),
            (SECRET_FOO_READ, "secret/foo/bar", Read, false),
            (SECRET_FOO_READ, "secret", Read, false),
            (SECRET_FOO_READ, "/secret/foo", Read, true),
            (r#"path "/secret/foo" { capabilities = ["read"] }"#, "secret/foo", Read, true),
            // `*` suffix glob = prefix match
            (SECRET_BAR_GLOB, "secret/bar/zip", Read, true),
            (SECRET_BAR_GLOB, "secret/bar/zip/zap", Read, true),
            (SECRET_BAR_GLOB, "secret/bars/zip", Read, false),
            (SECRET_BAR_GLOB, "secret/bar", Read, false),
            (r#"path "secret/zip-*" { capabilities = ["read"] }"#, "secret/zip-zap", Read, true),
            (r#"path "secret/zip-*" { capabilities = ["read"] }"#, "secret/zip-zap/zong", Read, true),
            (r#"path "secret/zip-*" { capabilities = ["read"] }"#, "secret/zip/zap", Read, false),
            (r#"path "*" { capabilities = ["read"] }"#, "sys/mounts", Read, true),
            (r#"path "*" { capabilities = ["read"] }"#, "sys/mounts", Update, false),
            // a `*` that is not last is literal
            (r#"path "secret/*/x" { capabilities = ["read"] }"#, "secret/a/x", Read, false),
            (r#"path "secret/*/x" { capabilities = ["read"] }"#, "secret/*/x", Read, true),
            // `+` single-segment wildcard
            (r#"path "secret/+/teamb" { capabilities = ["read"] }"#, "secret/foo/teamb", Read, true),
            (r#"path "secret/+/teamb" { capabilities = ["read"] }"#, "secret/foo/bar/teamb", Read, false),
            (r#"path "secret/+/teamb" { capabilities = ["read"] }"#, "secret/teamb", Read, false),
            (r#"path "secret/+/+/teamb" { capabilities = ["read"] }"#, "secret/foo/bar/teamb", Read, true),
            (r#"path "+/sign/fruits" { capabilities = ["update"] }"#, "pki/sign/fruits", Update, true),
            (r#"path "+" { capabilities = ["read"] }"#, "anything", Read, true),
            (r#"path "+" { capabilities = ["read"] }"#, "any/thing", Read, false),
            // `+` combined with `*`
            (r#"path "secret/+/data/*" { capabilities = ["read"] }"#, "secret/a/data/x/y", Read, true),
            (r#"path "secret/+/data/*" { capabilities = ["read"] }"#, "secret/a/meta/x", Read, false),
            (r#"path "secret/+/data/*" { capabilities = ["read"] }"#, "secret/a/data", Read, false),
            (r#"path "pki/+/fruits*" { capabilities = ["update"] }"#, "pki/sign/fruits-catalog", Update, true),
            (r#"path "pki/+/fruits*" { capabilities = ["update"] }"#, "pki/sign/veggies", Update, false),
            // deny overrides everything on the matched rule
            (DENY_SUPER, "secret/super-secret", Read, false),
            (DENY_SUPER, "secret/super-secret", Delete, false),
            (DENY_SUPER, "secret/other", Read, true),
            (DENY_SUPER, "secret/super-secret-2", Read, true),
            (r#"path "secret/x" { capabilities = ["read", "sudo", "deny"] }"#, "secret/x", Read, false),
            (r#"path "secret/x" { capabilities = ["deny", "read"] }"#, "secret/x", Read, false),
            // list vs read
            (SECRET_FOO_READ, "secret/foo", List, false),
            (r#"path "secret/foo" { capabilities = ["list"] }"#, "secret/foo", List, true),
            (r#"path "secret/foo" { capabilities = ["list"] }"#, "secret/foo/", List, true),
            (r#"path "secret/foo" { capabilities = ["list"] }"#, "secret/foo", Read, false),
            (r#"path "pki_int/roles/*" { capabilities = ["list"] }"#, "pki_int/roles", List, true),
            (r#"path "pki_int/roles/*" { capabilities = ["list"] }"#, "pki_int/roles", Read, false),
            (r#"path "pki_int/roles/" { capabilities = ["list"] }"#, "pki_int/roles", List, true),
            // create vs update vs patch
            (r#"path "kv/a" { capabilities = ["create"] }"#, "kv/a", Create, true),
            (r#"path "kv/a" { capabilities = ["create"] }"#, "kv/a", Update, false),
            (r#"path "kv/a" { capabilities = ["update"] }"#, "kv/a", Create, false),
            (r#"path "kv/a" { capabilities = ["update"] }"#, "kv/a", Patch, false),
            (r#"path "kv/a" { capabilities = ["patch"] }"#, "kv/a", Patch, true),
            (r#"path "kv/a" { capabilities = ["delete"] }"#, "kv/a", Delete, true),
            (r#"path "kv/a" { capabilities = ["delete"] }"#, "kv/a", Read, false),
            // legacy `policy = ...`
            (r#"path "kv/*" { policy = "read" }"#, "kv/a", Read, true),
            (r#"path "kv/*" { policy = "read" }"#, "kv/a", List, true),
            (r#"path "kv/*" { policy = "read" }"#, "kv/a", Update, false),
            (r#"path "kv/*" { policy = "write" }"#, "kv/a", Create, true),
            (r#"path "kv/*" { policy = "write" }"#, "kv/a", Update, true),
            (r#"path "kv/*" { policy = "write" }"#, "kv/a", Delete, true),
            (r#"path "kv/*" { policy = "write" }"#, "kv/a", Patch, false),
            (r#"path "kv/*" { policy = "sudo" }"#, "kv/a", Delete, true),
            (r#"path "kv/*" { policy = "deny" }"#, "kv/a", Read, false),
            (r#"path "kv/*" {
                policy = "deny"
                capabilities = ["read"]
            }"#, "kv/a", Read, false),
            (r#"path "kv/*" {
                policy = "read"
                capabilities = ["update"]
            }"#, "kv/a", Update, true),
            // an exact rule with no capabilities still shadows a glob
            (r#"path "secret/foo" {}
                path "secret/*" { capabilities = ["read"] }"#, "secret/foo", Read, false),
            // a comment-only policy grants nothing
            ("# nothing here\n", "secret/foo", Read, false),
            // the fruits-catalog token
            (FRUITS, "pki_int/sign/fruits-catalog", Update, true),
            (FRUITS, "pki_int/sign/fruits-catalog", Create, true),
            (FRUITS, "pki_int/sign/fruits-catalog", Read, false),
            (FRUITS, "pki_int/issue/fruits-catalog", Update, false),
            (FRUITS, "pki_int/sign/fruits-catalog-2", Update, false),
            (FRUITS, "sys/mounts", Read, false),
            (FRUITS, "auth/token/lookup-self", Read, false),
        ];
        for (hcl, path, op, expected) in cases {
            check(hcl, path, *op, *expected);
        }
        assert!(cases.len() >= 30);
    }

    #[test]
    #[rustfmt::skip]
    fn merging_and_priority_table() {
        let cases: &[(&[&str], &str, Operation, bool)] = &[
            // same pattern in two policies: union
            (&[SECRET_FOO_READ, r#"path "secret/foo" { capabilities = ["update"] }"#], "secret/foo", Update, true),
            (&[SECRET_FOO_READ, r#"path "secret/foo" { capabilities = ["update"] }"#], "secret/foo", Read, true),
            // same pattern twice in one policy: union too
            (&[r#"path "a/b" { capabilities = ["read"] }
                path "a/b" { capabilities = ["list"] }"#], "a/b", List, true),
            // deny wins on the same pattern, whatever the order
            (&[SECRET_FOO_READ, r#"path "secret/foo" { capabilities = ["deny"] }"#], "secret/foo", Read, false),
            (&[r#"path "secret/foo" { capabilities = ["deny"] }"#, SECRET_FOO_READ], "secret/foo", Read, false),
            (&[r#"path "secret/*" { capabilities = ["deny"] }"#, r#"path "secret/*" { capabilities = ["read"] }"#], "secret/x", Read, false),
            // different patterns: the most specific decides, no union
            (&[r#"path "secret/*" { capabilities = ["update"] }"#, SECRET_FOO_READ], "secret/foo", Update, false),
            (&[r#"path "secret/*" { capabilities = ["update"] }"#, SECRET_FOO_READ], "secret/foo", Read, true),
            // longest prefix wins
            (&[r#"path "secret/*" { capabilities = ["read"] }"#, r#"path "secret/foo/*" { capabilities = ["list"] }"#], "secret/foo/bar", Read, false),
            (&[r#"path "secret/*" { capabilities = ["read"] }"#, r#"path "secret/foo/*" { capabilities = ["list"] }"#], "secret/baz", Read, true),
            // same first-wildcard position: non-prefix `+` beats the glob
            (&[r#"path "secret/*" { capabilities = ["deny"] }"#, r#"path "secret/+/foo" { capabilities = ["read"] }"#], "secret/a/foo", Read, true),
            // a later glob beats an earlier `+`
            (&[r#"path "secret/a*" { capabilities = ["update"] }"#, r#"path "secret/+" { capabilities = ["read"] }"#], "secret/ab", Read, false),
            (&[r#"path "secret/a*" { capabilities = ["update"] }"#, r#"path "secret/+" { capabilities = ["read"] }"#], "secret/ab", Update, true),
            // fewer `+` segments wins (the docs' example)
            (&[r#"path "secret/*" { capabilities = ["read"] }"#, r#"path "secret/+/+/foo/*" { capabilities = ["update"] }"#], "secret/a/b/foo/c", Update, false),
            (&[r#"path "secret/bar/+/baz" { capabilities = ["read"] }"#, r#"path "secret/+/+/baz" { capabilities = ["update"] }"#], "secret/bar/x/baz", Read, true),
            // later first wildcard wins: foo/bar/+/baz over foo/+/bar/baz
            (&[r#"path "foo/+/bar/baz" { capabilities = ["update"] }"#, r#"path "foo/bar/+/baz" { capabilities = ["read"] }"#], "foo/bar/bar/baz", Update, false),
            // longer pattern wins: ba* over b*
            (&[r#"path "secret/+/bar/b*" { capabilities = ["update"] }"#, r#"path "secret/+/bar/ba*" { capabilities = ["read"] }"#], "secret/x/bar/baz", Update, false),
            // non-prefix over prefix: foo/+ over foo/*
            (&[r#"path "foo/*" { capabilities = ["update"] }"#, r#"path "foo/+" { capabilities = ["read"] }"#], "foo/x", Update, false),
            (&[r#"path "foo/*" { capabilities = ["update"] }"#, r#"path "foo/+" { capabilities = ["read"] }"#], "foo/x/y", Update, true),
            // exact beats everything
            (&[r#"path "+/+" { capabilities = ["update"] }"#, r#"path "pki/issue" { capabilities = ["read"] }"#], "pki/issue", Update, false),
            // default + fruits token
            (&[DEFAULT_POLICY_HCL, FRUITS], "pki_int/sign/fruits-catalog", Update, true),
            (&[DEFAULT_POLICY_HCL, FRUITS], "pki_int/issue/fruits-catalog", Update, false),
            (&[DEFAULT_POLICY_HCL, FRUITS], "sys/mounts", Read, false),
            (&[DEFAULT_POLICY_HCL, FRUITS], "auth/token/lookup-self", Read, true),
            (&[], "auth/token/lookup-self", Read, false),
        ];
        for (hcls, path, op, expected) in cases {
            check_many(hcls, path, *op, *expected);
        }
    }

    #[test]
    fn default_policy() {
        let policy = Policy::default_policy();
        assert_eq!(policy.name, "default");
        assert!(policy.is_templated());
        assert!(!policy.rules().is_empty());
        let acl = Acl::new(&[policy], false);
        assert!(acl.allows("auth/token/lookup-self", Read));
        assert!(!acl.allows("auth/token/lookup-self", Update));
        assert!(acl.allows("auth/token/renew-self", Update));
        assert!(acl.allows("auth/token/revoke-self", Update));
        assert!(acl.allows("sys/capabilities-self", Update));
        assert!(acl.allows("sys/leases/renew", Update));
        assert!(acl.allows("cubbyhole/mine", Create));
        assert!(acl.allows("sys/tools/hash/sha2-256", Update));
        assert!(acl.allows("identity/oidc/provider/default/authorize", Read));
        assert!(!acl.allows("auth/token/create", Update));
        assert!(!acl.allows("sys/mounts", Read));
        assert!(!acl.allows("sys/policies/acl/default", Read));
        // templated rules never match without an identity entity
        assert!(!acl.allows("identity/entity/id/{{identity.entity.id}}", Read));
        assert_eq!(acl.capabilities("auth/token/lookup-self"), vec!["read"]);
        assert!(!acl.allows_sudo("auth/token/lookup-self"));
    }

    #[test]
    fn sudo() {
        let acl = acl_of(&[
            r#"path "sys/audit/*" { capabilities = ["read", "update", "sudo"] }
                             path "sys/mounts" { capabilities = ["read"] }
                             path "sys/raw/*" { capabilities = ["sudo", "deny"] }"#,
        ]);
        assert!(acl.allows_sudo("sys/audit/file"));
        assert!(acl.allows("sys/audit/file", Update));
        assert!(!acl.allows_sudo("sys/mounts"));
        assert!(!acl.allows_sudo("sys/raw/x"));
        assert!(!acl.allows_sudo("sys/unknown"));
        let decision = acl.authorize(&AclRequest::new("sys/audit/file", Delete));
        assert!(!decision.allowed);
        assert!(decision.sudo, "RootPrivs is reported from the matched rule");
        assert!(acl_of(&[r#"path "x" { policy = "sudo" }"#]).allows_sudo("x"));
    }

    #[test]
    fn root_and_empty() {
        let root = Acl::new(&[], true);
        assert!(root.is_root());
        assert!(root.allows("sys/anything", Delete));
        assert!(root.allows_sudo("sys/raw/x"));
        assert_eq!(root.capabilities("sys/mounts"), vec!["root"]);
        let decision = root.authorize(&AclRequest::new("a", Read));
        assert!(decision.is_root && decision.allowed);
        assert_eq!(decision.granting_policies, vec!["root"]);

        let named_root = Policy::parse("root", "# root").expect("parses");
        assert!(Acl::new(&[named_root], false).allows("x", Update));

        let none = Acl::new(&[], false);
        assert!(!none.allows("x", Read));
        assert_eq!(none.capabilities("x"), vec!["deny"]);
    }

    #[test]
    fn capabilities_self() {
        let acl = acl_of(&[
            FRUITS,
            r#"path "pki_int/sign/fruits-catalog" { capabilities = ["read"] }"#,
            r#"path "pki_int/roles/*" { capabilities = ["list"] }"#,
            r#"path "secret/*" { capabilities = ["read", "update", "sudo"] }
               path "secret/no" { capabilities = ["deny"] }
               path "secret/empty" {}"#,
        ]);
        assert_eq!(
            acl.capabilities("pki_int/sign/fruits-catalog"),
            vec!["create", "read", "update"]
        );
        assert_eq!(
            acl.capabilities("/pki_int/sign/fruits-catalog"),
            vec!["create", "read", "update"]
        );
        assert_eq!(acl.capabilities("pki_int/roles/"), vec!["list"]);
        assert_eq!(acl.capabilities("pki_int/roles/x"), vec!["list"]);
        assert_eq!(acl.capabilities("secret/x"), vec!["read", "sudo", "update"]);
        assert_eq!(acl.capabilities("secret/no"), vec!["deny"]);
        assert_eq!(acl.capabilities("secret/empty"), vec!["deny"]);
        assert_eq!(acl.capabilities("sys/mounts"), vec!["deny"]);
    }

    #[test]
    fn granting_policies() {
        let a = Policy::parse("A", SECRET_FOO_READ).expect("parses");
        let b = Policy::parse(
            "b",
            r#"path "secret/foo" { capabilities = ["read", "update"] }"#,
        )
        .expect("parses");
        let acl = Acl::new(&[a, b], false);
        let read = acl.authorize(&AclRequest::new("secret/foo", Read));
        assert_eq!(read.granting_policies, vec!["a", "b"]);
        let update = acl.authorize(&AclRequest::new("secret/foo", Update));
        assert_eq!(update.granting_policies, vec!["b"]);
        assert!(
            acl.authorize(&AclRequest::new("secret/foo", Delete))
                .granting_policies
                .is_empty()
        );
    }

    #[test]
    fn the_cache_answers_the_parse_of_the_stored_text() {
        let cache = PolicyCache::default();
        let v1 = r#"path "secret/a" { capabilities = ["read"] }"#;
        let v2 = r#"path "secret/b" { capabilities = ["read"] }"#;
        let first = cache.get_or_parse("p", v1).expect("parses");
        let again = cache.get_or_parse("p", v1).expect("parses");
        assert!(Arc::ptr_eq(&first, &again), "the same text is parsed once");
        let changed = cache.get_or_parse("p", v2).expect("parses");
        assert!(!Arc::ptr_eq(&first, &changed), "new text, new parse");
        assert!(Acl::from_policies([changed.as_ref()], false).allows("secret/b", Read));
        assert!(!Acl::from_policies([changed.as_ref()], false).allows("secret/a", Read));
        cache.invalidate("p");
        assert!(cache.is_empty());
        assert!(cache.get_or_parse("bad", "path {").is_err());
        assert!(cache.is_empty(), "a text that does not parse is not kept");
        for i in 0..=PolicyCache::MAX_ENTRIES {
            cache.get_or_parse(&format!("p{i}"), v1).expect("parses");
        }
        assert!(cache.len() <= PolicyCache::MAX_ENTRIES, "bounded");
    }

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn parameter_constraints() {
        let acl = acl_of(&[r#"
            path "secret/restricted" {
              capabilities = ["create", "update"]
              allowed_parameters = {
                "foo" = []
                "bar" = ["zip", "zap"]
                "Domain" = ["*.example.com"]
              }
            }
            path "pki/issue/web" {
              capabilities = ["update"]
              denied_parameters = { "ttl" = [], "alt_names" = ["*.internal"] }
              required_parameters = ["common_name"]
            }
            path "kv/deny-all" {
              capabilities = ["update"]
              denied_parameters = { "*" = [] }
            }
            path "kv/allow-all" {
              capabilities = ["update"]
              allowed_parameters = { "*" = [], "x" = ["1"] }
            }
        "#]);
        let allowed = |path: &str, value: Value| {
            let d = data(value);
            acl.authorize(&AclRequest::new(path, Update).with_data(&d))
                .allowed
        };
        assert!(allowed("secret/restricted", json!({})));
        assert!(allowed(
            "secret/restricted",
            json!({"foo": "anything", "bar": "zap"})
        ));
        assert!(!allowed("secret/restricted", json!({"bar": "nope"})));
        assert!(!allowed("secret/restricted", json!({"other": 1})));
        assert!(allowed(
            "secret/restricted",
            json!({"domain": "www.example.com"})
        ));
        assert!(!allowed(
            "secret/restricted",
            json!({"domain": "www.example.org"})
        ));
        assert!(allowed("secret/restricted", json!({"FOO": 1})));

        assert!(
            !acl.allows("pki/issue/web", Update),
            "required parameter missing"
        );
        assert!(allowed(
            "pki/issue/web",
            json!({"common_name": "a.example.com"})
        ));
        assert!(!allowed(
            "pki/issue/web",
            json!({"common_name": "a", "ttl": "1h"})
        ));
        assert!(!allowed(
            "pki/issue/web",
            json!({"common_name": "a", "alt_names": "db.internal"})
        ));
        assert!(allowed(
            "pki/issue/web",
            json!({"common_name": "a", "alt_names": "db.example"})
        ));

        assert!(acl.allows("kv/deny-all", Update));
        assert!(!allowed("kv/deny-all", json!({"a": 1})));
        assert!(allowed("kv/allow-all", json!({"a": 1, "x": "1"})));
        assert!(!allowed("kv/allow-all", json!({"x": "2"})));
    }

    #[test]
    fn parameter_merging() {
        // An empty list on either side allows any value; lists are otherwise concatenated.
        let acl = acl_of(&[
            r#"path "p" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["1"], "b" = ["1"] }
}"#,
            r#"path "p" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["2"], "b" = [] }
}"#,
        ]);
        let allowed = |value: Value| {
            let d = data(value);
            acl.authorize(&AclRequest::new("p", Update).with_data(&d))
                .allowed
        };
        assert!(allowed(json!({"a": "1"})));
        assert!(allowed(json!({"a": "2"})));
        assert!(!allowed(json!({"a": "3"})));
        assert!(allowed(json!({"b": "anything"})));
    }

    #[test]
    fn wrapping_ttls() {
        let acl = acl_of(&[r#"path "w" {
            capabilities = ["read"]
            min_wrapping_ttl = "1m"
            max_wrapping_ttl = 3600
        }"#]);
        assert!(!acl.allows("w", Read), "unwrapped request denied");
        let req = |secs| AclRequest::new("w", Read).with_wrap_ttl(Duration::from_secs(secs));
        assert!(acl.authorize(&req(300)).allowed);
        assert!(!acl.authorize(&req(30)).allowed);
        assert!(!acl.authorize(&req(7200)).allowed);
        let rule = &Policy::parse(
            "w",
            r#"path "w" {
  max_wrapping_ttl = "1h30m"
  min_wrapping_ttl = "2d"
}"#,
        );
        assert!(
            matches!(rule, Err(PolicyError::InvalidField { field, .. }) if field == "max_wrapping_ttl")
        );
    }

    #[test]
    fn json_policies() {
        let json_policy = r#"{
            "path": {
                "pki_int/sign/fruits-catalog": { "capabilities": ["create", "update"] },
                "secret/*": { "policy": "read" }
            }
        }"#;
        let acl = acl_of(&[json_policy]);
        assert!(acl.allows("pki_int/sign/fruits-catalog", Update));
        assert!(acl.allows("secret/x", List));
        assert!(!acl.allows("sys/mounts", Read));
        let list_form =
            r#"{"path": [{"a": {"capabilities": ["read"]}}, {"b": {"capabilities": ["list"]}}]}"#;
        let acl = acl_of(&[list_form]);
        assert!(acl.allows("a", Read));
        assert!(acl.allows("b", List));
        assert!(matches!(
            Policy::parse("j", r#"{"paths": {}}"#),
            Err(PolicyError::InvalidTopLevelKey { key }) if key == "paths"
        ));
    }

    #[test]
    fn alternative_hcl_forms() {
        // `path = { ... }` attribute form and a top-level `name`
        let acl = acl_of(&[r#"
            name = "ignored"
            path = { "a/b" = { capabilities = ["read"] } }
        "#]);
        assert!(acl.allows("a/b", Read));
        let policy = Policy::parse(
            "  MyPolicy ",
            "path \"x\" {\n  capabilities = [\"read\"]\n  comment = \"hi\"\n}",
        )
        .expect("parses");
        assert_eq!(policy.name, "mypolicy");
        assert_eq!(policy.rules()[0].capabilities, vec![Capability::Read]);
        assert_eq!(
            policy.raw,
            "path \"x\" {\n  capabilities = [\"read\"]\n  comment = \"hi\"\n}"
        );
        // control_group and mfa_methods are accepted (and ignored)
        let policy = Policy::parse(
            "cg",
            r#"path "secret/foo" {
                 capabilities = ["read"]
                 mfa_methods = ["totp"]
                 control_group { ttl = "4h" }
               }"#,
        );
        assert!(policy.is_ok(), "{policy:?}");
    }

    #[test]
    fn parse_errors() {
        let err = |text: &str| match Policy::parse("p", text) {
            Ok(p) => panic!("{text:?} should fail, got {p:?}"),
            Err(e) => e,
        };
        assert_eq!(err(""), PolicyError::EmptyPolicy);
        assert_eq!(err("  \n\t"), PolicyError::EmptyPolicy);
        assert!(matches!(
            err("path \"x\" { capabilities = [\"read\" "),
            PolicyError::Syntax(_)
        ));
        assert!(matches!(err("path \"x\" {{{"), PolicyError::Syntax(_)));
        assert!(matches!(err("{ not json"), PolicyError::Syntax(_)));
        assert_eq!(
            err(r#"path "secret/x" { capabilities = ["read", "READ"] }"#),
            PolicyError::InvalidCapability {
                path: "secret/x".into(),
                capability: "READ".into()
            }
        );
        assert_eq!(
            err(r#"path "secret/x" { capabilities = ["write"] }"#).to_string(),
            "failed to parse policy: path \"secret/x\": invalid capability \"write\""
        );
        assert_eq!(
            err(r#"path "secret/x" { policy = "admin" }"#),
            PolicyError::InvalidLegacyPolicy {
                path: "secret/x".into(),
                policy: "admin".into()
            }
        );
        assert_eq!(
            err(r#"path "secret/x" { capabilites = ["read"] }"#),
            PolicyError::InvalidPathKey {
                path: "secret/x".into(),
                key: "capabilites".into()
            }
        );
        assert_eq!(
            err(r#"paths "secret/x" { capabilities = ["read"] }"#),
            PolicyError::InvalidTopLevelKey {
                key: "paths".into()
            }
        );
        assert_eq!(
            err(r#"foo = 1"#),
            PolicyError::InvalidTopLevelKey { key: "foo".into() }
        );
        assert_eq!(
            err(r#"path "secret/+*" { capabilities = ["read"] }"#),
            PolicyError::InvalidWildcard {
                path: "secret/+*".into()
            }
        );
        assert!(matches!(
            err(r#"path "secret/x" { capabilities = "read" }"#),
            PolicyError::InvalidField { field, .. } if field == "capabilities"
        ));
        assert!(matches!(
            err(r#"path "secret/x" { capabilities = [1] }"#),
            PolicyError::InvalidField { field, .. } if field == "capabilities"
        ));
        assert!(matches!(
            err(r#"path "secret/x" { capabilities = [var.x] }"#),
            PolicyError::InvalidField { field, .. } if field == "capabilities"
        ));
        assert!(matches!(
            err(r#"path "secret/x" { min_wrapping_ttl = "soon" }"#),
            PolicyError::InvalidField { field, .. } if field == "min_wrapping_ttl"
        ));
        assert!(matches!(
            err(r#"path "secret/x" { allowed_parameters = ["a"] }"#),
            PolicyError::InvalidField { field, .. } if field == "allowed_parameters"
        ));
        assert!(matches!(
            err(r#"path "secret/{{identity.entity.id" { capabilities = ["read"] }"#),
            PolicyError::InvalidTemplate { .. }
        ));
        assert!(matches!(
            err(r#"path "secret/{{foo}}" { capabilities = ["read"] }"#),
            PolicyError::InvalidTemplate { .. }
        ));
        assert!(matches!(
            err(r#"path { capabilities = ["read"] }"#),
            PolicyError::Syntax(_)
        ));
        assert!(matches!(
            err(r#"path "a" "b" { capabilities = ["read"] }"#),
            PolicyError::Syntax(_)
        ));
        // deny stops reading the block, as in Vault
        assert!(Policy::parse("p", r#"path "x" { capabilities = ["deny", "bogus"] }"#).is_ok());
    }

    #[test]
    fn capability_strings() {
        for cap in Capability::ALL {
            assert_eq!(cap.as_str().parse::<Capability>(), Ok(cap));
            assert_eq!(cap.to_string(), cap.as_str());
        }
        assert!("root".parse::<Capability>().is_err());
        assert_eq!(Operation::Patch.as_str(), "patch");
        assert_eq!(Operation::List.capability(), Capability::List);
    }

    #[test]
    fn names() {
        assert_eq!(
            validate_name("  Fruits-Catalog "),
            Ok("fruits-catalog".to_string())
        );
        assert_eq!(validate_name("   "), Err(PolicyError::EmptyName));
        assert!(matches!(
            validate_name("a\nb"),
            Err(PolicyError::InvalidName { .. })
        ));
        assert_eq!(
            ensure_writable("Root").map_err(|e| e.to_string()),
            Err("cannot update \"root\" policy".to_string())
        );
        assert!(ensure_writable("response-wrapping").is_err());
        assert_eq!(ensure_writable("default"), Ok("default".to_string()));
        assert_eq!(ensure_writable("fruits"), Ok("fruits".to_string()));
        assert_eq!(
            ensure_deletable(" Default"),
            Err(PolicyError::CannotDeleteDefault)
        );
        assert_eq!(
            ensure_deletable("root").map_err(|e| e.to_string()),
            Err("cannot delete \"root\" policy".to_string())
        );
        assert_eq!(ensure_deletable("fruits"), Ok("fruits".to_string()));
        assert_eq!(
            Policy::parse(" ", SECRET_FOO_READ),
            Err(PolicyError::EmptyName)
        );
    }

    #[test]
    fn durations() {
        let d = |v: Value| parse_duration_second(&v);
        assert_eq!(d(json!(90)), Ok(Some(Duration::from_secs(90))));
        assert_eq!(d(json!("90")), Ok(Some(Duration::from_secs(90))));
        assert_eq!(d(json!("2d")), Ok(Some(Duration::from_secs(172_800))));
        assert_eq!(d(json!("1h30m")), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(d(json!("1.5h")), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(d(json!("500ms")), Ok(Some(Duration::from_millis(500))));
        assert_eq!(d(json!("")), Ok(None));
        assert!(d(json!("-5s")).is_err());
        assert!(d(json!("5x")).is_err());
        assert!(d(json!(-1)).is_err());
        assert!(d(json!(true)).is_err());
    }

    #[test]
    fn numbers_in_parameter_lists() {
        let acl = acl_of(&[r#"
            path "pki/roles/allowed" {
              capabilities = ["update"]
              allowed_parameters = {
                "key_bits" = [2048]
                "ttl" = []
              }
            }
            path "pki/roles/denied" {
              capabilities = ["update"]
              denied_parameters = {
                "key_bits" = [1024]
              }
            }
        "#]);
        let allowed = |path: &str, value: Value| {
            let d = data(value);
            acl.authorize(&AclRequest::new(path, Update).with_data(&d))
                .allowed
        };
        // As OpenBao: a number never matches an allowed value.
        assert!(!allowed("pki/roles/allowed", json!({"key_bits": 2048})));
        assert!(!allowed("pki/roles/allowed", json!({"key_bits": "2048"})));
        assert!(allowed("pki/roles/allowed", json!({"ttl": 5})));
        // Departure: a denied number denies.
        assert!(!allowed("pki/roles/denied", json!({"key_bits": 1024})));
        assert!(allowed("pki/roles/denied", json!({"key_bits": 2048})));
    }

    #[test]
    fn globbed_values() {
        // A lone "*" is compared literally, as in Vault.
        assert!(!globbed_strings_match("*", "anything"));
        assert!(globbed_strings_match("*", "*"));
        assert!(globbed_strings_match("*.example.com", "a.example.com"));
        assert!(globbed_strings_match("web-*", "web-01"));
        assert!(globbed_strings_match("*mid*", "a-mid-b"));
        assert!(!globbed_strings_match("web-*", "db-01"));
        assert!(globbed_strings_match("exact", "exact"));
        assert!(!globbed_strings_match("exact", "exactly"));
    }
}
