//! Plan → apply: the wizard's state and what the server already has ([`Observed`]) become
//! the ordered Vault calls that build the recipe ([`plan`]), each marked create, update or
//! already present. The plan is data: a client (the SPA, the tests) reads what
//! [`Observed::reads`] lists, plans, then sends each call that is not present, in order,
//! stopping at the first failure. Calls that need an earlier answer (the intermediate's
//! CSR, the signed certificate) name it as `{{var}}` in their body and say which answer
//! fills it ([`Call::captures`]); [`Call::body_with`] fills them in.
//!
//! Re-running is safe: what exists and matches is `Present` and not sent again; a mount
//! of the wrong type is a `Conflict` the plan stops at, never overwritten.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{RootMode, Step, WizardState};
use crate::api::kubernetes::{KubernetesConfigRead, KubernetesRole};
use crate::pki::duration::parse_duration;
use crate::pki::role::Role;

/// What applying a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Makes something new.
    Create,
    /// Changes something that exists.
    Update,
    /// Already as planned: not sent.
    Present,
    /// Something else is in the way (a mount of another type): apply stops here.
    Conflict,
    /// Cannot run yet: it needs something from the admin (the externally signed
    /// certificate). Apply stops here.
    Waiting,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Present => "already present",
            Action::Conflict => "conflict",
            Action::Waiting => "waiting",
        }
    }

    /// Whether apply sends it.
    pub fn is_sent(self) -> bool {
        matches!(self, Action::Create | Action::Update)
    }
}

/// One Vault call of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub step: Step,
    /// What it does, in words ("Mount the root CA's PKI engine at pki/").
    pub title: String,
    /// `POST`, `PUT`.
    pub method: String,
    /// Below `/v1/`.
    pub path: String,
    /// The JSON body; strings may be `{{var}}` placeholders ([`Call::body_with`]).
    pub body: Value,
    pub action: Action,
    /// Why it has this action (what was found), or what is needed.
    pub reason: String,
    /// What to check when the call fails.
    pub hint: String,
    /// `(var, JSON pointer into the answer)`: values later calls use.
    pub captures: Vec<(String, String)>,
}

impl Call {
    fn new(step: Step, title: String, method: &str, path: String, body: Value) -> Call {
        Call {
            step,
            title,
            method: method.to_owned(),
            path,
            body,
            action: Action::Create,
            reason: String::new(),
            hint: String::new(),
            captures: Vec::new(),
        }
    }

    fn action(mut self, action: Action, reason: impl Into<String>) -> Call {
        self.action = action;
        self.reason = reason.into();
        self
    }

    fn hint(mut self, hint: &str) -> Call {
        self.hint = hint.to_owned();
        self
    }

    fn capture(mut self, var: &str, pointer: &str) -> Call {
        self.captures.push((var.to_owned(), pointer.to_owned()));
        self
    }

    /// The body with each `{{var}}` string replaced by `vars[var]`; a placeholder whose
    /// variable is absent or empty removes its field (an optional input left blank).
    pub fn body_with(&self, vars: &BTreeMap<String, String>) -> Value {
        fill(&self.body, vars)
    }

    /// The variables this call needs that `vars` does not have.
    pub fn missing(&self, vars: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        placeholders(&self.body, &mut out);
        out.retain(|v| !vars.contains_key(v) && !OPTIONAL_INPUTS.contains(&v.as_str()));
        out
    }

    /// Records this call's captures from its answer (the whole Vault envelope).
    pub fn capture_from(&self, answer: &Value, vars: &mut BTreeMap<String, String>) {
        for (var, pointer) in &self.captures {
            if let Some(v) = answer.pointer(pointer).and_then(Value::as_str) {
                vars.insert(var.clone(), v.to_owned());
            }
        }
    }
}

/// Inputs an admin may leave empty (the field is then not sent).
pub const OPTIONAL_INPUTS: &[&str] = &[REVIEWER_JWT];

/// The apply-time input holding the Kubernetes reviewer JWT (never in the state).
pub const REVIEWER_JWT: &str = "reviewer_jwt";

fn placeholder(v: &str) -> Option<&str> {
    v.strip_prefix("{{")?.strip_suffix("}}")
}

fn placeholders(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(name) = placeholder(s) {
                out.push(name.to_owned());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| placeholders(x, out)),
        Value::Object(m) => m.values().for_each(|x| placeholders(x, out)),
        _ => {}
    }
}

fn fill(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => match placeholder(s) {
            Some(name) => vars
                .get(name)
                .map(|x| Value::String(x.clone()))
                .unwrap_or(Value::Null),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), fill(x, vars)))
                .filter(|(_, x)| !(x.is_null() || x.as_str() == Some("")))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// One read the plan needs: `GET` (or `LIST`) of `path`; its `data`, or `None` on 404,
/// goes into [`Observed::from_answers`] under `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    pub key: String,
    pub method: String,
    pub path: String,
}

/// What the server already has, as far as the plan cares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// `sys/mounts`: path (with `/`) → type.
    pub secrets: BTreeMap<String, String>,
    /// `sys/auth`: path (with `/`) → type.
    pub auth: BTreeMap<String, String>,
    /// Max lease TTL (seconds) of the root and intermediate mounts.
    pub root_max_ttl: Option<u64>,
    pub int_max_ttl: Option<u64>,
    /// Issuers with a key in each mount (an issuer can sign).
    pub root_signing_issuers: usize,
    pub int_signing_issuers: usize,
    /// Keys in the intermediate mount (one waits for its certificate after a CSR).
    pub int_keys: Vec<String>,
    pub root_urls: Option<(Vec<String>, Vec<String>)>,
    pub int_urls: Option<(Vec<String>, Vec<String>)>,
    /// `roles/:name` as read.
    pub role: Option<Map<String, Value>>,
    /// The policy's HCL.
    pub policy: Option<String>,
    pub kube_config: Option<KubernetesConfigRead>,
    pub kube_role: Option<KubernetesRole>,
}

impl Observed {
    /// What to read before planning.
    pub fn reads(state: &WizardState) -> Vec<Read> {
        let read = |key: &str, method: &str, path: String| Read {
            key: key.to_owned(),
            method: method.to_owned(),
            path,
        };
        let (root, int, auth) = (state.root_mount(), state.int_mount(), state.auth_mount());
        let mut reads = vec![
            read("secrets", "GET", "sys/mounts".into()),
            read("auth", "GET", "sys/auth".into()),
            read("int_tune", "GET", format!("sys/mounts/{int}/tune")),
            read("int_issuers", "LIST", format!("{int}/issuers")),
            read("int_keys", "LIST", format!("{int}/keys")),
            read("int_urls", "GET", format!("{int}/config/urls")),
            read("role", "GET", format!("{int}/roles/{}", state.role.name)),
            read(
                "policy",
                "GET",
                format!("sys/policies/acl/{}", state.policy.name),
            ),
        ];
        if state.root.mode == RootMode::Internal {
            reads.extend([
                read("root_tune", "GET", format!("sys/mounts/{root}/tune")),
                read("root_issuers", "LIST", format!("{root}/issuers")),
                read("root_urls", "GET", format!("{root}/config/urls")),
            ]);
        }
        if state.kubernetes.enabled {
            reads.extend([
                read("kube_config", "GET", format!("auth/{auth}/config")),
                read(
                    "kube_role",
                    "GET",
                    format!("auth/{auth}/role/{}", state.kubernetes.role),
                ),
            ]);
        }
        reads
    }

    /// Builds the observation from the `data` of each read (`None`: 404 or no data).
    pub fn from_answers(answers: &BTreeMap<String, Option<Value>>) -> Observed {
        let get = |k: &str| answers.get(k).cloned().flatten();
        let mounts = |k: &str| -> BTreeMap<String, String> {
            get(k)
                .and_then(|v| v.as_object().cloned())
                .map(|m| {
                    m.into_iter()
                        .filter_map(|(path, e)| Some((path, e.get("type")?.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let max_ttl = |k: &str| get(k).and_then(|v| v.get("max_lease_ttl")?.as_u64());
        let signing = |k: &str| {
            get(k)
                .and_then(|v| v.get("key_info").and_then(Value::as_object).cloned())
                .map(|info| {
                    info.values()
                        .filter(|i| {
                            i.get("key_id")
                                .and_then(Value::as_str)
                                .is_some_and(|k| !k.is_empty())
                        })
                        .count()
                })
                .unwrap_or(0)
        };
        let urls = |k: &str| {
            get(k).map(|v| {
                let list = |f: &str| -> Vec<String> {
                    v.get(f)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                (
                    list("issuing_certificates"),
                    list("crl_distribution_points"),
                )
            })
        };
        Observed {
            secrets: mounts("secrets"),
            auth: mounts("auth"),
            root_max_ttl: max_ttl("root_tune"),
            int_max_ttl: max_ttl("int_tune"),
            root_signing_issuers: signing("root_issuers"),
            int_signing_issuers: signing("int_issuers"),
            int_keys: get("int_keys")
                .and_then(|v| v.get("keys").and_then(Value::as_array).cloned())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            root_urls: urls("root_urls"),
            int_urls: urls("int_urls"),
            role: get("role").and_then(|v| v.as_object().cloned()),
            policy: get("policy")
                .and_then(|v| v.get("policy").and_then(Value::as_str).map(str::to_owned)),
            kube_config: get("kube_config").and_then(|v| serde_json::from_value(v).ok()),
            kube_role: get("kube_role").and_then(|v| serde_json::from_value(v).ok()),
        }
    }
}

/// What the admin gives at apply time and the state never holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// A (new) Kubernetes reviewer JWT was entered: the auth config is written with it.
    pub reviewer_jwt: bool,
}

/// The ordered calls that build `state` on a server that has `seen`.
pub fn plan(state: &WizardState, seen: &Observed, inputs: Inputs) -> Vec<Call> {
    let mut calls = Vec::new();
    let (root, int) = (state.root_mount().to_owned(), state.int_mount().to_owned());
    let external = state.root.mode == RootMode::External;

    if !external {
        mount_calls(
            &mut calls,
            Step::Root,
            &root,
            &state.root.ttl,
            seen.root_max_ttl,
            seen,
            "root CA",
        );
        let generate = Call::new(
            Step::Root,
            format!("Generate the root CA \"{}\" in {root}/", state.root.common_name),
            "POST",
            format!("{root}/root/generate/internal"),
            json!({
                "common_name": state.root.common_name,
                "key_type": state.root.key.key_type,
                "key_bits": state.root.key.key_bits,
                "ttl": state.root.ttl,
                "issuer_name": "root",
            }),
        )
        .hint("A root needs the mount's max lease TTL at least as long as its own TTL (the tune call above).");
        calls.push(if seen.root_signing_issuers > 0 {
            generate.action(
                Action::Present,
                format!("{root}/ already has a CA with its key"),
            )
        } else {
            generate.action(Action::Create, "no CA in this mount yet")
        });
    }

    mount_calls(
        &mut calls,
        Step::Intermediate,
        &int,
        &state.intermediate.ttl,
        seen.int_max_ttl,
        seen,
        "intermediate CA",
    );
    let signed = seen.int_signing_issuers > 0;
    let csr_body = json!({
        "common_name": state.intermediate.common_name,
        "key_type": state.intermediate.key.key_type,
        "key_bits": state.intermediate.key.key_bits,
    });
    let csr = |kind: &str, body: Value| {
        Call::new(
            Step::Intermediate,
            "Generate the intermediate's key and CSR".into(),
            "POST",
            format!("{int}/intermediate/generate/{kind}"),
            body,
        )
        .capture("csr", "/data/csr")
        .hint("The intermediate mount must exist and the key type and size be ones Vault accepts.")
    };
    if signed {
        let have = format!("{int}/ already has a signed intermediate with its key");
        calls.push(csr("internal", csr_body).action(Action::Present, have.clone()));
        calls.push(set_signed(&int, String::new()).action(Action::Present, have));
    } else if !external {
        calls.push(csr("internal", csr_body).action(Action::Create, "no signed intermediate yet"));
        calls.push(
            Call::new(
                Step::Intermediate,
                format!("Sign the intermediate's CSR with the root in {root}/"),
                "POST",
                format!("{root}/root/sign-intermediate"),
                json!({
                    "csr": "{{csr}}",
                    "common_name": state.intermediate.common_name,
                    "ttl": state.intermediate.ttl,
                    "format": "pem_bundle",
                }),
            )
            .capture("signed", "/data/certificate")
            .action(
                Action::Create,
                "the certificate and the root, as one PEM bundle",
            )
            .hint(
                "The root signs only within its own lifetime and the root mount's max lease TTL.",
            ),
        );
        calls.push(set_signed(&int, "{{signed}}".into()));
    } else if state.root.external_chain_pem.trim().is_empty() {
        let call = match seen.int_keys.first() {
            Some(key) => {
                let mut body = csr_body;
                body["key_ref"] = json!(key);
                csr("existing", body).action(
                    Action::Create,
                    "the CSR again, for the key already waiting in the mount",
                )
            }
            None => csr("internal", csr_body).action(Action::Create, "no key yet"),
        };
        calls.push(call);
        calls.push(
            set_signed(&int, String::new()).action(
                Action::Waiting,
                "download the CSR, have the outside root sign it, and upload the certificate with its chain",
            ),
        );
    } else {
        calls.push(set_signed(
            &int,
            state.root.external_chain_pem.trim().to_owned(),
        ));
    }

    let mut url_calls = Vec::new();
    if !external {
        url_calls.push((root.clone(), &seen.root_urls));
    }
    url_calls.push((int.clone(), &seen.int_urls));
    for (mount, current) in url_calls {
        let (issuing, crl) = state.urls_for(&mount);
        let call = Call::new(
            Step::Urls,
            format!("Set the issuing-certificate and CRL URLs of {mount}/"),
            "POST",
            format!("{mount}/config/urls"),
            json!({"issuing_certificates": issuing, "crl_distribution_points": crl}),
        )
        .hint("Each URL must be an absolute http(s) address.");
        calls.push(match current {
            Some((i, c)) if *i == issuing && *c == crl => {
                call.action(Action::Present, "the same URLs")
            }
            Some((i, c)) if !i.is_empty() || !c.is_empty() => {
                call.action(Action::Update, "other URLs are set")
            }
            _ => call.action(Action::Create, "no URLs yet"),
        });
    }

    let role_body = state.role_body();
    let role_call = Call::new(
        Step::Role,
        format!("Write the role \"{}\" in {int}/", state.role.name),
        "POST",
        format!("{int}/roles/{}", state.role.name),
        Value::Object(role_body.clone()),
    )
    .hint("Vault names the field it refused; fix it in the Role step.");
    calls.push(match &seen.role {
        None => role_call.action(Action::Create, "no such role yet"),
        Some(current) if same_role(&role_body, current) => {
            role_call.action(Action::Present, "the role allows the same")
        }
        Some(_) => role_call.action(Action::Update, "the role exists with other settings"),
    });

    let hcl = state.policy_hcl();
    let policy_call = Call::new(
        Step::Policy,
        format!("Write the policy \"{}\"", state.policy.name),
        "PUT",
        format!("sys/policies/acl/{}", state.policy.name),
        json!({"policy": hcl}),
    )
    .hint("Vault refused the HCL: check the line its message names in the Policy step.");
    calls.push(match &seen.policy {
        None => policy_call.action(Action::Create, "no such policy yet"),
        Some(current) if current.trim() == hcl.trim() => {
            policy_call.action(Action::Present, "the same text")
        }
        Some(_) => policy_call.action(Action::Update, "the policy exists with another text"),
    });

    if state.kubernetes.enabled {
        kubernetes_calls(&mut calls, state, seen, inputs);
    }
    calls
}

fn set_signed(int: &str, certificate: String) -> Call {
    Call::new(
        Step::Intermediate,
        format!("Import the signed intermediate, with the root, into {int}/"),
        "POST",
        format!("{int}/intermediate/set-signed"),
        json!({"certificate": certificate}),
    )
    .action(Action::Create, "the full chain, root included")
    .hint("The certificate must be the one issued for this mount's CSR, followed by its issuer(s) up to the root.")
}

/// A PKI mount, and a tune when its max lease TTL is below what its CA needs.
fn mount_calls(
    calls: &mut Vec<Call>,
    step: Step,
    mount: &str,
    ttl: &str,
    max_ttl: Option<u64>,
    seen: &Observed,
    what: &str,
) {
    let want = parse_duration(ttl).unwrap_or(0);
    let call = Call::new(
        step,
        format!("Mount a PKI secrets engine for the {what} at {mount}/"),
        "POST",
        format!("sys/mounts/{mount}"),
        json!({"type": "pki", "description": format!("PKI Console: {what}"), "config": {"max_lease_ttl": ttl}}),
    )
    .hint("The path must be free: another engine mounted there or above it blocks it.");
    match seen.secrets.get(&format!("{mount}/")).map(String::as_str) {
        None => calls.push(call.action(Action::Create, "nothing is mounted there")),
        Some("pki") => {
            calls.push(call.action(Action::Present, "a PKI engine is mounted there"));
            let tune = Call::new(
                step,
                format!("Raise {mount}/'s max lease TTL to {ttl}"),
                "POST",
                format!("sys/mounts/{mount}/tune"),
                json!({"max_lease_ttl": ttl}),
            );
            calls.push(match max_ttl {
                Some(have) if have >= want => tune.action(Action::Present, "long enough"),
                _ => tune.action(Action::Update, "shorter than the CA's TTL"),
            });
        }
        Some(other) => calls.push(call.action(
            Action::Conflict,
            format!("a \"{other}\" engine is mounted at {mount}/: choose another path"),
        )),
    }
}

fn kubernetes_calls(calls: &mut Vec<Call>, state: &WizardState, seen: &Observed, inputs: Inputs) {
    let k = &state.kubernetes;
    let auth = state.auth_mount();
    let enable = Call::new(
        Step::Kubernetes,
        format!("Enable Kubernetes auth at auth/{auth}/"),
        "POST",
        format!("sys/auth/{auth}"),
        json!({"type": "kubernetes"}),
    );
    match seen.auth.get(&format!("{auth}/")).map(String::as_str) {
        None => calls.push(enable.action(Action::Create, "no auth method there")),
        Some("kubernetes") => calls.push(enable.action(Action::Present, "already enabled")),
        Some(other) => {
            calls.push(enable.action(
                Action::Conflict,
                format!("a \"{other}\" auth method is at auth/{auth}/: choose another path"),
            ));
            return;
        }
    }
    let config = Call::new(
        Step::Kubernetes,
        format!("Configure auth/{auth}/ for {}", k.host),
        "POST",
        format!("auth/{auth}/config"),
        json!({
            "kubernetes_host": k.host,
            "kubernetes_ca_cert": k.ca_cert.trim(),
            "token_reviewer_jwt": format!("{{{{{REVIEWER_JWT}}}}}"),
            // Vault outside the cluster has no local service account files to fall back on.
            "disable_local_ca_jwt": true,
        }),
    )
    .hint("kubernetes_host must be the API address as Vault reaches it; the CA certificate must be PEM.");
    calls.push(match &seen.kube_config {
        None => config.action(Action::Create, "not configured yet"),
        Some(_) if inputs.reviewer_jwt => {
            config.action(Action::Update, "a new reviewer JWT was entered")
        }
        Some(c)
            if c.kubernetes_host == k.host && c.kubernetes_ca_cert.trim() == k.ca_cert.trim() =>
        {
            config.action(Action::Present, "the same host and CA")
        }
        Some(_) => config.action(Action::Update, "configured for another cluster or CA"),
    });
    let policies = vec![state.policy.name.clone()];
    let ttl = parse_duration(&k.token_ttl).unwrap_or(0);
    let role = Call::new(
        Step::Kubernetes,
        format!("Write the Kubernetes auth role \"{}\"", k.role),
        "POST",
        format!("auth/{auth}/role/{}", k.role),
        json!({
            "bound_service_account_names": [state.cert_manager.service_account],
            "bound_service_account_namespaces": [state.cert_manager.namespace],
            "audience": state.audience(),
            "token_policies": policies,
            "token_ttl": k.token_ttl,
        }),
    )
    .hint("The role's policies must exist and the audience match cert-manager's (vault://<namespace>/<issuer>).");
    calls.push(match &seen.kube_role {
        None => role.action(Action::Create, "no such role yet"),
        Some(r)
            if r.bound_service_account_names == [state.cert_manager.service_account.clone()]
                && r.bound_service_account_namespaces == [state.cert_manager.namespace.clone()]
                && r.audience.as_deref() == Some(state.audience().as_str())
                && r.token_policies == policies
                && r.token_ttl == ttl =>
        {
            role.action(Action::Present, "the same bindings, audience and policy")
        }
        Some(_) => role.action(Action::Update, "the role exists with other settings"),
    });
}

/// Whether the stored role (as read) allows what the wizard's body asks, field by field
/// through `pki::role` (so `"10m"` and `600` compare equal, as the server stores them).
fn same_role(body: &Map<String, Value>, current: &Map<String, Value>) -> bool {
    let subset: Map<String, Value> = body
        .keys()
        .filter_map(|k| current.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    match (
        Role::from_write(None, body),
        Role::from_write(None, &subset),
    ) {
        (Ok(want), Ok(have)) => want == have,
        _ => false,
    }
}
