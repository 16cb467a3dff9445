//! Any path that is no page.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;
use shared::nav;

#[component]
pub fn NotFound() -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| {
        document().set_title(&format!("{} · PKI Console", nav::NOT_FOUND_HEADING))
    });
    view! {
        <div class="page-header">
            <h1>{nav::NOT_FOUND_HEADING}</h1>
            <p class="lead">
                "There is no page at " <code>{move || location.pathname.get()}</code> ". "
                <A href="/">"Go to the overview"</A> "."
            </p>
        </div>
    }
}
