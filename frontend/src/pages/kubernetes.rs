//! `/kubernetes`: the cluster's cert-manager Certificates and ingress TLS Secrets.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Kubernetes() -> impl IntoView {
    view! {
        <PageHeader page=nav::KUBERNETES lead="cert-manager Certificates, Issuers, Ingresses and TLS Secrets in the cluster (private keys are never read)."/>
        <NotYetAvailable>
            <p>"The cluster view needs a connection to a Kubernetes API server, which this version cannot configure yet."</p>
        </NotYetAvailable>
    }
}
