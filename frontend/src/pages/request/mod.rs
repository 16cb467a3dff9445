//! `/request`: self-service certificates. The key pair and CSR are made in this browser
//! (in a Web Worker, see `crate::worker`), only the CSR goes to `<mount>/sign/<role>`, the
//! result is checked here (our key, a chain to the root) and the downloads are built
//! here. The private key is never sent anywhere.

pub(crate) mod download;
mod form;
mod result;

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::json;
use shared::nav;

use crate::api::{self, ApiError};
use crate::components::PageHeader;
use crate::session::{SESSION_ENDED, SessionContext};
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

/// Shown before any way of leaving the page while the only copy of a private key is in it.
const UNSAVED_KEY: &str = "The private key has not been saved and exists only in this page. Leave anyway (the key is lost)?";
/// Shown before a second Generate replaces an unsaved key.
const REPLACE_KEY: &str =
    "The private key of the last certificate has not been saved. Generate a new one and lose it?";

#[component]
pub fn Request() -> impl IntoView {
    // `RequireSession` renders this page only once someone is signed in. Every PKI mount
    // the token can see, with its roles and those the token may sign with.
    let session = expect_context::<SessionContext>();
    let choices = LocalResource::new(api::vault::mount_choices);
    let (mount, set_mount) = signal(String::new());
    let (role_name, set_role_name) = signal(String::new());
    let roles = move || {
        let m = mount.get();
        choices.get().and_then(|c| c.ok()).map(|list| {
            list.into_iter()
                .find(|c| c.path == m)
                .map(|c| c.roles)
                .unwrap_or_default()
        })
    };
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
    // Preselect a mount with a role the token may sign with (not just the first mount).
    Effect::new(move |_| {
        if let Some(Ok(list)) = choices.get()
            && mount.try_get_untracked().is_some_and(|m| m.is_empty())
            && let Some((m, r)) = api::vault::preferred(&list)
        {
            set_role_name.set(r);
            set_mount.set(m);
        }
    });
    // Another mount chosen: its first usable role (else its first role).
    let choose_mount = move |m: String| {
        let first = choices
            .get_untracked()
            .and_then(|c| c.ok())
            .and_then(|list| list.into_iter().find(|c| c.path == m))
            .and_then(|c| c.usable.first().or(c.roles.first()).cloned())
            .unwrap_or_default();
        set_role_name.set(first);
        set_mount.set(m);
    };

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
    // A field's verdict is shown once the person has left it (or pressed submit), not
    // while they are still typing into an empty form.
    let touched = RwSignal::new(Vec::<&'static str>::new());
    let submitted = RwSignal::new(false);
    let touch = move |id: &'static str| {
        if !touched.with_untracked(|t| t.contains(&id)) {
            touched.update(|t| t.push(id));
        }
    };
    let shown = move |id: &'static str| submitted.get() || touched.with(|t| t.contains(&id));
    // One polite announcement per submit with errors, not one per keystroke.
    let form_status = RwSignal::new(String::new());

    let stage = RwSignal::new(Stage::Idle);
    let key_saved = RwSignal::new(true);
    // While the only copy of a private key is in this page, every way of leaving it (a
    // link, the menu, sign-out, reload, close) asks first; see `crate::session`.
    Effect::new(move |_| {
        crate::session::set_unsaved((!key_saved.get()).then_some(UNSAVED_KEY));
    });
    on_cleanup(|| crate::session::set_unsaved(None));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = loaded_role() else { return };
        let i = input.get_untracked();
        if stage.get_untracked().busy() {
            return;
        }
        submitted.set(true);
        let verdict = check(&r, &i);
        if !verdict.ok() {
            form_status.set(format!(
                "Not sent: {} — see the field marked below.",
                verdict.first_error().unwrap_or_default()
            ));
            return;
        }
        form_status.set(String::new());
        if !key_saved.get_untracked() {
            if !window().confirm_with_message(REPLACE_KEY).unwrap_or(false) {
                return;
            }
            key_saved.set(true);
        }
        let (m, rn) = (mount.get_untracked(), role_name.get_untracked());
        leptos::task::spawn_local(request_certificate(m, rn, i, stage, key_saved));
    };

    let field = move |id: &'static str, f: fn(&form::FormCheck) -> Result<(), String>| {
        move || {
            if !shown(id) {
                return None;
            }
            verdict.get().and_then(|v| f(&v).err())
        }
    };
    let cn_error = field("common_name", |v| v.common_name.clone());
    let alt_error = field("alt_names", |v| v.alt_names.clone());
    let ip_error = field("ip_sans", |v| v.ip_sans.clone());
    let key_error = field("key", |v| v.key.clone());
    let ttl_error = field("ttl", |v| v.ttl.clone().map(|_| ()));
    // A TTL above the role's maximum is not an error: Vault clamps it. A note says so.
    let ttl_note = move || verdict.get().and_then(|v| v.ttl.ok().flatten());
    let can_submit = move || loaded_role().is_some() && !stage.get().busy();

    view! {
        <PageHeader page=nav::REQUEST lead="Generate a private key and CSR in this browser, have a role sign it, and download the key, certificate, chain, PKCS#12 or a Kubernetes Secret. The private key never leaves this page."/>
        {move || match choices.get() {
            None => view! { <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading PKI mounts and roles…"</p> }.into_any(),
            Some(Err(e)) if matches!(e.status(), Some(403)) => view! {
                <section class="notice" role="status">
                    <h2>"Your token cannot list the PKI mounts"</h2>
                    <p>"The request page reads " <code>"sys/mounts"</code> " to find the PKI mounts. Ask the PKI admin for a policy with " <code>"read"</code> " on " <code>"sys/mounts"</code> ", or " <A href=nav::SIGN_IN.path>"sign in"</A> " with another token."</p>
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
                        <select id="mount" name="mount" on:change=move |ev| choose_mount(event_target_value(&ev)) prop:value=mount>
                            {list.into_iter().map(|m| { let label = if m.usable.is_empty() { format!("{} (no role you may sign with)", m.path) } else { m.path.clone() }; view! { <option value=m.path>{label}</option> } }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="role">"Role"</label>
                        {move || match roles() {
                            None => view! { <p class="progress">"Loading roles…"</p> }.into_any(),
                            Some(names) if names.is_empty() => view! { <p class="error">"This mount has no roles (or your token may not list them). Pick another mount."</p> }.into_any(),
                            Some(names) => view! {
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
                    <FieldInput id="common_name" label="Common name" placeholder="app.example.com" error=Signal::derive(cn_error) on_blur=Callback::new(move |()| touch("common_name"))
                        value=Signal::derive(move || input.with(|i| i.common_name.clone())) on_input=Callback::new(move |v| input.update(|i| i.common_name = v))/>
                    <FieldInput id="alt_names" label="More DNS names (optional, comma separated)" placeholder="www.app.example.com" error=Signal::derive(alt_error) on_blur=Callback::new(move |()| touch("alt_names"))
                        value=Signal::derive(move || input.with(|i| i.alt_names.clone())) on_input=Callback::new(move |v| input.update(|i| i.alt_names = v))/>
                    <FieldInput id="ip_sans" label="IP addresses (optional)" placeholder="10.0.0.5" error=Signal::derive(ip_error) on_blur=Callback::new(move |()| touch("ip_sans"))
                        value=Signal::derive(move || input.with(|i| i.ip_sans.clone())) on_input=Callback::new(move |v| input.update(|i| i.ip_sans = v))/>
                    <FieldInput id="ttl" label="Lifetime (TTL, optional)" placeholder="e.g. 10m, 24h; empty: the role's default" error=Signal::derive(ttl_error) note=Signal::derive(ttl_note) on_blur=Callback::new(move |()| touch("ttl"))
                        value=Signal::derive(move || input.with(|i| i.ttl.clone())) on_input=Callback::new(move |v| input.update(|i| i.ttl = v))/>
                    <div class="field">
                        <label for="key">"Key algorithm"</label>
                        <select id="key" name="key" aria-describedby="key-error" prop:value=move || input.with(|i| i.key.clone()) on:change=move |ev| input.update(|i| i.key = event_target_value(&ev)) on:blur=move |_| touch("key")>
                            {move || loaded_role().map(|r| key_options(&r).into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view())}
                        </select>
                        <p class="field-error" id="key-error">{key_error}</p>
                    </div>
                    <button type="submit" class="primary" disabled=move || !can_submit()>"Generate key and request certificate"</button>
                    <p class="form-status" role="status" aria-live="polite" data-form-status="">{move || form_status.get()}</p>
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
                        // Refused because the session is gone (signed out in another tab,
                        // expired): say that, not that the token's policies are wrong.
                        {move || {
                            let h = if session.is_ended() { Some(format!("{SESSION_ENDED}: nothing was signed.")) } else { hint.clone() };
                            h.map(|h| view! { <p class="hint">{h}</p> })
                        }}
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
    on_blur: Callback<()>,
    error: Signal<Option<String>>,
    /// Information that is no error (shown without `aria-invalid`).
    #[prop(optional)]
    note: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let described_by = if note.is_some() {
        format!("{error_id} {note_id}")
    } else {
        error_id.clone()
    };
    // The error is read out with the field (`aria-describedby`); no live region, so it is
    // not announced again on every keystroke.
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=id type="text" autocomplete="off" spellcheck="false" placeholder=placeholder
                prop:value=value on:input=move |ev| on_input.run(event_target_value(&ev)) on:blur=move |_| on_blur.run(())
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" } aria-describedby=described_by/>
            <p class="field-error" id=error_id>{move || error.get()}</p>
            {note.map(|n| view! { <p class="field-note" id=note_id>{move || n.get()}</p> })}
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
    // From here the key is worth keeping: it is the only copy, and it has a certificate.
    key_saved.set(false);
    stage.set(Stage::Done(Box::new(issued)));
}
