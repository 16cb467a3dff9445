//! `roles/:name` (create/replace, patch, read, delete) and `roles` (LIST). The role's
//! fields, defaults and validation are `shared::pki::role::Role`, so the browser and the
//! engine read a role the same way.

use serde_json::{Map, Value};

use super::Keys;
use crate::engine::mounts::Mount;
use crate::engine::{Engine, EngineError, Response};
use shared::pki::role::Role;

/// OpenBao's role path pattern, `\w(([\w-.]+)?\w)?`: word characters, with `-` and
/// `.` inside but never first or last. Other names (`-x`, `a@b`) are not a role path
/// at all, so every operation on them is [`unsupported_path`].
pub fn valid_name(name: &str) -> bool {
    shared::pki::role::is_valid_role_name(name)
}

/// OpenBao's answer for a path no route of the mount matches: 404 with Go's
/// multierror wording, byte for byte, as clients see it.
pub fn unsupported_path() -> EngineError {
    EngineError::NotFound("1 error occurred:\n\t* unsupported path\n\n".into())
}

pub fn load(engine: &Engine, mount: &Mount, name: &str) -> Result<Option<Role>, EngineError> {
    Ok(engine.store.get(&Keys(mount).role(name))?)
}

pub fn list(engine: &Engine, mount: &Mount) -> Result<Response, EngineError> {
    Response::list(engine.store.list(&Keys(mount).roles())?)
}

pub fn read(engine: &Engine, mount: &Mount, name: &str) -> Result<Response, EngineError> {
    match load(engine, mount, name)? {
        Some(r) => Ok(Response::data(r.to_response())),
        None => Err(EngineError::NotFound(String::new())),
    }
}

pub fn write(
    engine: &Engine,
    mount: &Mount,
    name: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let existing = load(engine, mount, name)?;
    let role =
        Role::from_write(existing.as_ref(), data).map_err(|e| EngineError::bad(e.to_string()))?;
    let warnings = ttl_warnings(mount, &role);
    engine.store.put(&Keys(mount).role(name), &role)?;
    Ok(Response {
        data: Some(role.to_response()),
        warnings,
        ..Default::default()
    })
}

pub fn patch(
    engine: &Engine,
    mount: &Mount,
    name: &str,
    data: &Map<String, Value>,
) -> Result<Response, EngineError> {
    let existing = load(engine, mount, name)?
        .ok_or_else(|| EngineError::bad("Unable to fetch role entry to patch"))?;
    let role = existing
        .patch(data)
        .map_err(|e| EngineError::bad(e.to_string()))?;
    let warnings = ttl_warnings(mount, &role);
    engine.store.put(&Keys(mount).role(name), &role)?;
    Ok(Response {
        data: Some(role.to_response()),
        warnings,
        ..Default::default()
    })
}

pub fn delete(engine: &Engine, mount: &Mount, name: &str) -> Result<Response, EngineError> {
    engine.store.delete(&Keys(mount).role(name))?;
    Ok(Response::empty())
}

fn ttl_warnings(mount: &Mount, role: &Role) -> Vec<String> {
    let mut w = vec![];
    if role.max_ttl > mount.max_ttl() {
        w.push("max_ttl is greater than the system or backend mount's maximum TTL value; issued certificates' validity period will be truncated".to_string());
    }
    w
}
