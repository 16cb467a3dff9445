//! Presentational pieces. Components take props and never fetch, except `ServerStatus`,
//! which is the shell's own status line.

use leptos::prelude::*;
use shared::nav::Page;

use crate::api;

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
