//! Every timestamp on the page, in the zone the reader chose: UTC (what the server renders, as
//! it cannot know the browser's zone) or the browser's local time. The choice is one context
//! signal, provided by `App` and remembered per browser in `localStorage`.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use leptos::prelude::*;

/// Where the browser keeps the choice.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const STORAGE_KEY: &str = "vigil.time-zone";

/// The zone timestamps are shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Zone {
    #[default]
    Utc,
    /// The browser's zone, offset per instant (so daylight saving is followed).
    Local,
}

impl Zone {
    /// How the choice is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Utc => "utc",
            Zone::Local => "local",
        }
    }

    pub fn parse(raw: &str) -> Option<Zone> {
        match raw {
            "utc" => Some(Zone::Utc),
            "local" => Some(Zone::Local),
            _ => None,
        }
    }

    /// What headings and tooltips call it: "Time (UTC)", "Time (local)".
    pub fn label(self) -> &'static str {
        match self {
            Zone::Utc => "UTC",
            Zone::Local => "local",
        }
    }

    /// This zone's offset from UTC at `at`.
    pub fn offset_at(self, at: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Utc => FixedOffset::east_opt(0).expect("zero is a valid offset"),
            Zone::Local => browser_offset_at(at),
        }
    }
}

/// The browser's offset at `at`. chrono's `Local` reads it from JavaScript's `Date` under wasm
/// (its `wasmbind` feature); the server never shows local time, so there it is UTC.
fn browser_offset_at(at: DateTime<Utc>) -> FixedOffset {
    #[cfg(feature = "hydrate")]
    {
        use chrono::{Offset, TimeZone};
        chrono::Local
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        FixedOffset::east_opt(0).expect("zero is a valid offset")
    }
}

/// How much of a timestamp is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2026-05-01 12:34:56`: tables.
    #[default]
    Seconds,
    /// `2026-05-01 12:34`: when a thing was created.
    Minutes,
    /// `2026-05-01T12:34:56.789+00:00`: every field of one event, to the instant.
    Rfc3339,
}

/// `at` as seen at `offset`.
pub fn format_time(at: DateTime<Utc>, offset: FixedOffset, format: TimeFormat) -> String {
    let seen = at.with_timezone(&offset);
    match format {
        TimeFormat::Seconds => seen.format("%Y-%m-%d %H:%M:%S").to_string(),
        TimeFormat::Minutes => seen.format("%Y-%m-%d %H:%M").to_string(),
        TimeFormat::Rfc3339 => seen.to_rfc3339(),
    }
}

/// The page's zone choice (a context signal).
#[derive(Clone, Copy, Debug)]
pub struct TimeZoneChoice(RwSignal<Zone>);

impl TimeZoneChoice {
    /// Called once, in `App`. Starts at UTC on both sides, so the first client render is the
    /// server's HTML; the stored choice is applied after hydration.
    pub fn provide() {
        let zone = RwSignal::new(Zone::Utc);
        provide_context(TimeZoneChoice(zone));
        Effect::new(move |_| {
            if let Some(stored) = stored_zone() {
                zone.set(stored);
            }
        });
    }

    /// The page's choice; UTC where no `App` provided one (a component rendered on its own).
    pub fn current() -> Self {
        use_context().unwrap_or_else(|| TimeZoneChoice(RwSignal::new(Zone::Utc)))
    }

    /// The chosen zone (tracked: a closure reading it re-renders on a switch).
    pub fn zone(self) -> Zone {
        self.0.get()
    }

    /// Switches every timestamp on the page and remembers the choice in this browser.
    pub fn choose(self, zone: Zone) {
        self.0.set(zone);
        store_zone(zone);
    }

    /// `at` in the chosen zone (tracked).
    pub fn format(self, at: DateTime<Utc>, format: TimeFormat) -> String {
        let zone = self.zone();
        format_time(at, zone.offset_at(at), format)
    }
}

fn stored_zone() -> Option<Zone> {
    #[cfg(feature = "hydrate")]
    {
        // Storage can be refused (a privacy mode): then the page stays in UTC.
        let storage = window().local_storage().ok().flatten()?;
        let raw = storage.get_item(STORAGE_KEY).ok().flatten()?;
        Zone::parse(&raw)
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

fn store_zone(zone: Zone) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item(STORAGE_KEY, zone.as_str());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = zone;
}

/// One timestamp, as text in the chosen zone, with its instant in `datetime`.
#[component]
pub fn Timestamp(at: DateTime<Utc>, #[prop(optional)] format: TimeFormat) -> impl IntoView {
    let choice = TimeZoneChoice::current();
    let instant = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    view! { <time datetime=instant>{move || choice.format(at, format)}</time> }
}

/// The chosen zone's name, for headings: `"Time ("<ZoneName/>")"`.
#[component]
pub fn ZoneName() -> impl IntoView {
    let choice = TimeZoneChoice::current();
    move || choice.zone().label()
}

/// The top bar's switch between UTC and local time.
#[component]
pub fn TimeZoneToggle() -> impl IntoView {
    let choice = TimeZoneChoice::current();
    let option = move |zone: Zone, text: &'static str| {
        let chosen = move || choice.zone() == zone;
        view! {
            <button type="button" data-zone=zone.as_str() class:chosen=chosen
                aria-pressed=move || chosen().to_string()
                on:click=move |_| choice.choose(zone)>{text}</button>
        }
    };
    view! {
        <div class="time-zone" role="group" aria-label="Show times in" data-testid="time-zone">
            {option(Zone::Utc, "UTC")}
            {option(Zone::Local, "Local")}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 20, 34, 56).unwrap()
    }

    #[test]
    fn a_time_reads_the_same_instant_in_either_zone() {
        let kolkata = FixedOffset::east_opt(5 * 3_600 + 1_800).unwrap();
        let utc = Zone::Utc.offset_at(at());
        assert_eq!(
            format_time(at(), utc, TimeFormat::Seconds),
            "2026-05-01 20:34:56"
        );
        assert_eq!(
            format_time(at(), kolkata, TimeFormat::Seconds),
            "2026-05-02 02:04:56"
        );
        assert_eq!(
            format_time(at(), kolkata, TimeFormat::Minutes),
            "2026-05-02 02:04"
        );
        assert_eq!(
            format_time(at(), kolkata, TimeFormat::Rfc3339),
            "2026-05-02T02:04:56+05:30"
        );
        assert_eq!(
            format_time(at(), utc, TimeFormat::Rfc3339),
            at().to_rfc3339()
        );
    }

    #[test]
    fn the_server_renders_utc_with_the_instant_in_datetime() {
        let owner = Owner::new();
        owner.set();
        let html = view! { <Timestamp at=at()/> }.to_html();
        assert!(
            html.contains(r#"datetime="2026-05-01T20:34:56Z""#),
            "{html}"
        );
        assert!(html.contains("2026-05-01 20:34:56"), "{html}");
        assert_eq!(Zone::parse(Zone::Local.as_str()), Some(Zone::Local));
        assert_eq!(Zone::parse("Europe/Paris"), None);
    }
}
