//! Adversarial cases: auth methods' limits. A Kubernetes role can never log in as
//! `root` (whatever the spelling, new or legacy field), `token_num_uses` is honoured on
//! the login token, and a negative one is refused. Each case mounts its own
//! `kubernetes` method and starts its own TokenReview stub (the cluster), so both
//! servers really log in.

use serde_json::{Value, json};
use shared::pki::key::{KeyType, PrivateKey};
use tests::http::Method;
use tests::tokenreview::jwt::projected;
use tests::tokenreview::{Account, TokenReviewStub};
use tests::{Kind, Target};

use super::{Case, expect, expect_ok};

const REVIEWER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.adversarial-reviewer.signature";
const AUDIENCE: &str = "vault://adversarial";

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "kubernetes token_policies=root: no root token",
            root_policies
        ),
        crate::case!(
            "kubernetes legacy policies=[\"root\"]: no root token",
            root_legacy_policies
        ),
        crate::case!("kubernetes token_num_uses is honoured", role_num_uses),
        crate::case!(
            "kubernetes token_num_uses cannot be negative",
            role_num_uses_negative
        ),
        crate::case!(
            "kubernetes role token fields: types, limits, legacy names",
            role_token_fields
        ),
    ]
}

/// A `kubernetes` method at `auth/<mount>` whose cluster is a fresh stub.
async fn kubernetes(t: &Target, mount: &str) -> anyhow::Result<TokenReviewStub> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    t.root_ok(
        Method::POST,
        &format!("sys/auth/{mount}"),
        json!({"type": "kubernetes"}),
    )
    .await?;
    t.root_ok(
        Method::POST,
        &format!("auth/{mount}/config"),
        json!({
            "kubernetes_host": stub.url,
            "kubernetes_ca_cert": stub.ca_pem,
            "token_reviewer_jwt": REVIEWER_JWT,
            "disable_local_ca_jwt": true,
        }),
    )
    .await?;
    Ok(stub)
}

fn role_body(extra: Value) -> Value {
    let mut body = json!({
        "bound_service_account_names": ["adv-sa"],
        "bound_service_account_namespaces": ["adv-ns"],
        "audience": AUDIENCE,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

/// A service account JWT the stub vouches for.
fn service_account_jwt(stub: &TokenReviewStub, uid: &str) -> anyhow::Result<String> {
    let key = PrivateKey::generate(KeyType::Ec, 256)?;
    let account = Account::new("adv-ns", "adv-sa", uid, &[AUDIENCE]);
    let jwt = projected(&key, &account)?;
    stub.register(&jwt, account);
    Ok(jwt)
}

async fn login(t: &Target, mount: &str, role: &str, jwt: &str) -> anyhow::Result<tests::Reply> {
    t.call(
        Method::POST,
        &format!("auth/{mount}/login"),
        None,
        json!({"role": role, "jwt": jwt}),
    )
    .await
}

/// A role that would hand out `root` is refused: this engine refuses it when written
/// (naming the field); OpenBao stores it and refuses every login with it. Either way
/// nobody logs in as root.
async fn refuse_root_role(t: &Target, mount: &str, policies: Value) -> anyhow::Result<()> {
    let stub = kubernetes(t, mount).await?;
    let r = t
        .root(
            Method::POST,
            &format!("auth/{mount}/role/adv-root"),
            role_body(policies.clone()),
        )
        .await?;
    match t.kind {
        // Departure: refused at write, so the role can never exist.
        Kind::Engine => expect(
            t,
            &format!("role with {policies}"),
            &r,
            400,
            "auth methods cannot create root tokens",
        ),
        Kind::OpenBao => {
            expect_ok(t, &format!("role with {policies}"), &r)?;
            let jwt = service_account_jwt(&stub, "3f7c1a2b-0000-4000-8000-00000000a001")?;
            let r = login(t, mount, "adv-root", &jwt).await?;
            expect(
                t,
                "login with a root role",
                &r,
                400,
                "auth methods cannot create root tokens",
            )
        }
    }
}

async fn root_policies(t: &Target) -> anyhow::Result<()> {
    refuse_root_role(t, "adv-k8s-root", json!({"token_policies": ["root"]})).await?;
    // Upper case and with a neighbour, written as a comma-separated string.
    refuse_root_role(
        t,
        "adv-k8s-root2",
        json!({"token_policies": "adv-signer, Root"}),
    )
    .await
}

async fn root_legacy_policies(t: &Target) -> anyhow::Result<()> {
    refuse_root_role(t, "adv-k8s-root-legacy", json!({"policies": ["root"]})).await
}

async fn role_num_uses(t: &Target) -> anyhow::Result<()> {
    let mount = "adv-k8s-uses";
    let stub = kubernetes(t, mount).await?;
    t.root_ok(
        Method::POST,
        &format!("auth/{mount}/role/adv-uses"),
        role_body(json!({"token_policies": ["adv-k8s-uses"], "token_num_uses": 2})),
    )
    .await?;
    let r = t
        .root_ok(
            Method::GET,
            &format!("auth/{mount}/role/adv-uses"),
            Value::Null,
        )
        .await?;
    if r.data()["token_num_uses"] != json!(2) {
        anyhow::bail!("[{}] role read back: {}", t.name(), r.text);
    }
    let jwt = service_account_jwt(&stub, "3f7c1a2b-0000-4000-8000-00000000a002")?;
    let r = login(t, mount, "adv-uses", &jwt).await?;
    expect_ok(t, "login", &r)?;
    if r.body["auth"]["num_uses"] != json!(2) {
        anyhow::bail!("[{}] login token's num_uses: {}", t.name(), r.text);
    }
    let token = r.body["auth"]["client_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (i, left) in [(1, 1), (2, -1)] {
        let r = t
            .call(
                Method::GET,
                "auth/token/lookup-self",
                Some(&token),
                Value::Null,
            )
            .await?;
        expect_ok(t, &format!("use {i}"), &r)?;
        if r.data()["num_uses"] != json!(left) {
            anyhow::bail!("[{}] use {i}: {}", t.name(), r.text);
        }
    }
    let r = t
        .call(
            Method::GET,
            "auth/token/lookup-self",
            Some(&token),
            Value::Null,
        )
        .await?;
    expect(t, "use 3", &r, 403, "permission denied")
}

async fn role_num_uses_negative(t: &Target) -> anyhow::Result<()> {
    let mount = "adv-k8s-uses-neg";
    let _stub = kubernetes(t, mount).await?;
    let r = t
        .root(
            Method::POST,
            &format!("auth/{mount}/role/adv-neg"),
            role_body(json!({"token_num_uses": -1})),
        )
        .await?;
    expect(
        t,
        "token_num_uses -1",
        &r,
        400,
        "'token_num_uses' cannot be negative",
    )
}

async fn role_token_fields(t: &Target) -> anyhow::Result<()> {
    let mount = "adv-k8s-fields";
    let _stub = kubernetes(t, mount).await?;
    let role = |name: &str| format!("auth/{mount}/role/{name}");
    let r = t
        .root(
            Method::POST,
            &role("ttl"),
            role_body(json!({"token_ttl": "2h", "token_max_ttl": "1h"})),
        )
        .await?;
    expect(
        t,
        "token_ttl above token_max_ttl",
        &r,
        400,
        "'token_ttl' cannot be greater than 'token_max_ttl'",
    )?;
    let r = t
        .root(
            Method::POST,
            &role("uses"),
            role_body(json!({"token_num_uses": "abc"})),
        )
        .await?;
    expect(
        t,
        "token_num_uses not a number",
        &r,
        400,
        "error converting input for field \"token_num_uses\"",
    )?;
    // The legacy name is read back under both names.
    t.root_ok(
        Method::POST,
        &role("legacy"),
        role_body(json!({"num_uses": "4"})),
    )
    .await?;
    let r = t.root_ok(Method::GET, &role("legacy"), Value::Null).await?;
    if r.data()["num_uses"] != json!(4) || r.data()["token_num_uses"] != json!(4) {
        anyhow::bail!("[{}] legacy num_uses read back: {}", t.name(), r.text);
    }
    // Both names at once: the new one wins (no error), shown under both.
    t.root_ok(
        Method::POST,
        &role("both"),
        role_body(json!({"policies": ["adv-a"], "token_policies": ["adv-b"]})),
    )
    .await?;
    let r = t.root_ok(Method::GET, &role("both"), Value::Null).await?;
    if r.data()["policies"] != json!(["adv-b"]) || r.data()["token_policies"] != json!(["adv-b"]) {
        anyhow::bail!("[{}] both policy names read back: {}", t.name(), r.text);
    }
    // A later write with only the new name drops the legacy one.
    t.root_ok(
        Method::POST,
        &role("both"),
        json!({"token_policies": ["adv-c"]}),
    )
    .await?;
    let r = t.root_ok(Method::GET, &role("both"), Value::Null).await?;
    if !r.data()["policies"].is_null() || r.data()["token_policies"] != json!(["adv-c"]) {
        anyhow::bail!(
            "[{}] after a write with token_policies: {}",
            t.name(),
            r.text
        );
    }
    Ok(())
}
