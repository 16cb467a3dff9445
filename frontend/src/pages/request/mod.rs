//! `/request`: self-service certificates. The key pair and CSR are made in this browser
//! (in a Web Worker, see `crate::worker`), only the CSR goes to `<mount>/sign/<role>`, the
//! result is checked here (our key, a chain to the root) and the downloads are built
//! here. The private key is never sent anywhere.

mod download;
mod form;
mod result;

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::json;
use shared::nav;

use crate::api::{self, ApiError};
use crate::components::PageHeader;
use crate::worker::CryptoWorker;
use form::{FormInput, check, hint_for, key_options, parse_key, split_list};
use result::{Issued, IssuedView};

/// Where a request is.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Idle,
    Generating,
    Signing,
    Verifying,
    Done(Box<Issued>),
    Failed {
        message: String,
        hint: Option<String>,
    },
}

impl Stage {
    fn busy(&self) -> bool {
        matches!(self, Stage::Generating | Stage::Signing | Stage::Verifying)
    }
}

fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[component]
pub fn Request() -> impl IntoView {
    // Nothing is asked of Vault until `/api/session` says someone is signed in.
    let session = expect_context::<crate::app::SessionContext>();
    let signed_in = move || session.info.get().map(|i| i.signed_in);
    let mounts = LocalResource::new(move || {
        let state = signed_in();
        async move {
            match state {
                Some(true) => api::vault::pki_mounts().await,
                Some(false) => Err(ApiError::Status {
                    status: 401,
                    messages: vec!["not signed in".into()],
                }),
                None => std::future::pending().await,
            }
        }
    });
    let (mount, set_mount) = signal(String::new());
    let (role_name, set_role_name) = signal(String::new());
    let roles = LocalResource::new(move || {
        let m = mount.get();
        async move {
            if m.is_empty() {
                Ok(vec![])
            } else {
                api::vault::roles(&m).await
            }
        }
    });
    let role = LocalResource::new(move || {
        let (m, r) = (mount.get(), role_name.get());
        async move {
            if m.is_empty() || r.is_empty() {
                None
            } else {
                Some(api::vault::role(&m, &r).await)
            }
        }
    });
    // Pick the first mount and role once they are known.
    Effect::new(move |_| {
        if let Some(Ok(list)) = mounts.get()
            && mount.try_get_untracked().is_some_and(|m| m.is_empty())
            && let Some(first) = list
                .iter()
                .find(|m| m.path.contains("int"))
                .or(list.first())
        {
            set_mount.set(first.path.clone());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(list)) = roles.get() {
            let current = role_name.try_get_untracked().unwrap_or_default();
            if !list.contains(&current) {
                set_role_name.set(list.first().cloned().unwrap_or_default());
            }
        }
    });

    let input = RwSignal::new(FormInput::default());
    let loaded_role = move || role.get().flatten().and_then(|r| r.ok());
    // Default the key choice to the first the role accepts.
    Effect::new(move |_| {
        if let Some(r) = loaded_role() {
            let options = key_options(&r);
            if !options
                .iter()
                .any(|(v, _)| *v == input.with_untracked(|i| i.key.clone()))
            {
                input.update(|i| {
                    i.key = options.first().map(|(v, _)| v.clone()).unwrap_or_default()
                });
            }
        }
    });
    let verdict = Memo::new(move |_| loaded_role().map(|r| check(&r, &input.get())));

    let stage = RwSignal::new(Stage::Idle);
    let key_saved = RwSignal::new(true);
    // Warn before leaving while the only copy of a private key is in this page. The
    // listener goes with the page (a later page load must not touch this page's state).
    let listener = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if !key_saved.try_get_untracked().unwrap_or(true) {
            ev.prevent_default();
            ev.set_return_value("The private key has not been saved. Leave anyway?");
        }
    });
    on_cleanup(move || listener.remove());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = loaded_role() else { return };
        let i = input.get_untracked();
        if stage.get_untracked().busy() || !check(&r, &i).ok() {
            return;
        }
        let (m, rn) = (mount.get_untracked(), role_name.get_untracked());
        leptos::task::spawn_local(request_certificate(m, rn, i, stage, key_saved));
    };

    let field = move |f: fn(&form::FormCheck) -> Result<(), String>| {
        move || verdict.get().and_then(|v| f(&v).err())
    };
    let cn_error = field(|v| v.common_name.clone());
    let alt_error = field(|v| v.alt_names.clone());
    let ip_error = field(|v| v.ip_sans.clone());
    let key_error = field(|v| v.key.clone());
    let ttl_note = move || {
        verdict.get().and_then(|v| match v.ttl {
            Ok(note) => note,
            Err(e) => Some(e),
        })
    };
    let can_submit = move || verdict.get().is_some_and(|v| v.ok()) && !stage.get().busy();

    view! {
        <PageHeader page=nav::REQUEST lead="Generate a private key and CSR in this browser, have a role sign it, and download the key, certificate, chain, PKCS#12 or a Kubernetes Secret. The private key never leaves this page."/>
        {move || match mounts.get() {
            None => view! { <p class="progress" role="status">"Loading PKI mounts…"</p> }.into_any(),
            Some(Err(e)) if matches!(e.status(), Some(401 | 403)) => view! {
                <section class="notice" role="status">
                    <h2>"Sign in first"</h2>
                    <p>"Requests are signed with your Vault token's permissions. " <A href=nav::SIGN_IN.path>"Sign in"</A> " and come back."</p>
                    <p class="muted">{e.to_string()}</p>
                </section>
            }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{format!("Could not list PKI mounts: {e}")}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <section class="notice" role="status"><h2>"No PKI mount yet"</h2><p>"Enable a PKI secrets engine and create a role first (the setup wizard, or the vault CLI)."</p></section>
            }.into_any(),
            Some(Ok(list)) => view! {
                <form class="request-form" on:submit=submit novalidate>
                    <div class="field">
                        <label for="mount">"PKI mount"</label>
                        <select id="mount" name="mount" on:change=move |ev| set_mount.set(event_target_value(&ev)) prop:value=mount>
                            {list.into_iter().map(|m| { let label = m.path.clone(); view! { <option value=m.path>{label}</option> } }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="role">"Role"</label>
                        {move || match roles.get() {
                            None => view! { <p class="progress">"Loading roles…"</p> }.into_any(),
                            Some(Err(e)) => view! { <p class="error" role="alert">{format!("Could not list roles: {e}")}</p> }.into_any(),
                            Some(Ok(names)) if names.is_empty() => view! { <p class="error">"This mount has no roles."</p> }.into_any(),
                            Some(Ok(names)) => view! {
                                <select id="role" name="role" on:change=move |ev| set_role_name.set(event_target_value(&ev)) prop:value=role_name>
                                    {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                                </select>
                            }.into_any(),
                        }}
                        <p class="role-summary" data-role-summary="">{move || match role.get().flatten() {
                            None => String::new(),
                            Some(Ok(r)) => format!("This role allows: {}", r.describe()),
                            Some(Err(e)) => format!("Could not read the role: {e}"),
                        }}</p>
                    </div>
                    <FieldInput id="common_name" label="Common name" placeholder="app.example.com" error=Signal::derive(cn_error)
                        value=Signal::derive(move || input.with(|i| i.common_name.clone())) on_input=Callback::new(move |v| input.update(|i| i.common_name = v))/>
                    <FieldInput id="alt_names" label="More DNS names (optional, comma separated)" placeholder="www.app.example.com" error=Signal::derive(alt_error)
                        value=Signal::derive(move || input.with(|i| i.alt_names.clone())) on_input=Callback::new(move |v| input.update(|i| i.alt_names = v))/>
                    <FieldInput id="ip_sans" label="IP addresses (optional)" placeholder="10.0.0.5" error=Signal::derive(ip_error)
                        value=Signal::derive(move || input.with(|i| i.ip_sans.clone())) on_input=Callback::new(move |v| input.update(|i| i.ip_sans = v))/>
                    <FieldInput id="ttl" label="Lifetime (TTL, optional)" placeholder="e.g. 10m, 24h; empty: the role's default" error=Signal::derive(ttl_note)
                        value=Signal::derive(move || input.with(|i| i.ttl.clone())) on_input=Callback::new(move |v| input.update(|i| i.ttl = v))/>
                    <div class="field">
                        <label for="key">"Key algorithm"</label>
                        <select id="key" name="key" prop:value=move || input.with(|i| i.key.clone()) on:change=move |ev| input.update(|i| i.key = event_target_value(&ev))>
                            {move || loaded_role().map(|r| key_options(&r).into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view())}
                        </select>
                        <p class="field-error" id="key-error" role="alert">{key_error}</p>
                    </div>
                    <button type="submit" class="primary" disabled=move || !can_submit()>"Generate key and request certificate"</button>
                </form>
            }.into_any(),
        }}
        <div class="stage" role="status" aria-live="polite" data-stage=move || stage_name(&stage.get())>
            {move || match stage.get() {
                Stage::Idle => ().into_any(),
                Stage::Generating => view! { <p class="progress"><span class="spinner" aria-hidden="true"></span>"Generating the key pair and CSR in a background worker…"</p> }.into_any(),
                Stage::Signing => view! { <p class="progress"><span class="spinner" aria-hidden="true"></span>{format!("Sending the CSR (public key and names only) to {}/sign/{}…", mount.get_untracked(), role_name.get_untracked())}</p> }.into_any(),
                Stage::Verifying => view! { <p class="progress"><span class="spinner" aria-hidden="true"></span>"Checking the certificate and its chain…"</p> }.into_any(),
                Stage::Failed { message, hint } => view! {
                    <div class="error" role="alert">
                        <p><strong>"The request failed: "</strong>{message}</p>
                        {hint.map(|h| view! { <p class="hint">{h}</p> })}
                    </div>
                }.into_any(),
                Stage::Done(issued) => view! { <IssuedView issued=*issued on_key_saved=Callback::new(move |_| key_saved.set(true))/> }.into_any(),
            }}
        </div>
    }
}

fn stage_name(s: &Stage) -> &'static str {
    match s {
        Stage::Idle => "idle",
        Stage::Generating => "generating",
        Stage::Signing => "signing",
        Stage::Verifying => "verifying",
        Stage::Done(_) => "done",
        Stage::Failed { .. } => "failed",
    }
}

/// A labelled text input with its live verdict next to it.
#[component]
fn FieldInput(
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    value: Signal<String>,
    on_input: Callback<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=id type="text" autocomplete="off" spellcheck="false" placeholder=placeholder
                prop:value=value on:input=move |ev| on_input.run(event_target_value(&ev))
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" } aria-describedby=error_id.clone()/>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

async fn request_certificate(
    mount: String,
    role: String,
    input: FormInput,
    stage: RwSignal<Stage>,
    key_saved: RwSignal<bool>,
) {
    let fail = |message: String, hint: Option<String>| stage.set(Stage::Failed { message, hint });
    let worker = match CryptoWorker::get() {
        Ok(w) => w,
        Err(e) => return fail(e, None),
    };
    stage.set(Stage::Generating);
    let (key_type, key_bits) = parse_key(&input.key).unwrap_or(("ec".into(), 256));
    let cn = input.common_name.trim().to_string();
    let dns: Vec<String> = split_list(&input.alt_names);
    let ips: Vec<String> = split_list(&input.ip_sans);
    let generated = match worker
        .call_json("generate", &json!({"keyType": key_type, "keyBits": key_bits, "commonName": cn, "dnsNames": dns, "ipAddresses": ips}))
        .await
    {
        Ok(v) => v,
        Err(e) => return fail(format!("key generation failed: {e}"), None),
    };
    let private_key_pem = generated["privateKeyPem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let csr = generated["csrPem"].as_str().unwrap_or_default().to_string();
    key_saved.set(false);

    stage.set(Stage::Signing);
    let req = api::vault::SignRequest {
        csr,
        common_name: cn.clone(),
        alt_names: dns.join(","),
        ip_sans: ips.join(","),
        ttl: input.ttl.trim().to_string(),
        format: "pem".into(),
    };
    let (signed, warnings) = match api::vault::sign(&mount, &role, &req).await {
        Ok(r) => r,
        Err(ApiError::Status { status, messages }) => {
            let message = if messages.is_empty() {
                format!("HTTP {status}")
            } else {
                messages.join("; ")
            };
            let hint = hint_for(&message, &mount, &role);
            return fail(message, hint);
        }
        Err(e) => return fail(e.to_string(), None),
    };

    stage.set(Stage::Verifying);
    let chain = if signed.ca_chain.is_empty() {
        vec![signed.issuing_ca.clone()]
    } else {
        signed.ca_chain.clone()
    };
    let inspection = match worker
        .call_json(
            "inspect",
            &json!({"certificatePem": signed.certificate, "chainPems": chain, "privateKeyPem": private_key_pem, "now": now_unix()}),
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return fail(format!("the certificate could not be checked: {e}"), None),
    };
    let issued = Issued {
        common_name: cn,
        private_key_pem,
        certificate_pem: signed.certificate,
        chain,
        serial_number: signed.serial_number,
        warnings,
        inspection,
    };
    stage.set(Stage::Done(Box::new(issued)));
}
