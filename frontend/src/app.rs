//! The app shell: skip link, navigation, who is signed in, the router with one route per
//! page (paths from `shared::nav`), footer. The session itself is `crate::session`.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::{Lazy, LazyRoute, ParamSegment, StaticSegment, lazy_route};
use shared::nav;

use crate::api;
use crate::api::session::SessionInfo;
use crate::components::{ServerStatus, SessionStatus};
use crate::pages;
use crate::session::{RequireSession, SessionContext};

#[component]
pub fn App() -> impl IntoView {
    SessionContext::provide();
    crate::session::install_leave_guard();
    // True while the router loads the next page (its chunk, on its first visit).
    let (is_routing, set_is_routing) = signal(false);
    view! {
        <Router set_is_routing>
            <a class="skip-link" href="#main" on:click=skip_to_content>"Skip to content"</a>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " PKI Console"
                </A>
                <Nav/>
                <SessionBar/>
            </header>
            <FocusOnNavigate/>
            <p class="route-progress" role="status" aria-live="polite">
                {move || is_routing.get().then_some("Loading the page…")}
            </p>
            <main id="main" tabindex="-1">
                // Paths come from `shared::nav` only; pages that need a session are
                // wrapped in `RequireSession`.
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment(nav::OVERVIEW.path) view={Lazy::<OverviewRoute>::new()}/>
                    <Route path=StaticSegment(nav::SETUP.path) view={Lazy::<SetupRoute>::new()}/>
                    <Route path=(StaticSegment(nav::SETUP.path), ParamSegment("step")) view={Lazy::<SetupRoute>::new()}/>
                    <Route path=StaticSegment(nav::REQUEST.path) view={Lazy::<RequestRoute>::new()}/>
                    <Route path=StaticSegment(nav::CERTIFICATES.path) view={Lazy::<CertificatesRoute>::new()}/>
                    <Route path=(StaticSegment(nav::CERTIFICATES.path), ParamSegment("serial")) view={Lazy::<CertificateRoute>::new()}/>
                    <Route path=StaticSegment(nav::KUBERNETES.path) view={Lazy::<KubernetesRoute>::new()}/>
                    <Route path=StaticSegment(nav::TRUST.path) view={Lazy::<TrustRoute>::new()}/>
                    <Route path=StaticSegment(nav::SIGN_IN.path) view={Lazy::<SignInRoute>::new()}/>
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

/// Who is signed in and for how long, with a Sign out button.
#[component]
fn SessionBar() -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let navigate = use_navigate();
    let now = RwSignal::new(js_sys::Date::now());
    set_interval(move || now.set(js_sys::Date::now()), Duration::from_secs(5));
    let elapsed =
        Signal::derive(move || ((now.get() - session.answered_at.get()) / 1000.0).max(0.0) as i64);
    let signing_out = RwSignal::new(false);
    let sign_out_error = RwSignal::new(None::<String>);
    let on_sign_out = Callback::new(move |()| {
        if signing_out.get_untracked() || !crate::session::confirm_leave() {
            return;
        }
        signing_out.set(true);
        sign_out_error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = api::session::sign_out().await;
            signing_out.set(false);
            match result {
                Ok(()) => {
                    session.set(SessionInfo::default());
                    navigate(nav::SIGN_IN.path, NavigateOptions::default());
                }
                Err(e) => sign_out_error.set(Some(format!("Sign-out failed: {e}"))),
            }
        });
    });
    view! {
        <SessionStatus
            info=Signal::derive(move || session.info.get())
            elapsed_secs=elapsed
            signing_out=Signal::derive(move || signing_out.get())
            error=Signal::derive(move || sign_out_error.get())
            on_sign_out=on_sign_out
        />
    }
}

/// The skip link moves keyboard focus to the page's content (a plain `#main` link only
/// scrolls, and the router would treat it as a navigation).
fn skip_to_content(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    focus_main();
}

fn focus_main() {
    use wasm_bindgen::JsCast;
    if let Some(main) = document().get_element_by_id("main")
        && let Ok(el) = main.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = el.focus();
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
        request_animation_frame(focus_main);
    });
}

/// A page loaded on demand: its WebAssembly is a chunk of its own, fetched when the route
/// is first visited (`cargo xtask dist` splits it off at the `#[lazy_route]`).
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $($view:tt)*) => {
        $(#[$doc])*
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { $($view)* }.into_any()
            }
        }
    };
}

lazy_page!(
    /// `/setup` and `/setup/<step>`.
    SetupRoute => <RequireSession><pages::setup::Setup/></RequireSession>
);
lazy_page!(
    /// `/request`.
    RequestRoute => <RequireSession><pages::request::Request/></RequireSession>
);
lazy_page!(
    /// `/certificates`.
    CertificatesRoute => <RequireSession><pages::certificates::Certificates/></RequireSession>
);
lazy_page!(
    /// `/certificates/<serial>`.
    CertificateRoute => <RequireSession><pages::certificates::CertificateDetail/></RequireSession>
);
lazy_page!(
    /// `/kubernetes`.
    KubernetesRoute => <RequireSession><pages::kubernetes::Kubernetes/></RequireSession>
);
lazy_page!(
    /// `/trust` (public).
    TrustRoute => <pages::trust::Trust/>
);
lazy_page!(
    /// `/` (public; more when signed in).
    OverviewRoute => <pages::overview::Overview/>
);
lazy_page!(
    /// `/sign-in`.
    SignInRoute => <pages::sign_in::SignIn/>
);
