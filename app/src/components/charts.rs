//! Plain SVG charts drawn by the app (no chart library): a bar per time bucket, and ranked lists.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::filters::explorer_href;
use vigil_wire::{Ranked, Volume};

/// Drawing size in SVG units; the element scales to its container.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 110.0;

fn width_label(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s => format!("{} min", s / 60),
    }
}

#[component]
pub fn BarChart(volume: Volume, what: &'static str) -> impl IntoView {
    let peak = volume.buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let total: i64 = volume.buckets.iter().map(|b| b.count).sum();
    let slot = WIDTH / volume.buckets.len().max(1) as f64;
    let bars = volume
        .buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let height = if peak == 0 {
                0.0
            } else {
                HEIGHT * bucket.count as f64 / peak as f64
            };
            let tip = format!(
                "{} UTC · {} {what}",
                bucket.start.format("%Y-%m-%d %H:%M"),
                bucket.count
            );
            view! {
                <rect x=format!("{:.2}", i as f64 * slot) y=format!("{:.2}", HEIGHT - height)
                    width=format!("{:.2}", (slot * 0.85).max(0.5)) height=format!("{height:.2}")>
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    let caption = format!(
        "{what} per {} · {total} in range · peak {peak}",
        width_label(volume.bucket_seconds)
    );
    view! {
        <figure class="chart" data-testid="volume-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=caption.clone()>
                {bars}
            </svg>
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

/// A ranked list whose values pivot the explorer (`param=value`).
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
                                    <A href=explorer_href(param, &item.value) attr:class="pivot">{item.value.clone()}</A>
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
