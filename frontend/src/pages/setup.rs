//! `/setup`: the admin's setup wizard.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Setup() -> impl IntoView {
    view! {
        <PageHeader page=nav::SETUP lead="Root CA, intermediate CA, URLs, roles, policies, Kubernetes auth and the cert-manager Issuer, in one guided and repeatable flow."/>
        <NotYetAvailable>
            <p>"The guided wizard is being built: it will create the root and intermediate CA, URLs, role, policy, Kubernetes auth and the cert-manager Issuer in one reviewable plan, check the result end to end and export it as Terraform, a vault CLI script and YAML. Until it ships, the console's engine already answers the same Vault API calls: follow the README's recipe with the vault CLI, hvac or Terraform against this console."</p>
        </NotYetAvailable>
    }
}
