//! `/trust` (public, no sign-in): every published CA with its facts, SHA-256 and SHA-1
//! fingerprints (copy buttons, a QR code from the server), its chain up to the root and
//! the downloads; then install steps, one tab per platform (WAI-ARIA tabs: arrow keys,
//! Home and End move between them), the visitor's own platform open first. Everything is
//! computed on the server (`/api/trust`, `shared::trust`); this page only shows it.

use leptos::prelude::*;
use shared::nav;
use shared::trust::install::{self, InstallFiles, Platform};
use shared::trust::{FileKind, TrustIndex, TrustIssuer, time_left, utc_text};
use wasm_bindgen::{JsCast, JsValue};

use crate::api::{self, ApiError};
use crate::components::PageHeader;

/// A property of a browser object, read without a web-sys feature of its own.
fn js_prop(target: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(target.clone(), |v, key| {
        js_sys::Reflect::get(&v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    })
}

fn window_prop(path: &[&str]) -> Option<String> {
    js_prop(window().as_ref(), path).as_string()
}

fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[component]
pub fn Trust() -> impl IntoView {
    let index = LocalResource::new(api::trust::index);
    view! {
        <PageHeader page=nav::TRUST lead="Download the CA chain in the format your OS, browser or tool wants, check its fingerprint, and install it. No sign-in needed."/>
        {move || match index.get() {
            None => view! {
                <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading the published CAs…"</p>
            }.into_any(),
            Some(Err(e)) => view! { <LoadError error=e/> }.into_any(),
            Some(Ok(idx)) if idx.issuers.is_empty() => view! { <Empty index=idx/> }.into_any(),
            Some(Ok(idx)) => view! { <Published index=idx/> }.into_any(),
        }}
    }
}

#[component]
fn LoadError(error: ApiError) -> impl IntoView {
    let hint = match &error {
        ApiError::Network(_) => {
            "Check that the console server is running and reachable, then reload the page."
        }
        ApiError::Status { status, .. } if *status >= 500 => {
            "The console could not read the CAs from Vault: check the server's log and that Vault is up and unsealed, then reload."
        }
        _ => "Reload the page; if it persists, check the console server's log.",
    };
    view! {
        <div class="error" role="alert">
            <p>{format!("Could not load the published CAs: {error}")}</p>
            <p class="hint">{hint}</p>
        </div>
    }
}

#[component]
fn Empty(index: TrustIndex) -> impl IntoView {
    let mounts = if index.mounts.is_empty() {
        "no PKI mount".to_string()
    } else {
        index.mounts.join(", ")
    };
    // Nothing shown because Vault could not be reached is no "no CA yet" (the server's
    // words for that: "... could not be asked ...", "... could not be read ...").
    let unreadable = index.problems.iter().any(|p| p.contains("could not be"));
    view! {
        <section class="notice" role="status" data-testid="trust-empty">
            {if unreadable {
                view! {
                    <h2>"The CAs could not be read"</h2>
                    <p>"The console could not reach Vault for the published mounts' issuers (details below). Check that Vault is up and unsealed, then reload."</p>
                }.into_any()
            } else {
                view! {
                    <h2>"No published CA yet"</h2>
                    <p>"An admin runs " <a href=nav::SETUP.path>"Setup"</a> " (or creates a root and intermediate CA with the vault CLI); the CA appears here as soon as it exists."</p>
                }.into_any()
            }}
            <p class="muted">{format!("Published mounts looked at: {mounts}.")}</p>
            <Problems problems=index.problems/>
        </section>
    }
}

#[component]
fn Problems(problems: Vec<String>) -> impl IntoView {
    (!problems.is_empty()).then(|| {
        view! {
            <ul class="trust-problems">
                {problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
        }
    })
}

#[component]
fn Published(index: TrustIndex) -> impl IntoView {
    let now = now_unix();
    let issuers = index.issuers.clone();
    view! {
        {(!index.problems.is_empty()).then(|| view! {
            <section class="notice-warn" role="note"><Problems problems=index.problems.clone()/></section>
        })}
        <h2 class="trust-section">"Certificate authorities"</h2>
        <div class="trust-cas">
            {issuers.into_iter().map(|i| view! { <CaCard issuer=i now=now/> }).collect_view()}
        </div>
        <Install index=index/>
    }
}

#[component]
fn CaCard(issuer: TrustIssuer, now: i64) -> impl IntoView {
    let Some(cert) = issuer.chain.first().cloned() else {
        return ().into_any();
    };
    let heading = if cert.common_name.is_empty() {
        cert.subject.clone()
    } else {
        cert.common_name.clone()
    };
    let role = if cert.self_signed {
        "Root CA"
    } else {
        "Intermediate CA"
    };
    let name = if issuer.issuer_name.is_empty() {
        issuer.issuer_id.clone()
    } else {
        format!("{} ({})", issuer.issuer_name, issuer.issuer_id)
    };
    let default = if issuer.is_default { " · default" } else { "" };
    let left = time_left(now, cert.not_before, cert.not_after);
    let expired = now > cert.not_after;
    let card_id = format!("ca-{}-{}", issuer.mount.replace('/', "-"), issuer.issuer_id);
    let chain_len = issuer.chain.len();
    view! {
        <article class="card trust-ca" id=card_id data-mount=issuer.mount.clone() data-issuer=issuer.issuer_id.clone()>
            <p class="card-who">{format!("{role} · mount {}{default}", issuer.mount)}</p>
            <h3>{heading}</h3>
            <p class="muted">{format!("Vault issuer {name}")}</p>
            {(!issuer.complete).then(|| view! {
                <p class="notice-warn trust-incomplete" role="note">
                    <strong>"Chain incomplete: "</strong>
                    {issuer.problem.clone().unwrap_or_else(|| "the root is missing".into())}
                </p>
            })}
            <div class="trust-ca-body">
                <dl class="cert-details">
                    <dt>"Subject"</dt><dd>{cert.subject.clone()}</dd>
                    <dt>"Issuer"</dt><dd>{cert.issuer.clone()}</dd>
                    <dt>"Valid from"</dt><dd>{utc_text(cert.not_before)}</dd>
                    <dt>"Valid until"</dt>
                    <dd>{utc_text(cert.not_after)} " " <span class=if expired { "trust-left bad" } else { "trust-left" }>{format!("({left})")}</span></dd>
                    <dt>"Key type"</dt><dd>{cert.key_type.clone()}</dd>
                    <dt>"Serial"</dt><dd>{cert.serial.clone()}</dd>
                    <dt>"SHA-256"</dt>
                    <dd><code class="fingerprint" data-fingerprint="sha256">{cert.sha256.clone()}</code> <CopyButton text=cert.sha256.clone() label="Copy SHA-256"/></dd>
                    <dt>"SHA-1"</dt>
                    <dd><code class="fingerprint" data-fingerprint="sha1">{cert.sha1.clone()}</code> <CopyButton text=cert.sha1.clone() label="Copy SHA-1"/></dd>
                </dl>
                <figure class="trust-qr">
                    <img src=issuer.qr_href.clone() alt=format!("QR code of the SHA-256 fingerprint {}", cert.sha256) width="164" height="164"/>
                    <figcaption>"Scan to compare the SHA-256 fingerprint on your phone."</figcaption>
                </figure>
            </div>
            <h4>{format!("Chain ({chain_len} certificate{}, issuer first)", if chain_len == 1 { "" } else { "s" })}</h4>
            <ol class="trust-chain">
                {issuer.chain.iter().map(|c| view! {
                    <li>
                        <span>{c.subject.clone()}</span>
                        {c.self_signed.then(|| view! { <span class="trust-badge">"root"</span> })}
                        <br/><code class="muted">{format!("SHA-256 {}", c.sha256)}</code>
                    </li>
                }).collect_view()}
            </ol>
            <h4>"Downloads"</h4>
            <ul class="trust-downloads">
                {issuer.downloads.iter().filter(|d| d.kind != FileKind::FingerprintQr).map(|d| view! {
                    <li>
                        <a href=d.href.clone() download=d.file_name.clone() data-kind=format!("{:?}", d.kind)>{d.kind.label()}</a>
                        " " <span class="muted">{d.file_name.clone()}</span>
                    </li>
                }).collect_view()}
            </ul>
        </article>
    }
    .into_any()
}

/// A button that copies `text` to the clipboard and says whether it worked.
#[component]
fn CopyButton(text: String, label: &'static str) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let on_click = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            let clipboard = js_prop(window().as_ref(), &["navigator", "clipboard"]);
            let write = js_prop(&clipboard, &["writeText"]);
            let done = match write.dyn_into::<js_sys::Function>() {
                Ok(f) => match f.call1(&clipboard, &JsValue::from_str(&text)) {
                    Ok(p) => match p.dyn_into::<js_sys::Promise>() {
                        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.is_ok(),
                        Err(_) => false,
                    },
                    Err(_) => false,
                },
                Err(_) => false,
            };
            status.set(if done {
                "Copied".into()
            } else {
                "Copy failed: select the text and copy it".into()
            });
        });
    };
    view! {
        <button type="button" class="copy" on:click=on_click>{label}</button>
        <span class="copy-status" role="status" aria-live="polite">{move || status.get()}</span>
    }
}

/// The install steps: one tab per platform, for one root (a choice when several
/// published chains end in different roots).
#[component]
fn Install(index: TrustIndex) -> impl IntoView {
    let origin = window_prop(&["location", "origin"]).unwrap_or_default();
    // One representative per distinct root: the issuer with the longest chain to it (its
    // chain file holds every CA of that hierarchy).
    let mut roots: Vec<TrustIssuer> = Vec::new();
    for issuer in index.issuers.iter().filter(|i| i.complete) {
        let root = issuer.root().map(|r| r.sha256.clone());
        match roots
            .iter_mut()
            .find(|r| r.root().map(|x| x.sha256.clone()) == root)
        {
            Some(slot) if slot.chain.len() < issuer.chain.len() => *slot = issuer.clone(),
            Some(_) => {}
            None => roots.push(issuer.clone()),
        }
    }
    if roots.is_empty() {
        return view! {
            <section class="trust-install">
                <h2 class="trust-section">"Install"</h2>
                <p class="notice-warn" role="note">"No published chain reaches its root, so there is no root to install yet. Import the root CA's certificate into a published mount."</p>
            </section>
        }
        .into_any();
    }
    let selected = RwSignal::new(0usize);
    let files = move || {
        let issuer = roots.get(selected.get()).or(roots.first())?.clone();
        let url = |k: FileKind| {
            issuer
                .download(k)
                .map(|d| format!("{origin}{}", d.href))
                .unwrap_or_default()
        };
        let root = issuer.root()?;
        Some((
            InstallFiles {
                root_pem_url: url(FileKind::RootPem),
                root_der_url: url(FileKind::RootDer),
                chain_pem_url: url(FileKind::ChainPem),
                name: shared::trust::slug(&root.common_name, "root-ca"),
                root_pem: root.pem.clone(),
            },
            issuer.clone(),
        ))
    };
    let ua = window_prop(&["navigator", "userAgent"]).unwrap_or_default();
    let active = RwSignal::new(Platform::from_user_agent(&ua));
    let root_names: Vec<String> = index
        .issuers
        .iter()
        .filter(|i| i.complete)
        .filter_map(|i| i.root().map(|r| (r.sha256.clone(), r.subject.clone())))
        .fold(Vec::<(String, String)>::new(), |mut acc, (fp, subject)| {
            if !acc.iter().any(|(f, _)| *f == fp) {
                acc.push((fp, subject));
            }
            acc
        })
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    view! {
        <section class="trust-install" aria-labelledby="install-heading">
            <h2 class="trust-section" id="install-heading">"Install the root CA"</h2>
            {(root_names.len() > 1).then(|| view! {
                <p class="field">
                    <label for="trust-root">"Root CA"</label>
                    <select id="trust-root" on:change=move |ev| selected.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {root_names.iter().enumerate().map(|(n, s)| view! { <option value=n.to_string()>{s.clone()}</option> }).collect_view()}
                    </select>
                </p>
            })}
            <div class="tabs" role="tablist" aria-label="Platforms">
                {Platform::ALL.into_iter().map(|p| view! {
                    <button
                        type="button"
                        role="tab"
                        id=format!("tab-{}", p.id())
                        aria-controls=format!("panel-{}", p.id())
                        aria-selected=move || if active.get() == p { "true" } else { "false" }
                        tabindex=move || if active.get() == p { "0" } else { "-1" }
                        on:click=move |_| active.set(p)
                        on:keydown=move |ev| tab_key(ev, active)
                    >{p.label()}</button>
                }).collect_view()}
            </div>
            {Platform::ALL.into_iter().map(|p| {
                let files = files.clone();
                view! {
                    <div
                        class="tab-panel"
                        role="tabpanel"
                        id=format!("panel-{}", p.id())
                        aria-labelledby=format!("tab-{}", p.id())
                        tabindex="0"
                        hidden=move || active.get() != p
                    >
                        {move || files().map(|(f, issuer)| {
                            let file = install::file_for(p);
                            let link = issuer.download(file).cloned();
                            view! {
                                <p class="trust-file">"File to use: "
                                    {link.map(|d| view! { <a href=d.href.clone() download=d.file_name.clone()>{d.file_name.clone()}</a> " " <span class="muted">{format!("({})", file.label())}</span> })}
                                </p>
                                <ol class="steps">
                                    {install::steps(p, &f).into_iter().map(|s| view! {
                                        <li>
                                            <p>{s.text}</p>
                                            {s.command.map(|c| view! {
                                                <div class="command">
                                                    <pre><code>{c.clone()}</code></pre>
                                                    <CopyButton text=c label="Copy"/>
                                                </div>
                                            })}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }
                        })}
                    </div>
                }
            }).collect_view()}
        </section>
    }
    .into_any()
}

/// The tabs' keys (WAI-ARIA tabs, automatic activation): Left/Right move to the
/// previous/next tab (wrapping), Home/End to the first/last; the new tab is selected
/// and focused.
fn tab_key(ev: leptos::ev::KeyboardEvent, active: RwSignal<Platform>) {
    let all = Platform::ALL;
    let at = all
        .iter()
        .position(|p| *p == active.get_untracked())
        .unwrap_or(0);
    let next = match ev.key().as_str() {
        "ArrowRight" => (at + 1) % all.len(),
        "ArrowLeft" => (at + all.len() - 1) % all.len(),
        "Home" => 0,
        "End" => all.len() - 1,
        _ => return,
    };
    ev.prevent_default();
    let Some(p) = all.get(next).copied() else {
        return;
    };
    active.set(p);
    if let Some(el) = document()
        .get_element_by_id(&format!("tab-{}", p.id()))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
