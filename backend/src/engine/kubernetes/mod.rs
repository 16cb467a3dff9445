//! The Kubernetes auth method at any `auth/<path>/` (Vault's `vault-plugin-auth-kubernetes`):
//! `config`, `role/:name` and `role` (LIST), and the unauthenticated `login` (`role`,
//! `jwt`) that checks a service account JWT and returns a token with the role's policies.
//!
//! Login follows Vault's `pathLogin`: the role must exist; the JWT is parsed and, when
//! `pem_keys` is set, its signature must verify against one of them; then issuer (only
//! with `issuer` set and `disable_iss_validation` false), audience (the role's), the time
//! claims, the bound service account names and namespaces; then the cluster's TokenReview
//! API is asked, always — with or without `pem_keys`, as Vault does — and must vouch for
//! the same service account (name, namespace, uid). Parse and signature failures, and
//! every refusal from the review, are a bare "permission denied", as in Vault. Where
//! Vault also hides a review that could not be made at all (unreachable API, timeout,
//! TLS failure) behind "permission denied", this engine answers 500 naming the API
//! address and what went wrong, so the operator can act on it.
//!
//! Logins are unauthenticated, so they are limited (`limits.rs`): per source address
//! (429, as Vault's rate limit quotas answer) and in how many may wait on the cluster at
//! once, so a slow cluster API cannot take the threads other requests need. A role can
//! never hand out `root`: refused when the role is written, and again at login.

pub mod config;
pub mod jwt;
pub mod limits;
pub mod review;
pub mod role;

use std::collections::BTreeMap;

use crate::engine::mounts::{LogicalBackend, Mount, Table};
use crate::engine::token::{self, LoginAuth};
use crate::engine::wire::{PathRule, SpecialPaths};
use crate::engine::{Engine, EngineError, Operation, Request, Response, field_str, now};

/// The Kubernetes auth method, as `engine::BACKENDS` registers it.
#[derive(Debug)]
pub struct Kubernetes;

impl LogicalBackend for Kubernetes {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn table(&self) -> Table {
        Table::Auth
    }

    fn special_paths(&self) -> &'static SpecialPaths {
        &SPECIAL_PATHS
    }

    fn exists(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
    ) -> Result<Option<bool>, EngineError> {
        match rel.split('/').collect::<Vec<_>>().as_slice() {
            ["role", name] => Ok(Some(role::exists(engine, mount, name)?)),
            _ => Ok(None),
        }
    }

    fn handle(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
        req: &Request,
    ) -> Result<Response, EngineError> {
        let op = req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        match rel.split('/').collect::<Vec<_>>().as_slice() {
            ["login"] if write => login(engine, mount, req),
            ["config"] => match op {
                Operation::Read => config::read(engine, mount),
                _ if write => config::write(engine, mount, &req.data),
                _ => Err(EngineError::Unsupported),
            },
            ["role"] if op == Operation::List => role::list(engine, mount),
            ["role", name] => role::handle(engine, mount, name, op, &req.data),
            ["login"] | ["role"] => Err(EngineError::Unsupported),
            _ => Err(EngineError::no_route(&req.path)),
        }
    }
}

/// Vault's `PathsSpecial.Unauthenticated` for this method.
/// Vault's special paths of the Kubernetes auth method: `login` needs no token.
const SPECIAL_PATHS: SpecialPaths = SpecialPaths {
    unauthenticated: &[PathRule {
        patterns: &["login"],
        operations: &[],
    }],
    sudo: &[],
};

/// A login refused by the cluster (or by a mismatch with its answer): Vault logs the
/// reason and answers "permission denied".
fn denied(mount: &Mount, role: &str, reason: &str) -> EngineError {
    tracing::info!(mount = %mount.path, role, reason, "kubernetes login refused");
    EngineError::PermissionDenied
}

fn login(engine: &Engine, mount: &Mount, req: &Request) -> Result<Response, EngineError> {
    if let Some(limited) = limits::check_rate(&req.path, req.remote_addr.as_deref()) {
        return Ok(limited);
    }
    let data = &req.data;
    let role_name = field_str(data, "role").unwrap_or_default();
    if role_name.is_empty() {
        return Err(EngineError::bad("missing role"));
    }
    let jwt_text = field_str(data, "jwt").unwrap_or_default();
    if jwt_text.is_empty() {
        return Err(EngineError::bad("missing jwt"));
    }
    let role = role::load(engine, mount, &role_name)?
        .ok_or_else(|| EngineError::bad(format!("invalid role name {role_name:?}")))?;
    let config = config::load(engine, mount)?
        .ok_or_else(|| EngineError::Internal("could not load backend configuration".into()))?;

    let refuse = |e: jwt::JwtError| {
        if e.is_signature_failure() {
            denied(mount, &role_name, &e.to_string())
        } else {
            EngineError::Forbidden(e.to_string())
        }
    };
    let token = jwt::parse(&jwt_text).map_err(refuse)?;
    if !config.pem_keys.is_empty() {
        token.verify(&config.public_keys()?).map_err(refuse)?;
    }
    let expected = jwt::Expected {
        issuer: Some(config.issuer.as_str())
            .filter(|i| !config.disable_iss_validation && !i.is_empty()),
        audience: Some(role.audience.as_str()).filter(|a| !a.trim().is_empty()),
        now: now(),
    };
    jwt::validate(&token.claims, &expected).map_err(refuse)?;
    let sa = jwt::ServiceAccount::from_claims(&token.claims);
    if !role.allows_name(&sa.name) {
        return Err(EngineError::Forbidden(
            "service account name not authorized".into(),
        ));
    }
    if !role.allows_namespace(&sa.namespace) {
        return Err(EngineError::Forbidden("namespace not authorized".into()));
    }
    if role.alias_name_source == "serviceaccount_name"
        && (sa.namespace.is_empty() || sa.name.is_empty())
    {
        return Err(EngineError::Internal(
            "service account namespace and name must be set".into(),
        ));
    }
    if sa.uid.is_empty() {
        return Err(EngineError::Internal(
            "could not parse UID from claims".into(),
        ));
    }

    let conn = config.effective(engine, mount)?;
    // Vault asks the cluster about the role's audience, or else the token's own.
    let audiences = if role.audience.trim().is_empty() {
        sa.audiences.clone()
    } else {
        vec![role.audience.clone()]
    };
    let bearer = if conn.reviewer_jwt.is_empty() {
        jwt_text.as_str()
    } else {
        conn.reviewer_jwt.as_str()
    };
    let Some(slot) = limits::review_slot() else {
        return Ok(limits::busy());
    };
    let reviewed = review::review(&review::ReviewRequest {
        kubernetes_host: &conn.host,
        ca_cert: &conn.ca_cert,
        bearer,
        jwt: &jwt_text,
        audiences: &audiences,
        timeout: engine.kubernetes_timeout,
    })
    .map_err(|e| match e {
        review::ReviewError::Rejected(reason) => denied(mount, &role_name, &reason),
        other => {
            tracing::warn!(mount = %mount.path, error = %other, "kubernetes login could not review the token");
            EngineError::Internal(other.to_string())
        }
    })?;
    drop(slot);
    if reviewed.name != sa.name {
        return Err(denied(mount, &role_name, "JWT names did not match"));
    }
    if reviewed.uid != sa.uid {
        return Err(denied(mount, &role_name, "JWT UIDs did not match"));
    }
    if reviewed.namespace != sa.namespace {
        return Err(denied(mount, &role_name, "JWT namespaces did not match"));
    }

    let meta = BTreeMap::from([
        ("role".to_string(), role_name.clone()),
        ("service_account_name".to_string(), sa.name.clone()),
        (
            "service_account_namespace".to_string(),
            sa.namespace.clone(),
        ),
        (
            "service_account_secret_name".to_string(),
            sa.secret_name.clone(),
        ),
        ("service_account_uid".to_string(), sa.uid.clone()),
    ]);
    token::create_login_token(
        engine,
        mount,
        LoginAuth {
            policies: role.token_policies.clone(),
            no_default_policy: role.token_no_default_policy,
            display_name: format!("{}-{}", sa.namespace, sa.name),
            meta,
            ttl: role.token_ttl,
            max_ttl: role.token_max_ttl,
            explicit_max_ttl: role.token_explicit_max_ttl,
            num_uses: role.token_num_uses,
        },
        now(),
    )
}
