//! The app shell: skip link, navigation, the router with one route per page, footer.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;
use shared::nav;

use crate::components::ServerStatus;
use crate::pages;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " PKI Console"
                </A>
                <Nav/>
            </header>
            <FocusOnNavigate/>
            <main id="main" tabindex="-1">
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::overview::Overview/>
                    <Route path=path!("/setup") view=pages::setup::Setup/>
                    <Route path=path!("/request") view=pages::request::Request/>
                    <Route path=path!("/certificates") view=pages::certificates::Certificates/>
                    <Route path=path!("/kubernetes") view=pages::kubernetes::Kubernetes/>
                    <Route path=path!("/trust") view=pages::trust::Trust/>
                    <Route path=path!("/sign-in") view=pages::sign_in::SignIn/>
                </Routes>
            </main>
            <footer class="footer">
                <ServerStatus/>
            </footer>
        </Router>
    }
}

/// The main navigation: every page of `shared::nav::PAGES` but the overview (the brand
/// link goes there). `<A>` marks the current page with `aria-current="page"`.
#[component]
fn Nav() -> impl IntoView {
    view! {
        <nav aria-label="Main">
            <ul class="nav">
                {nav::PAGES
                    .iter()
                    .filter(|p| p.path != nav::OVERVIEW.path)
                    .map(|p| view! { <li><A href=p.path>{p.label}</A></li> })
                    .collect_view()}
            </ul>
        </nav>
    }
}

/// After a client-side navigation, move keyboard focus to the new page's content, as a
/// full page load would, so keyboard and screen-reader users land on the heading.
#[component]
fn FocusOnNavigate() -> impl IntoView {
    let location = use_location();
    let first = StoredValue::new(true);
    Effect::new(move |_| {
        let _ = location.pathname.get();
        if first.get_value() {
            first.set_value(false);
            return;
        }
        request_animation_frame(|| {
            if let Some(main) = document().get_element_by_id("main") {
                use wasm_bindgen::JsCast;
                if let Ok(el) = main.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    });
}
