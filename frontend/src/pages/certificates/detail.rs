//! `/certificates/<serial>?mount=<mount>&<the list's query>`: one certificate decoded by
//! the server (`/api/certs/<mount>/cert/<serial>`), its PEM to download, and Revoke
//! (Vault's `<mount>/revoke`) after a confirmation that names it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_params_map};
use shared::api::certs::{CertDetail, rfc3339};
use shared::nav;
use shared::trust::utc_text;

use super::{error_view, key_text, parse_search, preferred_mount, status_badge, time_left};
use crate::api::{self, ApiError};
use crate::components::PageHeader;
use crate::pages::request::download;

/// Where a detail page is.
#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    Found(Box<CertDetail>),
    Failed { mount: String, error: ApiError },
}

#[component]
pub fn CertificateDetail() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let serial = Memo::new(move |_| params.with(|p| p.get("serial").unwrap_or_default()));
    let search = Memo::new(move |_| location.search.get().trim_start_matches('?').to_string());
    let url_mount = Memo::new(move |_| parse_search(&search.get()).0);
    // The list with the same query (the back link).
    let back_href = move || {
        let s = search.get();
        if s.is_empty() {
            nav::CERTIFICATES.path.to_string()
        } else {
            format!("{}?{s}", nav::CERTIFICATES.path)
        }
    };

    let state = RwSignal::new(Loaded::Loading);
    let reload = move || {
        let serial = serial.get_untracked();
        let named = url_mount.get_untracked();
        spawn_local(async move {
            // A link without a mount (from the Kubernetes page) tries the preferred mount
            // first, then the others.
            let mounts: Vec<String> = match named {
                Some(m) => vec![m],
                None => match api::vault::pki_mounts().await {
                    Ok(list) => {
                        let first = preferred_mount(&list);
                        first
                            .iter()
                            .cloned()
                            .chain(
                                list.into_iter()
                                    .map(|m| m.path)
                                    .filter(|p| Some(p) != first.as_ref()),
                            )
                            .collect()
                    }
                    Err(error) => {
                        state.set(Loaded::Failed {
                            mount: "sys/mounts".into(),
                            error,
                        });
                        return;
                    }
                },
            };
            let mut last = None;
            for m in mounts {
                match api::certs::detail(&m, &serial).await {
                    Ok(d) => {
                        state.set(Loaded::Found(Box::new(d)));
                        return;
                    }
                    Err(e) if e.status() == Some(404) => last = Some((m, e)),
                    Err(error) => {
                        state.set(Loaded::Failed { mount: m, error });
                        return;
                    }
                }
            }
            let (mount, error) = last.unwrap_or_else(|| {
                (
                    String::new(),
                    ApiError::Status {
                        status: 404,
                        messages: vec!["no PKI mount to look in".into()],
                    },
                )
            });
            state.set(Loaded::Failed { mount, error });
        });
    };
    Effect::new(move |_| {
        let _ = (serial.get(), url_mount.get());
        state.set(Loaded::Loading);
        reload();
    });

    view! {
        <PageHeader page=nav::CERTIFICATES lead="One certificate: its names, validity, extensions, fingerprints and chain."/>
        <p class="cert-back"><a href=back_href>"← Back to the list"</a></p>
        {move || match state.get() {
            Loaded::Loading => view! {
                <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading the certificate…"</p>
            }.into_any(),
            Loaded::Failed { mount, error } => error_view(&format!("Could not read certificate {}", serial.get_untracked()), &error, &mount).into_any(),
            Loaded::Found(d) => view! { <Detail detail=*d on_revoked=Callback::new(move |()| reload())/> }.into_any(),
        }}
    }
}

#[component]
fn Detail(detail: CertDetail, on_revoked: Callback<()>) -> impl IntoView {
    let d = detail;
    let now = d.now;
    let row = d.row.clone();
    let status = row.status(now);
    let cn = if row.common_name.is_empty() {
        row.serial_number.clone()
    } else {
        row.common_name.clone()
    };
    let mount = d.mount.clone();
    let serial = row.serial_number.clone();
    let pem = d.certificate.clone();
    let file_base = shared::trust::slug(&cn, "certificate");
    let download_error = RwSignal::new(None::<String>);
    let download_pem = {
        let pem = pem.clone();
        let name = format!("{file_base}.pem");
        move |_| {
            download_error
                .set(download::save(&name, "application/x-pem-file", pem.as_bytes()).err());
        }
    };
    let chain_pem = {
        let mut all = vec![d.certificate.trim_end().to_string()];
        all.extend(d.ca_chain.iter().map(|c| c.trim_end().to_string()));
        all.join("\n") + "\n"
    };
    let has_chain = !d.ca_chain.is_empty();
    let download_chain = {
        let name = format!("{file_base}-chain.pem");
        move |_| {
            download_error
                .set(download::save(&name, "application/x-pem-file", chain_pem.as_bytes()).err());
        }
    };
    let validity = format!(
        "{} to {} ({})",
        utc_text(row.not_before),
        utc_text(row.not_after),
        shared::trust::time_left(now, row.not_before, row.not_after)
    );
    let revoked_text = (row.revoked_at > 0).then(|| {
        format!(
            "Revoked {} ({} ago)",
            utc_text(row.revoked_at),
            super::short_span((now - row.revoked_at).max(0))
        )
    });
    let sans = if row.sans.is_empty() {
        "—".to_string()
    } else {
        row.sans.join(", ")
    };
    let key = if d.public_key.is_empty() {
        key_text(&row.key_type, row.key_bits)
    } else {
        d.public_key.clone()
    };
    // The server's words, said as a verdict when they do not start with one.
    let chain_text = {
        let m = d.chain_message.trim();
        let lower = m.to_ascii_lowercase();
        if lower.starts_with("verifies")
            || lower.starts_with("does not")
            || lower.starts_with("fails")
        {
            m.to_string()
        } else if d.chain_ok {
            format!("verifies: {m}")
        } else {
            format!("does not verify: {m}")
        }
    };

    view! {
        <section class="cert-detail" data-serial=serial.clone() data-status=status.as_str()>
            <h2 class="cert-detail-title">{cn.clone()} " " {status_badge(status)}</h2>
            {revoked_text.clone().map(|t| view! { <p class="cert-revoked" data-testid="cert-revoked">{t}</p> })}
            <dl class="cert-details">
                <dt>"Serial"</dt><dd data-testid="cert-serial">{serial.clone()}</dd>
                <dt>"Subject"</dt><dd>{d.subject.clone()}</dd>
                <dt>"Issuer"</dt><dd>{d.issuer.clone()}</dd>
                <dt>"PKI mount"</dt><dd>{mount.clone()}</dd>
                <dt>"Role"</dt><dd>{if row.role.is_empty() { "—".to_string() } else { row.role.clone() }}</dd>
                <dt>"Validity"</dt><dd>{validity}</dd>
                <dt>"Not after"</dt><dd><time datetime=rfc3339(row.not_after)>{utc_text(row.not_after)}</time></dd>
                <dt>"Time left"</dt><dd>{time_left(now, row.not_after)}</dd>
                <dt>"SANs"</dt><dd>{sans}</dd>
                <dt>"Public key"</dt><dd>{key}</dd>
                <dt>"Signature algorithm"</dt><dd>{d.signature_algorithm.clone()}</dd>
                <dt>"SHA-256 fingerprint"</dt><dd class="fingerprint">{d.sha256_fingerprint.clone()}</dd>
                <dt>"SHA-1 fingerprint"</dt><dd class="fingerprint">{d.sha1_fingerprint.clone()}</dd>
                <dt>"Chain"</dt>
                <dd class=if d.chain_ok { "cert-chain ok" } else { "cert-chain bad" } data-testid="cert-chain">
                    <span aria-hidden="true">{if d.chain_ok { "✓ " } else { "✗ " }}</span>
                    {chain_text}
                </dd>
            </dl>
            <h3>"Extensions"</h3>
            <div class="table-scroll">
                <table class="cert-table cert-extensions">
                    <thead><tr><th scope="col">"Extension"</th><th scope="col">"Critical"</th><th scope="col">"Value"</th></tr></thead>
                    <tbody>
                        {d.extensions.iter().map(|e| view! {
                            <tr>
                                <th scope="row" title=e.oid.clone()>{e.name.clone()}</th>
                                <td>{if e.critical { "yes" } else { "no" }}</td>
                                <td class="cert-ext-value">{e.value.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h3>"Certificate (PEM)"</h3>
            <pre class="cert-pem" data-testid="cert-pem">{pem}</pre>
            <p class="cert-buttons">
                <button type="button" on:click=download_pem>"Download PEM"</button>
                {has_chain.then(|| view! { <button type="button" on:click=download_chain>"Download with chain"</button> })}
            </p>
            {move || download_error.get().map(|e| view! { <p class="error" role="alert">{format!("The download failed: {e}")}</p> })}
            {(row.revoked_at == 0).then(|| view! {
                <RevokeControl mount=mount.clone() serial=serial.clone() cn=cn.clone() on_revoked=on_revoked/>
            })}
        </section>
    }
}

/// Revoke, behind a modal dialog that names the certificate.
#[component]
fn RevokeControl(
    mount: String,
    serial: String,
    cn: String,
    on_revoked: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<(ApiError, String)>);
    let open = move |_| {
        error.set(None);
        if let Some(d) = dialog.get() {
            let _ = d.show_modal();
        }
    };
    let close = move || {
        if let Some(d) = dialog.try_get_untracked().flatten() {
            d.close();
        }
    };
    let confirm = {
        let (mount, serial) = (mount.clone(), serial.clone());
        move |_| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            error.set(None);
            let (mount, serial) = (mount.clone(), serial.clone());
            spawn_local(async move {
                let answer = api::certs::revoke(&mount, &serial).await;
                busy.set(false);
                match answer {
                    Ok(_) => {
                        close();
                        on_revoked.run(());
                    }
                    Err(e) => {
                        close();
                        error.set(Some((e, mount)));
                    }
                }
            });
        }
    };
    let question = format!("Revoke {cn} (serial {serial})?");
    view! {
        <div class="cert-revoke">
            <button type="button" class="danger" on:click=open>"Revoke…"</button>
            {move || error.get().map(|(e, mount)| {
                let hint = if e.status() == Some(403) {
                    format!("The signed-in token's policy needs update on {mount}/revoke to revoke certificates.")
                } else {
                    super::error_hint(&e, &mount).unwrap_or_default()
                };
                view! {
                    <div class="error" role="alert">
                        <p>{format!("Vault did not revoke the certificate: {e}")}</p>
                        <p class="hint">{hint}</p>
                    </div>
                }
            })}
            <dialog node_ref=dialog class="cert-dialog" aria-labelledby="revoke-title" aria-describedby="revoke-text">
                <h2 id="revoke-title">"Revoke this certificate?"</h2>
                <p id="revoke-text">{question}
                    " Revocation cannot be undone: the serial goes on the CRL and clients that check it stop trusting the certificate."</p>
                <div class="cert-dialog-buttons">
                    <button type="button" class="button-secondary" autofocus on:click=move |_| close()>"Cancel"</button>
                    <button type="button" class="danger" data-testid="revoke-confirm" disabled=move || busy.get() on:click=confirm>
                        {move || if busy.get() { "Revoking…".to_string() } else { format!("Revoke {cn}") }}
                    </button>
                </div>
            </dialog>
        </div>
    }
}
