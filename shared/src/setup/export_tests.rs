//! The exports against golden files (three variants: the recipe, an external root, a
//! ClusterIssuer with a stricter role), the Terraform read back by an HCL parser, and
//! hostile values (quotes, `$(...)`, `${...}`, newlines, a leading `@`) that must come out
//! as the same values, never as code. To rewrite the golden files after a deliberate
//! change: `cargo test -p shared --lib setup::export -- --ignored update_golden_files`,
//! then review the diff.

use std::collections::BTreeSet;

use hcl::eval::{Context, Evaluate};

use super::*;
use crate::setup::{IssuerKind, RootMode, WizardState};

/// A CA chain (intermediate, then root) made once with openssl for these tests.
const CHAIN: &str = include_str!("golden/ca-chain.pem");

/// The variants, each with its golden files (`.tf`, `.sh`, `.yaml`, `.policy.yaml`).
fn variants() -> Vec<(&'static str, WizardState)> {
    let mut recipe = WizardState::recipe("https://pki.testlab.local");
    // The cluster's CA (any certificate stands in for it here).
    recipe.kubernetes.ca_cert = root_pem();

    let mut external = recipe.clone();
    external.root.mode = RootMode::External;
    external.role.key_type = "ec".into();
    external.role.key_bits = 256;
    external.kubernetes.token_ttl = String::new();

    let mut cluster = recipe.clone();
    cluster.cert_manager.issuer_kind = IssuerKind::ClusterIssuer;
    cluster.cert_manager.namespace = "cert-manager".into();
    cluster.cert_manager.issuer_name = "testlab-vault".into();
    cluster.role.allowed_domains = vec!["testlab.local".into(), "fruits.example".into()];
    cluster.role.allow_bare_domains = true;
    cluster.role.allow_wildcard_certificates = true;
    cluster.role.require_cn = true;
    cluster.role.ttl = "24h".into();
    cluster.role.max_ttl = "72h".into();
    cluster.role.key_type = "rsa".into();
    cluster.role.key_bits = 2048;

    vec![
        ("recipe", recipe),
        ("external", external),
        ("cluster", cluster),
    ]
}

/// The root of [`CHAIN`], PEM.
fn root_pem() -> String {
    let certs = certificates_from_pem(CHAIN).expect("chain");
    pem_encode("CERTIFICATE", certs.last().expect("root"))
}

/// Every export of `state`: (golden file suffix, text).
fn exports(state: &WizardState) -> Vec<(&'static str, String)> {
    vec![
        ("tf", terraform(state)),
        ("sh", cli_script(state)),
        ("yaml", yaml_bundle(state, CHAIN)),
        ("policy.yaml", approver_policy_yaml(state)),
    ]
}

fn golden(name: &str) -> Option<&'static str> {
    Some(match name {
        "recipe.tf" => include_str!("golden/recipe.tf"),
        "recipe.sh" => include_str!("golden/recipe.sh"),
        "recipe.yaml" => include_str!("golden/recipe.yaml"),
        "recipe.policy.yaml" => include_str!("golden/recipe.policy.yaml"),
        "external.tf" => include_str!("golden/external.tf"),
        "external.sh" => include_str!("golden/external.sh"),
        "external.yaml" => include_str!("golden/external.yaml"),
        "external.policy.yaml" => include_str!("golden/external.policy.yaml"),
        "cluster.tf" => include_str!("golden/cluster.tf"),
        "cluster.sh" => include_str!("golden/cluster.sh"),
        "cluster.yaml" => include_str!("golden/cluster.yaml"),
        "cluster.policy.yaml" => include_str!("golden/cluster.policy.yaml"),
        _ => return None,
    })
}

#[test]
fn the_variants_pass_the_wizards_checks() {
    for (name, state) in variants() {
        assert_eq!(state.check(crate::setup::Step::Review), vec![], "{name}");
    }
}

#[test]
fn every_export_matches_its_golden_file() {
    let mut stale = Vec::new();
    for (name, state) in variants() {
        for (suffix, text) in exports(&state) {
            let file = format!("{name}.{suffix}");
            let want = golden(&file).unwrap_or_else(|| panic!("no golden file {file}"));
            if text != want {
                let line = text
                    .lines()
                    .zip(want.lines())
                    .position(|(a, b)| a != b)
                    .map_or(text.lines().count().min(want.lines().count()), |n| n)
                    + 1;
                stale.push(format!("{file} (first difference at line {line})"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "exports differ from shared/src/setup/golden/: {stale:?}; if the change is meant, \
         run `cargo test -p shared --lib setup::export -- --ignored update_golden_files` and review the diff"
    );
}

/// Rewrites the golden files from the current exports (run explicitly, see the module doc).
#[test]
#[ignore = "rewrites shared/src/setup/golden/; run it on purpose"]
fn update_golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/setup/golden");
    for (name, state) in variants() {
        for (suffix, text) in exports(&state) {
            std::fs::write(dir.join(format!("{name}.{suffix}")), text).expect("write golden");
        }
    }
}

/// `(block type, labels)` of every top-level block.
fn blocks(body: &hcl::Body) -> BTreeSet<(String, Vec<String>)> {
    body.blocks()
        .map(|b| {
            (
                b.identifier().to_owned(),
                b.labels().iter().map(|l| l.as_str().to_owned()).collect(),
            )
        })
        .collect()
}

fn resource<'a>(body: &'a hcl::Body, kind: &str, name: &str) -> &'a hcl::Body {
    body.blocks()
        .find(|b| {
            b.identifier() == "resource" && b.labels().iter().map(|l| l.as_str()).eq([kind, name])
        })
        .unwrap_or_else(|| panic!("no resource {kind}.{name}"))
        .body()
}

/// The value of a literal attribute (a string, template or heredoc without references).
fn literal(body: &hcl::Body, key: &str) -> hcl::Value {
    body.attributes()
        .find(|a| a.key() == key)
        .unwrap_or_else(|| panic!("no attribute {key}"))
        .expr()
        .evaluate(&Context::new())
        .unwrap_or_else(|e| panic!("{key} does not evaluate: {e}"))
}

fn resources(kinds: &[(&str, &str)]) -> BTreeSet<(String, Vec<String>)> {
    kinds
        .iter()
        .map(|(k, n)| {
            (
                "resource".to_owned(),
                vec![(*k).to_owned(), (*n).to_owned()],
            )
        })
        .collect()
}

#[test]
fn the_terraform_parses_and_declares_what_the_plan_makes() {
    let vault_pki = [
        ("vault_mount", "intermediate"),
        (
            "vault_pki_secret_backend_intermediate_cert_request",
            "intermediate",
        ),
        (
            "vault_pki_secret_backend_intermediate_set_signed",
            "intermediate",
        ),
        ("vault_pki_secret_backend_config_urls", "intermediate"),
        ("vault_pki_secret_backend_role", "role"),
        ("vault_policy", "sign"),
    ];
    let root = [
        ("vault_mount", "root"),
        ("vault_pki_secret_backend_root_cert", "root"),
        (
            "vault_pki_secret_backend_root_sign_intermediate",
            "intermediate",
        ),
        ("vault_pki_secret_backend_config_urls", "root"),
    ];
    let kubernetes = [
        ("vault_auth_backend", "kubernetes"),
        ("vault_kubernetes_auth_backend_config", "kubernetes"),
        ("vault_kubernetes_auth_backend_role", "issuer"),
        ("kubernetes_service_account_v1", "issuer"),
        ("kubernetes_role_v1", "issuer_token"),
        ("kubernetes_role_binding_v1", "issuer_token"),
        ("kubernetes_manifest", "issuer"),
    ];
    for (name, state) in variants() {
        let tf = terraform(&state);
        let body = hcl::parse(&tf).unwrap_or_else(|e| panic!("{name}.tf does not parse: {e}"));
        let found = blocks(&body);
        let declared: BTreeSet<_> = found
            .iter()
            .filter(|(t, _)| t == "resource")
            .cloned()
            .collect();
        let mut want = resources(&vault_pki);
        want.extend(resources(&kubernetes));
        if state.root.mode == RootMode::Internal {
            want.extend(resources(&root));
        }
        assert_eq!(declared, want, "{name}.tf: resources");
        for block in ["terraform", "provider", "variable"] {
            assert!(
                found.iter().any(|(t, _)| t == block),
                "{name}.tf: no {block}"
            );
        }
        let jwt = (
            "variable".to_owned(),
            vec!["kubernetes_reviewer_jwt".to_owned()],
        );
        assert!(found.contains(&jwt), "{name}.tf: the JWT variable");
        let variable = body
            .blocks()
            .find(|b| {
                b.identifier() == "variable" && b.labels()[0].as_str() == "kubernetes_reviewer_jwt"
            })
            .expect("variable")
            .body();
        assert_eq!(
            literal(variable, "sensitive"),
            hcl::Value::Bool(true),
            "{name}"
        );
        let external_chain = (
            "variable".to_owned(),
            vec!["intermediate_chain_pem".to_owned()],
        );
        assert_eq!(
            found.contains(&external_chain),
            state.root.mode == RootMode::External,
            "{name}.tf: the external chain variable"
        );

        // The values are the state's, read back through the parser.
        let role = resource(&body, "vault_pki_secret_backend_role", "role");
        assert_eq!(
            literal(role, "name"),
            hcl::Value::from(state.role.name.clone())
        );
        assert_eq!(
            literal(role, "max_ttl"),
            hcl::Value::from(parse_duration(&state.role.max_ttl).expect("max_ttl"))
        );
        let policy = resource(&body, "vault_policy", "sign");
        assert_eq!(
            literal(policy, "policy"),
            hcl::Value::from(state.policy_hcl())
        );
        let k8s_role = resource(&body, "vault_kubernetes_auth_backend_role", "issuer");
        assert_eq!(
            literal(k8s_role, "audience"),
            hcl::Value::from(state.audience())
        );
        let mount = resource(&body, "vault_mount", "intermediate");
        assert_eq!(
            literal(mount, "max_lease_ttl_seconds"),
            hcl::Value::from(parse_duration(&state.intermediate.ttl).expect("ttl"))
        );
    }
}

#[test]
fn the_script_is_strict_and_keeps_secrets_out() {
    for (name, state) in variants() {
        let sh = cli_script(&state);
        assert!(sh.starts_with("#!/usr/bin/env bash\n"), "{name}");
        assert!(sh.contains("\nset -euo pipefail\n"), "{name}");
        assert!(!sh.contains("jq"), "{name}: no jq");
        assert!(
            sh.contains("printf '%s' \"$KUBERNETES_REVIEWER_JWT\" |"),
            "{name}: the JWT through stdin"
        );
        assert!(sh.contains(&format!(
            "vault policy write \"$POLICY\" - <<'PKI_CONSOLE_POLICY'\n{}",
            state.policy_hcl()
        )));
        match state.root.mode {
            RootMode::Internal => {
                assert!(sh.contains("root/sign-intermediate"), "{name}");
                assert!(sh.contains("format=pem_bundle"), "{name}");
                assert!(!sh.contains("SIGNED_CHAIN"), "{name}");
            }
            RootMode::External => {
                assert!(!sh.contains("ROOT_MOUNT"), "{name}: no root");
                assert!(sh.contains("SIGNED_CHAIN"), "{name}");
            }
        }
    }
}

#[test]
fn certificate_times_follow_cert_managers_rules() {
    let mut state = WizardState::recipe("https://pki.testlab.local");
    // 10m is below cert-manager's 1h minimum: 1h asked, Vault caps, no renewBefore.
    assert_eq!(certificate_times(&state), (3600, None));
    state.role.max_ttl = "72h".into();
    assert_eq!(certificate_times(&state), (259_200, Some(86_400)));
    state.role.max_ttl = "1h".into();
    assert_eq!(certificate_times(&state), (3600, Some(1200)));
    let yaml = yaml_bundle(&state, "");
    assert!(
        yaml.contains("  duration: 1h0m0s\n  renewBefore: 20m0s\n"),
        "{yaml}"
    );
}

#[test]
fn the_trust_bundle_holds_the_root_only() {
    let anchors = trust_anchors(CHAIN);
    assert_eq!(anchors, vec![root_pem()]);
    let state = WizardState::recipe("https://pki.testlab.local");
    let yaml = yaml_bundle(&state, CHAIN);
    assert_eq!(yaml.matches("BEGIN CERTIFICATE").count(), 1);
    // No chain: no caBundle and no Bundle.
    let bare = yaml_bundle(&state, "");
    assert!(!bare.contains("caBundle") && !bare.contains("kind: Bundle"));
}

#[test]
fn escapes() {
    assert_eq!(hcl_str("a\"b\\c\n${x}%{y}$z"), r#""a\"b\\c\n$${x}%%{y}$z""#);
    assert_eq!(hcl_heredoc("x\nEOT\ny", "EOT"), "<<EOT_1\nx\nEOT\ny\nEOT_1");
    // A template sequence to escape: a quoted string instead (see hcl_heredoc).
    assert_eq!(hcl_heredoc("a\n${y}", "EOT"), r#""a\n$${y}""#);
    assert_eq!(sh_quote("it's $(x)"), r"'it'\''s $(x)'");
    assert_eq!(cli_value("@/etc/passwd"), r"\@/etc/passwd");
    assert_eq!(cli_value("a@b"), "a@b");
    assert_eq!(yaml_str("fruits-catalog"), "fruits-catalog");
    for quoted in ["yes", "1e3", "0x1f", "", "a: b", "-x", "null", "10", ".5"] {
        assert!(yaml_str(quoted).starts_with('"'), "{quoted}");
    }
    assert_eq!(cel_str("it's \\"), r"'it\'s \\'");
}

/// Reads the bash word at the start of `text` made of single-quoted parts and `\'`
/// (what [`sh_quote`] writes), as bash would.
fn bash_word(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').expect("closing quote");
            out.push_str(&r[..end]);
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix("\\'") {
            out.push('\'');
            rest = r;
        } else {
            return out;
        }
    }
}

#[test]
fn hostile_values_come_out_as_values() {
    let evil = "Evil\" '${x}' $${y} %%{z} $(touch /tmp/pwned) `id` %{if 1}\\\nEOT\nline\t@x";
    let mut state = WizardState::recipe("https://pki.testlab.local");
    state.root.common_name = evil.into();
    state.intermediate.common_name = format!("@{evil}");
    state.kubernetes.host = format!("https://k8s\"{evil}");
    state.policy.hcl =
        format!("path \"x\" {{\n  capabilities = [\"read\"]\n}}\n# {evil}\nPKI_CONSOLE_POLICY\n");
    state.cert_manager.example_host = evil.into();
    state.cert_manager.server_url = format!("https://{evil}");

    // Terraform: the parser reads back the very strings.
    let tf = terraform(&state);
    let body = hcl::parse(&tf).unwrap_or_else(|e| panic!("does not parse: {e}\n{tf}"));
    let root = resource(&body, "vault_pki_secret_backend_root_cert", "root");
    assert_eq!(literal(root, "common_name"), hcl::Value::from(evil));
    let int = resource(
        &body,
        "vault_pki_secret_backend_intermediate_cert_request",
        "intermediate",
    );
    assert_eq!(
        literal(int, "common_name"),
        hcl::Value::from(format!("@{evil}"))
    );
    let config = resource(&body, "vault_kubernetes_auth_backend_config", "kubernetes");
    assert_eq!(
        literal(config, "kubernetes_host"),
        hcl::Value::from(state.kubernetes.host.clone())
    );
    let policy = resource(&body, "vault_policy", "sign");
    assert_eq!(
        literal(policy, "policy"),
        hcl::Value::from(state.policy.hcl.clone())
    );

    // The script: each value is one single-quoted word that bash reads back as it was
    // (with the CLI's `\@` for a leading `@`); the policy's heredoc marker moved aside.
    let sh = cli_script(&state);
    let word = |var: &str| {
        let start = sh
            .find(&format!("\n{var}="))
            .unwrap_or_else(|| panic!("no {var}"))
            + var.len()
            + 2;
        bash_word(&sh[start..])
    };
    assert_eq!(word("ROOT_CN"), evil);
    assert_eq!(word("INT_CN"), format!("\\@{evil}"));
    assert_eq!(word("K8S_HOST"), state.kubernetes.host);
    assert!(
        sh.contains("<<'PKI_CONSOLE_POLICY_1'\n"),
        "the marker is not a line of the policy"
    );
    assert!(sh.contains("\nPKI_CONSOLE_POLICY\nPKI_CONSOLE_POLICY_1\n"));

    // YAML: every value from the state is a JSON-quoted scalar, one line, read back alike.
    let yaml = yaml_bundle(&state, CHAIN);
    let quoted = serde_json::to_string(evil).expect("json");
    assert!(yaml.contains(&format!("    - {quoted}\n")), "{yaml}");
    assert!(
        !yaml.contains("$(touch /tmp/pwned) `id` %{if 1}\\\n"),
        "no raw newline from a value"
    );
    for line in yaml.lines().filter(|l| l.contains("$(touch")) {
        let value = line
            .split_once(": ")
            .map_or(line.trim().trim_start_matches("- "), |(_, v)| v);
        let back: String = serde_json::from_str(value).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(back.contains("$(touch /tmp/pwned)"), "{line}");
    }
    let policy_yaml = approver_policy_yaml(&state);
    assert!(
        !policy_yaml.contains("pwned"),
        "the policy holds names from the role only"
    );
}

#[test]
fn without_kubernetes_the_exports_stop_at_the_pki() {
    let mut state = WizardState::recipe("https://pki.testlab.local");
    state.kubernetes.enabled = false;
    let tf = terraform(&state);
    let body = hcl::parse(&tf).expect("parses");
    let kinds: BTreeSet<String> = blocks(&body)
        .into_iter()
        .filter(|(t, _)| t == "resource")
        .map(|(_, l)| l[0].clone())
        .collect();
    assert!(kinds.iter().all(|k| !k.contains("kubernetes")), "{kinds:?}");
    assert!(!tf.contains("hashicorp/kubernetes") && !tf.contains("reviewer_jwt"));
    let sh = cli_script(&state);
    assert!(!sh.contains("auth enable") && !sh.contains("KUBERNETES_REVIEWER_JWT"));
    assert!(yaml_bundle(&state, CHAIN).contains("Kubernetes auth is not part of this setup"));
}
