//! Presentational pieces. Components take props and never fetch, except `ServerStatus`,
//! which is the shell's own status line.

use leptos::prelude::*;
use shared::nav::Page;
use shared::pki::duration::format_human;

use crate::api;
use crate::api::session::SessionInfo;

/// The page's `<h1>` and the document title.
#[component]
pub fn PageHeader(page: Page, #[prop(optional, into)] lead: Option<String>) -> impl IntoView {
    Effect::new(move |_| document().set_title(&format!("{} · PKI Console", page.heading)));
    view! {
        <div class="page-header">
            <h1>{page.heading}</h1>
            {lead.map(|l| view! { <p class="lead">{l}</p> })}
        </div>
    }
}

/// A plain statement that a part of the product is not built yet, and what it will do.
#[component]
pub fn NotYetAvailable(children: Children) -> impl IntoView {
    view! {
        <section class="notice" role="status">
            <h2>"Not available in this version"</h2>
            {children()}
        </section>
    }
}

/// Version and reachability of the console server, from `/healthz`.
#[component]
pub fn ServerStatus() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <p class="server-status" aria-live="polite">
            {move || match health.get() {
                None => "Contacting the console server…".to_string(),
                Some(Ok(h)) => format!("PKI Console {} · server {} · {} mode", shared::VERSION, h.version, h.mode),
                Some(Err(e)) => format!("PKI Console {} · {e}", shared::VERSION),
            }}
        </p>
    }
}

/// How long a token has left, in words: `never expires`, `expires in 59 minutes`,
/// `expired`. `ttl` is what the server said (0: never), `elapsed` the seconds since.
pub fn token_lifetime(ttl: i64, elapsed: i64) -> String {
    if ttl <= 0 {
        return "token never expires".into();
    }
    let left = ttl - elapsed;
    if left <= 0 {
        "token expired".into()
    } else {
        format!("token expires in {}", format_human(left as u64))
    }
}

/// The signed-in identity and its token's remaining TTL, with a Sign out button; nothing
/// while no one is signed in (the navigation has the Sign in link).
#[component]
pub fn SessionStatus(
    info: Signal<Option<SessionInfo>>,
    elapsed_secs: Signal<i64>,
    signing_out: Signal<bool>,
    error: Signal<Option<String>>,
    on_sign_out: Callback<()>,
) -> impl IntoView {
    move || {
        let i = info.get().filter(|i| i.signed_in)?;
        let who = if i.display_name.is_empty() {
            i.accessor.clone()
        } else {
            i.display_name.clone()
        };
        let policies = i.policies.join(", ");
        Some(view! {
            <div class="session" aria-label="Session" data-signed-in="">
                <p class="session-who">
                    "Signed in as " <strong class="session-name" title=format!("policies: {policies}")>{who}</strong>
                    <span class="session-ttl">{move || format!(" · {}", token_lifetime(i.ttl, elapsed_secs.get()))}</span>
                </p>
                <button
                    type="button"
                    class="button-secondary"
                    disabled=move || signing_out.get()
                    on:click=move |_| on_sign_out.run(())
                >
                    {move || if signing_out.get() { "Signing out…" } else { "Sign out" }}
                </button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
        })
    }
}
