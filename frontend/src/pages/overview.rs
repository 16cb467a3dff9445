//! `/`: what the console does and where each job lives.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::nav;

use crate::components::PageHeader;

#[component]
pub fn Overview() -> impl IntoView {
    let jobs = [
        (
            nav::SETUP,
            "PKI admin",
            "Build the root and intermediate CA, roles, policies, Kubernetes auth and the cert-manager Issuer in one guided flow, and export it as code.",
        ),
        (
            nav::REQUEST,
            "Developer",
            "Get a certificate for a name a role allows. The private key is generated in your browser and never leaves it.",
        ),
        (
            nav::CERTIFICATES,
            "Operator",
            "Every certificate the CA issued, what expires when, and what was revoked.",
        ),
        (
            nav::KUBERNETES,
            "Operator",
            "The cluster's ingress certificates, their Issuers and renewal state.",
        ),
        (
            nav::TRUST,
            "Anyone",
            "Download the CA chain for your OS, browser or tool and check its fingerprint.",
        ),
    ];
    view! {
        <PageHeader page=nav::OVERVIEW lead="Your own CA for Kubernetes ingresses and everything else: Vault (or OpenBao) PKI, cert-manager and self-service certificates in one console."/>
        <ul class="cards">
            {jobs
                .into_iter()
                .map(|(page, who, what)| {
                    view! {
                        <li class="card">
                            <p class="card-who">{who}</p>
                            <h2><A href=page.path>{page.label}</A></h2>
                            <p>{what}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
