//! `/certificates`: the searchable list, its filters, keyset paging, the CSV export and
//! the expiry timeline. The address holds the state; every control changes the address
//! and the list follows it.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};
use shared::api::certs::{
    CertPage, CertQuery, CertRow, IndexSource, IssuerChoice, Sort, StatusFilter, rfc3339,
};
use shared::nav;
use shared::trust::utc_text;

use super::timeline::ExpiryTimeline;
use super::{
    detail_href, error_view, key_text, list_href, parse_search, preferred_mount, search_string,
    status_badge, thousands, time_left,
};
use crate::api::{self, ApiError};
use crate::components::{NotYetAvailable, PageHeader};

/// How long typing in the search box waits before searching.
const DEBOUNCE: Duration = Duration::from_millis(250);
/// Progress is shown for searches that take longer than this.
const SHOW_PROGRESS_AFTER: Duration = Duration::from_millis(200);

/// What a page's answer says beside its rows.
#[derive(Debug, Clone, Default, PartialEq)]
struct Meta {
    now: i64,
    total: u64,
    next: Option<String>,
    source: IndexSource,
    issuers: Vec<IssuerChoice>,
    roles: Vec<String>,
}

fn status_label(s: StatusFilter) -> &'static str {
    match s {
        StatusFilter::All => "All",
        StatusFilter::Valid => "Valid",
        StatusFilter::Expiring => "Expiring soon",
        StatusFilter::Expired => "Expired",
        StatusFilter::Revoked => "Revoked",
    }
}

fn sort_label(s: Sort) -> &'static str {
    match s {
        Sort::NotAfter => "Expires soonest first",
        Sort::NotAfterDesc => "Expires latest first",
        Sort::Issued => "Oldest issued first",
        Sort::IssuedDesc => "Newest issued first",
    }
}

/// "Index: embedded engine, current" / "Index of the upstream Vault, refreshed 4 s ago,
/// 12,000 certificates".
fn source_text(s: &IndexSource, now: i64) -> String {
    let mut out = if s.kind == "engine" {
        "Index: embedded engine, current".to_string()
    } else {
        format!(
            "Index of the upstream Vault, refreshed {} s ago, {} certificates",
            (now - s.refreshed_at).max(0),
            thousands(s.indexed)
        )
    };
    if !s.complete {
        out.push_str(" (incomplete: the upstream has more certificates than the index holds)");
    }
    if !s.note.is_empty() {
        out.push_str(". ");
        out.push_str(&s.note);
    }
    out
}

fn sans_text(sans: &[String]) -> String {
    let mut out = sans.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if sans.len() > 3 {
        out.push_str(&format!(" +{} more", sans.len() - 3));
    }
    out
}

#[component]
pub fn Certificates() -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let parsed = Memo::new(move |_| parse_search(&location.search.get()));
    let url_mount = Memo::new(move |_| parsed.with(|p| p.0.clone()));
    let query = Memo::new(move |_| parsed.with(|p| p.1.clone().unwrap_or_default()));
    let query_error = Memo::new(move |_| parsed.with(|p| p.1.clone().err()));

    let mounts = LocalResource::new(api::vault::pki_mounts);
    // Without a mount in the address, the preferred one (the address is then completed,
    // replacing the history entry).
    let mount = Memo::new(move |_| {
        url_mount.get().or_else(|| {
            mounts
                .get()
                .and_then(|m| m.ok())
                .and_then(|m| preferred_mount(&m))
        })
    });
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if url_mount.get().is_none()
                && let Some(m) = mount.get()
            {
                navigate(
                    &list_href(&m, &query.get_untracked()),
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                );
            }
        });
    }

    // Previous pages' cursors, for Back.
    let cursors = RwSignal::new(Vec::<String>::new());
    let go = {
        let navigate = navigate.clone();
        move |q: CertQuery, replace: bool| {
            let Some(m) = mount.try_get_untracked().flatten() else {
                return;
            };
            navigate(
                &list_href(&m, &q),
                NavigateOptions {
                    replace,
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    };
    // A filter change starts from the first page.
    let set_filter = {
        let go = go.clone();
        move |f: &dyn Fn(&mut CertQuery), replace: bool| {
            let Some(q) = query.try_get_untracked() else {
                return;
            };
            let mut q = q.first_page();
            f(&mut q);
            cursors.set(vec![]);
            go(q, replace);
        }
    };

    // The list: one request per (mount, query); older answers are dropped.
    let rows = RwSignal::new(Vec::<(i64, CertRow)>::new());
    let meta = RwSignal::new(None::<Meta>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let show_busy = RwSignal::new(false);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let (Some(m), q) = (mount.get(), query.get()) else {
            return;
        };
        if query_error.get().is_some() {
            return;
        }
        generation.update_value(|g| *g += 1);
        let this = generation.get_value();
        busy.set(true);
        set_timeout(
            move || {
                // (try_: the page may be gone by then.)
                if generation.try_get_value() == Some(this)
                    && busy.try_get_untracked() == Some(true)
                {
                    show_busy.set(true);
                }
            },
            SHOW_PROGRESS_AFTER,
        );
        let asked = CertQuery {
            limit: api::certs::PAGE_SIZE,
            ..q
        };
        spawn_local(async move {
            let answer = api::certs::page(&m, &asked).await;
            // A newer search is under way, or the page is gone.
            if generation.try_get_value() != Some(this) {
                return;
            }
            busy.set(false);
            show_busy.set(false);
            match answer {
                Ok(CertPage {
                    now,
                    rows: r,
                    total,
                    next,
                    source,
                    issuers,
                    roles,
                }) => {
                    error.set(None);
                    meta.set(Some(Meta {
                        now,
                        total,
                        next,
                        source,
                        issuers,
                        roles,
                    }));
                    let all: Vec<(i64, CertRow)> = r.into_iter().map(|r| (now, r)).collect();
                    show_in_chunks(rows, all, generation, this, true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    // The search box: its own text, searched 250 ms after the last keystroke (the address
    // is replaced, so typing makes no history entries).
    let text = RwSignal::new(query.get_untracked().q);
    Effect::new(move |_| {
        let q = query.with(|q| q.q.clone());
        if text.get_untracked().trim() != q {
            text.set(q);
        }
    });
    let timer = StoredValue::new(None::<TimeoutHandle>);
    on_cleanup(move || {
        if let Some(t) = timer.try_get_value().flatten() {
            t.clear();
        }
    });
    let search_now = {
        let set_filter = set_filter.clone();
        move || {
            // Runs from a timer too: the page may be gone by then.
            if let Some(t) = timer.try_get_value().flatten() {
                t.clear();
            }
            let (Some(t), Some(current)) = (text.try_get_untracked(), query.try_get_untracked())
            else {
                return;
            };
            let t = t.trim().to_string();
            if t != current.q {
                set_filter(&move |q: &mut CertQuery| q.q = t.clone(), true);
            }
        }
    };
    let on_input = {
        let search_now = search_now.clone();
        move |ev: leptos::ev::Event| {
            text.set(event_target_value(&ev));
            if let Some(t) = timer.get_value() {
                t.clear();
            }
            let search_now = search_now.clone();
            timer.set_value(set_timeout_with_handle(search_now, DEBOUNCE).ok());
        }
    };
    let on_submit = {
        let search_now = search_now.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            search_now();
        }
    };

    let f = set_filter.clone();
    let on_mount = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::Event| {
            let m = event_target_value(&ev);
            cursors.set(vec![]);
            // Issuers and roles belong to a mount: a new mount starts without them.
            let q = CertQuery {
                issuer: String::new(),
                role: String::new(),
                ..query.get_untracked().first_page()
            };
            navigate(&list_href(&m, &q), NavigateOptions::default());
        }
    };
    let f2 = f.clone();
    let on_status = move |ev: leptos::ev::Event| {
        let v = StatusFilter::parse(&event_target_value(&ev)).unwrap_or_default();
        f2(&move |q: &mut CertQuery| q.status = v, false);
    };
    let f3 = f.clone();
    let on_days = move |ev: leptos::ev::Event| {
        if let Ok(d) = event_target_value(&ev).parse::<u32>()
            && (1..=3650).contains(&d)
        {
            f3(&move |q: &mut CertQuery| q.days = d, true);
        }
    };
    let f4 = f.clone();
    let on_issuer = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        f4(&move |q: &mut CertQuery| q.issuer = v.clone(), false);
    };
    let f5 = f.clone();
    let on_role = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        f5(&move |q: &mut CertQuery| q.role = v.clone(), false);
    };
    let f6 = f.clone();
    let on_sort = move |ev: leptos::ev::Event| {
        let v = Sort::parse(&event_target_value(&ev)).unwrap_or_default();
        f6(&move |q: &mut CertQuery| q.sort = v, false);
    };
    let f7 = f.clone();
    let clear_window = move |_| {
        f7(
            &|q: &mut CertQuery| {
                q.from = None;
                q.to = None;
            },
            false,
        )
    };
    let f8 = f.clone();
    let clear_all = move |_| {
        text.set(String::new());
        f8(&|q: &mut CertQuery| *q = CertQuery::default(), false)
    };
    let f9 = f.clone();
    // A bar's count is of the whole mount, so its list is too: only its window (and the
    // order) stays.
    let on_pick = Callback::new(move |(from, to): (i64, i64)| {
        text.set(String::new());
        f9(
            &move |q: &mut CertQuery| {
                *q = CertQuery {
                    from: Some(from),
                    to: Some(to),
                    sort: q.sort,
                    ..CertQuery::default()
                };
            },
            false,
        );
        focus_results();
    });

    // Paging: Next pushes the current cursor, Back pops it.
    let go_next = {
        let go = go.clone();
        move |_| {
            let Some(next) = meta.with_untracked(|m| m.as_ref().and_then(|m| m.next.clone()))
            else {
                return;
            };
            let cur = query.get_untracked();
            cursors.update(|c| c.push(cur.after.clone()));
            go(CertQuery { after: next, ..cur }, false);
            focus_results();
        }
    };
    let go_back = {
        let go = go.clone();
        move |_| {
            let prev = cursors
                .try_update(|c| c.pop())
                .flatten()
                .unwrap_or_default();
            go(
                CertQuery {
                    after: prev,
                    ..query.get_untracked()
                },
                false,
            );
            focus_results();
        }
    };
    let go_first = {
        let go = go.clone();
        move |_| {
            cursors.set(vec![]);
            go(query.get_untracked().first_page(), false);
            focus_results();
        }
    };
    let on_first_page = Memo::new(move |_| query.with(|q| q.after.is_empty()));
    let page_text = move || {
        let known = cursors.with(Vec::len);
        if on_first_page.get() {
            "Page 1".to_string()
        } else if known == 0 {
            // Opened at a later page (the cursors before it are not known).
            "A later page".to_string()
        } else {
            format!("Page {}", known + 1)
        }
    };

    let search = Memo::new(move |_| {
        mount
            .get()
            .map(|m| search_string(&m, &query.get()))
            .unwrap_or_default()
    });
    let export_href = move || {
        mount
            .get()
            .map(|m| api::certs::export_href(&m, &query.get()))
            .unwrap_or_default()
    };
    let export_name = move || {
        format!(
            "certificates-{}.csv",
            mount.get().unwrap_or_default().replace('/', "-")
        )
    };
    let issuer_name = move |id: &str| -> Option<String> {
        meta.with_untracked(|m| {
            m.as_ref()?
                .issuers
                .iter()
                .find(|i| i.issuer_id == id)
                .map(|i| i.name.clone())
        })
    };

    view! {
        <PageHeader page=nav::CERTIFICATES lead="Every certificate the CA issued: names, serials, expiry and revocation."/>
        {move || match mounts.get() {
            Some(Err(e)) => Some(error_view("Could not list the PKI mounts", &e, "sys/mounts").into_any()),
            Some(Ok(m)) if m.is_empty() => Some(view! {
                <section class="notice" role="status"><h2>"No PKI mount"</h2>
                <p>"The signed-in token sees no PKI secrets engine. Build one with the " <a href=nav::SETUP.path>"setup wizard"</a> "."</p></section>
            }.into_any()),
            _ => None,
        }}
        <form class="cert-filters" role="search" aria-label="Certificates" on:submit=on_submit>
            <div class="field">
                <label for="cert-mount">"PKI mount"</label>
                <select id="cert-mount" on:change=on_mount>
                    {move || {
                        let current = mount.get().unwrap_or_default();
                        let list = mounts.get().and_then(|m| m.ok()).unwrap_or_default();
                        list.into_iter().map(|m| {
                            let selected = m.path == current;
                            view! { <option value=m.path.clone() selected=selected>{m.path.clone()}</option> }
                        }).collect_view()
                    }}
                </select>
            </div>
            <div class="field cert-search">
                <label for="cert-q">"Search"</label>
                <input id="cert-q" type="search" autocomplete="off" spellcheck="false"
                    placeholder="name, SAN or serial prefix (1a:2b:…)"
                    aria-describedby="cert-q-hint"
                    prop:value=move || text.get() on:input=on_input/>
                <p id="cert-q-hint" class="field-note">"Part of the common name or a SAN, or the start of a serial number."</p>
            </div>
            <div class="field">
                <label for="cert-status">"Status"</label>
                <select id="cert-status" on:change=on_status>
                    {StatusFilter::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.with(|q| q.status == s)>{status_label(s)}</option>
                    }).collect_view()}
                </select>
            </div>
            <Show when=move || query.with(|q| q.status == StatusFilter::Expiring)>
                <div class="field cert-days">
                    <label for="cert-days">"Within days"</label>
                    <input id="cert-days" type="number" min="1" max="3650"
                        prop:value=move || query.with(|q| q.days.to_string()) on:change=on_days.clone()/>
                </div>
            </Show>
            <div class="field">
                <label for="cert-issuer">"Issuer"</label>
                <select id="cert-issuer" on:change=on_issuer>
                    <option value="" selected=move || query.with(|q| q.issuer.is_empty())>"Any issuer"</option>
                    {move || {
                        let current = query.with(|q| q.issuer.clone());
                        let mut list = meta.with(|m| m.as_ref().map(|m| m.issuers.clone()).unwrap_or_default());
                        if !current.is_empty() && !list.iter().any(|i| i.issuer_id == current) {
                            list.push(IssuerChoice { issuer_id: current.clone(), name: current.clone() });
                        }
                        list.into_iter().map(|i| {
                            let selected = i.issuer_id == current;
                            view! { <option value=i.issuer_id.clone() selected=selected>{if i.name.is_empty() { i.issuer_id.clone() } else { i.name.clone() }}</option> }
                        }).collect_view()
                    }}
                </select>
            </div>
            <div class="field">
                <label for="cert-role">"Role"</label>
                <select id="cert-role" on:change=on_role>
                    <option value="" selected=move || query.with(|q| q.role.is_empty())>"Any role"</option>
                    {move || {
                        let current = query.with(|q| q.role.clone());
                        let mut list = meta.with(|m| m.as_ref().map(|m| m.roles.clone()).unwrap_or_default());
                        if !current.is_empty() && !list.contains(&current) {
                            list.push(current.clone());
                        }
                        list.into_iter().map(|r| {
                            let selected = r == current;
                            view! { <option value=r.clone() selected=selected>{r.clone()}</option> }
                        }).collect_view()
                    }}
                </select>
            </div>
            <div class="field">
                <label for="cert-sort">"Order"</label>
                <select id="cert-sort" on:change=on_sort>
                    {Sort::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.with(|q| q.sort == s)>{sort_label(s)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="cert-actions">
                <button type="button" class="button-secondary" on:click=clear_all>"Clear filters"</button>
                <a class="button-link" href=export_href download=export_name data-testid="cert-export">"Export CSV"</a>
            </div>
        </form>
        {move || query.with(|q| (q.from, q.to)).0.is_some().then(|| {
            let (from, to) = query.with(|q| (q.from, q.to));
            view! {
                <p class="cert-window" data-testid="cert-window">
                    {format!(
                        "Expiring from {} to {}",
                        from.map(utc_text).unwrap_or_default(),
                        to.map(utc_text).unwrap_or_else(|| "any time".into()),
                    )}
                    " "
                    <button type="button" class="button-secondary" on:click=clear_window.clone()>"Clear the expiry window"</button>
                </p>
            }
        })}
        {move || query_error.get().map(|e| view! {
            <div class="error" role="alert">
                <p>{format!("The address has a filter this page cannot read: {e}")}</p>
                <p class="hint">"Change it with the controls above, or clear the filters."</p>
            </div>
        })}
        {move || mount.get().map(|m| view! {
            <ExpiryTimeline mount=m query=query on_pick=on_pick/>
        })}
        <section class="cert-results" aria-labelledby="cert-results-heading" aria-busy=move || busy.get().to_string()>
            <h2 id="cert-results-heading" tabindex="-1">"Certificates"</h2>
            <p class="cert-total" role="status" aria-live="polite" data-testid="cert-total">
                {move || if show_busy.get() {
                    view! { <span class="progress"><span class="spinner" aria-hidden="true"></span>"Searching…"</span> }.into_any()
                } else {
                    meta.with(|m| m.as_ref().map(|m| {
                        let word = if m.total == 1 { "certificate matches" } else { "certificates match" };
                        format!("{} {word}", thousands(m.total))
                    })).unwrap_or_default().into_any()
                }}
            </p>
            <p class="hint cert-source" data-testid="cert-source">
                {move || meta.with(|m| m.as_ref().map(|m| source_text(&m.source, m.now)))}
            </p>
            {move || error.get().map(|e| {
                let m = mount.get_untracked().unwrap_or_default();
                if e.status() == Some(404) && matches!(&e, ApiError::Status { messages, .. } if messages.is_empty()) {
                    view! {
                        <NotYetAvailable>
                            <p>{format!("This console server has no certificate index for {m:?}. Until it does, ")} <code>{format!("vault list {m}/certs")}</code> " shows the serials."</p>
                        </NotYetAvailable>
                    }.into_any()
                } else {
                    error_view("Could not search the certificates", &e, &m).into_any()
                }
            })}
            <Show when=move || meta.with(|m| m.as_ref().is_some_and(|m| m.total == 0)) && error.with(Option::is_none)>
                <p class="cert-empty" data-testid="cert-empty">
                    {move || if query.with(|q| *q == CertQuery::default()) {
                        "This mount has issued no certificates yet.".to_string()
                    } else {
                        "No certificate matches these filters. Clear a filter or search for less.".to_string()
                    }}
                </p>
            </Show>
            <Show when=move || !rows.with(Vec::is_empty)>
                <div class="table-scroll">
                    <table class="cert-table cert-list" data-testid="cert-table">
                        <caption class="visually-hidden">"Certificates matching the filters"</caption>
                        <colgroup>
                            <col class="col-cn"/><col class="col-sans"/><col class="col-serial"/><col class="col-issuer"/>
                            <col class="col-date"/><col class="col-left"/><col class="col-status"/><col class="col-key"/>
                        </colgroup>
                        <thead><tr>
                            <th scope="col">"Common name"</th>
                            <th scope="col">"SANs"</th>
                            <th scope="col">"Serial"</th>
                            <th scope="col">"Issuer"</th>
                            <th scope="col">"Not after (UTC)"</th>
                            <th scope="col">"Time left"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Key"</th>
                        </tr></thead>
                        <tbody>
                            <For
                                each=move || rows.get()
                                key=|(_, r)| (r.serial_number.clone(), r.revoked_at)
                                children=move |(now, r)| {
                                    let href = detail_href(&r.serial_number, &search.get_untracked());
                                    let issuer = if r.issuer.is_empty() {
                                        issuer_name(&r.issuer_id).unwrap_or_else(|| r.issuer_id.clone())
                                    } else {
                                        r.issuer.clone()
                                    };
                                    let status = r.status(now);
                                    view! {
                                        <tr data-serial=r.serial_number.clone()>
                                            <td class="cert-cn">{r.common_name.clone()}</td>
                                            <td class="cert-sans" title=r.sans.join(", ")>{sans_text(&r.sans)}</td>
                                            <td class="cert-serial"><a href=href>{r.serial_number.clone()}</a></td>
                                            <td>{issuer}</td>
                                            <td><time datetime=rfc3339(r.not_after)>{utc_text(r.not_after).trim_end_matches(" UTC").to_string()}</time></td>
                                            <td>{time_left(now, r.not_after)}</td>
                                            <td>{status_badge(status)}</td>
                                            <td>{key_text(&r.key_type, r.key_bits)}</td>
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
            </Show>
            <nav class="cert-pager" aria-label="Pages">
                <button type="button" on:click=go_first disabled=move || on_first_page.get()>"First page"</button>
                <button type="button" on:click=go_back disabled=move || on_first_page.get()>"Previous page"</button>
                <span class="cert-page-number" aria-live="polite">{page_text}</span>
                <button type="button" class="primary" on:click=go_next
                    disabled=move || meta.with(|m| m.as_ref().is_none_or(|m| m.next.is_none()))>"Next page"</button>
            </nav>
        </section>
    }
}

/// Rows rendered per task: a page is put in the table a slice at a time, each slice in
/// its own task, so no main-thread task runs long even on a slow machine.
const ROWS_PER_TASK: usize = 10;

/// Replaces the table's rows with `all`, [`ROWS_PER_TASK`] now and the rest in later
/// tasks (keyed rows: each step only adds the new slice), unless a newer search started.
fn show_in_chunks(
    rows: RwSignal<Vec<(i64, CertRow)>>,
    mut all: Vec<(i64, CertRow)>,
    generation: StoredValue<u64>,
    this: u64,
    first: bool,
) {
    let later = all.split_off(all.len().min(ROWS_PER_TASK));
    if first {
        rows.set(all);
    } else {
        rows.update(|shown| shown.extend(all));
    }
    if !later.is_empty() {
        set_timeout(
            move || {
                if generation.try_get_value() == Some(this) {
                    show_in_chunks(rows, later, generation, this, false);
                }
            },
            Duration::ZERO,
        );
    }
}

/// Moves focus to the results' heading (after paging or picking a bar), so keyboard and
/// screen-reader users land on what changed.
fn focus_results() {
    use wasm_bindgen::JsCast;
    if let Some(el) = document()
        .get_element_by_id("cert-results-heading")
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
