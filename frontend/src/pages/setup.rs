//! `/setup`: the admin's setup wizard.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Setup() -> impl IntoView {
    view! {
        <PageHeader page=nav::SETUP lead="Root CA, intermediate CA, URLs, roles, policies, Kubernetes auth and the cert-manager Issuer, in one guided and repeatable flow."/>
        <NotYetAvailable>
            <p>"The wizard needs the embedded Vault engine, which this version does not include yet. Until then, build the hierarchy with the vault CLI against a Vault or OpenBao server."</p>
        </NotYetAvailable>
    }
}
