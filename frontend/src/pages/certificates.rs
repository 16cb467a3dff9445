//! `/certificates`: every certificate the CA has issued.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Certificates() -> impl IntoView {
    view! {
        <PageHeader page=nav::CERTIFICATES lead="Every certificate the CA issued: names, serials, expiry and revocation."/>
        <NotYetAvailable>
            <p>"This view lists certificates from a PKI mount's certs endpoint, which this version does not serve yet."</p>
        </NotYetAvailable>
    }
}
