//! Adversarial cases: paths. The security review's bypass (empty segments reached the
//! router cleaned but the ACL raw, so `sys//policies/acl/x` escaped a deny on
//! `sys/policies/*`) and its relatives: `/./`, `/../`, percent-encoded slashes and dots,
//! trailing slashes, case, deny-glob bypass attempts. OpenBao cleans an unclean path in
//! its HTTP mux and answers 307 to the clean one; so do we, and the redirected request
//! meets the ACL like any other.

use serde_json::{Value, json};
use tests::http::{self, Method};
use tests::{Kind, Reply, Target};

use super::{Case, expect, expect_ok};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "sys//policies/acl/x cannot rewrite a denied policy",
            double_slash_policy_rewrite
        ),
        crate::case!(
            "auth/token//create does not pass a deny on auth/token/create",
            double_slash_token_create
        ),
        crate::case!(
            "sys/policies/acl//name is redirected",
            double_slash_before_name
        ),
        crate::case!("a leading // is redirected", leading_double_slash),
        crate::case!("/./ and /../ are redirected", dot_segments),
        crate::case!("/../ out of /v1/ never leaves it", dot_dot_out_of_v1),
        crate::case!("%2e and %2e%2e are refused", encoded_dots),
        crate::case!("%2F%2F does not pass a deny", encoded_double_slash),
        crate::case!("%2F inside a segment meets the ACL decoded", encoded_slash),
        crate::case!("a trailing slash does not pass a deny glob", trailing_slash),
        crate::case!("mount paths are case-sensitive", mixed_case_mount),
        crate::case!("the redirect keeps the query", redirect_keeps_query),
        crate::case!("a policy name's case cannot dodge a rule", policy_name_case),
    ]
}

/// A policy `name` (written with the root token) and a token holding it.
async fn token_for(t: &Target, name: &str, hcl: &str) -> anyhow::Result<String> {
    t.policy(name, hcl).await?;
    t.token_with(&[name], json!({})).await
}

/// Checks a 307 to `location`.
fn expect_redirect(t: &Target, what: &str, r: &Reply, location: &str) -> anyhow::Result<()> {
    if r.status != 307 || r.location.as_deref() != Some(location) {
        anyhow::bail!(
            "[{}] {what}: expected 307 to {location}, got {} location {:?} {}",
            t.name(),
            r.status,
            r.location,
            r.text
        );
    }
    Ok(())
}

/// The redirect's target, as a path for [`Target::call`].
fn followed(r: &Reply) -> String {
    r.location
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches("/v1/")
        .to_string()
}

/// Everything under `sys/`, with `sudo`, except the policies.
const SYS_BUT_POLICIES: &str = r#"
path "sys/*" {
  capabilities = ["create", "read", "update", "delete", "list", "sudo"]
}
path "sys/policies/*" {
  capabilities = ["deny"]
}
"#;

const ESCALATION: &str =
    r#"path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }"#;

async fn policy_text(t: &Target, name: &str) -> anyhow::Result<String> {
    let r = t
        .root_ok(
            Method::GET,
            &format!("sys/policies/acl/{name}"),
            Value::Null,
        )
        .await?;
    Ok(r.data()["policy"].as_str().unwrap_or_default().to_string())
}

async fn double_slash_policy_rewrite(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-rewrite";
    let token = token_for(t, name, SYS_BUT_POLICIES).await?;
    let body = json!({ "policy": ESCALATION });
    let r = t
        .call(
            Method::POST,
            &format!("sys//policies/acl/{name}"),
            Some(&token),
            body.clone(),
        )
        .await?;
    expect_redirect(
        t,
        "POST sys//policies/acl",
        &r,
        &format!("/v1/sys/policies/acl/{name}"),
    )?;
    let r = t
        .call(Method::POST, &followed(&r), Some(&token), body)
        .await?;
    expect(t, "the redirected write", &r, 403, "permission denied")?;
    let text = policy_text(t, name).await?;
    if text.contains(r#"path "*""#) {
        anyhow::bail!("[{}] the policy was rewritten: {text}", t.name());
    }
    Ok(())
}

async fn double_slash_token_create(t: &Target) -> anyhow::Result<()> {
    let token = token_for(
        t,
        "adv-paths-token-create",
        r#"
path "auth/token/*" {
  capabilities = ["create", "read", "update", "sudo"]
}
path "auth/token/create" {
  capabilities = ["deny"]
}
"#,
    )
    .await?;
    let body = json!({ "policies": ["default"], "ttl": "10m" });
    let r = t
        .call(
            Method::POST,
            "auth/token//create",
            Some(&token),
            body.clone(),
        )
        .await?;
    expect_redirect(t, "POST auth/token//create", &r, "/v1/auth/token/create")?;
    let r = t
        .call(Method::POST, &followed(&r), Some(&token), body.clone())
        .await?;
    expect(t, "the redirected create", &r, 403, "permission denied")?;
    // A write to a path ending in `/` is refused before any handler (Vault's rule).
    let r = t
        .call(Method::POST, "auth/token/create/", Some(&token), body)
        .await?;
    expect(
        t,
        "auth/token/create/",
        &r,
        400,
        "cannot write to a path ending in '/'",
    )
}

async fn double_slash_before_name(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-name";
    t.policy(name, r#"path "adv/x" { capabilities = ["read"] }"#)
        .await?;
    let r = t
        .root(
            Method::GET,
            &format!("sys/policies/acl//{name}"),
            Value::Null,
        )
        .await?;
    expect_redirect(
        t,
        "GET sys/policies/acl//name",
        &r,
        &format!("/v1/sys/policies/acl/{name}"),
    )?;
    let r = t.root(Method::GET, &followed(&r), Value::Null).await?;
    expect_ok(t, "the redirected read", &r)?;
    if r.data()["name"] != name {
        anyhow::bail!("[{}] read the wrong policy: {}", t.name(), r.text);
    }
    Ok(())
}

async fn leading_double_slash(t: &Target) -> anyhow::Result<()> {
    // `Target::call` trims leading slashes, so this one goes out by hand.
    let res = http::send(
        Method::GET,
        &format!("{}/v1//sys/policies/acl/default", t.base),
        &[("x-vault-token", &t.root_token)],
        vec![],
    )
    .await?;
    let location = res.header("location").map(String::from);
    if res.status.as_u16() != 307 || location.as_deref() != Some("/v1/sys/policies/acl/default") {
        anyhow::bail!(
            "[{}] GET /v1//sys/...: expected 307 to the clean path, got {} {location:?}",
            t.name(),
            res.status
        );
    }
    Ok(())
}

async fn dot_segments(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-dots";
    let token = token_for(t, name, SYS_BUT_POLICIES).await?;
    for (sent, clean) in [
        (
            format!("sys/./policies/acl/{name}"),
            format!("/v1/sys/policies/acl/{name}"),
        ),
        (
            format!("sys/mounts/../policies/acl/{name}"),
            format!("/v1/sys/policies/acl/{name}"),
        ),
        (
            format!("sys/policies/acl/{name}/."),
            format!("/v1/sys/policies/acl/{name}"),
        ),
    ] {
        let body = json!({ "policy": ESCALATION });
        let r = t
            .call(Method::POST, &sent, Some(&token), body.clone())
            .await?;
        expect_redirect(t, &sent, &r, &clean)?;
        let r = t
            .call(Method::POST, &followed(&r), Some(&token), body)
            .await?;
        expect(
            t,
            &format!("{sent}, redirected"),
            &r,
            403,
            "permission denied",
        )?;
    }
    if policy_text(t, name).await?.contains(r#"path "*""#) {
        anyhow::bail!("[{}] the policy was rewritten", t.name());
    }
    Ok(())
}

async fn dot_dot_out_of_v1(t: &Target) -> anyhow::Result<()> {
    let r = t.root(Method::GET, "../api/session", Value::Null).await?;
    match t.kind {
        // Departure: OpenBao redirects to `/api/session`; we never send a `/v1/` request
        // outside `/v1/` (on this server that is the session API), we refuse it.
        Kind::Engine => expect(
            t,
            "GET /v1/../api/session",
            &r,
            400,
            "relative paths not supported",
        ),
        Kind::OpenBao => expect_redirect(t, "GET /v1/../api/session", &r, "/api/session"),
    }
}

async fn encoded_dots(t: &Target) -> anyhow::Result<()> {
    for path in [
        "sys/policies/acl/%2e%2e/default",
        "sys/policies/acl/%2E%2E/default",
        "sys/%2e/policies/acl/default",
        "sys/mounts/%2e",
    ] {
        let r = t.root(Method::GET, path, Value::Null).await?;
        expect(t, path, &r, 400, "relative paths not supported")?;
    }
    Ok(())
}

async fn encoded_double_slash(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-encoded";
    let token = token_for(t, name, SYS_BUT_POLICIES).await?;
    for path in [
        format!("sys%2F%2Fpolicies/acl/{name}"),
        format!("sys/policies%2F%2Facl/{name}"),
        format!("sys/policies/acl%2F%2F{name}"),
    ] {
        let body = json!({ "policy": ESCALATION });
        let r = t.call(Method::POST, &path, Some(&token), body).await?;
        // Neither server routes an empty segment (both answer 404, with different
        // words: OpenBao's backends say "unsupported path", we say "no handler").
        if (200..300).contains(&r.status) || r.status == 307 {
            anyhow::bail!("[{}] POST {path}: {} {}", t.name(), r.status, r.text);
        }
        let r = t.root(Method::GET, &path, Value::Null).await?;
        expect(t, &format!("GET {path} as root"), &r, 404, "")?;
    }
    if policy_text(t, name).await?.contains(r#"path "*""#) {
        anyhow::bail!("[{}] the policy was rewritten", t.name());
    }
    Ok(())
}

async fn encoded_slash(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-slash";
    let token = token_for(t, name, SYS_BUT_POLICIES).await?;
    let path = format!("sys%2Fpolicies%2Facl%2F{name}");
    let r = t
        .call(
            Method::POST,
            &path,
            Some(&token),
            json!({ "policy": ESCALATION }),
        )
        .await?;
    expect(t, "POST with %2F", &r, 403, "permission denied")?;
    // The root token reads the policy there: the path is decoded, once, for both.
    let r = t.root(Method::GET, &path, Value::Null).await?;
    expect_ok(t, "GET with %2F as root", &r)?;
    if r.data()["name"] != name {
        anyhow::bail!("[{}] read the wrong policy: {}", t.name(), r.text);
    }
    Ok(())
}

async fn trailing_slash(t: &Target) -> anyhow::Result<()> {
    let name = "adv-paths-trailing";
    let token = token_for(t, name, SYS_BUT_POLICIES).await?;
    for path in [
        format!("sys/policies/acl/{name}/"),
        format!("sys/policies/acl/{name}%2F"),
    ] {
        for method in [Method::POST, Method::PUT] {
            let r = t
                .call(
                    method.clone(),
                    &path,
                    Some(&token),
                    json!({ "policy": ESCALATION }),
                )
                .await?;
            let what = format!("{method} {path}");
            expect(t, &what, &r, 400, "cannot write to a path ending in '/'")?;
        }
        // A read still meets the deny glob.
        let r = t
            .call(Method::GET, &path, Some(&token), Value::Null)
            .await?;
        expect(t, &format!("GET {path}"), &r, 403, "permission denied")?;
        let r = t
            .call(Method::DELETE, &path, Some(&token), Value::Null)
            .await?;
        expect(t, &format!("DELETE {path}"), &r, 403, "permission denied")?;
    }
    if policy_text(t, name).await?.contains(r#"path "*""#) {
        anyhow::bail!("[{}] the policy was rewritten", t.name());
    }
    Ok(())
}

async fn mixed_case_mount(t: &Target) -> anyhow::Result<()> {
    t.root_ok(
        Method::POST,
        "sys/mounts/adv-paths-pki",
        json!({ "type": "pki" }),
    )
    .await?;
    let token = token_for(
        t,
        "adv-paths-case",
        r#"
path "ADV-PATHS-PKI/*" {
  capabilities = ["read", "list", "update"]
}
path "adv-paths-pki/*" {
  capabilities = ["deny"]
}
"#,
    )
    .await?;
    let r = t
        .call(
            Method::GET,
            "ADV-PATHS-PKI/roles/x",
            Some(&token),
            Value::Null,
        )
        .await?;
    expect(
        t,
        "GET ADV-PATHS-PKI/roles/x",
        &r,
        404,
        "no handler for route",
    )?;
    let r = t
        .root(Method::GET, "SYS/policies/acl/default", Value::Null)
        .await?;
    expect(
        t,
        "GET SYS/policies/acl/default",
        &r,
        404,
        "no handler for route",
    )?;
    let r = t
        .call(
            Method::GET,
            "adv-paths-pki/roles/x",
            Some(&token),
            Value::Null,
        )
        .await?;
    expect(t, "GET adv-paths-pki/roles/x", &r, 403, "permission denied")
}

async fn redirect_keeps_query(t: &Target) -> anyhow::Result<()> {
    let r = t
        .call(Method::GET, "sys//health?standbyok=true", None, Value::Null)
        .await?;
    expect_redirect(
        t,
        "GET sys//health?...",
        &r,
        "/v1/sys/health?standbyok=true",
    )
}

async fn policy_name_case(t: &Target) -> anyhow::Result<()> {
    t.policy(
        "adv-paths-protected",
        r#"path "adv/protected" { capabilities = ["read"] }"#,
    )
    .await?;
    let token = token_for(
        t,
        "adv-paths-name-case",
        r#"
path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update"]
}
path "sys/policies/acl/adv-paths-protected" {
  capabilities = ["deny"]
}
path "sys/policy/Adv-Paths-Mixed" {
  capabilities = ["create", "read", "update"]
}
"#,
    )
    .await?;
    let body = json!({ "policy": ESCALATION });
    for path in [
        "sys/policies/acl/ADV-PATHS-PROTECTED",
        "sys/policies/acl/Adv-Paths-Protected",
        "sys/policy/ADV-PATHS-PROTECTED",
    ] {
        let r = t
            .call(Method::PUT, path, Some(&token), body.clone())
            .await?;
        expect(t, &format!("PUT {path}"), &r, 403, "permission denied")?;
    }
    if policy_text(t, "adv-paths-protected")
        .await?
        .contains(r#"path "*""#)
    {
        anyhow::bail!("[{}] the protected policy was rewritten", t.name());
    }
    // The ACL sees the lower-cased name: a rule written with capitals matches nothing.
    let r = t
        .call(
            Method::PUT,
            "sys/policy/Adv-Paths-Mixed",
            Some(&token),
            json!({ "policy": r#"path "adv/m" { capabilities = ["read"] }"# }),
        )
        .await?;
    expect(
        t,
        "PUT sys/policy/Adv-Paths-Mixed",
        &r,
        403,
        "permission denied",
    )
}
