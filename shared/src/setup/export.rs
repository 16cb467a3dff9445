//! The wizard's exports: the setup that [`super::plan`] applies, as code an admin keeps
//! and reviews. [`terraform`] (the `hashicorp/vault` and `hashicorp/kubernetes`
//! providers), [`cli_script`] (bash calling the `vault` CLI, safe to run again) and
//! [`yaml_bundle`] (the cert-manager objects, an example Certificate and Ingress, a
//! trust-manager `Bundle`), plus [`approver_policy_yaml`] (a cert-manager approver-policy
//! `CertificateRequestPolicy` that mirrors the Vault role, and its RBAC).
//!
//! Each builds the same thing as the plan: the same mounts with the same max lease TTL,
//! the root generated in its mount (or an outside root), the intermediate's CSR signed by
//! the root and imported with the full chain (root included), the URLs of both mounts,
//! the role from [`WizardState::role_body`], the policy from [`WizardState::policy_hcl`],
//! and Kubernetes auth with the role bound to cert-manager's service account and
//! audience. Every value from the state is escaped for where it lands (an HCL string or
//! heredoc, a bash single-quoted word and the `vault` CLI's `@file` rule, a YAML scalar);
//! comments carry only numbers and durations computed here, never a value as typed.
//! Nothing here does I/O and no secret is written: the Kubernetes reviewer JWT is a
//! sensitive Terraform variable or an environment variable of the script.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::{IssuerKind, RootMode, WizardState};
use crate::pki::cert::parse_certificate;
use crate::pki::duration::{format_go, parse_duration};
use crate::pki::pem::{certificates_from_pem, pem_encode};
use crate::pki::role::Role;
use crate::trust::slug;

/// cert-manager's shortest certificate duration (`MinimumCertificateDuration`): its
/// webhook refuses a Certificate asking for less.
const CERT_MANAGER_MIN_DURATION: u64 = 3600;

/// cert-manager's shortest `renewBefore` (`MinimumRenewBefore`).
const CERT_MANAGER_MIN_RENEW_BEFORE: u64 = 300;

/// Where cert-manager's own service account lives in a default installation: the
/// requester of every CertificateRequest made from a Certificate.
const CERT_MANAGER_NAMESPACE: &str = "cert-manager";
const CERT_MANAGER_SERVICE_ACCOUNT: &str = "cert-manager";

/// Whole seconds of a Vault duration; 0 when it does not parse (the wizard's checks
/// refuse such a state before export).
fn seconds(ttl: &str) -> u64 {
    parse_duration(ttl.trim()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------

/// An HCL quoted string: `\`, `"` and control characters escaped, and the template
/// sequences `${` and `%{` doubled so they stay literal.
fn hcl_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as an HCL heredoc (`<<MARK`, verbatim: heredocs interpret no backslash), the
/// marker one that no line of `text` is; or, when `text` holds a template sequence
/// (`${`, `%{`) that would need escaping, as a quoted string ([`hcl_str`]). Doubling
/// `$${`/`%%{` is the same rule in both, but parsers disagree on it inside heredocs
/// (hcl-rs 0.20 drops a `$` of `$$${` after an earlier escape on the line), so a heredoc
/// carries only text that needs none.
fn hcl_heredoc(text: &str, marker: &str) -> String {
    if text.contains("${") || text.contains("%{") {
        return hcl_str(text);
    }
    let mark = unique_marker(text, marker);
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("<<{mark}\n{text}{nl}{mark}")
}

/// `base`, or `base_1`, `base_2`...: the first that is no line of `text` (spaces aside).
fn unique_marker(text: &str, base: &str) -> String {
    let taken = |m: &str| text.lines().any(|l| l.trim() == m);
    let mut mark = base.to_owned();
    let mut n = 0;
    while taken(&mark) {
        n += 1;
        mark = format!("{base}_{n}");
    }
    mark
}

/// A bash word that is exactly `s`: single quotes, each `'` written as `'\''`. Nothing
/// inside single quotes is expanded, newlines included.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A `key=value` argument's value as the `vault` CLI should receive it: the CLI reads a
/// value starting with `@` as a file name (`@/etc/passwd`), unless written `\@`.
/// (A value of exactly `-` reads standard input; the script gives every such call
/// `/dev/null` as its input, so that one is empty at worst.)
fn cli_value(s: &str) -> String {
    if s.starts_with('@') {
        format!("\\{s}")
    } else {
        s.to_owned()
    }
}

/// `key=value` for the `vault` CLI, as one bash word.
fn cli_arg(key: &str, value: &str) -> String {
    format!("{key}={}", sh_quote(&cli_value(value)))
}

/// A YAML scalar for `s`: plain when it cannot be read as anything but that string,
/// else double-quoted with JSON's escapes (which YAML's double-quoted style shares).
fn yaml_str(s: &str) -> String {
    const SPECIAL: [&str; 22] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "True", "False", "TRUE",
        "FALSE", "Yes", "No", "YES", "NO", "On", "Off", "Null", "NULL",
    ];
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !SPECIAL.contains(&s)
        && !looks_numeric(s);
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

/// Whether YAML 1.1 might read `s` as a number (`1e3`, `0x1f`, `.5`, `1_000`).
fn looks_numeric(s: &str) -> bool {
    let t = s.trim_start_matches(['-', '+']);
    t.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || t.eq_ignore_ascii_case(".inf")
        || t.eq_ignore_ascii_case(".nan")
}

/// A CEL string literal (single-quoted) for `s`.
fn cel_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/// The Kubernetes-safe name of the example host's objects (`fruits-testlab-local`).
fn host_name(state: &WizardState) -> String {
    slug(&state.cert_manager.example_host, "example")
}

/// The Role (and RoleBinding) that lets cert-manager request the issuer's token.
fn token_role_name(state: &WizardState) -> String {
    slug(
        &format!("{}-token-creator", state.cert_manager.service_account),
        "vault-issuer-token-creator",
    )
}

/// The ingress-shim annotation naming the issuer.
fn issuer_annotation(kind: IssuerKind) -> &'static str {
    match kind {
        IssuerKind::Issuer => "cert-manager.io/issuer",
        IssuerKind::ClusterIssuer => "cert-manager.io/cluster-issuer",
    }
}

/// The private key cert-manager should make for the role: `(algorithm, size)` in
/// cert-manager's terms. A role with key type `any` takes anything; ECDSA P-256 then.
fn private_key(state: &WizardState) -> (&'static str, u32) {
    let role = state.role();
    let bits = role.as_ref().map(Role::effective_key_bits).unwrap_or(0);
    match state.role.key_type.as_str() {
        "rsa" => ("RSA", if bits == 0 { 2048 } else { bits }),
        "ed25519" => ("Ed25519", 0),
        "ec" => ("ECDSA", if bits == 0 { 256 } else { bits }),
        _ => ("ECDSA", 256),
    }
}

/// The Certificate's duration and renewBefore for the role's max TTL, within
/// cert-manager's rules (duration ≥ 1h, 5m ≤ renewBefore < duration): the max TTL and a
/// third of it; below 1h, 1h (Vault caps the certificate at the max TTL) and no
/// renewBefore (cert-manager then renews with a third of the actual life left).
fn certificate_times(state: &WizardState) -> (u64, Option<u64>) {
    let max = seconds(&state.role.max_ttl);
    if max >= CERT_MANAGER_MIN_DURATION {
        let renew = max / 3;
        (
            max,
            (renew >= CERT_MANAGER_MIN_RENEW_BEFORE).then_some(renew),
        )
    } else {
        (CERT_MANAGER_MIN_DURATION, None)
    }
}

/// The DNS name patterns the role allows, as approver-policy writes them
/// (`*.testlab.local` for subdomains, the bare domain when allowed).
fn dns_patterns(state: &WizardState) -> Vec<String> {
    let mut out = Vec::new();
    for d in state.role.allowed_domains.iter().map(|d| d.trim()) {
        if d.is_empty() {
            continue;
        }
        if state.role.allow_bare_domains {
            out.push(d.to_owned());
        }
        if state.role.allow_subdomains {
            out.push(format!("*.{d}"));
        }
    }
    out
}

/// The certificates of `pem` worth trusting: its self-issued ones (the root), re-encoded
/// from their DER; all of them when none is self-issued; none when it does not parse.
fn trust_anchors(pem: &str) -> Vec<String> {
    let Ok(ders) = certificates_from_pem(pem) else {
        return Vec::new();
    };
    let roots: Vec<String> = ders
        .iter()
        .filter(|d| parse_certificate(d).is_ok_and(|i| i.self_issued))
        .map(|d| pem_encode("CERTIFICATE", d))
        .collect();
    if roots.is_empty() {
        ders.iter().map(|d| pem_encode("CERTIFICATE", d)).collect()
    } else {
        roots
    }
}

// ---------------------------------------------------------------------------------------
// Terraform
// ---------------------------------------------------------------------------------------

/// `name = value` lines of one block, the `=` aligned as `terraform fmt` aligns them.
fn hcl_attrs(out: &mut String, indent: usize, attrs: &[(&str, String)]) {
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in attrs {
        let _ = writeln!(out, "{:indent$}{k:<width$} = {v}", "");
    }
}

fn hcl_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| hcl_str(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn hcl_resource(out: &mut String, kind: &str, name: &str, attrs: &[(&str, String)]) {
    let _ = writeln!(out, "resource \"{kind}\" \"{name}\" {{");
    hcl_attrs(out, 2, attrs);
    out.push_str("}\n\n");
}

/// A duration attribute in seconds, with the Go form as a comment.
fn hcl_seconds(ttl: &str) -> String {
    let s = seconds(ttl);
    format!("{s} # {}", format_go(s))
}

/// A duration attribute the provider types as a string, in seconds, with the Go form.
fn hcl_seconds_str(ttl: &str) -> String {
    let s = seconds(ttl);
    format!("{} # {}", hcl_str(&s.to_string()), format_go(s))
}

/// The Terraform configuration that builds `state` (see the module's documentation).
/// The reviewer JWT is the sensitive variable `kubernetes_reviewer_jwt`, sent write-only
/// (`token_reviewer_jwt_wo`, never kept in the state file); with an external root, the
/// first apply outputs the intermediate's CSR and the variable `intermediate_chain_pem`
/// (the signed certificate and its chain) completes it on the second.
pub fn terraform(state: &WizardState) -> String {
    let external = state.root.mode == RootMode::External;
    let kube = state.kubernetes.enabled;
    let cm = &state.cert_manager;
    let mut out = String::new();

    out.push_str(
        "# Written by the PKI Console setup wizard: the same setup its apply makes, for the\n\
         # hashicorp/vault provider (mounts, CAs, URLs, role, policy",
    );
    out.push_str(if kube {
        ", Kubernetes auth) and the\n# hashicorp/kubernetes provider (cert-manager's service account, its RBAC, the issuer).\n"
    } else {
        ").\n"
    });
    out.push_str(
        "#\n\
         # The vault provider reads VAULT_ADDR and VAULT_TOKEN (a token allowed to mount engines,\n\
         # write policies and enable auth methods) from the environment",
    );
    if kube {
        out.push_str(
            "; the kubernetes provider\n\
             # reads KUBE_CONFIG_PATH. Set the reviewer JWT with TF_VAR_kubernetes_reviewer_jwt.\n\
             # The issuer's namespace must exist (it is not managed here, so a destroy never deletes\n\
             # it), and cert-manager's CRDs must be installed before `terraform plan`: kubernetes_manifest\n\
             # reads the issuer's schema from the cluster.\n",
        );
    } else {
        out.push_str(".\n");
    }
    if external {
        out.push_str(
            "#\n\
             # External root: the first apply makes the intermediate's key and CSR\n\
             # (`terraform output -raw intermediate_csr`); have your root sign it, then apply again\n\
             # with TF_VAR_intermediate_chain_pem holding the signed certificate followed by its\n\
             # issuers up to the root.\n",
        );
    }
    out.push_str("\nterraform {\n  required_version = \">= 1.11\"\n\n  required_providers {\n");
    out.push_str(
        "    vault = {\n      source  = \"hashicorp/vault\"\n      version = \"~> 5.7\"\n    }\n",
    );
    if kube {
        out.push_str(
            "    kubernetes = {\n      source  = \"hashicorp/kubernetes\"\n      version = \"~> 3.0\"\n    }\n",
        );
    }
    out.push_str("  }\n}\n\nprovider \"vault\" {}\n\n");
    if kube {
        out.push_str("provider \"kubernetes\" {}\n\n");
        out.push_str(
            "variable \"kubernetes_reviewer_jwt\" {\n  \
             description = \"A service account JWT Vault uses to call the cluster's TokenReview API (that account needs the system:auth-delegator ClusterRole). Needed unless Vault runs in the cluster: cert-manager's login tokens are bound to the Vault audience and cannot review themselves.\"\n  \
             type        = string\n  sensitive   = true\n  default     = null\n}\n\n\
             variable \"kubernetes_reviewer_jwt_version\" {\n  \
             description = \"Raise it to send a new kubernetes_reviewer_jwt: the JWT is write-only, Terraform keeps no copy to compare.\"\n  \
             type        = number\n  default     = 1\n}\n\n",
        );
    }
    if external {
        out.push_str(
            "variable \"intermediate_chain_pem\" {\n  \
             description = \"The intermediate's certificate signed by your root, followed by its issuers up to that root (PEM). Empty on the first apply.\"\n  \
             type        = string\n  default     = \"\"\n}\n\n",
        );
    }

    let (root, int) = (state.root_mount(), state.int_mount());
    if !external {
        out.push_str("# Root CA\n\n");
        hcl_resource(
            &mut out,
            "vault_mount",
            "root",
            &[
                ("path", hcl_str(root)),
                ("type", hcl_str("pki")),
                ("description", hcl_str("PKI Console: root CA")),
                ("max_lease_ttl_seconds", hcl_seconds(&state.root.ttl)),
            ],
        );
        hcl_resource(
            &mut out,
            "vault_pki_secret_backend_root_cert",
            "root",
            &[
                ("backend", "vault_mount.root.path".into()),
                ("type", hcl_str("internal")),
                ("common_name", hcl_str(&state.root.common_name)),
                ("key_type", hcl_str(&state.root.key.key_type)),
                ("key_bits", state.root.key.key_bits.to_string()),
                ("ttl", hcl_seconds_str(&state.root.ttl)),
                ("issuer_name", hcl_str("root")),
            ],
        );
    }

    out.push_str("# Intermediate CA\n\n");
    hcl_resource(
        &mut out,
        "vault_mount",
        "intermediate",
        &[
            ("path", hcl_str(int)),
            ("type", hcl_str("pki")),
            ("description", hcl_str("PKI Console: intermediate CA")),
            (
                "max_lease_ttl_seconds",
                hcl_seconds(&state.intermediate.ttl),
            ),
        ],
    );
    hcl_resource(
        &mut out,
        "vault_pki_secret_backend_intermediate_cert_request",
        "intermediate",
        &[
            ("backend", "vault_mount.intermediate.path".into()),
            ("type", hcl_str("internal")),
            ("common_name", hcl_str(&state.intermediate.common_name)),
            ("key_type", hcl_str(&state.intermediate.key.key_type)),
            ("key_bits", state.intermediate.key.key_bits.to_string()),
        ],
    );
    if external {
        out.push_str(
            "output \"intermediate_csr\" {\n  \
             description = \"The intermediate's CSR, for your root to sign.\"\n  \
             value       = vault_pki_secret_backend_intermediate_cert_request.intermediate.csr\n}\n\n",
        );
        out.push_str(
            "locals {\n  # The signed intermediate and its issuers up to the outside root.\n  \
             ca_chain_pem = var.intermediate_chain_pem\n}\n\n",
        );
        out.push_str(
            "resource \"vault_pki_secret_backend_intermediate_set_signed\" \"intermediate\" {\n  \
             count       = var.intermediate_chain_pem == \"\" ? 0 : 1\n  \
             backend     = vault_mount.intermediate.path\n  \
             certificate = local.ca_chain_pem\n}\n\n",
        );
    } else {
        out.push_str(
            "resource \"vault_pki_secret_backend_root_sign_intermediate\" \"intermediate\" {\n  \
             depends_on = [vault_pki_secret_backend_root_cert.root]\n\n",
        );
        hcl_attrs(
            &mut out,
            2,
            &[
                ("backend", "vault_mount.root.path".into()),
                (
                    "csr",
                    "vault_pki_secret_backend_intermediate_cert_request.intermediate.csr".into(),
                ),
                ("common_name", hcl_str(&state.intermediate.common_name)),
                ("ttl", hcl_seconds_str(&state.intermediate.ttl)),
                ("format", hcl_str("pem")),
            ],
        );
        out.push_str("}\n\n");
        out.push_str(
            "locals {\n  # The full chain, root included: the signed intermediate, then the root.\n  \
             ca_chain_pem = join(\"\\n\", [\n    \
             vault_pki_secret_backend_root_sign_intermediate.intermediate.certificate,\n    \
             vault_pki_secret_backend_root_cert.root.certificate,\n  ])\n}\n\n",
        );
        hcl_resource(
            &mut out,
            "vault_pki_secret_backend_intermediate_set_signed",
            "intermediate",
            &[
                ("backend", "vault_mount.intermediate.path".into()),
                ("certificate", "local.ca_chain_pem".into()),
            ],
        );
        out.push_str(
            "output \"ca_chain_pem\" {\n  \
             description = \"The intermediate and the root, PEM: what clients and cert-manager's caBundle trust.\"\n  \
             value       = local.ca_chain_pem\n}\n\n",
        );
    }

    out.push_str("# Issuing-certificate and CRL URLs\n\n");
    let mut url_mounts = Vec::new();
    if !external {
        url_mounts.push(("root", root));
    }
    url_mounts.push(("intermediate", int));
    for (label, mount) in url_mounts {
        let (issuing, crl) = state.urls_for(mount);
        hcl_resource(
            &mut out,
            "vault_pki_secret_backend_config_urls",
            label,
            &[
                ("backend", format!("vault_mount.{label}.path")),
                ("issuing_certificates", hcl_list(&issuing)),
                ("crl_distribution_points", hcl_list(&crl)),
            ],
        );
    }

    out.push_str("# The role cert-manager signs with\n\n");
    let mut role_attrs: Vec<(&str, String)> = vec![
        ("backend", "vault_mount.intermediate.path".into()),
        ("name", hcl_str(&state.role.name)),
    ];
    let body = state.role_body();
    for (k, v) in &body {
        let value = match (k.as_str(), v) {
            ("ttl" | "max_ttl", Value::String(s)) => hcl_seconds(s),
            (_, Value::String(s)) => hcl_str(s),
            (_, Value::Array(items)) => hcl_list(
                &items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>(),
            ),
            (_, other) => other.to_string(),
        };
        role_attrs.push((k.as_str(), value));
    }
    if !body.contains_key("key_bits") {
        // The provider's default is 2048; the wizard sends none (Vault keeps 0 for `any`).
        let at = role_attrs
            .iter()
            .position(|(k, _)| *k == "key_type")
            .map_or(role_attrs.len(), |i| i + 1);
        role_attrs.insert(at, ("key_bits", "0".into()));
    }
    hcl_resource(
        &mut out,
        "vault_pki_secret_backend_role",
        "role",
        &role_attrs,
    );

    out.push_str("# The policy: sign with the role, nothing else\n\n");
    hcl_resource(
        &mut out,
        "vault_policy",
        "sign",
        &[
            ("name", hcl_str(&state.policy.name)),
            ("policy", hcl_heredoc(&state.policy_hcl(), "EOT")),
        ],
    );

    if kube {
        let k = &state.kubernetes;
        out.push_str(
            "# Kubernetes auth: cert-manager logs in with the issuer's service account\n\n",
        );
        hcl_resource(
            &mut out,
            "vault_auth_backend",
            "kubernetes",
            &[
                ("type", hcl_str("kubernetes")),
                ("path", hcl_str(state.auth_mount())),
            ],
        );
        let mut config = vec![
            ("backend", "vault_auth_backend.kubernetes.path".to_owned()),
            ("kubernetes_host", hcl_str(&k.host)),
        ];
        if !k.ca_cert.trim().is_empty() {
            config.push(("kubernetes_ca_cert", hcl_heredoc(k.ca_cert.trim(), "PEM")));
        }
        config.extend([
            ("disable_local_ca_jwt", "true".to_owned()),
            (
                "token_reviewer_jwt_wo",
                "var.kubernetes_reviewer_jwt".to_owned(),
            ),
            (
                "token_reviewer_jwt_wo_version",
                "var.kubernetes_reviewer_jwt == null ? null : var.kubernetes_reviewer_jwt_version"
                    .to_owned(),
            ),
        ]);
        hcl_resource(
            &mut out,
            "vault_kubernetes_auth_backend_config",
            "kubernetes",
            &config,
        );
        let mut role = vec![
            ("backend", "vault_auth_backend.kubernetes.path".to_owned()),
            ("role_name", hcl_str(&k.role)),
            (
                "bound_service_account_names",
                hcl_list(std::slice::from_ref(&cm.service_account)),
            ),
            (
                "bound_service_account_namespaces",
                hcl_list(std::slice::from_ref(&cm.namespace)),
            ),
            ("audience", hcl_str(&state.audience())),
            ("token_policies", "[vault_policy.sign.name]".to_owned()),
        ];
        if !k.token_ttl.trim().is_empty() {
            role.push(("token_ttl", hcl_seconds(&k.token_ttl)));
        }
        hcl_resource(
            &mut out,
            "vault_kubernetes_auth_backend_role",
            "issuer",
            &role,
        );

        out.push_str(
            "# cert-manager's side: the issuer's service account, and the RBAC that lets cert-manager\n\
             # request a token for it (cert-manager's documented serviceAccountRef setup)\n\n",
        );
        if cm.issuer_kind == IssuerKind::ClusterIssuer {
            out.push_str(
                "# A ClusterIssuer's service account must be in cert-manager's cluster resource\n\
                 # namespace (\"cert-manager\" by default).\n\n",
            );
        }
        let _ = writeln!(
            out,
            "resource \"kubernetes_service_account_v1\" \"issuer\" {{\n  metadata {{\n    name      = {}\n    namespace = {}\n  }}\n}}\n",
            hcl_str(&cm.service_account),
            hcl_str(&cm.namespace)
        );
        let _ = writeln!(
            out,
            "resource \"kubernetes_role_v1\" \"issuer_token\" {{\n  metadata {{\n    name      = {}\n    namespace = {}\n  }}\n\n  \
             rule {{\n    api_groups     = [\"\"]\n    resources      = [\"serviceaccounts/token\"]\n    \
             resource_names = [kubernetes_service_account_v1.issuer.metadata[0].name]\n    verbs          = [\"create\"]\n  }}\n}}\n",
            hcl_str(&token_role_name(state)),
            hcl_str(&cm.namespace)
        );
        let _ = writeln!(
            out,
            "resource \"kubernetes_role_binding_v1\" \"issuer_token\" {{\n  metadata {{\n    name      = {}\n    namespace = {}\n  }}\n\n  \
             role_ref {{\n    api_group = \"rbac.authorization.k8s.io\"\n    kind      = \"Role\"\n    \
             name      = kubernetes_role_v1.issuer_token.metadata[0].name\n  }}\n\n  \
             subject {{\n    kind      = \"ServiceAccount\"\n    name      = {}\n    namespace = {}\n  }}\n}}\n",
            hcl_str(&token_role_name(state)),
            hcl_str(&cm.namespace),
            hcl_str(CERT_MANAGER_SERVICE_ACCOUNT),
            hcl_str(CERT_MANAGER_NAMESPACE)
        );
        let namespace_line = match cm.issuer_kind {
            IssuerKind::Issuer => format!("\n      namespace = {}", hcl_str(&cm.namespace)),
            IssuerKind::ClusterIssuer => String::new(),
        };
        let name_key = match cm.issuer_kind {
            IssuerKind::Issuer => "name     ",
            IssuerKind::ClusterIssuer => "name",
        };
        let _ = writeln!(
            out,
            "resource \"kubernetes_manifest\" \"issuer\" {{\n  manifest = {{\n    \
             apiVersion = \"cert-manager.io/v1\"\n    kind       = {kind}\n    \
             metadata = {{\n      {name_key} = {name}{namespace_line}\n    }}\n    \
             spec = {{\n      vault = {{\n        server   = {server}\n        path     = {path}\n        \
             caBundle = base64encode(local.ca_chain_pem)\n        \
             auth = {{\n          kubernetes = {{\n            \
             role      = vault_kubernetes_auth_backend_role.issuer.role_name\n            \
             mountPath = {mount_path}\n            \
             serviceAccountRef = {{\n              name = kubernetes_service_account_v1.issuer.metadata[0].name\n            }}\n          \
             }}\n        }}\n      }}\n    }}\n  }}\n}}",
            kind = hcl_str(cm.issuer_kind.as_str()),
            name = hcl_str(&cm.issuer_name),
            server = hcl_str(&cm.server_url),
            path = hcl_str(&state.sign_path()),
            mount_path = hcl_str(&format!("/v1/auth/{}", state.auth_mount())),
        );
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

// ---------------------------------------------------------------------------------------
// vault CLI script
// ---------------------------------------------------------------------------------------

/// A bash script that builds `state` with the `vault` CLI (OpenBao's `bao` works under
/// that name). It reads `VAULT_ADDR` and `VAULT_TOKEN`, and the optional
/// `KUBERNETES_REVIEWER_JWT`, from the environment; a second run keeps what exists (a CA
/// is never made twice; the Kubernetes config is rewritten only for another host or CA
/// or a new JWT). With an external root, the first run writes the intermediate's CSR to a
/// file and stops; a run with `SIGNED_CHAIN=<file>` imports the signed chain and goes on.
pub fn cli_script(state: &WizardState) -> String {
    let external = state.root.mode == RootMode::External;
    let kube = state.kubernetes.enabled;
    let mut out = String::new();
    out.push_str("#!/usr/bin/env bash\n");
    out.push_str(
        "# Written by the PKI Console setup wizard: the same setup its apply makes, as `vault` CLI\n\
         # calls (OpenBao's `bao` works when named `vault`).\n\
         #\n\
         # Needs VAULT_ADDR and VAULT_TOKEN (a token allowed to mount engines, write policies and\n\
         # enable auth methods) in the environment.",
    );
    if kube {
        out.push_str(
            " Optional: KUBERNETES_REVIEWER_JWT, a service\n\
             # account JWT Vault uses for the cluster's TokenReview API (never written here).",
        );
    }
    out.push_str(
        "\n# Safe to run again: what exists is kept, and a CA that exists is never made again.\n",
    );
    if external {
        out.push_str(
            "#\n\
             # External root: the first run writes the intermediate's CSR to $CSR_FILE and stops.\n\
             # Have your root sign it, then run again with SIGNED_CHAIN=<file>: the signed\n\
             # certificate followed by its issuers up to the root, PEM.\n",
        );
    }
    out.push_str("set -euo pipefail\n\n");

    // Every value from the state, once, as single-quoted words: paths as they are, the
    // values sent as `key=value` with the CLI's `@` rule escaped.
    let mut vars: Vec<(&str, String)> = vec![];
    if !external {
        vars.extend([
            ("ROOT_MOUNT", sh_quote(state.root_mount())),
            ("ROOT_CN", sh_quote(&cli_value(&state.root.common_name))),
            (
                "ROOT_KEY_TYPE",
                sh_quote(&cli_value(&state.root.key.key_type)),
            ),
            (
                "ROOT_KEY_BITS",
                sh_quote(&state.root.key.key_bits.to_string()),
            ),
            ("ROOT_TTL", sh_quote(&cli_value(&state.root.ttl))),
            ("ROOT_TTL_SECONDS", seconds(&state.root.ttl).to_string()),
        ]);
    }
    vars.extend([
        ("INT_MOUNT", sh_quote(state.int_mount())),
        (
            "INT_CN",
            sh_quote(&cli_value(&state.intermediate.common_name)),
        ),
        (
            "INT_KEY_TYPE",
            sh_quote(&cli_value(&state.intermediate.key.key_type)),
        ),
        (
            "INT_KEY_BITS",
            sh_quote(&state.intermediate.key.key_bits.to_string()),
        ),
        ("INT_TTL", sh_quote(&cli_value(&state.intermediate.ttl))),
        (
            "INT_TTL_SECONDS",
            seconds(&state.intermediate.ttl).to_string(),
        ),
        ("ROLE", sh_quote(&state.role.name)),
        ("POLICY", sh_quote(&state.policy.name)),
    ]);
    if kube {
        vars.extend([
            ("AUTH_MOUNT", sh_quote(state.auth_mount())),
            ("K8S_HOST", sh_quote(&cli_value(&state.kubernetes.host))),
            (
                "K8S_CA_CERT",
                sh_quote(&cli_value(state.kubernetes.ca_cert.trim())),
            ),
            ("K8S_ROLE", sh_quote(&state.kubernetes.role)),
        ]);
    }
    for (k, v) in &vars {
        let _ = writeln!(out, "{k}={v}");
    }
    if external {
        let file = format!("{}.csr", state.int_mount().replace('/', "_"));
        let _ = writeln!(out, "CSR_FILE=${{CSR_FILE:-{}}}", sh_quote(&file));
    }

    out.push_str(
        r#"
: "${VAULT_ADDR:?set VAULT_ADDR to the Vault address}"
if ! vault token lookup >/dev/null; then
  echo "error: no usable Vault token: set VAULT_TOKEN" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mount_pki PATH TTL SECONDS DESCRIPTION: a PKI engine at PATH whose max lease TTL is at
# least SECONDS; another kind of engine there stops the script.
mount_pki() {
  local path=$1 ttl=$2 want=$3 description=$4 found have
  if found=$(vault read -field=type "sys/mounts/$path" 2>/dev/null); then
    if [ "$found" != pki ]; then
      echo "error: a \"$found\" engine is mounted at $path/: choose another path" >&2
      exit 1
    fi
    have=$(vault read -field=max_lease_ttl "sys/mounts/$path/tune")
    if [ "$have" -lt "$want" ]; then
      vault secrets tune -max-lease-ttl="$ttl" "$path/"
    else
      echo "$path/: a PKI engine is already mounted"
    fi
  else
    vault secrets enable -path="$path" -description="$description" -max-lease-ttl="$ttl" pki
  fi
}

# ids PATH: the IDs a LIST of PATH returns, one a line (none on 404).
ids() {
  vault list -format=json "$1" 2>/dev/null | tr -d '[]{}", ' | grep -v '^$' || true
}

# signing_issuer MOUNT: whether MOUNT has an issuer with its key (a CA that can sign).
signing_issuer() {
  local id
  for id in $(ids "$1/issuers"); do
    if [ -n "$(vault read -field=key_id "$1/issuer/$id" 2>/dev/null || true)" ]; then
      return 0
    fi
  done
  return 1
}
"#,
    );

    if !external {
        out.push_str(
            r#"
echo "== Root CA"
mount_pki "$ROOT_MOUNT" "$ROOT_TTL" "$ROOT_TTL_SECONDS" 'PKI Console: root CA'
if signing_issuer "$ROOT_MOUNT"; then
  echo "$ROOT_MOUNT/: already has a CA with its key: kept"
else
  vault write -field=certificate "$ROOT_MOUNT/root/generate/internal" \
    common_name="$ROOT_CN" key_type="$ROOT_KEY_TYPE" key_bits="$ROOT_KEY_BITS" \
    ttl="$ROOT_TTL" issuer_name=root </dev/null >"$work/root.pem"
  echo "$ROOT_MOUNT/: root CA generated"
fi
"#,
        );
    }

    out.push_str(
        r#"
echo "== Intermediate CA"
mount_pki "$INT_MOUNT" "$INT_TTL" "$INT_TTL_SECONDS" 'PKI Console: intermediate CA'
if signing_issuer "$INT_MOUNT"; then
  echo "$INT_MOUNT/: already has a signed intermediate with its key: kept"
"#,
    );
    if external {
        out.push_str(
            r#"elif [ -z "${SIGNED_CHAIN:-}" ]; then
  # A key already waiting for its certificate (an earlier run) gets its CSR again.
  key=$(ids "$INT_MOUNT/keys" | head -n 1)
  if [ -n "$key" ]; then
    vault write -field=csr "$INT_MOUNT/intermediate/generate/existing" \
      key_ref="$key" common_name="$INT_CN" </dev/null >"$CSR_FILE"
  else
    vault write -field=csr "$INT_MOUNT/intermediate/generate/internal" \
      common_name="$INT_CN" key_type="$INT_KEY_TYPE" key_bits="$INT_KEY_BITS" </dev/null >"$CSR_FILE"
  fi
  cat <<EOF
The intermediate's CSR is in $CSR_FILE. Next:
  1. have your root CA sign it as a CA certificate (basic constraints CA:TRUE);
  2. put the signed certificate, then its issuers up to the root, in one PEM file;
  3. run this script again with SIGNED_CHAIN=<that file>.
EOF
  exit 0
else
  if [ "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$SIGNED_CHAIN" || true)" -lt 2 ]; then
    echo "error: $SIGNED_CHAIN must hold the signed certificate followed by its issuers up to the root" >&2
    exit 1
  fi
  vault write "$INT_MOUNT/intermediate/set-signed" certificate=@"$SIGNED_CHAIN" </dev/null
  echo "$INT_MOUNT/: signed intermediate imported with its chain"
fi
"#,
        );
    } else {
        out.push_str(
            r#"else
  # The CSR shuttle: the intermediate's CSR, signed by the root, imported with the root
  # (format=pem_bundle: the certificate followed by its issuer, the full chain).
  vault write -field=csr "$INT_MOUNT/intermediate/generate/internal" \
    common_name="$INT_CN" key_type="$INT_KEY_TYPE" key_bits="$INT_KEY_BITS" </dev/null >"$work/intermediate.csr"
  vault write -field=certificate "$ROOT_MOUNT/root/sign-intermediate" \
    csr=@"$work/intermediate.csr" common_name="$INT_CN" ttl="$INT_TTL" format=pem_bundle \
    </dev/null >"$work/intermediate-chain.pem"
  vault write "$INT_MOUNT/intermediate/set-signed" certificate=@"$work/intermediate-chain.pem" </dev/null
  echo "$INT_MOUNT/: intermediate signed by the root and imported with the full chain"
fi
"#,
        );
    }

    out.push_str("\necho \"== URLs\"\n");
    let mut url_mounts = Vec::new();
    if !external {
        url_mounts.push(("ROOT_MOUNT", state.root_mount()));
    }
    url_mounts.push(("INT_MOUNT", state.int_mount()));
    for (var, mount) in url_mounts {
        let (issuing, crl) = state.urls_for(mount);
        let _ = write!(out, "vault write \"${var}/config/urls\"");
        for u in &issuing {
            let _ = write!(out, " \\\n  {}", cli_arg("issuing_certificates", u));
        }
        for u in &crl {
            let _ = write!(out, " \\\n  {}", cli_arg("crl_distribution_points", u));
        }
        out.push_str(" </dev/null\n");
    }

    out.push_str("\necho \"== Role\"\nvault write \"$INT_MOUNT/roles/$ROLE\"");
    for (k, v) in &state.role_body() {
        match v {
            Value::Array(items) => {
                for i in items {
                    let text = i
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string());
                    let _ = write!(out, " \\\n  {}", cli_arg(k, &text));
                }
            }
            Value::String(s) => {
                let _ = write!(out, " \\\n  {}", cli_arg(k, s));
            }
            other => {
                let _ = write!(out, " \\\n  {}", cli_arg(k, &other.to_string()));
            }
        }
    }
    out.push_str(" </dev/null\n");

    let hcl = state.policy_hcl();
    let mark = unique_marker(&hcl, "PKI_CONSOLE_POLICY");
    let _ = write!(
        out,
        "\necho \"== Policy\"\nvault policy write \"$POLICY\" - <<'{mark}'\n{hcl}{nl}{mark}\n",
        nl = if hcl.ends_with('\n') { "" } else { "\n" },
    );

    if kube {
        let cm = &state.cert_manager;
        let ca = !state.kubernetes.ca_cert.trim().is_empty();
        let mut args = vec!["kubernetes_host=\"$K8S_HOST\""];
        if ca {
            args.push("kubernetes_ca_cert=\"$K8S_CA_CERT\"");
        }
        args.push("disable_local_ca_jwt=true");
        let with_jwt = args.join(" \\\n      ") + " \\\n      token_reviewer_jwt=-";
        let without_jwt = args.join(" \\\n    ");
        let _ = write!(
            out,
            r#"
echo "== Kubernetes auth"
if found=$(vault read -field=type "sys/auth/$AUTH_MOUNT" 2>/dev/null); then
  if [ "$found" != kubernetes ]; then
    echo "error: a \"$found\" auth method is at auth/$AUTH_MOUNT/: choose another path" >&2
    exit 1
  fi
  echo "auth/$AUTH_MOUNT/: already enabled"
else
  vault auth enable -path="$AUTH_MOUNT" kubernetes
fi
# Writing the config replaces it whole (a JWT sent before would be dropped): it is written
# when there is a new JWT, or none yet for this host and CA certificate.
have_host=$(vault read -field=kubernetes_host "auth/$AUTH_MOUNT/config" 2>/dev/null || true)
have_ca=$(vault read -field=kubernetes_ca_cert "auth/$AUTH_MOUNT/config" 2>/dev/null || true)
if [ -n "${{KUBERNETES_REVIEWER_JWT:-}}" ]; then
  # The JWT goes through standard input, never on a command line.
  printf '%s' "$KUBERNETES_REVIEWER_JWT" |
    vault write "auth/$AUTH_MOUNT/config" \
      {with_jwt}
elif [ "$have_host" != "$K8S_HOST" ] || [ "$have_ca" != "$K8S_CA_CERT" ]; then
  vault write "auth/$AUTH_MOUNT/config" \
    {without_jwt} </dev/null
else
  echo "auth/$AUTH_MOUNT/config: the same host and CA certificate: kept (set KUBERNETES_REVIEWER_JWT to send a new JWT)"
fi
vault write "auth/$AUTH_MOUNT/role/$K8S_ROLE" \
  {names} \
  {namespaces} \
  {audience} \
  {policies}"#,
            names = cli_arg("bound_service_account_names", &cm.service_account),
            namespaces = cli_arg("bound_service_account_namespaces", &cm.namespace),
            audience = cli_arg("audience", &state.audience()),
            policies = cli_arg("token_policies", &state.policy.name),
        );
        if !state.kubernetes.token_ttl.trim().is_empty() {
            let _ = write!(
                out,
                " \\\n  {}",
                cli_arg("token_ttl", state.kubernetes.token_ttl.trim())
            );
        }
        out.push_str(" </dev/null\n");
    }

    out.push_str("\necho \"Done: cert-manager signs through $INT_MOUNT/sign/$ROLE\"\n");
    out
}

// ---------------------------------------------------------------------------------------
// Kubernetes YAML
// ---------------------------------------------------------------------------------------

/// `metadata:` with a name and, for namespaced objects, the namespace.
fn yaml_meta(out: &mut String, name: &str, namespace: Option<&str>) {
    let _ = writeln!(out, "metadata:\n  name: {}", yaml_str(name));
    if let Some(ns) = namespace {
        let _ = writeln!(out, "  namespace: {}", yaml_str(ns));
    }
}

/// A literal block scalar (`|`) of PEM text we encoded ourselves, at `indent`.
fn yaml_block(out: &mut String, indent: usize, text: &str) {
    out.push_str("|\n");
    for line in text.lines() {
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
}

/// The cert-manager side of the setup as Kubernetes YAML, one object per document:
/// the issuer's ServiceAccount; the Role and RoleBinding that let cert-manager's own
/// service account create that account's tokens (`serviceaccounts/token`, as
/// cert-manager documents `serviceAccountRef`); the Issuer or ClusterIssuer; a
/// Certificate for the example host and an Ingress that asks for one through the
/// ingress-shim annotation; and a trust-manager `Bundle` spreading the root of
/// `ca_chain_pem` to every namespace as a ConfigMap. `caBundle` (how cert-manager trusts
/// the Vault server's TLS certificate) is `ca_chain_pem`, base64, when it is not empty.
/// No Namespace object: the application's namespace is the admin's, and `kubectl delete -f`
/// on this file must not delete it.
pub fn yaml_bundle(state: &WizardState, ca_chain_pem: &str) -> String {
    let cm = &state.cert_manager;
    let ns = cm.namespace.as_str();
    let kind = cm.issuer_kind;
    let mut out = String::new();
    out.push_str(
        "# Written by the PKI Console setup wizard: cert-manager's Vault issuer and what it needs.\n\
         # The namespace must exist (kubectl create namespace ...); cert-manager must be installed\n\
         # (its service account \"cert-manager\" in the namespace \"cert-manager\" requests the\n\
         # issuer's tokens), and trust-manager for the Bundle at the end.\n",
    );
    if kind == IssuerKind::ClusterIssuer {
        out.push_str(
            "# A ClusterIssuer's service account must be in cert-manager's cluster resource namespace\n\
             # (\"cert-manager\" by default), so that is the namespace below.\n",
        );
    }
    if !state.kubernetes.enabled {
        out.push_str(
            "# Vault's Kubernetes auth is not part of this setup: the issuer logs in only once an\n\
             # auth method with the role below exists.\n",
        );
    }

    out.push_str("---\napiVersion: v1\nkind: ServiceAccount\n");
    yaml_meta(&mut out, &cm.service_account, Some(ns));

    let token_role = token_role_name(state);
    out.push_str(
        "---\n# Lets cert-manager request this service account's tokens, and nothing else.\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n",
    );
    yaml_meta(&mut out, &token_role, Some(ns));
    let _ = writeln!(
        out,
        "rules:\n  - apiGroups:\n      - \"\"\n    resources:\n      - serviceaccounts/token\n    \
         resourceNames:\n      - {}\n    verbs:\n      - create",
        yaml_str(&cm.service_account)
    );
    out.push_str("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n");
    yaml_meta(&mut out, &token_role, Some(ns));
    let _ = writeln!(
        out,
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {}\n\
         subjects:\n  - kind: ServiceAccount\n    name: {}\n    namespace: {}",
        yaml_str(&token_role),
        yaml_str(CERT_MANAGER_SERVICE_ACCOUNT),
        yaml_str(CERT_MANAGER_NAMESPACE)
    );

    let _ = writeln!(
        out,
        "---\n# cert-manager logs in to Vault as the service account above (the token's audience is\n\
         # {}: the role below expects it) and signs with the role's sign path.\n\
         apiVersion: cert-manager.io/v1\nkind: {}",
        match kind {
            IssuerKind::Issuer => "vault://<namespace>/<issuer>",
            IssuerKind::ClusterIssuer => "vault://<issuer>",
        },
        kind.as_str()
    );
    yaml_meta(
        &mut out,
        &cm.issuer_name,
        (kind == IssuerKind::Issuer).then_some(ns),
    );
    let _ = writeln!(
        out,
        "spec:\n  vault:\n    server: {}\n    path: {}",
        yaml_str(&cm.server_url),
        yaml_str(&state.sign_path())
    );
    if !ca_chain_pem.trim().is_empty() {
        let _ = writeln!(
            out,
            "    # The CA chain, base64: how cert-manager trusts the Vault server's TLS certificate.\n    \
             caBundle: {}",
            yaml_str(&STANDARD.encode(ca_chain_pem.trim().as_bytes()))
        );
    }
    let _ = writeln!(
        out,
        "    auth:\n      kubernetes:\n        role: {}\n        mountPath: {}\n        \
         serviceAccountRef:\n          name: {}",
        yaml_str(&state.kubernetes.role),
        yaml_str(&format!("/v1/auth/{}", state.auth_mount())),
        yaml_str(&cm.service_account)
    );

    let (duration, renew_before) = certificate_times(state);
    let (algorithm, size) = private_key(state);
    let host = host_name(state);
    let max = seconds(&state.role.max_ttl);
    out.push_str("---\n");
    if renew_before.is_none() {
        let _ = writeln!(
            out,
            "# The role's max TTL ({}) is below cert-manager's shortest duration (1h): cert-manager\n\
             # asks for 1h, Vault caps the certificate at the max TTL, and cert-manager renews it\n\
             # when a third of its actual life is left.",
            format_go(max)
        );
    }
    out.push_str("apiVersion: cert-manager.io/v1\nkind: Certificate\n");
    yaml_meta(&mut out, &host, Some(ns));
    let _ = writeln!(
        out,
        "spec:\n  secretName: {}\n  dnsNames:\n    - {}",
        yaml_str(&format!("{host}-tls")),
        yaml_str(&cm.example_host)
    );
    if state.role.require_cn {
        let _ = writeln!(out, "  commonName: {}", yaml_str(&cm.example_host));
    }
    let _ = writeln!(out, "  duration: {}", format_go(duration));
    if let Some(r) = renew_before {
        let _ = writeln!(out, "  renewBefore: {}", format_go(r));
    }
    let _ = writeln!(out, "  privateKey:\n    algorithm: {algorithm}");
    if size > 0 {
        let _ = writeln!(out, "    size: {size}");
    }
    let _ = writeln!(
        out,
        "  issuerRef:\n    name: {}\n    kind: {}\n    group: cert-manager.io",
        yaml_str(&cm.issuer_name),
        kind.as_str()
    );

    out.push_str(
        "---\n# The other way: an Ingress whose annotation has cert-manager write the Certificate itself\n\
         # (into its own Secret). Use one of the two for a host. The backend is your Service.\n\
         apiVersion: networking.k8s.io/v1\nkind: Ingress\n",
    );
    yaml_meta(&mut out, &host, Some(ns));
    let _ = writeln!(
        out,
        "  annotations:\n    {}: {}\n    cert-manager.io/duration: {}",
        issuer_annotation(kind),
        yaml_str(&cm.issuer_name),
        format_go(duration)
    );
    if let Some(r) = renew_before {
        let _ = writeln!(out, "    cert-manager.io/renew-before: {}", format_go(r));
    }
    let _ = writeln!(
        out,
        "    cert-manager.io/private-key-algorithm: {algorithm}"
    );
    if size > 0 {
        let _ = writeln!(out, "    cert-manager.io/private-key-size: \"{size}\"");
    }
    let _ = writeln!(
        out,
        "spec:\n  tls:\n    - hosts:\n        - {h}\n      secretName: {secret}\n  \
         rules:\n    - host: {h}\n      http:\n        paths:\n          - path: /\n            \
         pathType: Prefix\n            backend:\n              service:\n                \
         name: {service}\n                port:\n                  number: 80",
        h = yaml_str(&cm.example_host),
        secret = yaml_str(&format!("{host}-ingress-tls")),
        service = yaml_str(&host),
    );

    let anchors = trust_anchors(ca_chain_pem);
    if anchors.is_empty() {
        out.push_str(
            "# No CA chain was given: the trust-manager Bundle that spreads the root is left out.\n",
        );
    } else {
        let bundle = match kind {
            IssuerKind::Issuer => format!("{ns}-{}-ca", cm.issuer_name),
            IssuerKind::ClusterIssuer => format!("{}-ca", cm.issuer_name),
        };
        out.push_str(
            "---\n# trust-manager copies the root into a ConfigMap of this name in every namespace\n\
             # (key ca.crt), for clients that must trust the certificates issued here.\n\
             apiVersion: trust.cert-manager.io/v1alpha1\nkind: Bundle\n",
        );
        yaml_meta(&mut out, &slug(&bundle, "pki-console-ca"), None);
        out.push_str("spec:\n  sources:\n");
        for pem in &anchors {
            out.push_str("    - inLine: ");
            yaml_block(&mut out, 8, pem);
        }
        out.push_str("  target:\n    configMap:\n      key: ca.crt\n");
    }
    out
}

/// A cert-manager approver-policy `CertificateRequestPolicy` that approves only what the
/// Vault role would sign (the role's DNS names, no wildcard unless it allows them, its
/// key algorithm and size, a duration cert-manager can ask for), for the issuer's
/// requests; and the RBAC approver-policy requires: a ClusterRole with `use` on the
/// policy, bound to the requester (cert-manager's own service account; by a RoleBinding
/// in the issuer's namespace for an Issuer, a ClusterRoleBinding for a ClusterIssuer).
/// With approver-policy installed, cert-manager's default approver must be off, or it
/// approves everything anyway.
pub fn approver_policy_yaml(state: &WizardState) -> String {
    let cm = &state.cert_manager;
    let kind = cm.issuer_kind;
    let name = slug(
        &format!("{}-{}", cm.issuer_name, state.role.name),
        "pki-console",
    );
    let mut out = String::new();
    out.push_str(
        "# Written by the PKI Console setup wizard: an approver-policy CertificateRequestPolicy that\n\
         # approves only what the Vault role signs. It needs approver-policy installed and\n\
         # cert-manager's default approver disabled (otherwise every request is approved anyway).\n\
         ---\napiVersion: policy.cert-manager.io/v1alpha1\nkind: CertificateRequestPolicy\n",
    );
    yaml_meta(&mut out, &name, None);
    out.push_str("spec:\n  allowed:\n");

    let domains: Vec<&str> = state
        .role
        .allowed_domains
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .collect();
    let mut cn_rule = Vec::new();
    for d in &domains {
        if state.role.allow_bare_domains {
            cn_rule.push(format!("self == {}", cel_str(d)));
        }
        if state.role.allow_subdomains {
            cn_rule.push(format!("self.endsWith({})", cel_str(&format!(".{d}"))));
        }
    }
    if cn_rule.is_empty() {
        cn_rule.push("false".to_owned());
    }
    let _ = writeln!(
        out,
        "    commonName:\n      required: {}\n      validations:\n        - rule: {}\n          \
         message: {}",
        state.role.require_cn,
        yaml_str(&cn_rule.join(" || ")),
        yaml_str("the Vault role does not allow this name")
    );
    let patterns = dns_patterns(state);
    out.push_str("    dnsNames:\n");
    if patterns.is_empty() {
        out.push_str("      values: []\n");
    } else {
        out.push_str("      values:\n");
        for p in &patterns {
            let _ = writeln!(out, "        - {}", yaml_str(p));
        }
    }
    if !state.role.allow_wildcard_certificates {
        let _ = writeln!(
            out,
            "      validations:\n        - rule: {}\n          message: {}",
            yaml_str("!self.contains('*')"),
            yaml_str("the Vault role issues no wildcard certificates")
        );
    }
    out.push_str(
        "    # The key usages a Vault role issues by default.\n    usages:\n      \
         - digital signature\n      - key encipherment\n      - key agreement\n      \
         - server auth\n      - client auth\n",
    );

    let (duration, renew_before) = certificate_times(state);
    out.push_str("  constraints:\n");
    if renew_before.is_none() {
        let _ = writeln!(
            out,
            "    # cert-manager asks for at least 1h; Vault caps the certificate at the role's {}.",
            format_go(seconds(&state.role.max_ttl))
        );
    }
    let _ = writeln!(out, "    maxDuration: {}", format_go(duration));
    match state.role.key_type.as_str() {
        "any" => out.push_str(
            "    # The role takes any key (RSA of 2048 bits or more, EC, Ed25519): no key constraint.\n",
        ),
        _ => {
            let (algorithm, size) = private_key(state);
            let _ = writeln!(out, "    privateKey:\n      algorithm: {algorithm}");
            if size > 0 {
                let _ = writeln!(out, "      minSize: {size}");
            }
        }
    }
    let _ = writeln!(
        out,
        "  selector:\n    issuerRef:\n      name: {}\n      kind: {}\n      group: cert-manager.io",
        yaml_str(&cm.issuer_name),
        kind.as_str()
    );
    if kind == IssuerKind::Issuer {
        let _ = writeln!(
            out,
            "    namespace:\n      matchNames:\n        - {}",
            yaml_str(&cm.namespace)
        );
    }

    let role_name = format!("cert-manager-policy:{name}");
    out.push_str("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n");
    yaml_meta(&mut out, &role_name, None);
    let _ = writeln!(
        out,
        "rules:\n  - apiGroups:\n      - policy.cert-manager.io\n    resources:\n      \
         - certificaterequestpolicies\n    verbs:\n      - use\n    resourceNames:\n      - {}",
        yaml_str(&name)
    );
    match kind {
        IssuerKind::Issuer => {
            out.push_str(
                "---\n# Bound in the issuer's namespace: the policy applies to requests made there.\n\
                 apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n",
            );
            yaml_meta(&mut out, &role_name, Some(&cm.namespace));
        }
        IssuerKind::ClusterIssuer => {
            out.push_str(
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n",
            );
            yaml_meta(&mut out, &role_name, None);
        }
    }
    let _ = writeln!(
        out,
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {}\n\
         subjects:\n  - kind: ServiceAccount\n    name: {}\n    namespace: {}",
        yaml_str(&role_name),
        yaml_str(CERT_MANAGER_SERVICE_ACCOUNT),
        yaml_str(CERT_MANAGER_NAMESPACE)
    );
    out
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
