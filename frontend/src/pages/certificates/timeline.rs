//! The expiry timeline: certificates whose `not_after` falls in each day of the next 90
//! days and each hour of the next 24 (`/api/certs/<mount>/timeline`), as SVG bars drawn
//! with attributes and classes only (the CSP allows no inline style). Each bar is a
//! button (one tab stop per chart; arrow keys, Home and End move between bars) whose
//! Enter, Space or click lists the certificates expiring in it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::certs::{CertQuery, Timeline, rfc3339};
use wasm_bindgen::JsCast;

use super::{error_view, thousands};
use crate::api::{self, ApiError};

/// Drawing units of a chart (the SVG scales to the page's width).
const BAR_W: i64 = 10;
const GAP: i64 = 2;
const LEFT: i64 = 44;
const TOP: i64 = 12;
const PLOT_H: i64 = 100;
const BOTTOM: i64 = 30;

#[component]
pub fn ExpiryTimeline(
    mount: String,
    query: Memo<CertQuery>,
    on_pick: Callback<(i64, i64)>,
) -> impl IntoView {
    let data = RwSignal::new(None::<Result<Timeline, ApiError>>);
    {
        let mount = mount.clone();
        spawn_local(async move {
            let answer = api::certs::timeline(&mount).await;
            data.set(Some(answer));
        });
    }
    let selected = Memo::new(move |_| query.with(|q| (q.from, q.to)));
    view! {
        <section class="cert-timeline" aria-labelledby="cert-timeline-heading">
            <h2 id="cert-timeline-heading">"Expiry timeline"</h2>
            <p class="hint">"Certificates (revoked ones included) whose validity ends in each day and hour, UTC. Select a bar to list them."</p>
            {move || match data.get() {
                None => view! {
                    <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Loading the timeline…"</p>
                }.into_any(),
                Some(Err(e)) => error_view("Could not load the expiry timeline", &e, &mount).into_any(),
                Some(Ok(t)) => {
                    let days: Vec<Bar> = t.days.iter().enumerate().map(|(i, &count)| {
                        let start = t.day_start + i as i64 * 86_400;
                        Bar { start, end: start + 86_400, count }
                    }).collect();
                    let hours: Vec<Bar> = t.hours.iter().enumerate().map(|(i, &count)| {
                        let start = t.hour_start + i as i64 * 3600;
                        Bar { start, end: start + 3600, count }
                    }).collect();
                    view! {
                        <div class="timeline-charts">
                            <Chart id="day" title=format!("Next {} days", days.len()) bars=days selected=selected on_pick=on_pick/>
                            <Chart id="hour" title=format!("Next {} hours", hours.len()) bars=hours selected=selected on_pick=on_pick/>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bar {
    start: i64,
    end: i64,
    count: u64,
}

impl Bar {
    /// `2026-12-04` for a day, `2026-12-04 14:00` for an hour.
    fn when(&self, hourly: bool) -> String {
        let t = rfc3339(self.start);
        if hourly {
            format!("{} {}", &t[..10], &t[11..16])
        } else {
            t[..10].to_string()
        }
    }

    fn label(&self, hourly: bool) -> String {
        let (n, verb) = if self.count == 1 {
            ("1 certificate".to_string(), "expires")
        } else {
            (format!("{} certificates", thousands(self.count)), "expire")
        };
        if hourly {
            format!(
                "{n} {verb} on {} between {} and {} UTC",
                &rfc3339(self.start)[..10],
                &rfc3339(self.start)[11..16],
                &rfc3339(self.end)[11..16]
            )
        } else {
            format!("{n} {verb} on {}", self.when(false))
        }
    }
}

/// Calls `el.focus()` (an SVG element is no `HtmlElement` to web-sys).
fn focus_element(id: &str) {
    if let Some(el) = document().get_element_by_id(id)
        && let Ok(f) = js_sys::Reflect::get(&el, &"focus".into())
        && let Some(f) = f.dyn_ref::<js_sys::Function>()
    {
        let _ = f.call0(&el);
    }
}

#[component]
fn Chart(
    id: &'static str,
    title: String,
    bars: Vec<Bar>,
    selected: Memo<(Option<i64>, Option<i64>)>,
    on_pick: Callback<(i64, i64)>,
) -> impl IntoView {
    let hourly = id == "hour";
    let n = bars.len() as i64;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let width = LEFT + n * (BAR_W + GAP) + GAP;
    let height = TOP + PLOT_H + BOTTOM;
    let base = TOP + PLOT_H;
    // One tab stop: the bar last focused (first the first bar with certificates).
    let active = RwSignal::new(bars.iter().position(|b| b.count > 0).unwrap_or(0));
    let bar_id = move |i: usize| format!("tl-{id}-{i}");
    let total: u64 = bars.iter().map(|b| b.count).sum();
    let bars_for_keys = bars.clone();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let len = bars_for_keys.len();
        if len == 0 {
            return;
        }
        let at = active.get_untracked().min(len - 1);
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (at + 1).min(len - 1),
            "ArrowLeft" | "ArrowUp" => at.saturating_sub(1),
            "Home" => 0,
            "End" => len - 1,
            "PageDown" => (at + 7).min(len - 1),
            "PageUp" => at.saturating_sub(7),
            "Enter" | " " => {
                ev.prevent_default();
                let b = bars_for_keys[at];
                on_pick.run((b.start, b.end));
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        active.set(next);
        focus_element(&bar_id(next));
    };
    // Axis labels: the first bar, every 30 days / 6 hours, and the last.
    let step = if hourly { 6 } else { 30 };
    let ticks: Vec<(i64, String)> = bars
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == bars.len())
        .map(|(i, b)| {
            let t = rfc3339(b.start);
            let text = if hourly {
                t[11..16].to_string()
            } else {
                t[5..10].to_string()
            };
            (LEFT + i as i64 * (BAR_W + GAP) + GAP + BAR_W / 2, text)
        })
        .collect();
    view! {
        <figure class="timeline" data-testid=format!("timeline-{id}")>
            <figcaption>{format!("{title}: {} certificates", thousands(total))}</figcaption>
            <svg
                class="timeline-svg"
                viewBox=format!("0 0 {width} {height}")
                width=width.to_string()
                height=height.to_string()
                role="group"
                aria-label=format!("Certificates expiring per {}, {title}", if hourly { "hour" } else { "day" })
                on:keydown=on_key
            >
                <line class="timeline-axis" x1=LEFT.to_string() y1=base.to_string() x2=width.to_string() y2=base.to_string()/>
                <line class="timeline-axis" x1=LEFT.to_string() y1=TOP.to_string() x2=LEFT.to_string() y2=base.to_string()/>
                <text class="timeline-label" x=(LEFT - 4).to_string() y=(TOP + 4).to_string() text-anchor="end">{thousands(max)}</text>
                <text class="timeline-label" x=(LEFT - 4).to_string() y=base.to_string() text-anchor="end">"0"</text>
                {ticks.into_iter().map(|(x, text)| view! {
                    <text class="timeline-label" x=x.to_string() y=(base + 16).to_string() text-anchor="middle">{text}</text>
                }).collect_view()}
                {bars.into_iter().enumerate().map(|(i, b)| {
                    let h = if b.count == 0 { 0 } else { ((b.count * PLOT_H as u64) / max).max(2) as i64 };
                    let x = LEFT + i as i64 * (BAR_W + GAP) + GAP;
                    let label = b.label(hourly);
                    let title = label.clone();
                    let is_selected = move || selected.get() == (Some(b.start), Some(b.end));
                    view! {
                        <g
                            id=bar_id(i)
                            class=move || if is_selected() { "timeline-bar selected" } else { "timeline-bar" }
                            role="button"
                            tabindex=move || if active.get() == i { "0" } else { "-1" }
                            aria-label=label
                            aria-pressed=move || is_selected().to_string()
                            data-count=b.count.to_string()
                            data-from=b.start.to_string()
                            data-to=b.end.to_string()
                            on:focus=move |_| active.set(i)
                            on:click=move |_| {
                                active.set(i);
                                on_pick.run((b.start, b.end));
                            }
                        >
                            <title>{title}</title>
                            <rect class="timeline-hit" x=x.to_string() y=TOP.to_string() width=BAR_W.to_string() height=PLOT_H.to_string()/>
                            <rect class="timeline-fill" x=x.to_string() y=(base - h).to_string() width=BAR_W.to_string() height=h.to_string()/>
                        </g>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}
