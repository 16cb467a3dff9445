//! The setup wizard's exports (`shared::setup::export`) checked with the real tools:
//! the `vault` CLI script run by bash with OpenBao 2.7.2's CLI as `vault` (a symlink to
//! `bao` first on PATH) against a fresh dev server builds a PKI that signs a CSR for
//! `fruits.testlab.local` whose chain `openssl verify` accepts, and a second run succeeds
//! without a second CA; with an external root, the first run leaves the CSR, openssl
//! signs it as the outside root, and the run with `SIGNED_CHAIN` completes the same way;
//! after each, the wizard's own plan finds every call already present (the script built
//! the same thing its apply builds); hostile values in the state reach the CLI as plain values (a fake `vault` records
//! what it receives) and nothing in them runs. Every YAML document of the golden files
//! validates as `tests/python/test_deploy_manifests.py` validates the deployment
//! (Kubernetes 1.30 schemas through `kubernetes-validate`, strict; cert-manager's kinds
//! against `../shared/crds`); trust-manager's `Bundle` and approver-policy's
//! `CertificateRequestPolicy` have no CRD there, so they get a structural check of the
//! fields their CRDs define (and full validation when `PKI_TEST_CRDS` names a directory
//! that has those CRDs too). The Terraform is parsed by hcl-rs in shared's unit tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use shared::pki::cert;
use shared::setup::apply::observe_and_plan;
use shared::setup::export::{approver_policy_yaml, cli_script, yaml_bundle};
use shared::setup::plan::{Action, Inputs};
use shared::setup::{RootMode, WizardState};
use tests::Target;
use tests::WizardApi;
use tests::http::Method;
use tests::openbao::OpenBao;

const HOST: &str = "fruits.testlab.local";

/// The wizard's plan against what the script built: every call already present, so the
/// script made the same thing the wizard's apply makes.
async fn plan_finds_everything_present(target: &Target, state: &WizardState) -> anyhow::Result<()> {
    let (_, calls) = observe_and_plan(&mut WizardApi(target), state, Inputs::default())
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let other: Vec<String> = calls
        .iter()
        .filter(|c| c.action != Action::Present)
        .map(|c| format!("{} {} ({:?}: {})", c.method, c.path, c.action, c.reason))
        .collect();
    ensure!(other.is_empty(), "the plan would still change: {other:#?}");
    Ok(())
}

fn state(bao: &OpenBao) -> WizardState {
    let mut s = WizardState::recipe(&bao.addr);
    s.kubernetes.host = "https://127.0.0.1:6443".into();
    s.kubernetes.ca_cert = tests::cluster_ca_pem();
    s
}

/// A directory whose `vault` is OpenBao's `bao`.
fn vault_shim(dir: &Path) -> anyhow::Result<PathBuf> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::os::unix::fs::symlink(tests::openbao::binary()?, bin.join("vault"))?;
    Ok(bin)
}

/// Runs `script` with bash in `dir`, `bin` first on PATH, and `env` added.
async fn run_script(
    script: &Path,
    dir: &Path,
    bin: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Output> {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env_remove("VAULT_TOKEN")
        .env_remove("VAULT_ADDR")
        .env_remove("KUBERNETES_REVIEWER_JWT")
        .env_remove("SIGNED_CHAIN")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(tokio::task::spawn_blocking(move || cmd.output()).await??)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn list() -> Method {
    Method::from_bytes(b"LIST").expect("LIST")
}

/// What a second run must leave alone: issuers, keys, role, policy, the Kubernetes role
/// and whether a reviewer JWT is set.
async fn snapshot(target: &Target, mounts: &[&str]) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for m in mounts {
        for what in ["issuers", "keys"] {
            let reply = target
                .root_ok(list(), &format!("{m}/{what}"), Value::Null)
                .await?;
            out.insert(format!("{m}/{what}"), reply.body["data"]["keys"].clone());
        }
    }
    for path in [
        "pki_int/roles/fruits-catalog",
        "auth/kubernetes/role/vault-issuer",
        "auth/kubernetes/config",
    ] {
        let reply = target.root_ok(Method::GET, path, Value::Null).await?;
        out.insert(path.to_owned(), reply.body["data"].clone());
    }
    let policy = target
        .root_ok(
            Method::GET,
            "sys/policies/acl/fruits-catalog-sign",
            Value::Null,
        )
        .await?;
    out.insert("policy".into(), policy.body["data"]["policy"].clone());
    Ok(Value::Object(out))
}

fn openssl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("run openssl")?;
    ensure!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Signs a CSR for [`HOST`] through the role and checks the chain with openssl against
/// `root_pem` (the intermediate untrusted), the names and the lifetime (≤ 10 minutes).
async fn sign_and_verify(target: &Target, dir: &Path, root_pem: &str) -> anyhow::Result<()> {
    let csr = tests::csr_pem(HOST)?;
    let signed = target
        .root_ok(
            Method::POST,
            "pki_int/sign/fruits-catalog",
            json!({"csr": csr}),
        )
        .await?;
    let data = &signed.body["data"];
    let leaf = data["certificate"].as_str().context("certificate")?;
    let chain: Vec<&str> = data["ca_chain"]
        .as_array()
        .context("ca_chain")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        chain.len() >= 2,
        "ca_chain holds the intermediate and the root: {chain:?}"
    );
    let files = [
        ("root.pem", root_pem.to_owned()),
        ("int.pem", chain[0].to_owned()),
        ("leaf.pem", leaf.to_owned()),
    ];
    for (name, pem) in &files {
        std::fs::write(dir.join(name), pem)?;
    }
    let path = |n: &str| dir.join(n).display().to_string();
    let ok = openssl(&[
        "verify",
        "-CAfile",
        &path("root.pem"),
        "-untrusted",
        &path("int.pem"),
        &path("leaf.pem"),
    ])?;
    ensure!(ok.contains(": OK"), "openssl verify: {ok}");
    let leaf_text = openssl(&[
        "x509",
        "-in",
        &path("leaf.pem"),
        "-noout",
        "-ext",
        "subjectAltName",
    ])?;
    ensure!(leaf_text.contains(&format!("DNS:{HOST}")), "{leaf_text}");
    let info = cert::parse_certificate_pem_or_der(leaf.as_bytes())?;
    ensure!(
        info.not_after - info.not_before <= 600 + 60,
        "valid {}s, more than the role's 10m",
        info.not_after - info.not_before
    );
    Ok(())
}

#[tokio::test]
async fn setup_export_cli_script_builds_the_pki_on_openbao_and_runs_again() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let target = Target::openbao(&bao);
    let dir = tempfile::tempdir()?;
    let bin = vault_shim(dir.path())?;
    let state = state(&bao);
    let script = dir.path().join("setup.sh");
    std::fs::write(&script, cli_script(&state))?;
    let env = [
        ("VAULT_ADDR", bao.addr.as_str()),
        ("VAULT_TOKEN", bao.root_token.as_str()),
    ];

    // First run, with a reviewer JWT.
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXZpZXdlciJ9.c2ln";
    let mut first_env = env.to_vec();
    first_env.push(("KUBERNETES_REVIEWER_JWT", jwt));
    let out = run_script(&script, dir.path(), &bin, &first_env).await?;
    ensure!(out.status.success(), "first run failed:\n{}", text(&out));
    ensure!(
        !String::from_utf8_lossy(&out.stdout).contains(jwt)
            && !String::from_utf8_lossy(&out.stderr).contains(jwt),
        "the JWT is never printed"
    );

    // The same objects the plan makes.
    let role = target
        .root_ok(Method::GET, "pki_int/roles/fruits-catalog", Value::Null)
        .await?;
    ensure!(role.body["data"]["allowed_domains"] == json!(["testlab.local"]));
    ensure!(role.body["data"]["max_ttl"] == json!(600));
    let policy = target
        .root_ok(
            Method::GET,
            "sys/policies/acl/fruits-catalog-sign",
            Value::Null,
        )
        .await?;
    ensure!(
        policy.body["data"]["policy"].as_str().map(str::trim) == Some(state.policy_hcl().trim())
    );
    let kube_role = target
        .root_ok(
            Method::GET,
            "auth/kubernetes/role/vault-issuer",
            Value::Null,
        )
        .await?;
    let k = &kube_role.body["data"];
    ensure!(
        k["audience"] == json!("vault://fruits-catalog/vault-issuer"),
        "{k}"
    );
    ensure!(
        k["bound_service_account_names"] == json!(["vault-issuer"]),
        "{k}"
    );
    ensure!(
        k["bound_service_account_namespaces"] == json!(["fruits-catalog"]),
        "{k}"
    );
    ensure!(k["token_policies"] == json!(["fruits-catalog-sign"]), "{k}");
    ensure!(k["token_ttl"] == json!(1200), "{k}");
    let config = target
        .root_ok(Method::GET, "auth/kubernetes/config", Value::Null)
        .await?;
    let c = &config.body["data"];
    ensure!(
        c["kubernetes_host"] == json!("https://127.0.0.1:6443"),
        "{c}"
    );
    ensure!(c["token_reviewer_jwt_set"] == json!(true), "{c}");
    let tune = target
        .root_ok(Method::GET, "sys/mounts/pki/tune", Value::Null)
        .await?;
    ensure!(
        tune.body["data"]["max_lease_ttl"] == json!(315_360_000),
        "{}",
        tune.text
    );
    for mount in ["pki", "pki_int"] {
        let urls = target
            .root_ok(Method::GET, &format!("{mount}/config/urls"), Value::Null)
            .await?;
        ensure!(
            urls.body["data"]["issuing_certificates"]
                == json!([format!("{}/v1/{mount}/ca", bao.addr)]),
            "{}",
            urls.text
        );
    }
    // set-signed got the full chain: the intermediate's mount holds the root too.
    let int_issuers = target
        .root_ok(list(), "pki_int/issuers", Value::Null)
        .await?;
    ensure!(
        int_issuers.body["data"]["keys"].as_array().map(Vec::len) == Some(2),
        "the intermediate and the root in pki_int: {}",
        int_issuers.text
    );

    let root = target
        .root_ok(Method::GET, "pki/issuer/default", Value::Null)
        .await?;
    let root_pem = root.body["data"]["certificate"]
        .as_str()
        .context("root certificate")?
        .to_owned();
    sign_and_verify(&target, dir.path(), &root_pem).await?;
    plan_finds_everything_present(&target, &state).await?;

    // Second run, without the JWT: it succeeds, makes no CA, keeps the JWT.
    let before = snapshot(&target, &["pki", "pki_int"]).await?;
    let out = run_script(&script, dir.path(), &bin, &env).await?;
    ensure!(out.status.success(), "second run failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        stdout.contains("pki/: already has a CA with its key: kept")
            && stdout.contains("pki_int/: already has a signed intermediate with its key: kept")
            && stdout.contains("auth/kubernetes/config: the same host and CA certificate: kept"),
        "{}",
        text(&out)
    );
    let after = snapshot(&target, &["pki", "pki_int"]).await?;
    ensure!(
        before == after,
        "a second run changed things:\n{before:#}\n{after:#}"
    );
    sign_and_verify(&target, dir.path(), &root_pem).await?;
    Ok(())
}

#[tokio::test]
async fn setup_export_cli_script_with_an_external_root() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let target = Target::openbao(&bao);
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let bin = vault_shim(d)?;
    let mut state = state(&bao);
    state.root.mode = RootMode::External;
    let script = d.join("setup.sh");
    std::fs::write(&script, cli_script(&state))?;
    let env = [
        ("VAULT_ADDR", bao.addr.as_str()),
        ("VAULT_TOKEN", bao.root_token.as_str()),
    ];

    // First run: the CSR, and a stop that says what next. Again: the same key's CSR.
    for _ in 0..2 {
        let out = run_script(&script, d, &bin, &env).await?;
        ensure!(out.status.success(), "{}", text(&out));
        ensure!(
            String::from_utf8_lossy(&out.stdout).contains("SIGNED_CHAIN="),
            "{}",
            text(&out)
        );
    }
    let keys = target.root_ok(list(), "pki_int/keys", Value::Null).await?;
    ensure!(
        keys.body["data"]["keys"].as_array().map(Vec::len) == Some(1),
        "one key however often the CSR is asked for: {}",
        keys.text
    );
    ensure!(
        target
            .root(Method::GET, "pki_int/roles/fruits-catalog", Value::Null)
            .await?
            .status
            == 404,
        "the run stopped before the role"
    );

    // The outside root signs the CSR.
    let path = |n: &str| d.join(n).display().to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &path("outside.key"),
        "-out",
        &path("outside.pem"),
        "-subj",
        "/CN=Outside Root",
        "-days",
        "3650",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    std::fs::write(
        d.join("ext.cnf"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("pki_int.csr"),
        "-CA",
        &path("outside.pem"),
        "-CAkey",
        &path("outside.key"),
        "-days",
        "1825",
        "-extfile",
        &path("ext.cnf"),
        "-out",
        &path("int-signed.pem"),
    ])?;
    // The certificate alone is refused by the script (no chain to the root).
    let alone = [env[0], env[1], ("SIGNED_CHAIN", "int-signed.pem")];
    let out = run_script(&script, d, &bin, &alone).await?;
    ensure!(
        !out.status.success(),
        "a chain without its root: {}",
        text(&out)
    );
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(d.join("int-signed.pem"))?,
        std::fs::read_to_string(d.join("outside.pem"))?
    );
    std::fs::write(d.join("chain.pem"), &chain)?;
    let with_chain = [env[0], env[1], ("SIGNED_CHAIN", "chain.pem")];
    let out = run_script(&script, d, &bin, &with_chain).await?;
    ensure!(out.status.success(), "{}", text(&out));
    let outside = std::fs::read_to_string(d.join("outside.pem"))?;
    sign_and_verify(&target, d, &outside).await?;
    plan_finds_everything_present(&target, &state).await?;

    // And again (SIGNED_CHAIN or not): kept.
    let before = snapshot(&target, &["pki_int"]).await?;
    let out = run_script(&script, d, &bin, &env).await?;
    ensure!(out.status.success(), "{}", text(&out));
    ensure!(
        snapshot(&target, &["pki_int"]).await? == before,
        "changed on a re-run"
    );
    Ok(())
}

/// A `vault` that records each call's arguments (NUL-separated, a call per record) and
/// answers as an empty server would.
const FAKE_VAULT: &str = r#"#!/usr/bin/env bash
{ printf '%s\0' "$@"; printf '\036'; } >>"$FAKE_VAULT_LOG"
case "$1" in
  token) exit 0 ;;
  read|list) exit 2 ;;
  policy) cat >/dev/null; exit 0 ;;
esac
for a in "$@"; do
  case "$a" in -field=*) echo "-----BEGIN CERTIFICATE-----" ;; esac
done
exit 0
"#;

#[tokio::test]
async fn setup_export_hostile_values_reach_the_cli_as_values() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let marker = d.join("pwned");
    let evil = format!(
        "Evil\" '${{x}}' $(touch {m}) `touch {m}` \\\nline\t%{{if 1}}",
        m = marker.display()
    );
    let mut state = WizardState::recipe("https://pki.testlab.local");
    state.kubernetes.ca_cert = tests::cluster_ca_pem();
    state.root.common_name = evil.clone();
    state.intermediate.common_name = format!("@{evil}");
    state.kubernetes.host = format!("https://k8s/{evil}");
    state.policy.hcl =
        format!("path \"x\" {{ capabilities = [\"read\"] }}\n# {evil}\nPKI_CONSOLE_POLICY\n");

    let bin = d.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::write(bin.join("vault"), FAKE_VAULT)?;
    std::fs::set_permissions(
        bin.join("vault"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    let script = d.join("setup.sh");
    std::fs::write(&script, cli_script(&state))?;
    let log = d.join("calls");
    let out = run_script(
        &script,
        d,
        &bin,
        &[
            ("VAULT_ADDR", "http://127.0.0.1:1"),
            ("VAULT_TOKEN", "t"),
            ("FAKE_VAULT_LOG", &log.display().to_string()),
        ],
    )
    .await?;
    ensure!(out.status.success(), "{}", text(&out));
    ensure!(!marker.exists(), "a value ran as code");

    let calls: Vec<Vec<String>> = std::fs::read(&log)?
        .split(|b| *b == 0x1e)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect();
    let call = |path: &str| -> anyhow::Result<&Vec<String>> {
        calls
            .iter()
            .find(|c| c.first().map(String::as_str) == Some("write") && c.iter().any(|a| a == path))
            .with_context(|| format!("no call to {path}: {calls:?}"))
    };
    let root = call("pki/root/generate/internal")?;
    ensure!(
        root.contains(&format!("common_name={evil}")),
        "the CN as typed: {root:?}"
    );
    // A leading `@` would make the CLI read a file: it gets `\@`, which the CLI unescapes.
    let int = call("pki_int/intermediate/generate/internal")?;
    ensure!(int.contains(&format!("common_name=\\@{evil}")), "{int:?}");
    let config = call("auth/kubernetes/config")?;
    ensure!(
        config.contains(&format!("kubernetes_host=https://k8s/{evil}")),
        "{config:?}"
    );

    // The golden scripts and this one are valid bash.
    let golden = tests::root().join("shared/src/setup/golden");
    for name in ["recipe.sh", "external.sh", "cluster.sh"] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(golden.join(name))
            .output()?;
        ensure!(out.status.success(), "{name}: {}", text(&out));
    }
    Ok(())
}

/// Every document of `files`, each with the problems `test_deploy_manifests.problems`
/// finds (the repository's one manifest validator), as JSON.
fn validate(files: &[PathBuf]) -> anyhow::Result<Vec<Value>> {
    let root = tests::root();
    let python = root.join("target/venv/bin/python");
    ensure!(
        python.exists(),
        "{} is missing: `cargo xtask test` makes the venv (kubernetes-validate, jsonschema)",
        python.display()
    );
    let program = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import yaml
import test_deploy_manifests as t
out = []
for path in sys.argv[2:]:
    for doc in yaml.safe_load_all(open(path)):
        if doc is not None:
            out.append({"file": path, "doc": doc, "problems": t.problems(doc)})
print(json.dumps(out))
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(program)
        .arg(root.join("tests/python"))
        .args(files)
        .output()
        .context("run python")?;
    ensure!(out.status.success(), "validator: {}", text(&out));
    Ok(serde_json::from_slice::<Vec<Value>>(&out.stdout)?)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn subset(what: &str, v: &Value, allowed: &[&str]) -> anyhow::Result<()> {
    for k in keys(v) {
        ensure!(allowed.contains(&k), "{what}: unknown field {k}");
    }
    Ok(())
}

/// trust-manager's `Bundle` (trust.cert-manager.io/v1alpha1, cluster-scoped): the fields
/// of its CRD, inline sources that are certificates, a ConfigMap target with a key.
fn check_bundle(doc: &Value) -> anyhow::Result<()> {
    subset("Bundle", doc, &["apiVersion", "kind", "metadata", "spec"])?;
    ensure!(doc["metadata"]["name"].is_string(), "a name");
    ensure!(doc["metadata"].get("namespace").is_none(), "cluster-scoped");
    let spec = &doc["spec"];
    subset("Bundle.spec", spec, &["sources", "target"])?;
    let sources = spec["sources"].as_array().context("spec.sources")?;
    ensure!(!sources.is_empty(), "at least one source");
    for s in sources {
        subset(
            "Bundle source",
            s,
            &["configMap", "inLine", "secret", "useDefaultCAs"],
        )?;
        let pem = s["inLine"].as_str().context("inLine")?;
        let certs = shared::pki::pem::certificates_from_pem(pem)?;
        ensure!(!certs.is_empty(), "inLine holds certificates");
        for der in certs {
            ensure!(cert::parse_certificate(&der)?.self_issued, "a root");
        }
    }
    subset(
        "Bundle.spec.target",
        &spec["target"],
        &[
            "additionalFormats",
            "configMap",
            "namespaceSelector",
            "secret",
        ],
    )?;
    ensure!(
        spec["target"]["configMap"]["key"].is_string(),
        "target.configMap.key"
    );
    Ok(())
}

/// approver-policy's `CertificateRequestPolicy` (policy.cert-manager.io/v1alpha1,
/// cluster-scoped): the fields of its CRD and their types.
fn check_policy(doc: &Value) -> anyhow::Result<()> {
    subset("policy", doc, &["apiVersion", "kind", "metadata", "spec"])?;
    ensure!(doc["metadata"].get("namespace").is_none(), "cluster-scoped");
    let spec = &doc["spec"];
    subset(
        "policy.spec",
        spec,
        &["allowed", "constraints", "plugins", "selector"],
    )?;
    let allowed = &spec["allowed"];
    subset(
        "allowed",
        allowed,
        &[
            "commonName",
            "dnsNames",
            "emailAddresses",
            "ipAddresses",
            "isCA",
            "otherNames",
            "subject",
            "uris",
            "usages",
        ],
    )?;
    subset(
        "allowed.commonName",
        &allowed["commonName"],
        &["required", "validations", "value"],
    )?;
    subset(
        "allowed.dnsNames",
        &allowed["dnsNames"],
        &["required", "validations", "values"],
    )?;
    ensure!(allowed["dnsNames"]["values"].is_array(), "dnsNames.values");
    for v in allowed["dnsNames"]["validations"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            allowed["commonName"]["validations"]
                .as_array()
                .into_iter()
                .flatten(),
        )
    {
        subset("validation", v, &["message", "rule"])?;
        ensure!(v["rule"].is_string(), "a rule");
    }
    let constraints = &spec["constraints"];
    subset(
        "constraints",
        constraints,
        &["maxDuration", "minDuration", "privateKey"],
    )?;
    if let Some(d) = constraints["maxDuration"].as_str() {
        shared::pki::duration::parse_duration(d)?;
    }
    if let Some(k) = constraints.get("privateKey") {
        subset("privateKey", k, &["algorithm", "maxSize", "minSize"])?;
        let alg = k["algorithm"].as_str().unwrap_or("RSA");
        ensure!(
            ["RSA", "ECDSA", "Ed25519"].contains(&alg),
            "algorithm {alg}"
        );
    }
    subset("selector", &spec["selector"], &["issuerRef", "namespace"])?;
    subset(
        "selector.issuerRef",
        &spec["selector"]["issuerRef"],
        &["group", "kind", "name"],
    )?;
    Ok(())
}

#[tokio::test]
async fn setup_export_yaml_validates_against_the_schemas() -> anyhow::Result<()> {
    let golden = tests::root().join("shared/src/setup/golden");
    let files: Vec<PathBuf> = ["recipe", "external", "cluster"]
        .iter()
        .flat_map(|v| {
            [
                golden.join(format!("{v}.yaml")),
                golden.join(format!("{v}.policy.yaml")),
            ]
        })
        .collect();
    let docs = validate(&files)?;
    let mut kinds = std::collections::BTreeSet::new();
    for d in &docs {
        let kind = d["doc"]["kind"].as_str().unwrap_or("?");
        kinds.insert(kind.to_owned());
        let problems: Vec<&str> = d["problems"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let no_crd = problems.len() == 1 && problems[0].contains("no CRD in");
        match kind {
            "Bundle" if no_crd => {
                check_bundle(&d["doc"]).with_context(|| format!("{}", d["file"]))?
            }
            "CertificateRequestPolicy" if no_crd => {
                check_policy(&d["doc"]).with_context(|| format!("{}", d["file"]))?
            }
            _ => {
                if !problems.is_empty() {
                    bail!("{} {kind}: {problems:?}", d["file"]);
                }
            }
        }
    }
    let want = [
        "Bundle",
        "Certificate",
        "CertificateRequestPolicy",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "Ingress",
        "Issuer",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    ];
    ensure!(
        kinds.iter().map(String::as_str).eq(want),
        "kinds: {kinds:?}"
    );

    // Hostile values come back from YAML as the same strings.
    let evil = "Evil\" '${x}' $(id) `id` \\\nline: #x\t- [y]";
    let mut state = WizardState::recipe("https://pki.testlab.local");
    state.cert_manager.example_host = evil.into();
    state.cert_manager.server_url = format!("https://{evil}");
    state.role.allowed_domains = vec![format!("{evil}'")];
    let dir = tempfile::tempdir()?;
    let (bundle, policy) = (dir.path().join("b.yaml"), dir.path().join("p.yaml"));
    std::fs::write(&bundle, yaml_bundle(&state, ""))?;
    std::fs::write(&policy, approver_policy_yaml(&state))?;
    let docs = validate(&[bundle, policy])?;
    let find = |kind: &str| {
        docs.iter()
            .map(|d| &d["doc"])
            .find(|d| d["kind"] == json!(kind))
            .cloned()
            .with_context(|| format!("no {kind}"))
    };
    let certificate = find("Certificate")?;
    ensure!(
        certificate["spec"]["dnsNames"] == json!([evil]),
        "{certificate}"
    );
    let issuer = find("Issuer")?;
    ensure!(
        issuer["spec"]["vault"]["server"] == json!(format!("https://{evil}")),
        "{issuer}"
    );
    let ingress = find("Ingress")?;
    ensure!(
        ingress["spec"]["rules"][0]["host"] == json!(evil),
        "{ingress}"
    );
    let crp = find("CertificateRequestPolicy")?;
    ensure!(
        crp["spec"]["allowed"]["dnsNames"]["values"] == json!([format!("*.{evil}'")]),
        "{crp}"
    );
    Ok(())
}
