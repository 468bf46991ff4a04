//! A table that stays live without moving under the reader: new matching events appear at the
//! top, briefly highlighted, unless the analyst has scrolled down, paused, or opened a row; then
//! they are held and counted ("12 new events") until asked for.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

use super::{EventTable, LiveBadge};
use crate::live::{use_live_events, LiveStatus};

/// Scrolled further than this (in CSS pixels), the reader is reading: hold new events.
const READING_BELOW_PX: f64 = 120.0;

#[component]
pub fn LiveTable(
    /// The server-rendered rows, newest first.
    first_page: Vec<StoredEvent>,
    /// The table's filter as stream query parameters; `None` keeps the table still (an older
    /// page, where new events do not belong).
    stream_query: Option<String>,
    /// Most rows kept as events pile up, so a long-open tab stays light.
    #[prop(default = 500)]
    max_rows: usize,
) -> impl IntoView {
    let newest_loaded = first_page.iter().map(|e| e.seq).max();
    let arrived = RwSignal::new(Vec::<StoredEvent>::new());
    let held = RwSignal::new(Vec::<StoredEvent>::new());
    let held_count = RwSignal::new(0usize);
    let paused = RwSignal::new(false);
    let scrolled = RwSignal::new(false);
    let opened = RwSignal::new(None::<i64>);
    let status = RwSignal::new(LiveStatus::Connecting);
    let holding = Memo::new(move |_| paused.get() || scrolled.get() || opened.get().is_some());

    let show_held = move || {
        let mut waiting = held.try_update(std::mem::take).unwrap_or_default();
        held_count.set(0);
        arrived.update(|rows| {
            waiting.append(rows);
            *rows = waiting;
            rows.truncate(max_rows);
        });
    };
    let is_live = stream_query.is_some();
    if let Some(query) = stream_query {
        use_live_events(query, newest_loaded, status, move |event| {
            if holding.get_untracked() {
                held_count.update(|n| *n += 1);
                held.update(|rows| {
                    rows.insert(0, event);
                    rows.truncate(max_rows);
                });
            } else {
                arrived.update(|rows| {
                    rows.insert(0, event);
                    rows.truncate(max_rows);
                });
            }
        });
        follow_scrolling(scrolled);
    }

    let first_page = StoredValue::new(first_page);
    let rows = Signal::derive(move || {
        let mut rows = arrived.get();
        first_page.with_value(|page| rows.extend_from_slice(page));
        rows.truncate(max_rows);
        rows
    });
    view! {
        <Show when=move || is_live>
            <div class="live-controls">
                <LiveBadge status=status/>
                <button type="button" class="pause" data-testid="pause"
                    on:click=move |_| {
                        let resuming = paused.get_untracked();
                        paused.set(!resuming);
                        if resuming && !scrolled.get_untracked() && opened.get_untracked().is_none() {
                            show_held();
                        }
                    }>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
                <Show when=move || { held_count.get() > 0 }>
                    <button type="button" class="held" data-testid="held-events"
                        on:click=move |_| show_held()>
                        {move || match held_count.get() {
                            1 => "1 new event".to_owned(),
                            n => format!("{n} new events"),
                        }}
                    </button>
                </Show>
            </div>
        </Show>
        <EventTable rows=rows highlight_after=newest_loaded.unwrap_or(0) opened=opened/>
    }
}

/// Keeps `scrolled` true while the page is scrolled down. Browser only.
fn follow_scrolling(scrolled: RwSignal<bool>) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let handle = window_event_listener(leptos::ev::scroll, move |_| {
                let y = window().scroll_y().unwrap_or(0.0);
                scrolled.set(y > READING_BELOW_PX);
            });
            on_cleanup(move || handle.remove());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (scrolled, READING_BELOW_PX);
    });
}
