//! The console session as the SPA knows it, and the pieces every signed-in page builds on:
//! [`SessionContext`] (who is signed in; provided once by the shell), [`RequireSession`]
//! (a page that needs a session sends a signed-out visitor to sign in and back), the
//! "your session ended" state (a request refused for want of a session, for example after
//! signing out in another tab, is told as such, never as a policy problem), and the
//! `?next=` return path after signing in.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};
use shared::nav;

use crate::api;
use crate::api::session::SessionInfo;

/// What the visitor is told when the server no longer knows their session.
pub const SESSION_ENDED: &str = "Your session ended — sign in again";

/// The console session, shared with the pages through context.
#[derive(Debug, Clone, Copy)]
pub struct SessionContext {
    /// `None` until `/api/session` has answered.
    pub info: RwSignal<Option<SessionInfo>>,
    /// `Date.now()` (ms) when `info` was answered: the TTL counts down from there.
    pub answered_at: RwSignal<f64>,
    /// Set when a session this page had ended under it (signed out elsewhere, expired,
    /// revoked): the pages keep what they show and say so.
    pub ended: RwSignal<bool>,
}

impl SessionContext {
    /// Makes the context, asks the server who is signed in, and has every refused API
    /// call check whether the session is gone.
    pub fn provide() -> Self {
        let ctx = SessionContext {
            info: RwSignal::new(None),
            answered_at: RwSignal::new(0.0),
            ended: RwSignal::new(false),
        };
        provide_context(ctx);
        api::on_refused(move || ctx.recheck());
        ctx.refresh();
        ctx
    }

    /// Records a fresh answer from `/api/session`.
    pub fn set(&self, info: SessionInfo) {
        self.answered_at.set(js_sys::Date::now());
        if info.signed_in {
            self.ended.set(false);
        }
        self.info.set(Some(info));
    }

    pub fn signed_in(&self) -> Option<bool> {
        self.info.get().map(|i| i.signed_in)
    }

    /// Reloads the session from the server.
    pub fn refresh(self) {
        leptos::task::spawn_local(async move {
            // An unreachable server is reported by the footer; here it reads as "not
            // signed in".
            let info = api::session::current().await.unwrap_or_default();
            self.set(info);
        });
    }

    /// A `/v1` request was refused (401/403): if the session this page knew is gone,
    /// say so instead of letting the page blame the token's policies.
    fn recheck(self) {
        let was_signed_in = self
            .info
            .try_get_untracked()
            .flatten()
            .is_some_and(|i| i.signed_in);
        if !was_signed_in {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(info) = api::session::current().await
                && !info.signed_in
            {
                self.ended.set(true);
                self.set(info);
            }
        });
    }

    /// Whether a refusal should be explained as the session having ended.
    pub fn is_ended(&self) -> bool {
        self.ended.get()
    }
}

thread_local! {
    static UNSAVED: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Marks that the open page holds something that exists nowhere else (an unsaved private
/// key): every way of leaving asks first. `None` clears it.
pub fn set_unsaved(message: Option<&'static str>) {
    UNSAVED.with(|u| u.set(message));
}

/// Whether leaving (or discarding) is fine: nothing unsaved, or the person confirms.
pub fn confirm_leave() -> bool {
    match UNSAVED.with(|u| u.get()) {
        None => true,
        Some(message) => window().confirm_with_message(message).unwrap_or(false),
    }
}

/// Installs the guards behind [`set_unsaved`], once for the app: a click on any link
/// (in-app navigation included; the router sees the click after this capturing listener
/// and leaves a cancelled one alone) and reload/close (`beforeunload`).
pub fn install_leave_guard() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(|ev: web_sys::MouseEvent| {
        if UNSAVED.with(|u| u.get()).is_none() || ev.default_prevented() || ev.button() != 0 {
            return;
        }
        let anchor = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten())
            .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        // Downloads and new tabs do not leave the page.
        let leaves = anchor.is_some_and(|a| {
            !a.has_attribute("download") && a.target() != "_blank" && !a.href().starts_with("blob:")
        });
        if leaves && !confirm_leave() {
            ev.prevent_default();
            ev.stop_immediate_propagation();
        }
    });
    let options = web_sys::AddEventListenerOptions::new();
    options.set_capture(true);
    let _ = window().add_event_listener_with_callback_and_add_event_listener_options(
        "click",
        on_click.as_ref().unchecked_ref(),
        &options,
    );
    on_click.forget();
    let on_unload =
        Closure::<dyn Fn(web_sys::BeforeUnloadEvent)>::new(|ev: web_sys::BeforeUnloadEvent| {
            if let Some(message) = UNSAVED.with(|u| u.get()) {
                ev.prevent_default();
                ev.set_return_value(message);
            }
        });
    let _ = window()
        .add_event_listener_with_callback("beforeunload", on_unload.as_ref().unchecked_ref());
    on_unload.forget();
}

/// `/sign-in?next=<path>`: the sign-in page, coming back to `path` afterwards.
pub fn sign_in_href(next: &str) -> String {
    match safe_next(next) {
        Some(n) if n != nav::OVERVIEW.path => {
            format!(
                "{}?next={}",
                nav::SIGN_IN.path,
                js_sys::encode_uri_component(&n)
            )
        }
        _ => nav::SIGN_IN.path.to_string(),
    }
}

/// The return path of a sign-in, if it is one of ours: an absolute path in this SPA
/// (never `//host`, a scheme, a server path or the sign-in page itself).
pub fn safe_next(next: &str) -> Option<String> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && nav::is_spa_route(path)
        && path != nav::SIGN_IN.path;
    ok.then(|| next.to_string())
}

/// Wraps a page that needs a session. Until `/api/session` answers it shows progress; a
/// visitor who is not signed in is sent to sign in (and back here afterwards); a session
/// that ends while the page is open keeps the page (an unsaved key must not vanish) and
/// shows a notice with a sign-in link above it instead.
#[component]
pub fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let location = use_location();
    let navigate = use_navigate();
    let here = move || {
        format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        )
    };
    // Once the page has been shown it stays, whatever happens to the session.
    let opened = Memo::new(move |prev: Option<&bool>| {
        prev.copied().unwrap_or(false) || session.signed_in() == Some(true)
    });
    let signed_out = Memo::new(move |_| session.signed_in() == Some(false));
    // Sent to sign in only when the page never had a session.
    Effect::new(move |_| {
        if signed_out.get() && !opened.get_untracked() && !session.ended.get_untracked() {
            navigate(
                &sign_in_href(&here()),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    let ended = Memo::new(move |_| signed_out.get() && (opened.get() || session.ended.get()));
    view! {
        {move || ended.get().then(|| view! {
            <section class="notice-warn session-ended" role="alert">
                <p>
                    <strong>{SESSION_ENDED}</strong> ". "
                    <a href=sign_in_href(&here())>"Sign in"</a>
                    " to continue; what this page shows stays until you leave it."
                </p>
            </section>
        })}
        {move || if opened.get() {
            children().into_any()
        } else if signed_out.get() {
            view! { <p class="progress" role="status">"Taking you to sign in…"</p> }.into_any()
        } else {
            view! { <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Checking your session…"</p> }.into_any()
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_in_the_spa() {
        assert_eq!(safe_next("/request").as_deref(), Some("/request"));
        assert_eq!(
            safe_next("/certificates?q=a").as_deref(),
            Some("/certificates?q=a")
        );
        for bad in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil",
            "/v1/sys/health",
            "/api/session",
            "/sign-in",
            "request",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
