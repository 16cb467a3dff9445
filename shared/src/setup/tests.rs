//! The wizard's checks and plan, without a server: answers are written as Vault gives them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::plan::{Action, Inputs, Observed, REVIEWER_JWT, plan};
use super::*;

/// A PEM certificate for the cluster CA field (its content is not checked here).
const CLUSTER_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn recipe() -> WizardState {
    let mut state = WizardState::recipe("https://pki.testlab.local");
    state.kubernetes.ca_cert = CLUSTER_CA.into();
    state
}

fn fields(issues: &[FieldIssue]) -> Vec<&str> {
    issues.iter().map(|i| i.field.as_str()).collect()
}

#[test]
fn the_recipe_passes_every_step() {
    let mut state = recipe();
    state.kubernetes.ca_cert = String::new();
    assert_eq!(
        fields(&state.check(Step::Kubernetes)),
        ["kubernetes.ca_cert"]
    );
    state.kubernetes.ca_cert = CLUSTER_CA.into();
    for step in Step::ALL {
        assert_eq!(state.check(step), vec![], "{step:?}");
    }
    assert_eq!(state.audience(), "vault://fruits-catalog/vault-issuer");
    assert_eq!(state.sign_path(), "pki_int/sign/fruits-catalog");
    assert!(
        state
            .policy_hcl()
            .contains("path \"pki_int/sign/fruits-catalog\"")
    );
}

#[test]
fn each_problem_names_its_field() {
    let mut state = recipe();
    state.role.name = "-x".into();
    state.role.max_ttl = "10 minutes".into();
    assert_eq!(
        fields(&state.check(Step::Role)),
        ["role.name", "role.max_ttl"]
    );

    let mut state = recipe();
    state.intermediate.ttl = "100000h".into();
    assert_eq!(
        fields(&state.check(Step::Intermediate)),
        ["intermediate.ttl"]
    );

    let mut state = recipe();
    state.root.mount = "sys/pki".into();
    state.root.key.key_bits = 1024;
    assert_eq!(
        fields(&state.check(Step::Root)),
        ["root.mount", "root.key_bits"]
    );

    let mut state = recipe();
    state.cert_manager.example_host = "fruits.example.com".into();
    state.cert_manager.namespace = "Fruits".into();
    assert_eq!(
        fields(&state.check(Step::CertManager)),
        ["cert_manager.namespace", "cert_manager.example_host"]
    );

    let mut state = recipe();
    state.policy.hcl = "path \"pki_int/issue/other\" { capabilities = [\"update\"] }".into();
    assert_eq!(fields(&state.check(Step::Policy)), ["policy.hcl"]);
}

#[test]
fn the_name_tester_asks_the_role_the_server_will_hold() {
    let role = recipe().role().unwrap();
    assert!(crate::pki::names::check_name(&role, "fruits.testlab.local").is_ok());
    assert!(crate::pki::names::check_name(&role, "testlab.local").is_err());
    assert!(crate::pki::names::check_name(&role, "fruits.example.com").is_err());
    assert_eq!(role.max_ttl, 600);
}

#[test]
fn steps_round_trip_their_slugs() {
    for step in Step::ALL {
        assert_eq!(Step::from_slug(step.slug()), Some(step));
    }
    assert_eq!(Step::from_slug("nope"), None);
}

#[test]
fn a_fresh_server_gets_every_call_in_order() {
    let calls = plan(&recipe(), &Observed::default(), Inputs::default());
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "sys/mounts/pki",
            "pki/root/generate/internal",
            "sys/mounts/pki_int",
            "pki_int/intermediate/generate/internal",
            "pki/root/sign-intermediate",
            "pki_int/intermediate/set-signed",
            "pki/config/urls",
            "pki_int/config/urls",
            "pki_int/roles/fruits-catalog",
            "sys/policies/acl/fruits-catalog-sign",
            "sys/auth/kubernetes",
            "auth/kubernetes/config",
            "auth/kubernetes/role/vault-issuer",
        ]
    );
    assert!(
        calls.iter().all(|c| c.action == Action::Create),
        "{calls:#?}"
    );
    // The CSR shuttle: each call names the answer it needs.
    let sign = &calls[4];
    assert_eq!(sign.body["csr"], "{{csr}}");
    assert_eq!(sign.missing(&BTreeMap::new()), ["csr"]);
    let mut vars = BTreeMap::new();
    calls[3].capture_from(&json!({"data": {"csr": "CSR-PEM"}}), &mut vars);
    assert_eq!(sign.body_with(&vars)["csr"], "CSR-PEM");
    // The reviewer JWT is optional: left out when not given, sent when given.
    let config = &calls[11];
    assert!(config.missing(&vars).is_empty());
    assert!(config.body_with(&vars).get("token_reviewer_jwt").is_none());
    vars.insert(REVIEWER_JWT.into(), "eyJ.x.y".into());
    assert_eq!(config.body_with(&vars)["token_reviewer_jwt"], "eyJ.x.y");
}

/// What a server that ran the recipe answers to the plan's reads.
fn applied(state: &WizardState) -> Observed {
    let (ri, rc) = state.urls_for("pki");
    let (ii, ic) = state.urls_for("pki_int");
    let mut answers: BTreeMap<String, Option<Value>> = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        answers.insert(k.into(), Some(v));
    };
    put(
        "secrets",
        json!({"pki/": {"type": "pki"}, "pki_int/": {"type": "pki"}, "sys/": {"type": "system"}}),
    );
    put(
        "auth",
        json!({"token/": {"type": "token"}, "kubernetes/": {"type": "kubernetes"}}),
    );
    put("root_tune", json!({"max_lease_ttl": 315_360_000}));
    put("int_tune", json!({"max_lease_ttl": 157_680_000}));
    put(
        "root_issuers",
        json!({"keys": ["r1"], "key_info": {"r1": {"key_id": "k1"}}}),
    );
    put(
        "int_issuers",
        json!({"keys": ["i1", "r1"], "key_info": {"i1": {"key_id": "k2"}, "r1": {"key_id": ""}}}),
    );
    put("int_keys", json!({"keys": ["k2"]}));
    put(
        "root_urls",
        json!({"issuing_certificates": ri, "crl_distribution_points": rc}),
    );
    put(
        "int_urls",
        json!({"issuing_certificates": ii, "crl_distribution_points": ic}),
    );
    // As the server answers: TTLs in seconds, every field of the role.
    put(
        "role",
        json!({"allowed_domains": ["testlab.local"], "allow_subdomains": true, "allow_bare_domains": false,
            "allow_wildcard_certificates": false, "require_cn": false, "max_ttl": 600, "ttl": 0,
            "key_type": "any", "key_bits": 0, "server_flag": true}),
    );
    put(
        "policy",
        json!({"name": "fruits-catalog-sign", "policy": state.policy_hcl()}),
    );
    put(
        "kube_config",
        json!({"kubernetes_host": state.kubernetes.host, "kubernetes_ca_cert": CLUSTER_CA, "token_reviewer_jwt_set": true}),
    );
    put(
        "kube_role",
        json!({"bound_service_account_names": ["vault-issuer"], "bound_service_account_namespaces": ["fruits-catalog"],
            "audience": state.audience(), "token_policies": ["fruits-catalog-sign"], "token_ttl": 1200}),
    );
    Observed::from_answers(&answers)
}

#[test]
fn a_second_run_finds_everything_present() {
    let state = recipe();
    let calls = plan(&state, &applied(&state), Inputs::default());
    let not_present: Vec<_> = calls
        .iter()
        .filter(|c| c.action != Action::Present)
        .map(|c| (&c.path, c.action, &c.reason))
        .collect();
    assert!(not_present.is_empty(), "{not_present:#?}");
    assert!(calls.iter().all(|c| !c.action.is_sent()));
}

#[test]
fn changes_are_updates_and_conflicts_stop() {
    let mut state = recipe();
    state.role.max_ttl = "15m".into();
    let mut seen = applied(&state);
    seen.root_max_ttl = Some(3600);
    seen.secrets.insert("pki_int/".into(), "kv".into());
    let calls = plan(&state, &seen, Inputs { reviewer_jwt: true });
    let action = |path: &str| calls.iter().find(|c| c.path == path).map(|c| c.action);
    assert_eq!(action("sys/mounts/pki/tune"), Some(Action::Update));
    assert_eq!(action("pki_int/roles/fruits-catalog"), Some(Action::Update));
    assert_eq!(action("sys/mounts/pki_int"), Some(Action::Conflict));
    assert_eq!(action("auth/kubernetes/config"), Some(Action::Update));
}

#[test]
fn an_external_root_waits_for_the_signed_certificate() {
    let mut state = recipe();
    state.root.mode = RootMode::External;
    let calls = plan(&state, &Observed::default(), Inputs::default());
    assert!(
        calls.iter().all(|c| !c.path.starts_with("pki/")),
        "no root mount is touched"
    );
    let waiting: Vec<_> = calls
        .iter()
        .filter(|c| c.action == Action::Waiting)
        .collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].path, "pki_int/intermediate/set-signed");

    // The CSR again for the key that waits, then the uploaded chain is imported.
    let seen = Observed {
        int_keys: vec!["k9".into()],
        ..Default::default()
    };
    let calls = plan(&state, &seen, Inputs::default());
    let csr = calls.iter().find(|c| c.path.contains("generate")).unwrap();
    assert_eq!(csr.path, "pki_int/intermediate/generate/existing");
    assert_eq!(csr.body["key_ref"], "k9");
    state.root.external_chain_pem =
        "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n".into();
    let calls = plan(&state, &seen, Inputs::default());
    let import = calls
        .iter()
        .find(|c| c.path.ends_with("set-signed"))
        .unwrap();
    assert_eq!(import.action, Action::Create);
    assert!(
        import.body["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN")
    );
}

#[test]
fn without_kubernetes_the_plan_stops_at_the_policy() {
    let mut state = recipe();
    state.kubernetes.enabled = false;
    let calls = plan(&state, &Observed::default(), Inputs::default());
    assert_eq!(
        calls.last().unwrap().path,
        "sys/policies/acl/fruits-catalog-sign"
    );
    assert_eq!(state.check(Step::Kubernetes), vec![]);
}

#[test]
fn the_state_holds_no_secret_and_round_trips() {
    let state = recipe();
    let text = serde_json::to_string(&state).unwrap();
    assert!(!text.contains("jwt") && !text.contains("token\""), "{text}");
    let back: WizardState = serde_json::from_str(&text).unwrap();
    assert_eq!(back, state);
}

mod verify {
    use super::super::verify::{check_capabilities, check_issued};
    use crate::api::pki::Signed;
    use crate::pki::cert::{self, CertSpec, KeyUsage, Sans, Subject};
    use crate::pki::key::{KeyType, PrivateKey};

    const NOW: i64 = 1_900_000_000;

    fn spec(cn: &str, serial: u8, is_ca: bool, not_after: i64) -> CertSpec {
        CertSpec {
            serial: vec![serial],
            not_before: NOW - 30,
            not_after,
            subject: Subject::with_common_name(cn),
            is_ca,
            key_usage: if is_ca {
                vec![KeyUsage::CertSign, KeyUsage::CrlSign]
            } else {
                vec![KeyUsage::DigitalSignature]
            },
            ..CertSpec::default()
        }
    }

    fn pem(der: &[u8]) -> String {
        cert::pem_encode("CERTIFICATE", der)
    }

    /// root → intermediate → leaf for `fruits.testlab.local`, the leaf valid `ttl` s.
    fn chain(ttl: i64) -> (String, String, String) {
        let root_key = PrivateKey::generate(KeyType::Ec, 256).unwrap();
        let root = cert::self_sign(&spec("Root", 1, true, NOW + 86_400), &root_key, 0).unwrap();
        let int_key = PrivateKey::generate(KeyType::Ec, 256).unwrap();
        let int = cert::sign(
            &spec("Int", 2, true, NOW + 86_400),
            &int_key.public_key_info(),
            &root,
            &root_key,
            0,
        )
        .unwrap();
        let leaf_key = PrivateKey::generate(KeyType::Ec, 256).unwrap();
        let mut leaf_spec = spec("fruits.testlab.local", 3, false, NOW + ttl);
        leaf_spec.sans = Sans {
            dns: vec!["fruits.testlab.local".into()],
            ..Sans::default()
        };
        let leaf = cert::sign(&leaf_spec, &leaf_key.public_key_info(), &int, &int_key, 0).unwrap();
        (pem(&leaf), pem(&int), pem(&root))
    }

    fn verdicts(signed: &Signed, name: &str) -> Vec<(String, bool)> {
        check_issued(signed, name, 600, NOW)
            .into_iter()
            .map(|c| (c.name, c.ok))
            .collect()
    }

    #[test]
    fn a_good_answer_passes_and_each_fault_is_named() {
        let (leaf, int, root) = chain(600);
        let good = Signed {
            certificate: leaf.clone(),
            ca_chain: vec![int.clone(), root.clone()],
            ..Signed::default()
        };
        assert!(
            verdicts(&good, "fruits.testlab.local")
                .iter()
                .all(|(_, ok)| *ok)
        );

        // Vault's ca_chain without the root.
        let rootless = Signed {
            ca_chain: vec![int.clone()],
            ..good.clone()
        };
        assert_eq!(
            verdicts(&rootless, "fruits.testlab.local")[0],
            ("chain complete to the root".into(), false)
        );
        // Another name, and a lifetime beyond the role's 10 minutes.
        assert!(!verdicts(&good, "apples.testlab.local")[2].1);
        let (long, int2, root2) = chain(3600);
        let too_long = Signed {
            certificate: long,
            ca_chain: vec![int2, root2],
            ..Signed::default()
        };
        assert_eq!(
            verdicts(&too_long, "fruits.testlab.local")[1],
            ("lifetime within the role".into(), false)
        );
    }

    #[test]
    fn capabilities_must_allow_update() {
        assert!(check_capabilities("pki_int/sign/r", &["create".into(), "update".into()]).ok);
        assert!(!check_capabilities("pki_int/sign/r", &["deny".into()]).ok);
    }
}
