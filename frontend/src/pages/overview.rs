//! `/`: what the console does and where each job lives, and what the CA is doing now, from
//! one answer (`/api/overview`): the public CA hierarchy for everyone; signed in, per PKI
//! mount, the certificate index's numbers, each a link to the list filtered the same way,
//! and the Kubernetes renewals that fail (when a cluster is connected).

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::certs::{CertQuery, Sort, StatusFilter};
use shared::api::overview::{CaNode, KubernetesNumbers, MountNumbers};
use shared::nav;
use shared::trust::{time_left, utc_text};

use crate::api;
use crate::components::PageHeader;
use crate::pages::certificates::{list_href, thousands};
use crate::session::SessionContext;

#[component]
pub fn Overview() -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let signed_in = Memo::new(move |_| session.signed_in());
    // Asked again when the visitor signs in or out (the answer depends on it).
    let data = LocalResource::new(move || {
        let _ = signed_in.get();
        api::overview::overview()
    });
    view! {
        <PageHeader page=nav::OVERVIEW lead="Your own CA for Kubernetes ingresses and everything else: Vault (or OpenBao) PKI, cert-manager and self-service certificates in one console."/>
        {move || match data.get() {
            None => view! { <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading the CAs…"</p> }.into_any(),
            Some(Err(e)) => view! { <div class="error" role="alert"><p>{format!("Could not read the overview: {e}")}</p></div> }.into_any(),
            Some(Ok(o)) => {
                let numbers = o.signed_in.then(|| activity_view(o.mounts.clone(), o.kubernetes.clone()));
                view! { {numbers} {hierarchy_view(o.now, o.cas)} }.into_any()
            }
        }}
        <Jobs/>
    }
}

#[component]
fn Jobs() -> impl IntoView {
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
        <h2 class="overview-section">"What you can do here"</h2>
        <ul class="cards">
            {jobs
                .into_iter()
                .map(|(page, who, what)| {
                    view! {
                        <li class="card">
                            <p class="card-who">{who}</p>
                            <h3><A href=page.path>{page.label}</A></h3>
                            <p>{what}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The public CA hierarchy: per published mount, each issuer's chain up to its root.
fn hierarchy_view(now: i64, cas: Vec<CaNode>) -> impl IntoView {
    let body = if cas.is_empty() {
        view! { <p class="hint">"No CA is published yet. An admin builds one with the setup wizard."</p> }.into_any()
    } else {
        view! {
            <ul class="overview-cas">
                {cas.into_iter().map(|i| view! {
                    <li class="card overview-ca" data-mount=i.mount.clone()>
                        <h3>{format!("{}: {}", i.mount, i.name)}{i.is_default.then(|| view! { <span class="trust-badge">"default"</span> })}</h3>
                        {(!i.complete).then(|| view! {
                            <p class="trust-left bad">{format!("Incomplete chain{}", i.problem.as_ref().map(|p| format!(": {p}")).unwrap_or_default())}</p>
                        })}
                        <ol class="overview-chain">
                            {i.chain.iter().map(|c| {
                                let left = time_left(now, c.not_before, c.not_after);
                                let bad = c.not_after <= now || c.not_after - now < 30 * 86_400;
                                view! {
                                    <li>
                                        <strong>{c.common_name.clone()}</strong>
                                        {c.self_signed.then_some(" (root)")}
                                        <br/>
                                        <span class=if bad { "trust-left bad" } else { "trust-left" }>{left}</span>
                                        <span class="muted">{format!(" · until {}", utc_text(c.not_after))}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    </li>
                }).collect_view()}
            </ul>
        }.into_any()
    };
    view! {
        <section class="overview-hierarchy" aria-labelledby="overview-cas" data-testid="overview-hierarchy">
            <h2 id="overview-cas" class="overview-section">"Certificate authorities"</h2>
            {body}
            <p><A href=nav::TRUST.path>"Trust these CAs on your devices →"</A></p>
        </section>
    }
}

/// A link to the list of `mount` with a filter.
fn filtered(mount: &str, f: impl FnOnce(&mut CertQuery)) -> String {
    let mut q = CertQuery::default();
    f(&mut q);
    list_href(mount, &q)
}

/// The signed-in view: each PKI mount's numbers, and failing Kubernetes renewals.
fn activity_view(mounts: Vec<MountNumbers>, k8s: Option<KubernetesNumbers>) -> impl IntoView {
    view! {
        <section class="overview-activity" aria-labelledby="overview-activity">
            <h2 id="overview-activity" class="overview-section">"Certificates now"</h2>
            {k8s.map(|k| {
                let n = k.failing;
                view! {
                    <p class="overview-k8s" data-testid="overview-k8s">
                        <A href=nav::KUBERNETES.path>
                            {format!("{} Kubernetes {} failing", thousands(n), if n == 1 { "renewal" } else { "renewals" })}
                        </A>
                        {(n == 0).then_some(" (all renewing)")}
                    </p>
                }
            })}
            {if mounts.is_empty() {
                view! {
                    <p class="hint">"No PKI mount yet: " <A href=nav::SETUP.path>"build one with the setup wizard"</A> "."</p>
                }.into_any()
            } else {
                view! {
                    <ul class="cards overview-mounts">
                        {mounts.into_iter().map(mount_numbers).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

fn mount_numbers(m: MountNumbers) -> impl IntoView {
    let mount = m.mount.clone();
    let body = match (m.summary, m.error) {
        (Some(s), _) => {
            let items: [(&str, &str, u64, String); 6] = [
                ("issued-24h", "issued in the last 24 hours", s.issued_24h, filtered(&mount, |q| q.sort = Sort::IssuedDesc)),
                ("expiring-24h", "expiring within 24 hours", s.expiring_24h, filtered(&mount, |q| { q.status = StatusFilter::Expiring; q.days = 1; })),
                ("expiring-7d", "expiring within 7 days", s.expiring_7d, filtered(&mount, |q| { q.status = StatusFilter::Expiring; q.days = 7; })),
                ("revoked", "revoked", s.revoked, filtered(&mount, |q| q.status = StatusFilter::Revoked)),
                ("valid", "valid", s.valid, filtered(&mount, |q| q.status = StatusFilter::Valid)),
                ("total", "in total", s.total, filtered(&mount, |_| {})),
            ];
            view! {
                <ul class="overview-numbers">
                    {items.into_iter().map(|(key, words, n, href)| view! {
                        <li data-count=key>
                            <a href=href><span class="overview-number">{thousands(n)}</span>" "{words}</a>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }
        (None, error) => view! {
            <div class="error" role="alert"><p>{format!("No numbers: {}", error.unwrap_or_default())}</p></div>
        }.into_any(),
    };
    view! {
        <li class="card overview-mount" data-mount=mount.clone()>
            <h3><a href=filtered(&mount, |_| {})>{mount.clone()}</a></h3>
            {body}
        </li>
    }
}
