//! The setup wizard's model: what an admin chooses in each step (root CA, intermediate,
//! URLs, role, policy, Kubernetes auth, cert-manager), the classic recipe's defaults, and
//! the checks of each step — the same checks the engine runs (role names and role
//! fields through `pki::role`, durations through `pki::duration`), so the wizard cannot
//! propose what the server would refuse.
//!
//! [`plan`] turns a state and what the server already has into the ordered Vault calls
//! that build it (each marked create / update / already present); [`export`] renders the
//! same state as Terraform, a `vault` CLI script and Kubernetes YAML. Nothing here does
//! I/O, and the state holds no secret: never a token, a private key or the Kubernetes
//! reviewer JWT (that one is asked for at apply time and kept in memory only), so it may
//! be kept in the browser's session storage.

pub mod apply;
pub mod export;
pub mod plan;
pub mod verify;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::pki::duration::parse_duration;
use crate::pki::role::{Role, is_valid_role_name};

/// The wizard's steps, in order; each has its own route `/setup/<slug>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Root,
    Intermediate,
    Urls,
    Role,
    Policy,
    Kubernetes,
    CertManager,
    /// The plan, apply, verify and export.
    Review,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Root,
        Step::Intermediate,
        Step::Urls,
        Step::Role,
        Step::Policy,
        Step::Kubernetes,
        Step::CertManager,
        Step::Review,
    ];

    /// The last segment of the step's route.
    pub fn slug(self) -> &'static str {
        match self {
            Step::Root => "root",
            Step::Intermediate => "intermediate",
            Step::Urls => "urls",
            Step::Role => "role",
            Step::Policy => "policy",
            Step::Kubernetes => "kubernetes",
            Step::CertManager => "cert-manager",
            Step::Review => "review",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Root => "Root CA",
            Step::Intermediate => "Intermediate CA",
            Step::Urls => "URLs",
            Step::Role => "Role",
            Step::Policy => "Policy",
            Step::Kubernetes => "Kubernetes auth",
            Step::CertManager => "cert-manager",
            Step::Review => "Review and apply",
        }
    }

    /// One paragraph of plain words: what the step makes and why.
    pub fn explanation(self) -> &'static str {
        match self {
            Step::Root => {
                "The root CA is the anchor every client trusts. It signs only the intermediate, so its key is used \
                 rarely; give it a long life (years). If your organisation already has a root, choose \"external\": \
                 the wizard gives you the intermediate's CSR to sign there, and you upload the certificate."
            }
            Step::Intermediate => {
                "The intermediate CA signs the day-to-day certificates. The wizard makes its key and CSR on the \
                 server, has the root sign it and imports it with the full chain (root included), so clients get a \
                 complete chain — no copy and paste between mounts."
            }
            Step::Urls => {
                "Issued certificates carry where to fetch their issuer's certificate and CRL (the AIA and CRL \
                 distribution point extensions). They must be addresses clients can reach: by default this console's \
                 public address."
            }
            Step::Role => {
                "A role says which names may be issued and for how long. cert-manager renews short-lived certificates \
                 automatically, so a maximum TTL of minutes is normal here. Try names in the tester before you apply."
            }
            Step::Policy => {
                "An ACL policy allows signing with the role and nothing else. It is what the Kubernetes login (and any \
                 token you mint for a team) will carry. After apply, the wizard checks it with sys/capabilities."
            }
            Step::Kubernetes => {
                "Vault's Kubernetes auth method lets a service account log in with its token: Vault asks the cluster's \
                 TokenReview API whether the token is genuine. cert-manager asks for the audience \
                 vault://<namespace>/<issuer> (vault://<issuer> for a ClusterIssuer)."
            }
            Step::CertManager => {
                "cert-manager's Vault Issuer logs in with the service account, sends each CSR to the role's sign path \
                 and stores the result in a TLS Secret. The wizard writes the Issuer, the service account and its RBAC, \
                 and an example Certificate and Ingress for one host."
            }
            Step::Review => {
                "The plan lists every Vault call in order, each marked create, update or already present. Apply runs \
                 it step by step and stops at the first error; running it again is safe. Verify then signs a \
                 throw-away CSR through the role with a token that has only the new policy."
            }
        }
    }
}

/// Where the root CA comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootMode {
    /// The console makes the root in its own mount.
    #[default]
    Internal,
    /// An outside root signs the intermediate's CSR; the admin uploads the result.
    External,
}

/// A CA key's algorithm, as the PKI engine names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySpec {
    /// `ec`, `rsa` or `ed25519`.
    pub key_type: String,
    /// 256/384 for `ec`, 2048/3072/4096 for `rsa`, 0 for `ed25519`.
    pub key_bits: u32,
}

impl KeySpec {
    fn check(&self, field: &str, issues: &mut Vec<FieldIssue>) {
        let ok = match self.key_type.as_str() {
            "ec" => matches!(self.key_bits, 256 | 384 | 521),
            "rsa" => matches!(self.key_bits, 2048 | 3072 | 4096 | 8192),
            "ed25519" => true,
            _ => {
                issues.push(FieldIssue::new(
                    &format!("{field}.key_type"),
                    "key type must be ec, rsa or ed25519",
                ));
                return;
            }
        };
        if !ok {
            issues.push(FieldIssue::new(
                &format!("{field}.key_bits"),
                &format!(
                    "{} bits is not a size Vault accepts for {} keys",
                    self.key_bits, self.key_type
                ),
            ));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootStep {
    pub mode: RootMode,
    /// The PKI mount of the root (internal mode).
    pub mount: String,
    pub common_name: String,
    pub key: KeySpec,
    /// Lifetime of the root certificate.
    pub ttl: String,
    /// External mode: the intermediate's certificate signed by the outside root, followed
    /// by that root (and any certificates between), PEM. Certificates are public.
    #[serde(default)]
    pub external_chain_pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntermediateStep {
    pub mount: String,
    pub common_name: String,
    pub key: KeySpec,
    /// Lifetime of the intermediate certificate (below the root's).
    pub ttl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlsStep {
    /// Public base address of the Vault API as clients reach it (`https://pki.example`);
    /// `/v1/<mount>/ca` and `/v1/<mount>/crl` are added per mount.
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleStep {
    pub name: String,
    pub allowed_domains: Vec<String>,
    pub allow_subdomains: bool,
    pub allow_bare_domains: bool,
    pub allow_wildcard_certificates: bool,
    /// cert-manager's requests may come without a CN (names in SANs only).
    pub require_cn: bool,
    /// Default TTL; empty: the maximum.
    pub ttl: String,
    pub max_ttl: String,
    /// `any`, `ec`, `rsa` or `ed25519`.
    pub key_type: String,
    /// 0 with `any`.
    pub key_bits: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStep {
    pub name: String,
    /// The HCL as edited; empty: the generated one ([`WizardState::generated_policy`]).
    #[serde(default)]
    pub hcl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesStep {
    /// Configure Kubernetes auth at all (the wizard can stop at the PKI).
    pub enabled: bool,
    /// The auth mount (`auth/<mount>`).
    pub mount: String,
    /// The cluster's API address as Vault reaches it.
    pub host: String,
    /// The cluster's CA certificate (PEM). Required: a Vault outside the cluster has no
    /// service account files to take it from (`disable_local_ca_jwt` is set).
    #[serde(default)]
    pub ca_cert: String,
    /// The Vault role cert-manager logs in with.
    pub role: String,
    pub token_ttl: String,
}

/// cert-manager's issuer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IssuerKind {
    #[default]
    Issuer,
    ClusterIssuer,
}

impl IssuerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::Issuer => "Issuer",
            IssuerKind::ClusterIssuer => "ClusterIssuer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertManagerStep {
    /// Namespace of the Issuer (or, for a ClusterIssuer, of its service account) and of
    /// the example Certificate and Ingress.
    pub namespace: String,
    pub issuer_kind: IssuerKind,
    pub issuer_name: String,
    pub service_account: String,
    /// The Vault address cert-manager talks to (this console in embedded mode).
    pub server_url: String,
    /// The example Certificate's and Ingress' host.
    pub example_host: String,
}

/// Everything the wizard asks, with the classic recipe as defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardState {
    pub root: RootStep,
    pub intermediate: IntermediateStep,
    pub urls: UrlsStep,
    pub role: RoleStep,
    pub policy: PolicyStep,
    pub kubernetes: KubernetesStep,
    pub cert_manager: CertManagerStep,
}

impl WizardState {
    /// The classic recipe, with `public_url` (the console's address) for the URLs and
    /// cert-manager's server.
    pub fn recipe(public_url: &str) -> WizardState {
        let base = public_url.trim_end_matches('/').to_owned();
        WizardState {
            root: RootStep {
                mode: RootMode::Internal,
                mount: "pki".into(),
                common_name: "Testlab Root CA".into(),
                key: KeySpec {
                    key_type: "ec".into(),
                    key_bits: 384,
                },
                ttl: "87600h".into(),
                external_chain_pem: String::new(),
            },
            intermediate: IntermediateStep {
                mount: "pki_int".into(),
                common_name: "Testlab Intermediate CA".into(),
                key: KeySpec {
                    key_type: "ec".into(),
                    key_bits: 256,
                },
                ttl: "43800h".into(),
            },
            urls: UrlsStep {
                base_url: base.clone(),
            },
            role: RoleStep {
                name: "fruits-catalog".into(),
                allowed_domains: vec!["testlab.local".into()],
                allow_subdomains: true,
                allow_bare_domains: false,
                allow_wildcard_certificates: false,
                require_cn: false,
                ttl: String::new(),
                max_ttl: "10m".into(),
                key_type: "any".into(),
                key_bits: 0,
            },
            policy: PolicyStep {
                name: "fruits-catalog-sign".into(),
                hcl: String::new(),
            },
            kubernetes: KubernetesStep {
                enabled: true,
                mount: "kubernetes".into(),
                host: "https://kubernetes.default.svc".into(),
                ca_cert: String::new(),
                role: "vault-issuer".into(),
                token_ttl: "20m".into(),
            },
            cert_manager: CertManagerStep {
                namespace: "fruits-catalog".into(),
                issuer_kind: IssuerKind::Issuer,
                issuer_name: "vault-issuer".into(),
                service_account: "vault-issuer".into(),
                server_url: base,
                example_host: "fruits.testlab.local".into(),
            },
        }
    }

    /// The mount paths without slashes.
    pub fn root_mount(&self) -> &str {
        self.root.mount.trim_matches('/')
    }

    pub fn int_mount(&self) -> &str {
        self.intermediate.mount.trim_matches('/')
    }

    pub fn auth_mount(&self) -> &str {
        self.kubernetes.mount.trim_matches('/')
    }

    /// The role's sign path: what cert-manager calls and the policy allows.
    pub fn sign_path(&self) -> String {
        format!("{}/sign/{}", self.int_mount(), self.role.name)
    }

    /// The policy the wizard proposes: sign with the role, and read what the request page
    /// needs to offer it (the role's rules, the PKI mounts); nothing else.
    pub fn generated_policy(&self) -> String {
        format!(
            "# Written by the PKI Console setup wizard for role \"{role}\".\n\
             # Sign CSRs with the role (cert-manager, the console's request page):\n\
             path \"{int}/sign/{role}\" {{\n  capabilities = [\"create\", \"update\"]\n}}\n\n\
             # Read the role's rules, so the request page checks names before sending:\n\
             path \"{int}/roles/{role}\" {{\n  capabilities = [\"read\"]\n}}\n\n\
             path \"{int}/roles\" {{\n  capabilities = [\"list\"]\n}}\n\n\
             # Find the PKI mounts (the request page's mount picker):\n\
             path \"sys/mounts\" {{\n  capabilities = [\"read\"]\n}}\n",
            role = self.role.name,
            int = self.int_mount(),
        )
    }

    /// The policy as it will be written: the edited text, else the generated one.
    pub fn policy_hcl(&self) -> String {
        if self.policy.hcl.trim().is_empty() {
            self.generated_policy()
        } else {
            self.policy.hcl.clone()
        }
    }

    /// The audience cert-manager's Vault issuer asks for.
    pub fn audience(&self) -> String {
        match self.cert_manager.issuer_kind {
            IssuerKind::Issuer => format!(
                "vault://{}/{}",
                self.cert_manager.namespace, self.cert_manager.issuer_name
            ),
            IssuerKind::ClusterIssuer => format!("vault://{}", self.cert_manager.issuer_name),
        }
    }

    /// `config/urls` of a mount.
    pub fn urls_for(&self, mount: &str) -> (Vec<String>, Vec<String>) {
        let base = self.urls.base_url.trim_end_matches('/');
        (
            vec![format!("{base}/v1/{mount}/ca")],
            vec![format!("{base}/v1/{mount}/crl")],
        )
    }

    /// The role as written (`roles/:name`): only the fields the wizard sets, so a re-run
    /// compares like with like.
    pub fn role_body(&self) -> Map<String, Value> {
        let r = &self.role;
        let mut body = Map::new();
        body.insert("allowed_domains".into(), json!(r.allowed_domains));
        body.insert("allow_subdomains".into(), json!(r.allow_subdomains));
        body.insert("allow_bare_domains".into(), json!(r.allow_bare_domains));
        body.insert(
            "allow_wildcard_certificates".into(),
            json!(r.allow_wildcard_certificates),
        );
        body.insert("require_cn".into(), json!(r.require_cn));
        body.insert("max_ttl".into(), json!(r.max_ttl));
        if !r.ttl.is_empty() {
            body.insert("ttl".into(), json!(r.ttl));
        }
        body.insert("key_type".into(), json!(r.key_type));
        if r.key_type != "any" {
            body.insert("key_bits".into(), json!(r.key_bits));
        }
        body
    }

    /// The role the server will hold after apply, as `pki::role` (and the engine) build it
    /// from [`WizardState::role_body`]; what the name tester asks.
    pub fn role(&self) -> Result<Role, FieldIssue> {
        Role::from_write(None, &self.role_body())
            .map_err(|e| FieldIssue::new(&format!("role.{}", e.field()), &e.to_string()))
    }

    /// Every problem of one step, each naming its field (`role.max_ttl`).
    pub fn check(&self, step: Step) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        match step {
            Step::Root => {
                if self.root.mode == RootMode::Internal {
                    check_mount("root.mount", &self.root.mount, &mut issues);
                    required("root.common_name", &self.root.common_name, &mut issues);
                    self.root.key.check("root", &mut issues);
                    duration("root.ttl", &self.root.ttl, true, &mut issues);
                    if self.root.mount.trim_matches('/') == self.int_mount() {
                        issues.push(FieldIssue::new(
                            "root.mount",
                            "the root and the intermediate need separate mounts",
                        ));
                    }
                }
            }
            Step::Intermediate => {
                check_mount("intermediate.mount", &self.intermediate.mount, &mut issues);
                required(
                    "intermediate.common_name",
                    &self.intermediate.common_name,
                    &mut issues,
                );
                self.intermediate.key.check("intermediate", &mut issues);
                duration(
                    "intermediate.ttl",
                    &self.intermediate.ttl,
                    true,
                    &mut issues,
                );
                if self.root.mode == RootMode::Internal
                    && let (Ok(root), Ok(int)) = (
                        parse_duration(&self.root.ttl),
                        parse_duration(&self.intermediate.ttl),
                    )
                    && int > root
                {
                    issues.push(FieldIssue::new(
                        "intermediate.ttl",
                        "the intermediate cannot outlive the root: Vault would cut it to the root's expiry",
                    ));
                }
            }
            Step::Urls => {
                let base = self.urls.base_url.trim();
                if !(base.starts_with("https://") || base.starts_with("http://"))
                    || base.len() <= "https://".len()
                {
                    issues.push(FieldIssue::new(
                        "urls.base_url",
                        "must be an http:// or https:// address clients can reach",
                    ));
                }
            }
            Step::Role => {
                if !is_valid_role_name(&self.role.name) {
                    issues.push(FieldIssue::new(
                        "role.name",
                        "letters, digits, '-', '_' and '.'; it cannot start or end with '-' or '.'",
                    ));
                }
                if self
                    .role
                    .allowed_domains
                    .iter()
                    .all(|d| d.trim().is_empty())
                {
                    issues.push(FieldIssue::new(
                        "role.allowed_domains",
                        "name at least one domain the role may issue for",
                    ));
                }
                duration("role.max_ttl", &self.role.max_ttl, true, &mut issues);
                duration("role.ttl", &self.role.ttl, false, &mut issues);
                if let Err(issue) = self.role()
                    && !issues.iter().any(|i| i.field == issue.field)
                {
                    issues.push(issue);
                }
            }
            Step::Policy => {
                check_name("policy.name", &self.policy.name, &mut issues);
                if !self.policy_hcl().contains(&self.sign_path()) {
                    issues.push(FieldIssue::new(
                        "policy.hcl",
                        &format!(
                            "the policy does not name \"{}\": cert-manager could not sign",
                            self.sign_path()
                        ),
                    ));
                }
            }
            Step::Kubernetes => {
                if self.kubernetes.enabled {
                    required("kubernetes.mount", &self.kubernetes.mount, &mut issues);
                    if !self.kubernetes.host.starts_with("https://") {
                        issues.push(FieldIssue::new(
                            "kubernetes.host",
                            "the Kubernetes API address, https://...",
                        ));
                    }
                    check_name("kubernetes.role", &self.kubernetes.role, &mut issues);
                    duration(
                        "kubernetes.token_ttl",
                        &self.kubernetes.token_ttl,
                        false,
                        &mut issues,
                    );
                    if !self
                        .kubernetes
                        .ca_cert
                        .trim()
                        .starts_with("-----BEGIN CERTIFICATE-----")
                    {
                        issues.push(FieldIssue::new(
                            "kubernetes.ca_cert",
                            "paste the cluster's CA certificate in PEM (-----BEGIN CERTIFICATE-----); kubectl prints it with: \
                             kubectl config view --raw --minify -o \
                             jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d",
                        ));
                    }
                }
            }
            Step::CertManager => {
                let cm = &self.cert_manager;
                dns_label("cert_manager.namespace", &cm.namespace, &mut issues);
                dns_subdomain("cert_manager.issuer_name", &cm.issuer_name, &mut issues);
                dns_subdomain(
                    "cert_manager.service_account",
                    &cm.service_account,
                    &mut issues,
                );
                if !(cm.server_url.starts_with("https://") || cm.server_url.starts_with("http://"))
                {
                    issues.push(FieldIssue::new(
                        "cert_manager.server_url",
                        "the Vault address cert-manager reaches, https://...",
                    ));
                }
                match self.role() {
                    Ok(role) => {
                        if let Err(e) = crate::pki::names::check_name(&role, &cm.example_host) {
                            issues.push(FieldIssue::new(
                                "cert_manager.example_host",
                                &format!("the role would refuse it: {e}"),
                            ));
                        }
                    }
                    Err(_) => issues.push(FieldIssue::new(
                        "cert_manager.example_host",
                        "fix the role first: its names decide which hosts work",
                    )),
                }
            }
            Step::Review => {
                for s in Step::ALL.into_iter().filter(|s| *s != Step::Review) {
                    issues.extend(self.check(s));
                }
            }
        }
        issues
    }
}

/// A field the admin must fix, named by its path in [`WizardState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: &str, message: &str) -> FieldIssue {
        FieldIssue {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn required(field: &str, value: &str, issues: &mut Vec<FieldIssue>) {
    if value.trim().is_empty() {
        issues.push(FieldIssue::new(field, "required"));
    }
}

fn duration(field: &str, value: &str, needed: bool, issues: &mut Vec<FieldIssue>) {
    if value.trim().is_empty() {
        if needed {
            issues.push(FieldIssue::new(field, "required, e.g. 10m, 72h or 87600h"));
        }
        return;
    }
    match parse_duration(value.trim()) {
        Ok(0) if needed => issues.push(FieldIssue::new(field, "must be longer than 0s")),
        Ok(_) => {}
        Err(e) => issues.push(FieldIssue::new(field, &format!("{e} (use e.g. 10m, 72h)"))),
    }
}

/// A mount path as `sys/mounts` takes it (the engine's rule).
fn check_mount(field: &str, value: &str, issues: &mut Vec<FieldIssue>) {
    let inner = value.trim_matches('/');
    if inner.is_empty() {
        issues.push(FieldIssue::new(field, "required"));
        return;
    }
    if inner
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || !inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        issues.push(FieldIssue::new(
            field,
            "letters, digits, '-', '_', '.' and '/' only",
        ));
        return;
    }
    for reserved in ["sys", "auth", "cubbyhole", "identity"] {
        if inner == reserved || inner.starts_with(&format!("{reserved}/")) {
            issues.push(FieldIssue::new(
                field,
                &format!("\"{reserved}\" is reserved by Vault"),
            ));
        }
    }
}

/// A Vault object name (policy, auth role): Vault's role-name rule.
fn check_name(field: &str, value: &str, issues: &mut Vec<FieldIssue>) {
    if !is_valid_role_name(value) {
        issues.push(FieldIssue::new(
            field,
            "letters, digits, '-', '_' and '.'; it cannot start or end with '-' or '.'",
        ));
    }
}

/// A Kubernetes namespace (RFC 1123 label).
fn dns_label(field: &str, value: &str, issues: &mut Vec<FieldIssue>) {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        issues.push(FieldIssue::new(
            field,
            "lower-case letters, digits and '-', at most 63, not starting or ending with '-'",
        ));
    }
}

/// A Kubernetes object name (RFC 1123 subdomain).
fn dns_subdomain(field: &str, value: &str, issues: &mut Vec<FieldIssue>) {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !ok {
        issues.push(FieldIssue::new(
            field,
            "lower-case letters, digits, '-' and '.', as Kubernetes names are",
        ));
    }
}

#[cfg(test)]
mod tests;
