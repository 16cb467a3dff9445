//! `/kubernetes`: the cluster's cert-manager Certificates with their renewal status,
//! Issuers (Vault issuers checked against the console's own view of their PKI role) and
//! Ingresses followed host → Secret → Certificate → serial. Everything is joined and
//! judged on the server (`/api/k8s/view`, `shared::k8s_view`); this page renders plain
//! tables. It polls `/api/k8s/version` every second and reloads the view when a watch
//! event changed the server's cache, so the page follows the cluster without a reload.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::k8s_view::{CertificateRow, IngressRow, IssuerRow, K8sView, RenewalStatus, Totals};
use shared::nav;
use shared::trust::utc_text;

use crate::api::{self, ApiError};
use crate::components::PageHeader;

/// Element ids the Ingress table links to.
pub fn cert_anchor(namespace: &str, name: &str) -> String {
    format!("cert-{namespace}-{name}")
}

/// `location.hash = id` (no web-sys feature needed for it).
fn set_hash(id: &str) {
    if let Ok(location) = js_sys::Reflect::get(window().as_ref(), &"location".into()) {
        let _ = js_sys::Reflect::set(&location, &"hash".into(), &id.into());
    }
}

fn serial_href(serial: &str) -> String {
    format!("{}/{serial}", nav::CERTIFICATES.path)
}

/// `3m 20s ago` / `in 5m` relative to `now`.
fn relative(now: i64, t: i64) -> String {
    let d = (t - now).abs();
    let span = if d >= 86_400 {
        format!("{}d {}h", d / 86_400, (d % 86_400) / 3600)
    } else if d >= 3600 {
        format!("{}h {}m", d / 3600, (d % 3600) / 60)
    } else if d >= 60 {
        format!("{}m {}s", d / 60, d % 60)
    } else {
        format!("{d}s")
    };
    if t >= now {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn when(now: i64, t: Option<i64>) -> String {
    match t {
        Some(t) => format!("{} ({})", utc_text(t), relative(now, t)),
        None => "—".into(),
    }
}

fn ready_text(ready: Option<bool>, reason: &str) -> String {
    let status = match ready {
        Some(true) => "True",
        Some(false) => "False",
        None => "Unknown",
    };
    if reason.is_empty() {
        status.into()
    } else {
        format!("{status} ({reason})")
    }
}

#[component]
pub fn Kubernetes() -> impl IntoView {
    let data = RwSignal::new(None::<Result<K8sView, ApiError>>);
    let filter = RwSignal::new(String::new());
    let seen = StoredValue::new(None::<u64>);
    let loading = StoredValue::new(false);
    let load = move || {
        if loading.get_value() {
            return;
        }
        loading.set_value(true);
        let q = filter.get_untracked();
        spawn_local(async move {
            let answer = api::k8s::view(q).await;
            if let Ok(v) = &answer {
                seen.set_value(Some(v.version));
            }
            loading.set_value(false);
            data.set(Some(answer));
        });
    };
    load();
    // The watch cache's version, every second: a change reloads the view.
    let poll = move || {
        if loading.get_value() {
            return;
        }
        spawn_local(async move {
            if let Ok(v) = api::k8s::version().await
                && seen.get_value().is_some_and(|s| s != v)
            {
                load();
            }
        });
    };
    if let Ok(handle) = set_interval_with_handle(poll, Duration::from_secs(1)) {
        on_cleanup(move || handle.clear());
    }
    let on_filter = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        load();
    };
    view! {
        <PageHeader page=nav::KUBERNETES lead="cert-manager Certificates, Issuers, Ingresses and TLS Secrets in the cluster (private keys are never read)."/>
        {move || match data.get() {
            None => view! {
                <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading the cluster view…"</p>
            }.into_any(),
            Some(Err(e)) => view! {
                <div class="error" role="alert"><p>{format!("Could not load the cluster view: {e}")}</p></div>
            }.into_any(),
            Some(Ok(v)) if !v.configured => view! { <NotConnected/> }.into_any(),
            Some(Ok(v)) => view! {
                <form class="k8s-filter" on:submit=on_filter>
                    <label for="k8s-q">"Filter (namespace, name, host or Secret)"</label>
                    <input id="k8s-q" type="search" prop:value=move || filter.get()
                        on:input=move |ev| filter.set(event_target_value(&ev))/>
                    <button type="submit">"Filter"</button>
                </form>
                <ClusterView view=v/>
            }.into_any(),
        }}
    }
}

#[component]
fn NotConnected() -> impl IntoView {
    view! {
        <section class="notice" role="status" data-testid="k8s-not-connected">
            <h2>"No cluster is connected"</h2>
            <p>"Start the console with a kubeconfig for the cluster to watch, or inside the cluster with its service account:"</p>
            <pre><code>"pki-console --kubeconfig ~/.kube/config [--kube-context <name>]\npki-console --kube-in-cluster"</code></pre>
            <p>"(or " <code>"PKI_CONSOLE_KUBECONFIG"</code> ", " <code>"PKI_CONSOLE_KUBE_CONTEXT"</code> ", " <code>"PKI_CONSOLE_KUBE_IN_CLUSTER=true"</code> "). The console only lists and watches: the read-only ClusterRole in "
            <code>"deploy/kubernetes/"</code> " grants get/list/watch on cert-manager Certificates, CertificateRequests, Issuers, ClusterIssuers, Ingresses and Secrets; of a TLS Secret only " <code>"tls.crt"</code> " and " <code>"ca.crt"</code> " are kept, the private key is dropped as it is read."</p>
        </section>
    }
}

fn totals_text(t: &Totals) -> String {
    format!(
        "{} Certificates, {} CertificateRequests, {} Issuers, {} Ingresses, {} TLS Secrets",
        t.certificates, t.certificate_requests, t.issuers, t.ingresses, t.secrets
    )
}

#[component]
fn ClusterView(view: K8sView) -> impl IntoView {
    let now = view.now;
    let t = view.totals;
    let shown_certs = view.certificates.len();
    let shown_ing = view.ingresses.len();
    view! {
        <p class="k8s-summary" data-testid="k8s-summary" data-version=view.version.to_string()>
            {totals_text(&t)}
            {(!view.synced).then_some(" (still listing the cluster…)")}
        </p>
        {(!view.errors.is_empty()).then(|| view! {
            <div class="error" role="alert">
                <p>"The cluster could not be read completely:"</p>
                <ul>{view.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
            </div>
        })}
        <section aria-labelledby="k8s-certs">
            <h2 id="k8s-certs">"Certificates"</h2>
            {(shown_certs < t.certificates_matched).then(|| view! {
                <p class="hint">{format!("Showing {shown_certs} of {} matching Certificates: filter to narrow.", t.certificates_matched)}</p>
            })}
            <div class="table-scroll">
            <table class="k8s-table" data-testid="k8s-certificates">
                <thead><tr>
                    <th scope="col">"Certificate"</th><th scope="col">"Renewal"</th><th scope="col">"Ready"</th>
                    <th scope="col">"Not after"</th><th scope="col">"Renewal time"</th><th scope="col">"Revision"</th>
                    <th scope="col">"Issuer"</th><th scope="col">"Serial"</th><th scope="col">"Last failure"</th><th scope="col">"Flags"</th>
                </tr></thead>
                <tbody>{view.certificates.into_iter().map(|c| cert_row(c, now)).collect_view()}</tbody>
            </table>
            </div>
        </section>
        <section aria-labelledby="k8s-issuers">
            <h2 id="k8s-issuers">"Issuers"</h2>
            <div class="table-scroll">
            <table class="k8s-table" data-testid="k8s-issuers">
                <thead><tr>
                    <th scope="col">"Issuer"</th><th scope="col">"Ready"</th><th scope="col">"Vault server"</th>
                    <th scope="col">"Path"</th><th scope="col">"Auth role"</th><th scope="col">"PKI role check"</th>
                </tr></thead>
                <tbody>{view.issuers.into_iter().map(issuer_row).collect_view()}</tbody>
            </table>
            </div>
        </section>
        <section aria-labelledby="k8s-ingresses">
            <h2 id="k8s-ingresses">"Ingresses"</h2>
            {(shown_ing < t.ingresses_matched).then(|| view! {
                <p class="hint">{format!("Showing {shown_ing} of {} matching Ingresses: filter to narrow.", t.ingresses_matched)}</p>
            })}
            <div class="table-scroll">
            <table class="k8s-table" data-testid="k8s-ingresses">
                <thead><tr>
                    <th scope="col">"Ingress"</th><th scope="col">"Hosts"</th><th scope="col">"Secret"</th>
                    <th scope="col">"Certificate"</th><th scope="col">"Serial"</th><th scope="col">"Flags"</th>
                </tr></thead>
                <tbody>{view.ingresses.into_iter().map(ingress_rows).collect_view()}</tbody>
            </table>
            </div>
        </section>
    }
}

fn flags_view(flags: Vec<String>) -> impl IntoView {
    view! {
        <ul class="k8s-flags">{flags.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
    }
}

fn status_badge(s: RenewalStatus) -> impl IntoView {
    view! { <span class=format!("k8s-status status-{}", s.class())>{s.label()}</span> }
}

fn cert_row(c: CertificateRow, now: i64) -> impl IntoView {
    let id = cert_anchor(&c.namespace, &c.name);
    let issuer_class = if c.issuer_ready == Some(true) {
        ""
    } else {
        "k8s-bad"
    };
    view! {
        <tr id=id data-status=c.status.class() data-name=c.name.clone()>
            <th scope="row">{format!("{}/{}", c.namespace, c.name)}</th>
            <td>{status_badge(c.status)}</td>
            <td title=c.ready_message.clone()>{ready_text(c.ready, &c.ready_reason)}</td>
            <td>{when(now, c.not_after)}</td>
            <td>{when(now, c.renewal_time)}</td>
            <td>{c.revision.map(|r| r.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td class=issuer_class>{c.issuer.clone()}</td>
            <td class="k8s-serial">{match c.serial {
                Some(s) => view! { <a href=serial_href(&s)>{s.clone()}</a> }.into_any(),
                None => view! { <span>"—"</span> }.into_any(),
            }}</td>
            <td class="k8s-failure">{c.last_failure.unwrap_or_default()}</td>
            <td>{flags_view(c.flags)}</td>
        </tr>
    }
}

fn issuer_row(i: IssuerRow) -> impl IntoView {
    let label = if i.namespace.is_empty() {
        format!("{}/{}", i.kind, i.name)
    } else {
        format!("{}/{} in {}", i.kind, i.name, i.namespace)
    };
    let (server, path, auth, check) = match i.vault {
        Some(v) => {
            let check = if v.role_check.is_empty() {
                format!("{}: ok", v.pki_role)
            } else {
                v.role_check.join("; ")
            };
            (v.server, v.path, v.auth_role, check)
        }
        None => (
            "—".into(),
            "—".into(),
            "—".into(),
            "not a Vault issuer".into(),
        ),
    };
    view! {
        <tr id=format!("issuer-{}-{}-{}", i.kind, i.namespace, i.name)>
            <th scope="row">{label}</th>
            <td title=i.ready_message>{ready_text(i.ready, &i.ready_reason)}</td>
            <td>{server}</td>
            <td><code>{path}</code></td>
            <td>{auth}</td>
            <td class="k8s-check">{check}</td>
        </tr>
    }
}

fn ingress_rows(i: IngressRow) -> impl IntoView {
    let id = format!("ingress-{}-{}", i.namespace, i.name);
    let label = format!("{}/{}", i.namespace, i.name);
    let ns = i.namespace.clone();
    if i.tls.is_empty() {
        return view! {
            <tr id=id class="k8s-ingress"><th scope="row">{label}</th><td colspan="5">"no TLS"</td></tr>
        }
        .into_any();
    }
    // One row per TLS entry; the first carries the Ingress's id.
    i.tls
        .into_iter()
        .enumerate()
        .map(|(n, t)| {
            let row_id = (n == 0).then(|| id.clone());
            view! {
                <tr id=row_id class="k8s-ingress" data-ingress=label.clone()>
                    <th scope="row">{label.clone()}</th>
                    {tls_cells(&ns, t)}
                </tr>
            }
        })
        .collect_view()
        .into_any()
}

fn tls_cells(ns: &str, t: shared::k8s_view::IngressTls) -> impl IntoView {
    let serial = t
        .secret
        .as_ref()
        .filter(|s| s.error.is_empty())
        .map(|s| s.serial.clone());
    let cert_link = t.certificate.clone().map(|c| {
        let anchor = cert_anchor(ns, &c);
        let href = format!("#{anchor}");
        // The router would take a fragment link as a navigation (pushState, no
        // `:target`): set the location's hash itself, so the browser scrolls to the
        // Certificate's row and highlights it.
        let on_click = move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            set_hash(&anchor);
        };
        view! { <a class="k8s-cert-link" href=href on:click=on_click>{c}</a> }
    });
    view! {
        <td>{t.hosts.join(", ")}</td>
        <td class="k8s-secret">{t.secret_name.clone()}</td>
        <td>{cert_link}</td>
        <td class="k8s-serial">{serial.map(|s| view! { <a href=serial_href(&s)>{s.clone()}</a> })}</td>
        <td>{flags_view(t.flags)}</td>
    }
}
