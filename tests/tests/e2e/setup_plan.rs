//! The setup wizard's plan → apply → verify through the API, the way the SPA runs it
//! (`shared::setup::apply`, the same code), against our engine and against OpenBao
//! 2.7.2: a fresh server gets every call and ends with the recipe; a second apply finds
//! everything present and changes nothing; a policy the server rejects stops apply at
//! that call with Vault's message and the step's hint, and the fixed plan completes;
//! `/api/setup/verify` signs a CSR with a token that has only the new policy, in embedded
//! and in upstream mode.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shared::setup::apply::{Progress, apply, observe_and_plan};
use shared::setup::plan::{Action, Inputs};
use shared::setup::verify::VerifyReport;
use shared::setup::{RootMode, WizardState};
use tests::WizardApi;
use tests::http::Method;
use tests::openbao::OpenBao;
use tests::{Server, Target, recipe};

fn state(target: &Target) -> WizardState {
    let mut s = WizardState::recipe(&target.base);
    // Any https address and CA: Vault stores them without reaching the cluster.
    s.kubernetes.host = "https://127.0.0.1:6443".into();
    s.kubernetes.ca_cert = tests::cluster_ca_pem();
    s
}

/// What apply is meant to leave alone on a second run: the reads of each object.
async fn snapshot(target: &Target) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for (key, method, path) in [
        ("mounts", Method::GET, "sys/mounts"),
        ("root_issuers", Method::from_bytes(b"LIST")?, "pki/issuers"),
        (
            "int_issuers",
            Method::from_bytes(b"LIST")?,
            "pki_int/issuers",
        ),
        ("role", Method::GET, "pki_int/roles/fruits-catalog"),
        (
            "policy",
            Method::GET,
            "sys/policies/acl/fruits-catalog-sign",
        ),
        ("urls", Method::GET, "pki_int/config/urls"),
        (
            "kube_role",
            Method::GET,
            "auth/kubernetes/role/vault-issuer",
        ),
    ] {
        let reply = target.root_ok(method, path, Value::Null).await?;
        let mut data = reply.body["data"].clone();
        if key == "mounts" {
            // Only the wizard's mounts (uuids and accessors included: they must not change).
            data = json!({"pki/": data["pki/"], "pki_int/": data["pki_int/"]});
        }
        if key == "policy" {
            data.as_object_mut().map(|m| m.remove("modified"));
        }
        out.insert(key.into(), data);
    }
    Ok(Value::Object(out))
}

async fn run(target: &Target, state: &WizardState) -> anyhow::Result<Vec<(String, Action)>> {
    let mut api = WizardApi(target);
    let (_, calls) = observe_and_plan(&mut api, state, Inputs::default())
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let mut vars = BTreeMap::new();
    let mut seen = Vec::new();
    apply(&mut api, &calls, &mut vars, |i, p| seen.push((i, p)))
        .await
        .map_err(|f| anyhow::anyhow!("{}: {f}", target.name()))?;
    ensure!(seen.iter().all(|(_, p)| *p != Progress::Failed), "{seen:?}");
    Ok(calls.into_iter().map(|c| (c.path, c.action)).collect())
}

async fn plan_apply_twice(target: &Target) -> anyhow::Result<()> {
    let state = state(target);
    let first = run(target, &state).await?;
    ensure!(
        first.iter().all(|(_, a)| *a == Action::Create),
        "{}: a fresh server gets every call: {first:?}",
        target.name()
    );
    let before = snapshot(target).await?;
    let second = run(target, &state).await?;
    ensure!(
        second.iter().all(|(_, a)| *a == Action::Present),
        "{}: the second apply finds everything present: {second:?}",
        target.name()
    );
    let after = snapshot(target).await?;
    ensure!(before == after, "{}: nothing changed", target.name());

    // The role signs the recipe's name, and the chain reaches the new root.
    let csr = recipe::csr_pem("fruits.testlab.local")?;
    let signed = target
        .root_ok(
            Method::POST,
            "pki_int/sign/fruits-catalog",
            json!({"csr": csr, "common_name": "fruits.testlab.local"}),
        )
        .await?;
    let chain = signed.body["data"]["ca_chain"]
        .as_array()
        .context("ca_chain")?;
    ensure!(
        chain.len() == 2,
        "{}: intermediate and root: {chain:?}",
        target.name()
    );
    Ok(())
}

#[tokio::test]
async fn plan_and_apply_build_the_recipe_once_on_the_engine_and_on_openbao() -> anyhow::Result<()> {
    let server = Server::start().await?;
    plan_apply_twice(&Target::engine(&server)?).await?;
    let bao = OpenBao::dev().await?;
    plan_apply_twice(&Target::openbao(&bao)).await?;
    Ok(())
}

#[tokio::test]
async fn a_rejected_policy_stops_apply_there_and_the_fixed_plan_completes() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let mut state = state(&target);
    state.policy.hcl = format!(
        "path \"{}\" {{ capabilities = [\"update\"] }}\npath \"x\" {{ capabilities = ",
        state.sign_path()
    );
    let mut api = WizardApi(&target);
    let (_, calls) = observe_and_plan(&mut api, &state, Inputs::default())
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let mut vars = BTreeMap::new();
    let failure = apply(&mut api, &calls, &mut vars, |_, _| {})
        .await
        .expect_err("the server rejects the policy");
    let index = failure.index.context("a call failed")?;
    ensure!(
        calls[index].path == "sys/policies/acl/fruits-catalog-sign",
        "{failure:?}"
    );
    ensure!(failure.status == 400, "{failure:?}");
    ensure!(failure.hint.contains("HCL"), "{failure:?}");
    ensure!(!failure.message.is_empty(), "{failure:?}");
    // Nothing after the policy was sent.
    let kube = target.root(Method::GET, "sys/auth", Value::Null).await?;
    ensure!(
        kube.body["data"].get("kubernetes/").is_none(),
        "{}",
        kube.text
    );

    state.policy.hcl = String::new();
    let fixed = run(&target, &state).await?;
    let action = |p: &str| fixed.iter().find(|(path, _)| path == p).map(|(_, a)| *a);
    ensure!(
        action("sys/mounts/pki") == Some(Action::Present),
        "{fixed:?}"
    );
    ensure!(
        action("sys/policies/acl/fruits-catalog-sign") == Some(Action::Create),
        "{fixed:?}"
    );
    ensure!(
        action("sys/auth/kubernetes") == Some(Action::Create),
        "{fixed:?}"
    );
    Ok(())
}

async fn verify(
    server: &Server,
    token: &str,
    state: &WizardState,
    name: &str,
) -> anyhow::Result<VerifyReport> {
    let csr = recipe::csr_pem(name)?;
    let res = tests::http::send(
        Method::POST,
        &server.url("/api/setup/verify"),
        &[
            ("x-vault-token", token),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(&json!({"state": state, "csr": csr, "name": name}))?,
    )
    .await?;
    ensure!(res.status.as_u16() == 200, "{}", res.text());
    Ok(serde_json::from_value(res.json()?)?)
}

async fn verify_after_apply(server: &Server, target: &Target) -> anyhow::Result<()> {
    let state = state(target);
    run(target, &state).await?;
    let token = target.root_token.clone();
    let report = verify(server, &token, &state, "fruits.testlab.local").await?;
    ensure!(report.ok, "{report:#?}");
    ensure!(
        report.capabilities.iter().any(|c| c == "update"),
        "{report:?}"
    );
    ensure!(report.ca_chain.len() == 2, "{report:?}");
    // The answer carries no token.
    let text = serde_json::to_string(&report)?;
    ensure!(!text.contains("hvs.") && !text.contains("\"s."), "{text}");
    // A name the role refuses fails the verification, with the role's word for it.
    let refused = verify(server, &token, &state, "fruits.example.com").await?;
    ensure!(!refused.ok, "{refused:#?}");
    ensure!(
        refused
            .checks
            .iter()
            .any(|c| !c.ok && c.detail.contains("fruits.example.com")),
        "{refused:#?}"
    );
    Ok(())
}

#[tokio::test]
async fn verify_signs_with_only_the_new_policy_embedded_and_upstream() -> anyhow::Result<()> {
    let server = Server::start().await?;
    verify_after_apply(&server, &Target::engine(&server)?).await?;

    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    let target = Target::openbao(&bao);
    verify_after_apply(&console, &target).await?;
    // The verification token was revoked: only the root token is left in OpenBao.
    let accessors = target
        .root_ok(
            Method::from_bytes(b"LIST")?,
            "auth/token/accessors",
            Value::Null,
        )
        .await?;
    let n = accessors.body["data"]["keys"]
        .as_array()
        .map_or(0, Vec::len);
    ensure!(n == 1, "tokens left: {}", accessors.text);

    // Without a credential, and with a hostile body.
    let res = tests::http::send(
        Method::POST,
        &server.url("/api/setup/verify"),
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await?;
    ensure!(res.status.as_u16() == 401, "{}", res.text());
    let root = server.root_token()?;
    let res = tests::http::send(
        Method::POST,
        &server.url("/api/setup/verify"),
        &[
            ("x-vault-token", &root),
            ("content-type", "application/json"),
        ],
        b"{\"state\": 1}".to_vec(),
    )
    .await?;
    ensure!(
        res.status.as_u16() == 400 && res.text().contains("state"),
        "{}",
        res.text()
    );
    Ok(())
}

#[tokio::test]
async fn an_external_root_waits_then_imports_the_outside_chain() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let mut state = state(&target);
    state.root.mode = RootMode::External;
    state.kubernetes.enabled = false;
    let mut api = WizardApi(&target);
    let (_, calls) = observe_and_plan(&mut api, &state, Inputs::default())
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let mut vars = BTreeMap::new();
    let failure = apply(&mut api, &calls, &mut vars, |_, _| {})
        .await
        .expect_err("it waits for the signed certificate");
    ensure!(
        calls[failure.index.context("index")?].action == Action::Waiting,
        "{failure:?}"
    );
    let csr = vars
        .get("csr")
        .context("the CSR was captured for download")?;

    // An outside root (openssl) signs it.
    let dir = tempfile::tempdir()?;
    let (root_pem, int_pem) = tests::outside_root_signs(dir.path(), csr)?;
    let p = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    std::fs::write(p("root.pem"), &root_pem)?;
    std::fs::write(p("int.pem"), &int_pem)?;
    state.root.external_chain_pem = format!("{int_pem}{root_pem}");
    state.intermediate.ttl = "24h".into();
    let actions = run(&target, &state).await?;
    ensure!(
        actions
            .iter()
            .any(|(path, a)| path.ends_with("set-signed") && *a == Action::Create),
        "{actions:?}"
    );
    // Issued leaves chain to the outside root.
    let csr = recipe::csr_pem("fruits.testlab.local")?;
    let signed = target
        .root_ok(
            Method::POST,
            "pki_int/sign/fruits-catalog",
            json!({"csr": csr}),
        )
        .await?;
    std::fs::write(
        p("leaf.pem"),
        signed.body["data"]["certificate"]
            .as_str()
            .context("certificate")?,
    )?;
    let out = std::process::Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            &p("root.pem"),
            "-untrusted",
            &p("int.pem"),
            &p("leaf.pem"),
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn exports_are_served_as_named_files_to_a_signed_in_caller() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let root = target.root_token.clone();
    let body = serde_json::to_vec(&json!({"state": state(&target), "ca_chain": ""}))?;
    for (kind, file, needle) in [
        (
            "terraform",
            "pki-console-setup.tf",
            "vault_pki_secret_backend_role",
        ),
        ("cli", "pki-console-setup.sh", "set -euo pipefail"),
        ("yaml", "pki-console-cert-manager.yaml", "kind: Issuer"),
        (
            "approver-policy",
            "pki-console-approver-policy.yaml",
            "CertificateRequestPolicy",
        ),
    ] {
        let res = tests::http::send(
            Method::POST,
            &server.url(&format!("/api/setup/export/{kind}")),
            &[
                ("x-vault-token", &root),
                ("content-type", "application/json"),
            ],
            body.clone(),
        )
        .await?;
        ensure!(res.status.as_u16() == 200, "{kind}: {}", res.text());
        let disposition = res.header("content-disposition").unwrap_or_default();
        ensure!(disposition.contains(file), "{kind}: {disposition}");
        ensure!(res.text().contains(needle), "{kind}: {}", res.text());
    }
    let unknown = tests::http::send(
        Method::POST,
        &server.url("/api/setup/export/zip"),
        &[
            ("x-vault-token", &root),
            ("content-type", "application/json"),
        ],
        body.clone(),
    )
    .await?;
    ensure!(unknown.status.as_u16() == 404, "{}", unknown.text());
    let anonymous = tests::http::send(
        Method::POST,
        &server.url("/api/setup/export/cli"),
        &[("content-type", "application/json")],
        body,
    )
    .await?;
    ensure!(anonymous.status.as_u16() == 401, "{}", anonymous.text());
    Ok(())
}
