//! `/setup/<step>`: the admin's setup wizard. Each step is its own route; the state is
//! `shared::setup::WizardState`, checked live with the same `shared` checks the engine
//! runs (errors speak after a field's first blur, or after Next), and kept in this tab's
//! session storage so a reload loses nothing — it holds no token, key or JWT (the
//! Kubernetes reviewer JWT stays in memory and is sent once, at apply). The last step
//! plans, applies, verifies and exports (`review.rs`).

mod fields;
mod review;

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use shared::nav;
use shared::setup::{FieldIssue, Step, WizardState};

use crate::components::PageHeader;

/// Where the draft is kept (this tab only; cleared with the tab).
const STORAGE_KEY: &str = "pki-console.setup.v1";

/// The wizard's shared state, given to every step through context.
#[derive(Debug, Clone, Copy)]
pub struct Wizard {
    pub state: RwSignal<WizardState>,
    /// The Kubernetes reviewer JWT: memory only, never stored.
    pub reviewer_jwt: RwSignal<String>,
    /// Fields left at least once (their problems are shown from then on).
    pub touched: RwSignal<BTreeSet<String>>,
    /// Steps whose Next was pressed (all their problems are shown).
    pub attempted: RwSignal<BTreeSet<Step>>,
    /// Answers captured while applying (the intermediate's CSR, ...).
    pub vars: RwSignal<BTreeMap<String, String>>,
}

impl Wizard {
    fn new() -> Wizard {
        let origin = window().location().origin().unwrap_or_default();
        let state = load().unwrap_or_else(|| WizardState::recipe(&origin));
        let w = Wizard {
            state: RwSignal::new(state),
            reviewer_jwt: RwSignal::new(String::new()),
            touched: RwSignal::new(BTreeSet::new()),
            attempted: RwSignal::new(BTreeSet::new()),
            vars: RwSignal::new(BTreeMap::new()),
        };
        Effect::new(move |_| w.state.with(save));
        w
    }

    /// The problems of `step` as they stand.
    pub fn issues(&self, step: Step) -> Vec<FieldIssue> {
        self.state.with(|s| s.check(step))
    }

    /// The problem to show next to `field` now (after its blur or its step's Next).
    pub fn shown_issue(&self, step: Step, field: &str) -> Option<String> {
        let visible =
            self.attempted.with(|a| a.contains(&step)) || self.touched.with(|t| t.contains(field));
        if !visible {
            return None;
        }
        self.issues(step)
            .into_iter()
            .find(|i| i.field == field)
            .map(|i| i.message)
    }

    pub fn touch(&self, field: &str) {
        if !self.touched.with_untracked(|t| t.contains(field)) {
            self.touched.update(|t| {
                t.insert(field.to_owned());
            });
        }
    }

    pub fn update(&self, f: impl FnOnce(&mut WizardState)) {
        self.state.update(f);
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn load() -> Option<WizardState> {
    let text = storage()?.get_item(STORAGE_KEY).ok()??;
    serde_json::from_str(&text).ok()
}

fn save(state: &WizardState) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(state)) {
        let _ = s.set_item(STORAGE_KEY, &text);
    }
}

/// The route of a step.
pub fn step_href(step: Step) -> String {
    format!("{}/{}", nav::SETUP.path, step.slug())
}

fn position(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).unwrap_or(0)
}

#[component]
pub fn Setup() -> impl IntoView {
    let wizard = Wizard::new();
    provide_context(wizard);
    let params = use_params_map();
    let step = Memo::new(move |_| {
        params
            .with(|p| p.get("step"))
            .and_then(|s| Step::from_slug(&s))
            .unwrap_or(Step::Root)
    });
    let unknown = move || {
        params
            .with(|p| p.get("step"))
            .is_some_and(|s| Step::from_slug(&s).is_none())
    };
    view! {
        <PageHeader page=nav::SETUP lead="Root CA, intermediate CA, URLs, role, policy, Kubernetes auth and the cert-manager Issuer: reviewed as a plan, applied safely, verified end to end, exported as code."/>
        <div class="wizard">
            <StepList current=step/>
            <section class="wizard-step" aria-labelledby="step-heading">
                {move || unknown().then(|| view! {
                    <p class="notice" role="status">"There is no such step; here is the first one."</p>
                })}
                <h2 id="step-heading">
                    {move || format!("Step {} of {}: {}", position(step.get()) + 1, Step::ALL.len(), step.get().title())}
                </h2>
                <p class="step-explanation">{move || step.get().explanation()}</p>
                {move || match step.get() {
                    Step::Review => view! { <review::Review/> }.into_any(),
                    s => view! { <fields::StepForm step=s/> <StepButtons step=s/> }.into_any(),
                }}
            </section>
        </div>
    }
}

/// The steps as a list of links, each marked done (no problems) or not.
#[component]
fn StepList(current: Memo<Step>) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    view! {
        <nav class="wizard-steps" aria-label="Setup steps">
            <ol>
                {Step::ALL
                    .into_iter()
                    .map(|s| {
                        let ok = move || s == Step::Review || wizard.issues(s).is_empty();
                        view! {
                            <li class:ok=ok class:current=move || current.get() == s>
                                <A href=step_href(s) attr:aria-current=move || (current.get() == s).then_some("step")>
                                    {s.title()}
                                </A>
                                <span class="step-state">{move || if ok() { " ✓" } else { "" }}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
}

/// Back and Next. Next shows every problem of the step and moves focus to the first
/// field with one; without problems it goes on.
#[component]
fn StepButtons(step: Step) -> impl IntoView {
    let wizard = expect_context::<Wizard>();
    let navigate = use_navigate();
    let index = position(step);
    let back = (index > 0).then(|| Step::ALL[index - 1]);
    let next = Step::ALL.get(index + 1).copied();
    let on_next = move |_| {
        wizard.attempted.update(|a| {
            a.insert(step);
        });
        let issues = wizard.issues(step);
        if let Some(first) = issues.first() {
            let id = fields::html_id(&first.field);
            request_animation_frame(move || {
                use wasm_bindgen::JsCast;
                if let Some(el) = document()
                    .get_element_by_id(&id)
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
            });
            return;
        }
        if let Some(n) = next {
            navigate(&step_href(n), NavigateOptions::default());
        }
    };
    let count = move || wizard.issues(step).len();
    view! {
        <div class="wizard-buttons">
            {back.map(|b| view! { <A href=step_href(b) attr:class="button-secondary">"Back"</A> })}
            <button type="button" on:click=on_next>"Next"</button>
            <p class="field-note" aria-live="polite">
                {move || {
                    let shown = wizard.attempted.with(|a| a.contains(&step));
                    match count() {
                        0 => String::new(),
                        n if shown => format!("{n} field(s) to fix before the next step."),
                        _ => String::new(),
                    }
                }}
            </p>
        </div>
    }
}
