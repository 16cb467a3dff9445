//! `/sign-in`: exchange a Vault token (or a userpass login) for a session cookie. The
//! token is sent once and then forgotten here: the server keeps it in an HttpOnly cookie.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::nav;

use crate::api::{self, ApiError};
use crate::components::PageHeader;
use crate::session::{SESSION_ENDED, SessionContext, safe_next};

/// An error in words for a person: the server's own messages, without status codes.
fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Status { messages, .. } if !messages.is_empty() => messages.join(" "),
        ApiError::Status { status, .. } => {
            format!("The server refused the sign-in (status {status}).")
        }
        other => other.to_string(),
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let navigate = use_navigate();
    // Where to go after signing in: the page that sent the visitor here, if it is ours.
    let query = use_query_map();
    let next = move || {
        query
            .with_untracked(|q| q.get("next"))
            .and_then(|n| safe_next(&n))
            .unwrap_or_else(|| nav::OVERVIEW.path.to_string())
    };
    let token = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    // Runs one sign-in attempt; on success clears every field and goes back to the page
    // that sent the visitor here (else the overview).
    let attempt = move |with_password: bool| {
        if busy.get_untracked() {
            return;
        }
        let (t, u, p) = (
            token.get_untracked(),
            username.get_untracked(),
            password.get_untracked(),
        );
        let missing = if with_password {
            (u.trim().is_empty() || p.is_empty()).then_some("Enter a username and a password.")
        } else {
            t.trim().is_empty().then_some("Paste a Vault token first.")
        };
        if let Some(m) = missing {
            error.set(Some(m.into()));
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = if with_password {
                api::session::sign_in_with_password(&u, &p).await
            } else {
                api::session::sign_in_with_token(&t).await
            };
            busy.set(false);
            match result {
                Ok(info) => {
                    token.set(String::new());
                    password.set(String::new());
                    session.set(info);
                    navigate(&next(), NavigateOptions::default());
                }
                Err(e) => error.set(Some(describe(&e))),
            }
        });
    };
    let attempt_token = attempt.clone();
    let on_token = move |ev: SubmitEvent| {
        ev.prevent_default();
        attempt_token(false);
    };
    let on_password = move |ev: SubmitEvent| {
        ev.prevent_default();
        attempt(true);
    };
    let signed_in_as = move || {
        session.info.get().filter(|i| i.signed_in).map(|i| {
            view! {
                <p class="notice-ok" role="status">
                    "You are signed in as " <strong>{i.display_name}</strong>
                    ". Signing in again replaces this session."
                </p>
            }
        })
    };
    let reason = move || {
        let info = session.info.get()?;
        if info.signed_in {
            return None;
        }
        let text = match (info.reason, session.ended.get()) {
            (Some(r), _) => format!("{SESSION_ENDED} ({r})."),
            (None, true) => format!("{SESSION_ENDED}."),
            (None, false) => return None,
        };
        Some(view! { <p class="notice-warn" role="status" data-session-ended="">{text}</p> })
    };

    view! {
        <PageHeader page=nav::SIGN_IN lead="Sign in with a Vault token. The console keeps it in an HttpOnly cookie; scripts in this page never see it."/>
        {signed_in_as}
        {reason}
        <form id="token-form" class="form panel" on:submit=on_token aria-busy=move || busy.get().to_string() novalidate>
            <label for="token">"Vault token"</label>
            <input
                id="token"
                name="token"
                type="password"
                autocomplete="off"
                spellcheck="false"
                autocapitalize="off"
                placeholder="hvs.…"
                aria-describedby="token-hint"
                prop:value=move || token.get()
                on:input=move |ev| token.set(event_target_value(&ev))
                disabled=move || busy.get()
            />
            <p id="token-hint" class="hint">
                "The token is checked with Vault (" <code>"auth/token/lookup-self"</code>
                ") and then kept by the console server, sealed in a cookie this page cannot read."
            </p>
            <button id="sign-in-token" type="submit" class="primary" disabled=move || busy.get()>
                {move || if busy.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </form>
        <details class="panel">
            <summary>"Sign in with a username and password (userpass)"</summary>
            <form id="password-form" class="form" on:submit=on_password novalidate>
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    autocapitalize="off"
                    spellcheck="false"
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))
                    disabled=move || busy.get()
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                    disabled=move || busy.get()
                />
                <p class="hint">"Needs Vault's userpass auth method at " <code>"auth/userpass"</code> "."</p>
                <button id="sign-in-password" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in with password" }}
                </button>
            </form>
        </details>
        <p class="progress" role="status" aria-live="polite">
            {move || busy.get().then_some("Checking the credentials with Vault…")}
        </p>
        <div id="sign-in-error" aria-live="assertive">
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
