//! Adversarial cases: the token tree. Revocation cascades to children and grandchildren
//! (by token and by accessor), `revoke-orphan` leaves the children as orphans, a child
//! may get a longer TTL than its parent (or renew past it) but dies with it, `num_uses`
//! is counted (lookup-self included) and the last use revokes the token, orphans need
//! `sudo` (except through `create-orphan`), and a child's policies must be a subset of
//! its parent's.

use std::time::Duration;

use serde_json::{Value, json};
use tests::http::Method;
use tests::{Kind, Target};

use super::{Case, expect, expect_ok};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("revoke parent: child and grandchild 403", revoke_cascades),
        crate::case!("revoke-orphan keeps the children as orphans", revoke_orphan),
        crate::case!("revoke-orphan needs sudo", revoke_orphan_needs_sudo),
        crate::case!(
            "child TTL past the parent's, revoked when it expires",
            child_outlives_ttl
        ),
        crate::case!(
            "child renewed past the parent's expiry still dies with it",
            renew_past_parent
        ),
        crate::case!(
            "num_uses=1: one use, then 403 and the token is gone",
            num_uses_one
        ),
        crate::case!("num_uses counts lookup-self", num_uses_counts_lookup_self),
        crate::case!(
            "num_uses must be a whole number, not negative",
            num_uses_negative
        ),
        crate::case!(
            "num_uses=5 under 20 concurrent uses: exactly 5 pass",
            num_uses_concurrent
        ),
        crate::case!("no_parent without sudo is refused", no_parent_needs_sudo),
        crate::case!(
            "create-orphan needs no sudo, outlives its creator",
            create_orphan_endpoint
        ),
        crate::case!(
            "child policies must be a subset of the parent's",
            child_policies_subset
        ),
        crate::case!("revoke-accessor cascades", revoke_accessor_cascades),
        crate::case!("revoke and lookup field checks", revoke_and_lookup_fields),
        crate::case!(
            "token create's boolean fields refuse what is no bool",
            create_bool_fields
        ),
    ]
}

/// A policy `name` that may create, look up, renew and revoke tokens (no `sudo`).
async fn token_policy(t: &Target, name: &str) -> anyhow::Result<()> {
    t.policy(
        name,
        r#"path "auth/token/*" { capabilities = ["create", "update", "read"] }"#,
    )
    .await
}

/// A token created by `parent` with `body`; fails unless it is created.
async fn child(t: &Target, parent: &str, body: Value) -> anyhow::Result<String> {
    let r = t
        .call(Method::POST, "auth/token/create", Some(parent), body)
        .await?;
    expect_ok(t, "create a child token", &r)?;
    client_token(t, &r.body)
}

fn client_token(t: &Target, body: &Value) -> anyhow::Result<String> {
    body["auth"]["client_token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow::anyhow!("[{}] no client_token in {body}", t.name()))
}

async fn lookup_self(t: &Target, token: &str) -> anyhow::Result<tests::Reply> {
    t.call(
        Method::GET,
        "auth/token/lookup-self",
        Some(token),
        Value::Null,
    )
    .await
}

/// `token` is refused as Vault refuses a revoked or unknown token.
async fn dead(t: &Target, what: &str, token: &str) -> anyhow::Result<()> {
    let r = lookup_self(t, token).await?;
    expect(t, what, &r, 403, "permission denied")
}

async fn alive(t: &Target, what: &str, token: &str) -> anyhow::Result<tests::Reply> {
    let r = lookup_self(t, token).await?;
    expect_ok(t, what, &r)?;
    Ok(r)
}

/// A root-made parent with the token policy, its child and its grandchild.
async fn family(t: &Target, policy: &str) -> anyhow::Result<(String, String, String)> {
    token_policy(t, policy).await?;
    let parent = t.token_with(&[policy], json!({})).await?;
    let c = child(t, &parent, json!({})).await?;
    let g = child(t, &c, json!({})).await?;
    Ok((parent, c, g))
}

async fn revoke_cascades(t: &Target) -> anyhow::Result<()> {
    let (parent, c, g) = family(t, "adv-tok-cascade").await?;
    alive(t, "grandchild before", &g).await?;
    let r = t
        .root(Method::POST, "auth/token/revoke", json!({"token": parent}))
        .await?;
    expect_ok(t, "revoke the parent", &r)?;
    dead(t, "parent after revoke", &parent).await?;
    dead(t, "child after its parent's revoke", &c).await?;
    dead(t, "grandchild after its grandparent's revoke", &g).await?;
    // A revoked grandchild cannot sign or create anything either.
    let r = t
        .call(Method::POST, "auth/token/create", Some(&g), json!({}))
        .await?;
    expect(
        t,
        "create with a revoked grandchild",
        &r,
        403,
        "permission denied",
    )
}

async fn revoke_orphan(t: &Target) -> anyhow::Result<()> {
    let (parent, c, g) = family(t, "adv-tok-orphan").await?;
    let r = t
        .root(
            Method::POST,
            "auth/token/revoke-orphan",
            json!({"token": parent}),
        )
        .await?;
    expect_ok(t, "revoke-orphan the parent", &r)?;
    dead(t, "parent after revoke-orphan", &parent).await?;
    let r = alive(t, "child after revoke-orphan", &c).await?;
    if r.data()["orphan"] != json!(true) {
        anyhow::bail!("[{}] the child is not an orphan now: {}", t.name(), r.text);
    }
    let r = alive(t, "grandchild after revoke-orphan", &g).await?;
    if r.data()["orphan"] != json!(false) {
        anyhow::bail!("[{}] the grandchild lost its parent: {}", t.name(), r.text);
    }
    // The tree below the new orphan still cascades.
    let r = t
        .root(Method::POST, "auth/token/revoke", json!({"token": c}))
        .await?;
    expect_ok(t, "revoke the new orphan", &r)?;
    dead(t, "grandchild after the orphan's revoke", &g).await?;
    // Unknown token.
    let r = t
        .root(
            Method::POST,
            "auth/token/revoke-orphan",
            json!({"token": parent}),
        )
        .await?;
    expect(
        t,
        "revoke-orphan a revoked token",
        &r,
        400,
        "token to revoke not found",
    )
}

async fn revoke_orphan_needs_sudo(t: &Target) -> anyhow::Result<()> {
    let (parent, c, g) = family(t, "adv-tok-orphan-sudo").await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/revoke-orphan",
            Some(&parent),
            json!({"token": c}),
        )
        .await?;
    expect(
        t,
        "revoke-orphan without sudo",
        &r,
        400,
        "root or sudo privileges required to revoke and orphan",
    )?;
    alive(t, "child after a refused revoke-orphan", &c).await?;
    alive(t, "grandchild after a refused revoke-orphan", &g).await?;
    // With sudo on the path it works.
    t.policy(
        "adv-tok-orphan-sudo2",
        r#"path "auth/token/revoke-orphan" { capabilities = ["update", "sudo"] }"#,
    )
    .await?;
    let admin = t.token_with(&["adv-tok-orphan-sudo2"], json!({})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/revoke-orphan",
            Some(&admin),
            json!({"token": c}),
        )
        .await?;
    expect_ok(t, "revoke-orphan with sudo", &r)?;
    dead(t, "child after revoke-orphan with sudo", &c).await?;
    alive(t, "grandchild, now an orphan", &g).await?;
    Ok(())
}

async fn child_outlives_ttl(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-ttl").await?;
    let parent = t.token_with(&["adv-tok-ttl"], json!({"ttl": "3s"})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/create",
            Some(&parent),
            json!({"ttl": "1h"}),
        )
        .await?;
    expect_ok(t, "child with a TTL past its parent's", &r)?;
    // Vault gives the child the TTL it asked for...
    if r.body["auth"]["lease_duration"] != json!(3600) {
        anyhow::bail!("[{}] the child's TTL was changed: {}", t.name(), r.text);
    }
    let c = client_token(t, &r.body)?;
    let g = child(t, &c, json!({"ttl": "2h"})).await?;
    alive(t, "child before the parent expires", &c).await?;
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    // ...and revokes it with the parent.
    dead(t, "parent after its TTL", &parent).await?;
    dead(t, "child after the parent expired", &c).await?;
    dead(t, "grandchild after the grandparent expired", &g).await
}

async fn renew_past_parent(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-renew").await?;
    let parent = t
        .token_with(&["adv-tok-renew"], json!({"ttl": "3s"}))
        .await?;
    let c = child(t, &parent, json!({"ttl": "2s"})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/renew-self",
            Some(&c),
            json!({"increment": "1h"}),
        )
        .await?;
    expect_ok(t, "renew the child past its parent", &r)?;
    if r.body["auth"]["lease_duration"] != json!(3600) {
        anyhow::bail!("[{}] renewal not granted as asked: {}", t.name(), r.text);
    }
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    dead(t, "renewed child after the parent expired", &c).await
}

async fn num_uses_one(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-uses1").await?;
    let once = t
        .token_with(&["adv-tok-uses1"], json!({"num_uses": 1}))
        .await?;
    let r = alive(t, "the one use", &once).await?;
    // The request that uses the last one sees -1 (revocation pending).
    if r.data()["num_uses"] != json!(-1) {
        anyhow::bail!("[{}] num_uses on the last use: {}", t.name(), r.text);
    }
    dead(t, "the second use", &once).await?;
    let r = t
        .root(Method::POST, "auth/token/lookup", json!({"token": once}))
        .await?;
    expect(t, "lookup of a used-up token", &r, 403, "bad token")?;
    // A use on another endpoint counts too; a use-limited token has no children.
    let last = t
        .token_with(&["adv-tok-uses1"], json!({"num_uses": 1}))
        .await?;
    let r = t
        .call(Method::POST, "auth/token/create", Some(&last), json!({}))
        .await?;
    expect(
        t,
        "create on the last use",
        &r,
        400,
        "parent token lookup failed: no parent found",
    )?;
    dead(t, "after the create", &last).await?;
    let two = t
        .token_with(&["adv-tok-uses1"], json!({"num_uses": 2}))
        .await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/create-orphan",
            Some(&two),
            json!({}),
        )
        .await?;
    expect(
        t,
        "create with a use-limited token",
        &r,
        400,
        "restricted use token cannot generate child tokens",
    )?;
    // The refused create was its first use.
    alive(t, "its second use", &two).await?;
    dead(t, "its third use", &two).await
}

async fn num_uses_counts_lookup_self(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-uses3").await?;
    let token = t
        .token_with(&["adv-tok-uses3"], json!({"num_uses": 3}))
        .await?;
    // Someone else's lookup is not a use.
    let r = t
        .root(Method::POST, "auth/token/lookup", json!({"token": token}))
        .await?;
    expect_ok(t, "lookup by root", &r)?;
    if r.data()["num_uses"] != json!(3) {
        anyhow::bail!("[{}] lookup: {}", t.name(), r.text);
    }
    for left in [2, 1, -1] {
        let r = alive(t, "lookup-self", &token).await?;
        if r.data()["num_uses"] != json!(left) {
            anyhow::bail!("[{}] expected num_uses {left}: {}", t.name(), r.text);
        }
    }
    dead(t, "the fourth use", &token).await
}

async fn num_uses_concurrent(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-uses-race").await?;
    let token = t
        .token_with(&["adv-tok-uses-race"], json!({"num_uses": 5}))
        .await?;
    let uses = (0..20).map(|_| {
        let (t, token) = (t.clone(), token.clone());
        tokio::spawn(async move { lookup_self(&t, &token).await })
    });
    let mut answers = vec![];
    for u in uses.collect::<Vec<_>>() {
        let r = u.await??;
        answers.push((r.status, r.errors()));
    }
    let passed = answers.iter().filter(|(s, _)| *s == 200).count();
    // The engine refuses every use past the limit with 403. OpenBao refuses them too,
    // but a use that races with the revocation of the used-up token may get a 500
    // instead ("internal error"), so there only "not 2xx" is checked.
    let refused = answers
        .iter()
        .filter(|(s, e)| match t.kind {
            Kind::Engine => *s == 403 && e == "permission denied",
            Kind::OpenBao => !(200..300).contains(s),
        })
        .count();
    if passed != 5 || refused != 15 {
        anyhow::bail!(
            "[{}] 20 concurrent uses of a 5-use token: {passed} passed, {refused} refused ({answers:?})",
            t.name()
        );
    }
    Ok(())
}

async fn num_uses_negative(t: &Target) -> anyhow::Result<()> {
    let r = t
        .root(
            Method::POST,
            "auth/token/create",
            json!({"num_uses": -1, "ttl": "1h"}),
        )
        .await?;
    expect(
        t,
        "num_uses -1",
        &r,
        400,
        "number of uses cannot be negative",
    )?;
    let r = t
        .root(
            Method::POST,
            "auth/token/create",
            json!({"num_uses": "x", "ttl": "1h"}),
        )
        .await?;
    expect(
        t,
        "num_uses not a number",
        &r,
        400,
        "error converting input for field \"num_uses\"",
    )
}

async fn no_parent_needs_sudo(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-noparent").await?;
    let creator = t.token_with(&["adv-tok-noparent"], json!({})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/create",
            Some(&creator),
            json!({"no_parent": true}),
        )
        .await?;
    expect(
        t,
        "no_parent without sudo",
        &r,
        400,
        "root or sudo privileges required to create orphan token",
    )?;
    // With sudo on auth/token/create it is an orphan.
    t.policy(
        "adv-tok-noparent-sudo",
        r#"path "auth/token/create" { capabilities = ["create", "update", "sudo"] }"#,
    )
    .await?;
    let admin = t.token_with(&["adv-tok-noparent-sudo"], json!({})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/create",
            Some(&admin),
            json!({"no_parent": true}),
        )
        .await?;
    expect_ok(t, "no_parent with sudo", &r)?;
    if r.body["auth"]["orphan"] != json!(true) {
        anyhow::bail!("[{}] not an orphan: {}", t.name(), r.text);
    }
    Ok(())
}

async fn create_orphan_endpoint(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-create-orphan").await?;
    let creator = t.token_with(&["adv-tok-create-orphan"], json!({})).await?;
    let r = t
        .call(
            Method::POST,
            "auth/token/create-orphan",
            Some(&creator),
            json!({}),
        )
        .await?;
    expect_ok(t, "create-orphan without sudo", &r)?;
    if r.body["auth"]["orphan"] != json!(true) {
        anyhow::bail!("[{}] not an orphan: {}", t.name(), r.text);
    }
    let orphan = client_token(t, &r.body)?;
    let r = t
        .root(Method::POST, "auth/token/revoke", json!({"token": creator}))
        .await?;
    expect_ok(t, "revoke the creator", &r)?;
    alive(t, "the orphan after its creator's revoke", &orphan).await?;
    Ok(())
}

async fn child_policies_subset(t: &Target) -> anyhow::Result<()> {
    token_policy(t, "adv-tok-subset").await?;
    let parent = t.token_with(&["adv-tok-subset"], json!({})).await?;
    for policies in [json!(["adv-tok-subset", "adv-tok-other"]), json!(["root"])] {
        let r = t
            .call(
                Method::POST,
                "auth/token/create",
                Some(&parent),
                json!({"policies": policies}),
            )
            .await?;
        expect(
            t,
            &format!("child with policies {policies}"),
            &r,
            400,
            "child policies must be subset of parent",
        )?;
    }
    // A subset is fine; root may hand out anything.
    child(t, &parent, json!({"policies": ["adv-tok-subset"]})).await?;
    child(
        t,
        &t.root_token.clone(),
        json!({"policies": ["adv-tok-other"]}),
    )
    .await?;
    Ok(())
}

async fn revoke_accessor_cascades(t: &Target) -> anyhow::Result<()> {
    let (parent, c, g) = family(t, "adv-tok-accessor").await?;
    let accessor = alive(t, "parent", &parent).await?.data()["accessor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = t
        .root(
            Method::POST,
            "auth/token/revoke-accessor",
            json!({"accessor": accessor}),
        )
        .await?;
    expect_ok(t, "revoke-accessor", &r)?;
    dead(t, "parent after revoke-accessor", &parent).await?;
    dead(t, "child after revoke-accessor", &c).await?;
    dead(t, "grandchild after revoke-accessor", &g).await?;
    let r = t
        .root(
            Method::POST,
            "auth/token/revoke-accessor",
            json!({"accessor": accessor}),
        )
        .await?;
    expect_ok(t, "revoke-accessor again", &r)?;
    if !r
        .warnings()
        .iter()
        .any(|w| w.contains("No token found with this accessor"))
    {
        anyhow::bail!(
            "[{}] no warning for an unknown accessor: {}",
            t.name(),
            r.text
        );
    }
    let r = t
        .root(Method::POST, "auth/token/revoke-accessor", json!({}))
        .await?;
    expect(
        t,
        "revoke-accessor without one",
        &r,
        400,
        "missing accessor",
    )
}

async fn revoke_and_lookup_fields(t: &Target) -> anyhow::Result<()> {
    let r = t.root(Method::POST, "auth/token/revoke", json!({})).await?;
    expect(t, "revoke without a token", &r, 400, "missing token ID")?;
    // An unknown token: nothing to do, as in Vault.
    let r = t
        .root(
            Method::POST,
            "auth/token/revoke",
            json!({"token": "hvs.adversarial-unknown"}),
        )
        .await?;
    expect_ok(t, "revoke an unknown token", &r)?;
    let r = t
        .root(
            Method::POST,
            "auth/token/lookup",
            json!({"token": "hvs.adversarial-unknown"}),
        )
        .await?;
    expect(t, "lookup an unknown token", &r, 403, "bad token")?;
    // No token: the caller's own.
    let r = t.root(Method::POST, "auth/token/lookup", json!({})).await?;
    expect_ok(t, "lookup without a token", &r)?;
    if r.data()["policies"] != json!(["root"]) {
        anyhow::bail!("[{}] lookup {{}} is not the caller: {}", t.name(), r.text);
    }
    Ok(())
}

/// `no_parent`, `renewable`: Go's `strconv.ParseBool` words only ("1", "t", "true", ...);
/// a number or an object is refused, naming the field, before anything is created.
async fn create_bool_fields(t: &Target) -> anyhow::Result<()> {
    for (body, error) in [
        (
            json!({"no_parent": "maybe"}),
            "Field validation failed: error converting input for field \"no_parent\": '' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        ),
        (
            json!({"no_parent": 2}),
            "Field validation failed: error converting input for field \"no_parent\": '' cannot parse value as 'bool'",
        ),
        (
            json!({"renewable": {}}),
            "Field validation failed: error converting input for field \"renewable\": '' expected type 'bool', got unconvertible type 'map[string]interface {}'",
        ),
    ] {
        let r = t
            .root(Method::POST, "auth/token/create", body.clone())
            .await?;
        expect(t, &format!("create with {body}"), &r, 400, error)?;
    }
    let r = t
        .root(
            Method::POST,
            "auth/token/create",
            json!({"renewable": "1", "ttl": "1m"}),
        )
        .await?;
    expect_ok(t, "renewable \"1\" is true", &r)?;
    if r.body["auth"]["renewable"] != json!(true) {
        anyhow::bail!(
            "[{}] renewable \"1\" did not make a renewable token: {}",
            t.name(),
            r.text
        );
    }
    Ok(())
}
