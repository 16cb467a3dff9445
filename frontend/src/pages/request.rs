//! `/request`: self-service certificate requests, key generated in the browser.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Request() -> impl IntoView {
    view! {
        <PageHeader page=nav::REQUEST lead="Generate a private key and CSR in this browser, have a role sign it, and download the key, certificate, chain or PKCS#12."/>
        <NotYetAvailable>
            <p>"Requests are signed by a PKI role through the Vault API, which this version does not serve yet."</p>
        </NotYetAvailable>
    }
}
