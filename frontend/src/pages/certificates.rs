//! `/certificates`: every certificate the CA has issued.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Certificates() -> impl IntoView {
    view! {
        <PageHeader page=nav::CERTIFICATES lead="Every certificate the CA issued: names, serials, expiry and revocation."/>
        <NotYetAvailable>
            <p>"The searchable list of issued certificates (names, serials, expiry, revocation, an expiry timeline) is being built. Until then, " <code>"vault list pki_int/certs"</code> " and " <code>"vault read pki_int/cert/<serial>"</code> " against this console show them."</p>
        </NotYetAvailable>
    }
}
