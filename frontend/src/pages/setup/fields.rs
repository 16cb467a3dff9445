//! The fields of each wizard step, bound to `WizardState`. Every input has a label and
//! its problem next to it (`aria-describedby`), shown after the field's first blur or
//! after the step's Next.

use leptos::prelude::*;
use shared::setup::{IssuerKind, RootMode, Step, WizardState};

use super::Wizard;

/// The element id of a state field (`role.max_ttl` → `f-role-max-ttl`).
pub fn html_id(field: &str) -> String {
    format!("f-{}", field.replace(['.', '_'], "-"))
}

/// A getter and a setter of one text field of the state.
type GetText = fn(&WizardState) -> String;
type SetText = fn(&mut WizardState, String);

/// A labelled text input (or text area) bound to the state.
#[component]
fn Text(
    step: Step,
    field: &'static str,
    label: &'static str,
    get: GetText,
    set: SetText,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] note: &'static str,
    #[prop(optional)] rows: u32,
) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let id = html_id(field);
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let described_by = if note.is_empty() {
        error_id.clone()
    } else {
        format!("{error_id} {note_id}")
    };
    let issue = move || wizard.shown_issue(step, field);
    let value = move || wizard.state.with(get);
    let on_input = move |ev| {
        let v = event_target_value(&ev);
        wizard.update(|s| set(s, v));
    };
    let on_blur = move |_| wizard.touch(field);
    let input = if rows > 0 {
        view! {
            <textarea id=id.clone() name=field rows=rows spellcheck="false" placeholder=placeholder
                prop:value=value on:input=on_input on:blur=on_blur
                aria-invalid=move || if issue().is_some() { "true" } else { "false" }
                aria-describedby=described_by.clone()></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=id.clone() name=field type="text" autocomplete="off" spellcheck="false" placeholder=placeholder
                prop:value=value on:input=on_input on:blur=on_blur
                aria-invalid=move || if issue().is_some() { "true" } else { "false" }
                aria-describedby=described_by.clone()/>
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {input}
            <p class="field-error" id=error_id>{issue}</p>
            {(!note.is_empty()).then(|| view! { <p class="field-note" id=note_id>{note}</p> })}
        </div>
    }
}

/// A labelled checkbox bound to the state.
#[component]
fn Check(
    field: &'static str,
    label: &'static str,
    get: fn(&WizardState) -> bool,
    set: fn(&mut WizardState, bool),
) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let id = html_id(field);
    view! {
        <div class="field field-check">
            <input id=id.clone() name=field type="checkbox"
                prop:checked=move || wizard.state.with(get)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    wizard.update(|s| set(s, on));
                }/>
            <label for=id>{label}</label>
        </div>
    }
}

/// A labelled select bound to the state.
#[component]
fn Choice(
    step: Step,
    field: &'static str,
    label: &'static str,
    options: &'static [(&'static str, &'static str)],
    get: GetText,
    set: SetText,
) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let id = html_id(field);
    let error_id = format!("{id}-error");
    let issue = move || wizard.shown_issue(step, field);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=field aria-describedby=error_id.clone()
                prop:value=move || wizard.state.with(get)
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    wizard.update(|s| set(s, v));
                }
                on:blur=move |_| wizard.touch(field)>
                {options
                    .iter()
                    .map(|(value, text)| view! { <option value=*value>{*text}</option> })
                    .collect_view()}
            </select>
            <p class="field-error" id=error_id>{issue}</p>
        </div>
    }
}

const CA_KEYS: &[(&str, &str)] = &[
    ("ec:256", "ECDSA P-256"),
    ("ec:384", "ECDSA P-384"),
    ("rsa:2048", "RSA 2048"),
    ("rsa:3072", "RSA 3072"),
    ("rsa:4096", "RSA 4096"),
    ("ed25519:0", "Ed25519"),
];

const LEAF_KEYS: &[(&str, &str)] = &[
    ("any:0", "Any type and size"),
    ("ec:256", "ECDSA P-256"),
    ("ec:384", "ECDSA P-384"),
    ("rsa:2048", "RSA 2048"),
    ("rsa:3072", "RSA 3072"),
    ("rsa:4096", "RSA 4096"),
    ("ed25519:0", "Ed25519"),
];

fn key_value(key_type: &str, bits: u32) -> String {
    format!("{key_type}:{bits}")
}

fn parse_key(v: &str) -> (String, u32) {
    let (t, b) = v.split_once(':').unwrap_or(("ec", "256"));
    (t.to_owned(), b.parse().unwrap_or(0))
}

fn list(v: &[String]) -> String {
    v.join(", ")
}

fn split(v: &str) -> Vec<String> {
    v.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form of one step (every step but the review).
#[component]
pub fn StepForm(step: Step) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    match step {
        Step::Root => view! {
            <fieldset class="field">
                <legend>"Where does the root come from?"</legend>
                <div class="field-check">
                    <input type="radio" id="f-root-mode-internal" name="root-mode" value="internal"
                        prop:checked=move || wizard.state.with(|s| s.root.mode == RootMode::Internal)
                        on:change=move |_| wizard.update(|s| s.root.mode = RootMode::Internal)/>
                    <label for="f-root-mode-internal">"This console makes the root CA"</label>
                </div>
                <div class="field-check">
                    <input type="radio" id="f-root-mode-external" name="root-mode" value="external"
                        prop:checked=move || wizard.state.with(|s| s.root.mode == RootMode::External)
                        on:change=move |_| wizard.update(|s| s.root.mode = RootMode::External)/>
                    <label for="f-root-mode-external">"An external root signs the intermediate"</label>
                </div>
            </fieldset>
            {move || if wizard.state.with(|s| s.root.mode == RootMode::Internal) {
                view! {
                    <Text step=step field="root.mount" label="Mount path" placeholder="pki"
                        get=|s| s.root.mount.clone() set=|s, v| s.root.mount = v/>
                    <Text step=step field="root.common_name" label="Common name"
                        get=|s| s.root.common_name.clone() set=|s, v| s.root.common_name = v/>
                    <Choice step=step field="root.key_bits" label="Key" options=CA_KEYS
                        get=|s| key_value(&s.root.key.key_type, s.root.key.key_bits)
                        set=|s, v| { let (t, b) = parse_key(&v); s.root.key.key_type = t; s.root.key.key_bits = b; }/>
                    <Text step=step field="root.ttl" label="Lifetime (TTL)" placeholder="87600h"
                        note="e.g. 87600h (10 years); the mount's maximum is raised to match"
                        get=|s| s.root.ttl.clone() set=|s, v| s.root.ttl = v/>
                }.into_any()
            } else {
                view! { <ExternalRoot/> }.into_any()
            }}
        }
        .into_any(),
        Step::Intermediate => view! {
            <Text step=step field="intermediate.mount" label="Mount path" placeholder="pki_int"
                get=|s| s.intermediate.mount.clone() set=|s, v| s.intermediate.mount = v/>
            <Text step=step field="intermediate.common_name" label="Common name"
                get=|s| s.intermediate.common_name.clone() set=|s, v| s.intermediate.common_name = v/>
            <Choice step=step field="intermediate.key_bits" label="Key" options=CA_KEYS
                get=|s| key_value(&s.intermediate.key.key_type, s.intermediate.key.key_bits)
                set=|s, v| { let (t, b) = parse_key(&v); s.intermediate.key.key_type = t; s.intermediate.key.key_bits = b; }/>
            <Text step=step field="intermediate.ttl" label="Lifetime (TTL)" placeholder="43800h"
                note="shorter than the root's"
                get=|s| s.intermediate.ttl.clone() set=|s, v| s.intermediate.ttl = v/>
        }
        .into_any(),
        Step::Urls => view! {
            <Text step=step field="urls.base_url" label="Public address of the Vault API"
                placeholder="https://pki.example.com"
                note="what clients reach; /v1/<mount>/ca and /v1/<mount>/crl are added"
                get=|s| s.urls.base_url.clone() set=|s, v| s.urls.base_url = v/>
            <div class="derived" aria-live="polite">
                <p>"Certificates will carry:"</p>
                <ul>
                    {move || wizard.state.with(|s| {
                        let mut mounts = vec![s.int_mount().to_owned()];
                        if s.root.mode == RootMode::Internal {
                            mounts.insert(0, s.root_mount().to_owned());
                        }
                        mounts.into_iter().flat_map(|m| {
                            let (i, c) = s.urls_for(&m);
                            i.into_iter().chain(c)
                        }).map(|u| view! { <li><code>{u}</code></li> }).collect_view()
                    })}
                </ul>
            </div>
        }
        .into_any(),
        Step::Role => view! {
            <Text step=step field="role.name" label="Role name" placeholder="fruits-catalog"
                get=|s| s.role.name.clone() set=|s, v| s.role.name = v/>
            <Text step=step field="role.allowed_domains" label="Allowed domains (comma separated)"
                placeholder="testlab.local"
                get=|s| list(&s.role.allowed_domains) set=|s, v| s.role.allowed_domains = split(&v)/>
            <Check field="role.allow_subdomains" label="Allow subdomains (app.testlab.local)"
                get=|s| s.role.allow_subdomains set=|s, v| s.role.allow_subdomains = v/>
            <Check field="role.allow_bare_domains" label="Allow the domain itself (testlab.local)"
                get=|s| s.role.allow_bare_domains set=|s, v| s.role.allow_bare_domains = v/>
            <Check field="role.allow_wildcard_certificates" label="Allow wildcard certificates (*.testlab.local)"
                get=|s| s.role.allow_wildcard_certificates set=|s, v| s.role.allow_wildcard_certificates = v/>
            <Check field="role.require_cn" label="Require a common name (cert-manager may send names in SANs only)"
                get=|s| s.role.require_cn set=|s, v| s.role.require_cn = v/>
            <Text step=step field="role.max_ttl" label="Maximum lifetime (max_ttl)" placeholder="10m"
                note="short-lived certificates renewed by cert-manager: minutes to days"
                get=|s| s.role.max_ttl.clone() set=|s, v| s.role.max_ttl = v/>
            <Text step=step field="role.ttl" label="Default lifetime (ttl, optional)" placeholder="empty: the maximum"
                get=|s| s.role.ttl.clone() set=|s, v| s.role.ttl = v/>
            <Choice step=step field="role.key_bits" label="Keys the role accepts" options=LEAF_KEYS
                get=|s| key_value(&s.role.key_type, s.role.key_bits)
                set=|s, v| { let (t, b) = parse_key(&v); s.role.key_type = t; s.role.key_bits = b; }/>
            <NameTester/>
        }
        .into_any(),
        Step::Policy => view! {
            <Text step=step field="policy.name" label="Policy name" placeholder="fruits-catalog-sign"
                get=|s| s.policy.name.clone() set=|s, v| s.policy.name = v/>
            <Text step=step field="policy.hcl" label="Policy (HCL)" rows=10
                note="generated from the role; edit it if you need more, Vault checks it at apply"
                get=|s| s.policy_hcl()
                set=|s, v| s.policy.hcl = if v.trim() == s.generated_policy().trim() { String::new() } else { v }/>
            <button type="button" class="button-secondary"
                disabled=move || wizard.state.with(|s| s.policy.hcl.is_empty())
                on:click=move |_| wizard.update(|s| s.policy.hcl.clear())>
                "Use the generated policy"
            </button>
        }
        .into_any(),
        Step::Kubernetes => view! {
            <Check field="kubernetes.enabled" label="Configure Kubernetes auth for cert-manager"
                get=|s| s.kubernetes.enabled set=|s, v| s.kubernetes.enabled = v/>
            {move || wizard.state.with(|s| s.kubernetes.enabled).then(|| view! {
                <Text step=step field="kubernetes.mount" label="Auth mount path" placeholder="kubernetes"
                    get=|s| s.kubernetes.mount.clone() set=|s, v| s.kubernetes.mount = v/>
                <Text step=step field="kubernetes.host" label="Kubernetes API address (kubernetes_host)"
                    placeholder="https://kubernetes.default.svc"
                    get=|s| s.kubernetes.host.clone() set=|s, v| s.kubernetes.host = v/>
                <Text step=step field="kubernetes.ca_cert" label="Cluster CA certificate (PEM)" rows=6
                    placeholder="-----BEGIN CERTIFICATE-----"
                    get=|s| s.kubernetes.ca_cert.clone() set=|s, v| s.kubernetes.ca_cert = v/>
                <ReviewerJwt/>
                <Text step=step field="kubernetes.role" label="Vault role cert-manager logs in with" placeholder="vault-issuer"
                    get=|s| s.kubernetes.role.clone() set=|s, v| s.kubernetes.role = v/>
                <Text step=step field="kubernetes.token_ttl" label="Login token lifetime" placeholder="20m"
                    get=|s| s.kubernetes.token_ttl.clone() set=|s, v| s.kubernetes.token_ttl = v/>
                <p class="derived">"Audience: " <code>{move || wizard.state.with(|s| s.audience())}</code>
                    " · bound to service account " <code>{move || wizard.state.with(|s| format!("{}/{}", s.cert_manager.namespace, s.cert_manager.service_account))}</code>
                    " (set in the cert-manager step)"</p>
            })}
        }
        .into_any(),
        Step::CertManager => view! {
            <Text step=step field="cert_manager.namespace" label="Namespace" placeholder="fruits-catalog"
                get=|s| s.cert_manager.namespace.clone() set=|s, v| s.cert_manager.namespace = v/>
            <Choice step=step field="cert_manager.issuer_kind" label="Issuer kind"
                options=&[("Issuer", "Issuer (one namespace)"), ("ClusterIssuer", "ClusterIssuer (every namespace)")]
                get=|s| s.cert_manager.issuer_kind.as_str().to_owned()
                set=|s, v| s.cert_manager.issuer_kind = if v == "ClusterIssuer" { IssuerKind::ClusterIssuer } else { IssuerKind::Issuer }/>
            <Text step=step field="cert_manager.issuer_name" label="Issuer name" placeholder="vault-issuer"
                get=|s| s.cert_manager.issuer_name.clone() set=|s, v| s.cert_manager.issuer_name = v/>
            <Text step=step field="cert_manager.service_account" label="Service account" placeholder="vault-issuer"
                get=|s| s.cert_manager.service_account.clone() set=|s, v| s.cert_manager.service_account = v/>
            <Text step=step field="cert_manager.server_url" label="Vault address cert-manager uses"
                get=|s| s.cert_manager.server_url.clone() set=|s, v| s.cert_manager.server_url = v/>
            <Text step=step field="cert_manager.example_host" label="Example host (Certificate and Ingress)"
                placeholder="fruits.testlab.local"
                get=|s| s.cert_manager.example_host.clone() set=|s, v| s.cert_manager.example_host = v/>
        }
        .into_any(),
        Step::Review => ().into_any(),
    }
}

/// "Would this name be allowed?", asked of the role the server will hold.
#[component]
fn NameTester() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let name = RwSignal::new(String::new());
    let verdict = move || {
        let n = name.get();
        let n = n.trim();
        if n.is_empty() {
            return None;
        }
        Some(match wizard.state.with(|s| s.role()) {
            Err(e) => (
                false,
                format!("the role itself has a problem: {}", e.message),
            ),
            Ok(role) => match shared::pki::names::check_name(&role, n) {
                Ok(()) => (true, format!("{n} would be allowed")),
                Err(e) => (
                    false,
                    match e.reason() {
                        Some(r) => format!("{n} would be refused: {e}: {r}"),
                        None => format!("{n} would be refused: {e}"),
                    },
                ),
            },
        })
    };
    view! {
        <div class="field name-tester">
            <label for="f-name-tester">"Try a name"</label>
            <input id="f-name-tester" type="text" autocomplete="off" spellcheck="false"
                placeholder="fruits.testlab.local" aria-describedby="f-name-tester-verdict"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <p id="f-name-tester-verdict" aria-live="polite"
                class=move || match verdict() { Some((true, _)) => "verdict ok", Some((false, _)) => "verdict refused", None => "verdict" }>
                {move || verdict().map(|(_, text)| text)}
            </p>
        </div>
    }
}

/// The reviewer JWT: a password field whose value stays in this page's memory.
#[component]
fn ReviewerJwt() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    view! {
        <div class="field">
            <label for="f-kubernetes-reviewer-jwt">"Token reviewer JWT (optional)"</label>
            <input id="f-kubernetes-reviewer-jwt" type="password" autocomplete="off"
                aria-describedby="f-kubernetes-reviewer-jwt-note"
                prop:value=move || wizard.reviewer_jwt.get()
                on:input=move |ev| wizard.reviewer_jwt.set(event_target_value(&ev))/>
            <p class="field-note" id="f-kubernetes-reviewer-jwt-note">
                "A service account token allowed to create TokenReviews. Kept in this page's memory only and sent \
                 once, at apply; never stored in the browser. Empty: Vault uses each login's own JWT."
            </p>
        </div>
    }
}

/// External root: the chain the outside root signed, pasted or read from a file.
#[component]
fn ExternalRoot() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let file_error = RwSignal::new(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => {
                    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                    match chain_text(&bytes) {
                        Ok(text) => {
                            file_error.set(None);
                            wizard.update(|s| s.root.external_chain_pem = text);
                        }
                        Err(e) => file_error.set(Some(e)),
                    }
                }
                Err(_) => file_error.set(Some("the file could not be read".into())),
            }
        });
    };
    let csr = move || wizard.vars.with(|v| v.get("csr").cloned());
    // The chain is checked here, in the crypto worker, before anything is uploaded.
    let verdict = RwSignal::new(None::<(bool, String)>);
    let checked = StoredValue::new(0u32);
    Effect::new(move |_| {
        let chain = wizard.state.with(|s| s.root.external_chain_pem.clone());
        let run = checked.get_value().wrapping_add(1);
        checked.set_value(run);
        if chain.trim().is_empty() {
            verdict.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            let result = check_chain(&chain).await;
            if checked.get_value() == run {
                verdict.set(Some(result));
            }
        });
    });
    view! {
        <div class="notice">
            <p>"1. Apply the plan (last step): it mounts the intermediate and makes its key and CSR, then waits here."</p>
            <p>"2. Download the CSR, have your root sign it as a CA certificate."</p>
            <p>"3. Paste or upload the signed certificate followed by the root (PEM, or one DER certificate), and apply again."</p>
        </div>
        {move || csr().map(|c| {
            let c2 = c.clone();
            view! {
                <button type="button" class="button-secondary"
                    on:click=move |_| { let _ = crate::pages::request::download::save("pki-console-intermediate.csr", "application/pkcs10", c2.as_bytes()); }>
                    "Download the intermediate's CSR"
                </button>
            }
        })}
        <Text step=Step::Root field="root.external_chain_pem" label="Signed intermediate and its root (PEM)" rows=8
            placeholder="-----BEGIN CERTIFICATE-----"
            get=|s| s.root.external_chain_pem.clone() set=|s, v| s.root.external_chain_pem = v/>
        <p id="f-root-chain-verdict" aria-live="polite"
            class=move || match verdict.get() { Some((true, _)) => "verdict ok", Some((false, _)) => "verdict refused", None => "verdict" }>
            {move || verdict.get().map(|(_, text)| text)}
        </p>
        <div class="field">
            <label for="f-root-chain-file">"…or upload it (PEM or DER)"</label>
            <input id="f-root-chain-file" type="file" accept=".pem,.crt,.cer,.der" on:change=on_file
                aria-describedby="f-root-chain-file-error"/>
            <p class="field-error" id="f-root-chain-file-error">{move || file_error.get()}</p>
        </div>
    }
}

/// The worker's verdict on an externally signed chain: `(valid, what to say)`.
async fn check_chain(chain: &str) -> (bool, String) {
    let worker = match crate::worker::CryptoWorker::get() {
        Ok(w) => w,
        Err(e) => return (false, e),
    };
    let now = (js_sys::Date::now() / 1000.0) as i64;
    match worker
        .call_json(
            "checkChain",
            &serde_json::json!({"chainPem": chain, "now": now}),
        )
        .await
    {
        Ok(v) if v["valid"] == true => {
            let subjects: Vec<&str> = v["subjects"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
                .unwrap_or_default();
            (true, format!("Chain checked: {}", subjects.join(" ← ")))
        }
        Ok(v) => (
            false,
            format!(
                "This chain would be refused: {}",
                v["error"].as_str().unwrap_or("it does not verify")
            ),
        ),
        Err(e) => (false, format!("The chain could not be read: {e}")),
    }
}

/// An uploaded certificate file as PEM text: PEM as it is, one DER certificate wrapped.
fn chain_text(bytes: &[u8]) -> Result<String, String> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN CERTIFICATE-----")
    {
        return Ok(text.trim().to_owned() + "\n");
    }
    if bytes.first() == Some(&0x30) {
        return Ok(shared::pki::pem::pem_encode("CERTIFICATE", bytes));
    }
    Err("this is neither a PEM certificate nor a DER one".into())
}
