//! The wizard's last step: the plan (what the server has, then every call marked
//! create / update / already present), apply with per-call progress (stopping at the
//! first failure with Vault's message and a hint, safe to re-run), verify (a throw-away
//! key and CSR made in this browser, signed through the role by a token that has only
//! the new policy, on the server) and the exports.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::json;
use shared::setup::apply::{Failure, Progress, apply, observe_and_plan};
use shared::setup::plan::{Action, Call, Inputs, REVIEWER_JWT};
use shared::setup::verify::{VerifyReport, VerifyRequest};
use shared::setup::{RootMode, Step};

use super::{Wizard, step_href};
use crate::api;
use crate::api::setup::Transport;
use crate::worker::CryptoWorker;

/// Where the review is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Planning,
    Planned,
    Applying,
    Applied,
    Failed(Failure),
}

#[component]
pub fn Review() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let phase = RwSignal::new(Phase::Idle);
    let calls = RwSignal::new(Vec::<Call>::new());
    let progress = RwSignal::new(BTreeMap::<usize, Progress>::new());
    let problems = move || {
        wizard.state.with(|s| {
            Step::ALL
                .into_iter()
                .filter(|st| *st != Step::Review)
                .filter_map(|st| {
                    let n = s.check(st).len();
                    (n > 0).then_some((st, n))
                })
                .collect::<Vec<_>>()
        })
    };

    let make_plan = move || {
        phase.set(Phase::Planning);
        progress.set(BTreeMap::new());
        let state = wizard.state.get_untracked();
        let inputs = Inputs {
            reviewer_jwt: !wizard.reviewer_jwt.get_untracked().trim().is_empty(),
        };
        leptos::task::spawn_local(async move {
            match observe_and_plan(&mut Transport, &state, inputs).await {
                Ok((_, planned)) => {
                    calls.set(planned);
                    phase.set(Phase::Planned);
                }
                Err(f) => phase.set(Phase::Failed(f)),
            }
        });
    };
    let run_apply = move |_| {
        let planned = calls.get_untracked();
        phase.set(Phase::Applying);
        progress.set(BTreeMap::new());
        let mut vars = wizard.vars.get_untracked();
        let jwt = wizard.reviewer_jwt.get_untracked();
        if jwt.trim().is_empty() {
            vars.remove(REVIEWER_JWT);
        } else {
            vars.insert(REVIEWER_JWT.into(), jwt.trim().to_owned());
        }
        leptos::task::spawn_local(async move {
            let result = apply(&mut Transport, &planned, &mut vars, |i, p| {
                progress.update(|m| {
                    m.insert(i, p);
                });
            })
            .await;
            // The JWT is not kept beyond the call that sent it.
            vars.remove(REVIEWER_JWT);
            wizard.vars.set(vars);
            match result {
                Ok(()) => phase.set(Phase::Applied),
                Err(f) => phase.set(Phase::Failed(f)),
            }
        });
    };

    view! {
        {move || {
            let p = problems();
            (!p.is_empty()).then(|| view! {
                <div class="notice" role="status">
                    <p>"Some steps still have problems; the server would refuse what they ask:"</p>
                    <ul>
                        {p.into_iter().map(|(st, n)| view! {
                            <li><A href=step_href(st)>{st.title()}</A>{format!(": {n} field(s)")}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })
        }}
        <div class="wizard-buttons">
            <button type="button" on:click=move |_| make_plan()
                disabled=move || !problems().is_empty() || matches!(phase.get(), Phase::Planning | Phase::Applying)>
                {move || if calls.with(|c| c.is_empty()) { "Make the plan" } else { "Plan again" }}
            </button>
            <button type="button" on:click=run_apply
                disabled=move || !matches!(phase.get(), Phase::Planned) || calls.with(|c| !c.iter().any(|c| c.action.is_sent()))>
                "Apply"
            </button>
        </div>
        <p class="progress" role="status" aria-live="polite">
            {move || match phase.get() {
                Phase::Idle => String::new(),
                Phase::Planning => "Reading what the server has…".into(),
                Phase::Planned => {
                    let c = calls.get();
                    let sent = c.iter().filter(|c| c.action.is_sent()).count();
                    if sent == 0 {
                        "Everything is already present: nothing to apply.".into()
                    } else {
                        format!("{} calls, {sent} to send. Review them, then apply.", c.len())
                    }
                }
                Phase::Applying => {
                    let done = progress.with(|m| m.values().filter(|p| matches!(p, Progress::Done | Progress::Skipped)).count());
                    format!("Applying… {done} of {} calls done", calls.with(Vec::len))
                }
                Phase::Applied => "Applied. Verify it below.".into(),
                Phase::Failed(_) => "Stopped.".into(),
            }}
        </p>
        {move || match phase.get() {
            Phase::Failed(f) => Some(view! { <FailureView failure=f calls=calls/> }),
            _ => None,
        }}
        {move || (!calls.with(Vec::is_empty)).then(|| view! { <PlanList calls=calls progress=progress/> })}
        {move || matches!(phase.get(), Phase::Applied).then(|| view! { <Verify/> })}
        <Exports/>
    }
}

/// The plan as a reviewable list: each call, its method and path, what it does and why.
#[component]
fn PlanList(
    calls: RwSignal<Vec<Call>>,
    progress: RwSignal<BTreeMap<usize, Progress>>,
) -> impl IntoView {
    view! {
        <ol class="plan">
            {move || calls.get().into_iter().enumerate().map(|(i, c)| {
                let state = move || progress.with(|m| m.get(&i).copied());
                let badge = match c.action {
                    Action::Create => "create",
                    Action::Update => "update",
                    Action::Present => "present",
                    Action::Conflict => "conflict",
                    Action::Waiting => "waiting",
                };
                view! {
                    <li class="plan-call" data-action=badge>
                        <span class=format!("badge badge-{badge}")>{c.action.label()}</span>
                        " " <strong>{c.title.clone()}</strong>
                        <code class="plan-path">{format!("{} /v1/{}", c.method, c.path)}</code>
                        <span class="plan-reason">{c.reason.clone()}</span>
                        <span class="plan-state">{move || match state() {
                            Some(Progress::Running) => "running…",
                            Some(Progress::Done) => "done",
                            Some(Progress::Skipped) => "skipped (present)",
                            Some(Progress::Failed) => "failed",
                            None => "",
                        }}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// Why apply stopped, with the step to fix and, for an external root, the CSR.
#[component]
fn FailureView(failure: Failure, calls: RwSignal<Vec<Call>>) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let step = failure
        .index
        .and_then(|i| calls.with_untracked(|c| c.get(i).map(|c| c.step)));
    let waiting = failure
        .index
        .and_then(|i| calls.with_untracked(|c| c.get(i).map(|c| c.action == Action::Waiting)))
        .unwrap_or(false);
    let external = wizard
        .state
        .with_untracked(|s| s.root.mode == RootMode::External);
    view! {
        <div class=if waiting { "notice" } else { "error-panel" } role="alert">
            <p><strong>{failure.title.clone()}</strong></p>
            <p>{if failure.status > 0 { format!("Vault answered {}: {}", failure.status, failure.message) } else { failure.message.clone() }}</p>
            {(!failure.hint.is_empty()).then(|| view! { <p class="hint">{failure.hint.clone()}</p> })}
            {step.map(|s| view! { <p><A href=step_href(s)>{format!("Go to the {} step", s.title())}</A>", fix it, then plan and apply again: what is already done stays."</p> })}
            {(waiting && external).then(|| view! { <p><A href=step_href(Step::Root)>"Download the CSR and upload the signed certificate in the Root CA step"</A></p> })}
        </div>
    }
}

/// Verify: a throw-away key and CSR for the example host made here, signed on the server
/// with a token that has only the new policy.
#[component]
fn Verify() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let busy = RwSignal::new(false);
    let report = RwSignal::new(None::<Result<VerifyReport, String>>);
    let run = move |_| {
        busy.set(true);
        report.set(None);
        let state = wizard.state.get_untracked();
        leptos::task::spawn_local(async move {
            let result = verify(state).await;
            report.set(Some(result));
            busy.set(false);
        });
    };
    view! {
        <section class="verify" aria-labelledby="verify-heading">
            <h3 id="verify-heading">"Verify"</h3>
            <p>"Makes a throw-away key and CSR in this browser for the example host, and has the server sign it through the role with a short-lived token that carries only the new policy."</p>
            <button type="button" on:click=run disabled=move || busy.get()>
                {move || if busy.get() { "Verifying…" } else { "Verify" }}
            </button>
            <div aria-live="polite">
                {move || report.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e}</p> }.into_any(),
                    Ok(rep) => view! {
                        <p class=if rep.ok { "verdict ok" } else { "verdict refused" }>
                            {if rep.ok { "Verified: the recipe works end to end." } else { "Verification failed:" }}
                        </p>
                        <ul class="checks">
                            {rep.checks.into_iter().map(|c| view! {
                                <li class=if c.ok { "check ok" } else { "check failed" }>
                                    {if c.ok { "✓ " } else { "✗ " }}<strong>{c.name}</strong>": " {c.detail}
                                </li>
                            }).collect_view()}
                        </ul>
                        {(!rep.serial_number.is_empty()).then(|| view! { <p>"Serial: " <code>{rep.serial_number}</code></p> })}
                    }.into_any(),
                })}
            </div>
        </section>
    }
}

async fn verify(state: shared::setup::WizardState) -> Result<VerifyReport, String> {
    let name = state.cert_manager.example_host.trim().to_owned();
    let worker = CryptoWorker::get()?;
    let generated = worker
        .call_json(
            "generate",
            &json!({"keyType": "ec", "keyBits": 256, "commonName": name, "dnsNames": [name]}),
        )
        .await
        .map_err(|e| format!("the throw-away key could not be made: {e}"))?;
    let csr = generated["csrPem"].as_str().unwrap_or_default().to_owned();
    // The throw-away private key is dropped here: only the CSR leaves the browser.
    api::setup::verify(&VerifyRequest { state, csr, name })
        .await
        .map_err(|e| e.to_string())
}

/// Downloads of the same recipe as code.
#[component]
fn Exports() -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let message = RwSignal::new(None::<String>);
    let download = move |kind: &'static str, file: &'static str, mime: &'static str| {
        let state = wizard.state.get_untracked();
        message.set(Some(format!("Preparing {file}…")));
        leptos::task::spawn_local(async move {
            let chain = api::setup::ca_chain(state.int_mount()).await;
            match api::setup::export(kind, &state, &chain).await {
                Ok(text) => {
                    let saved = crate::pages::request::download::save(file, mime, text.as_bytes());
                    message.set(Some(match saved {
                        Ok(()) => format!("{file} downloaded."),
                        Err(e) => format!("{file} could not be saved: {e}"),
                    }));
                }
                Err(e) => message.set(Some(format!("{file}: {e}"))),
            }
        });
    };
    view! {
        <section class="exports" aria-labelledby="exports-heading">
            <h3 id="exports-heading">"Export"</h3>
            <p>"The same recipe as code, for review, version control or another environment."</p>
            <div class="wizard-buttons">
                <button type="button" class="button-secondary" on:click=move |_| download("terraform", "pki-console-setup.tf", "text/plain")>"Terraform"</button>
                <button type="button" class="button-secondary" on:click=move |_| download("cli", "pki-console-setup.sh", "text/x-shellscript")>"vault CLI script"</button>
                <button type="button" class="button-secondary" on:click=move |_| download("yaml", "pki-console-cert-manager.yaml", "application/yaml")>"Kubernetes YAML"</button>
                <button type="button" class="button-secondary" on:click=move |_| download("approver-policy", "pki-console-approver-policy.yaml", "application/yaml")>"approver-policy"</button>
            </div>
            <p class="field-note" aria-live="polite">{move || message.get()}</p>
        </section>
    }
}
