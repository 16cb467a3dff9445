//! `/kubernetes`: the cluster's cert-manager Certificates and ingress TLS Secrets.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Kubernetes() -> impl IntoView {
    view! {
        <PageHeader page=nav::KUBERNETES lead="cert-manager Certificates, Issuers, Ingresses and TLS Secrets in the cluster (private keys are never read)."/>
        <NotYetAvailable>
            <p>"The cluster view (cert-manager Certificates, their renewals, Issuers and the Ingresses they serve) is being built; it will read the cluster with the read-only RBAC in " <code>"deploy/kubernetes/"</code> ". The Kubernetes auth method that cert-manager's Vault Issuer logs in with already works: see the README."</p>
        </NotYetAvailable>
    }
}
