//! `/trust`: public CA chain downloads and install steps.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Trust() -> impl IntoView {
    view! {
        <PageHeader page=nav::TRUST lead="Download the CA chain in the format your OS, browser or tool wants, and check its fingerprint before you install it."/>
        <NotYetAvailable>
            <p>"Downloads in every format with fingerprints and install steps per platform are being built. Until then, the CA chain is at " <code>"/v1/<mount>/ca_chain"</code> " and the root at " <code>"/v1/<mount>/ca/pem"</code> " (no sign-in needed), e.g. " <code>"curl -o ca.pem http://<console>/v1/pki/ca/pem"</code> "."</p>
        </NotYetAvailable>
    }
}
