//! Plain SVG charts drawn by the app (no chart library): a bar per time bucket with a time axis,
//! a count scale, a tooltip and drag-to-zoom; and ranked lists.

mod axis;
mod zoom;

use leptos::html::Div;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;
use vigil_wire::{Ranked, Volume};

use self::axis::{bucket_span, count_label, span_label, time_ticks, y_scale, zoomed_query};
use self::zoom::{begin_drag, pointer_fraction, ChartPointer};
use super::timestamp::TimeZoneChoice;
use crate::filters::{explorer_href, ip_href, user_href};

/// Drawing size in SVG units; the element scales to its container (labels are HTML beside it,
/// so they never stretch).
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 110.0;
/// Part of a bar's slot the bar fills; the rest is the gap to the next.
const BAR_FILL: f64 = 0.85;

fn width_label(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s => format!("{} min", s / 60),
    }
}

/// `3 events`, `1 event`: `what` is a plural noun.
fn counted(n: i64, what: &str) -> String {
    match what.strip_suffix('s') {
        Some(one) if n == 1 => format!("1 {one}"),
        _ => format!("{n} {what}"),
    }
}

/// A percentage for a `left:`/`bottom:` style (positions, never event values).
fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

#[component]
pub fn BarChart(volume: Volume, what: &'static str) -> impl IntoView {
    let zone = TimeZoneChoice::current();
    let count = volume.buckets.len();
    let peak = volume.buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let total: i64 = volume.buckets.iter().map(|b| b.count).sum();
    let range = count
        .checked_sub(1)
        .and_then(|last| bucket_span(&volume, 0, last));
    let slot = WIDTH / count.max(1) as f64;
    let bucket_width = chrono::Duration::try_seconds(volume.bucket_seconds).unwrap_or_default();
    let height_of = move |n: i64| {
        if peak == 0 {
            0.0
        } else {
            HEIGHT * n as f64 / peak as f64
        }
    };
    let scale = y_scale(peak);
    let ticks = Memo::new(move |_| {
        range.map_or_else(Vec::new, |(start, end)| {
            time_ticks(start, end, zone.zone().offset_at(start))
        })
    });

    let bars = volume
        .buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let height = height_of(bucket.count);
            let (start, n) = (bucket.start, bucket.count);
            let tip = move || {
                let chosen = zone.zone();
                let end = start.checked_add_signed(bucket_width).unwrap_or(start);
                format!(
                    "{} {} · {}",
                    span_label(start, end, chosen.offset_at(start)),
                    chosen.label(),
                    counted(n, what)
                )
            };
            view! {
                <rect class="bar" data-count=n x=format!("{:.2}", i as f64 * slot)
                    y=format!("{:.2}", HEIGHT - height)
                    width=format!("{:.2}", (slot * BAR_FILL).max(0.5)) height=format!("{height:.2}")>
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    let gridlines = scale
        .iter()
        .map(|&value| {
            let y = format!("{:.2}", HEIGHT - height_of(value));
            view! {
                <line class=if value == 0 { "baseline" } else { "grid" } x1="0" x2=WIDTH
                    y1=y.clone() y2=y vector-effect="non-scaling-stroke"/>
            }
        })
        .collect_view();
    let y_labels = scale
        .iter()
        .map(|&value| {
            let bottom = if peak == 0 { 0.0 } else { value as f64 / peak as f64 };
            view! { <span class="y-tick" style=format!("bottom: {}", percent(bottom))>{count_label(value)}</span> }
        })
        .collect_view();
    let tick_lines = move || {
        ticks
            .get()
            .into_iter()
            .map(|tick| {
                let x = format!("{:.2}", tick.fraction * WIDTH);
                view! { <line class="tick-line" x1=x.clone() x2=x y1="0" y2=HEIGHT vector-effect="non-scaling-stroke"/> }
            })
            .collect_view()
    };
    let x_labels = move || {
        ticks
            .get()
            .into_iter()
            .map(|tick| {
                // Labels at the very ends align inward, so they stay inside the chart.
                let (first, last) = (tick.fraction < 0.04, tick.fraction > 0.96);
                view! {
                    <span class="x-tick" class:first=first class:last=last
                        style=format!("left: {}", percent(tick.fraction))>{tick.label}</span>
                }
            })
            .collect_view()
    };

    let plot = NodeRef::<Div>::new();
    let pointer = ChartPointer::new(count);
    let volume = StoredValue::new(volume);
    let navigate = use_navigate();
    let location = use_location();
    let zoom_to = move |(first, last): (usize, usize)| {
        let Some((since, until)) = volume.with_value(|v| bucket_span(v, first, last)) else {
            return;
        };
        let query = zoomed_query(&location.search.get_untracked(), since, until);
        let href = format!("{}{query}", location.pathname.get_untracked());
        // The reader is looking at the chart: stay there.
        let options = NavigateOptions {
            scroll: false,
            ..NavigateOptions::default()
        };
        navigate(&href, options);
    };
    let selection = move || {
        pointer.dragging().map(|(first, last)| {
            view! {
                <rect class="selection" data-testid="chart-selection"
                    x=format!("{:.2}", first as f64 * slot) y="0"
                    width=format!("{:.2}", (last - first + 1) as f64 * slot) height=HEIGHT/>
            }
        })
    };
    let tooltip = move || {
        let (first, last) = pointer.span()?;
        let dragging = pointer.dragging().is_some();
        let chosen = zone.zone();
        let (when, n) = volume.with_value(|v| {
            let (since, until) = bucket_span(v, first, last)?;
            let n: i64 = v.buckets.get(first..=last)?.iter().map(|b| b.count).sum();
            Some((span_label(since, until, chosen.offset_at(since)), n))
        })?;
        let middle = (first + last + 1) as f64 / 2.0 / count as f64;
        let (toward_left, toward_right) = (middle > 0.7, middle < 0.3);
        Some(view! {
            <div class="chart-tooltip" data-testid="chart-tooltip" class:toward-left=toward_left
                class:toward-right=toward_right style=format!("left: {}", percent(middle))>
                <span class="when">{when}" "{chosen.label()}</span>
                <span class="count" data-testid="chart-tooltip-count">{counted(n, what)}</span>
                <span class="hint">{if dragging { "release to zoom" } else { "click or drag to zoom" }}</span>
            </div>
        })
    };

    let caption = format!(
        "{what} per {} · {total} in range · peak {peak}",
        width_label(volume.with_value(|v| v.bucket_seconds))
    );
    view! {
        <figure class="chart" data-testid="volume-chart">
            <div class="chart-body">
                <div class="y-axis" aria-hidden="true" data-testid="y-axis">{y_labels}</div>
                <div class="plot" node_ref=plot data-testid="chart-plot"
                    on:pointermove=move |ev| pointer.hover(pointer_fraction(plot, &ev))
                    on:pointerdown=move |ev| {
                        if begin_drag(plot, &ev) {
                            pointer.press(pointer_fraction(plot, &ev));
                        }
                    }
                    on:pointerup=move |ev| {
                        if let Some(span) = pointer.release(pointer_fraction(plot, &ev)) {
                            zoom_to(span);
                        }
                    }
                    on:pointerleave=move |_| pointer.leave()
                    on:pointercancel=move |_| pointer.cancel()>
                    <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=caption.clone()>
                        <g class="gridlines">{gridlines}{tick_lines}</g>
                        <g class="bars">{bars}</g>
                        {selection}
                    </svg>
                    {tooltip}
                </div>
                <div class="x-axis" aria-hidden="true" data-testid="x-axis">{x_labels}</div>
            </div>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// What a chart or list shows when its filter names a person, address, session or text (no
/// aggregate keeps those) and counting the raw rows took longer than the server allows.
#[component]
pub fn TooBroad(what: &'static str) -> impl IntoView {
    view! {
        <p class="too-broad" data-testid="too-broad" data-what=what>
            "Too many events to count quickly for this filter: narrow the time range or refine the filter."
        </p>
    }
}

/// A ranked value: a link to its page where it has one (a user, an address), else text.
fn entity_link(param: &str, value: &str) -> AnyView {
    let text = value.to_owned();
    match param {
        "user" => view! { <A href=user_href(value) attr:class="entity-link">{text}</A> }.into_any(),
        "ip" => view! { <A href=ip_href(value) attr:class="entity-link">{text}</A> }.into_any(),
        _ => view! { <span class="value">{text}</span> }.into_any(),
    }
}

/// A ranked list whose values link to their entity pages, each with a pivot of the explorer
/// (`param=value`) beside it.
#[component]
pub fn TopList(title: &'static str, param: &'static str, items: Vec<Ranked>) -> impl IntoView {
    let peak = items.first().map_or(1, |r| r.count.max(1));
    view! {
        <div class="top-list" data-testid=format!("top-{param}")>
            <h3>{title}</h3>
            {if items.is_empty() {
                view! { <p class="empty">"None in range."</p> }.into_any()
            } else {
                view! {
                    <ol>
                        {items.into_iter().map(|item| {
                            let share = format!("width: {:.0}%", 100.0 * item.count as f64 / peak as f64);
                            view! {
                                <li>
                                    <span class="bar" style=share></span>
                                    {entity_link(param, &item.value)}
                                    <A href=explorer_href(param, &item.value) attr:class="pivot filter" attr:title="filter the explorer by it">"⌕"</A>
                                    <span class="count">{item.count}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use leptos_router::components::Router;
    use leptos_router::location::RequestUrl;
    use vigil_wire::Bucket;

    #[test]
    fn the_server_draws_the_axes_and_bars_without_the_browser() {
        let owner = Owner::new();
        owner.set();
        provide_context(RequestUrl::new("/events?since=24h"));
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let volume = Volume {
            bucket_seconds: 1_800,
            buckets: (0..48)
                .map(|i| Bucket {
                    start: start + Duration::minutes(30 * i),
                    count: i % 10,
                })
                .collect(),
        };
        let html = view! { <Router><BarChart volume what="events"/></Router> }.to_html();
        assert_eq!(html.matches(r#"class="bar""#).count(), 48, "{html}");
        assert_eq!(html.matches(r#"class="x-tick"#).count(), 8, "{html}");
        assert!(
            html.contains(">May 02</span>"),
            "midnight shows its date: {html}"
        );
        // Peak 9: 0, 2, 4, 6, 8.
        assert_eq!(html.matches(r#"class="y-tick""#).count(), 5, "{html}");
        assert!(
            html.contains("<title>2026-05-01 12:30 – 13:00 UTC · 1 event</title>"),
            "{html}"
        );
        assert!(!html.contains("chart-tooltip"), "no pointer, no tooltip");
    }
}
