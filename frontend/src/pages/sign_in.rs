//! `/sign-in`: exchange a Vault token for a session cookie.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <PageHeader page=nav::SIGN_IN lead="Sign in with a Vault token. The console keeps it in an HttpOnly cookie; scripts in this page never see it."/>
        <NotYetAvailable>
            <p>"Console sessions are not part of this version, so there is nothing to sign in to yet."</p>
        </NotYetAvailable>
    }
}
