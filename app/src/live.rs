//! The browser side of the live stream: a WebSocket to `/api/v1/stream` that reconnects.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    Connecting,
    Live,
    Reconnecting,
}

impl LiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveStatus::Connecting => "connecting",
            LiveStatus::Live => "live",
            LiveStatus::Reconnecting => "reconnecting",
        }
    }
}

/// Calls `on_event` for each event the server pushes. Does nothing during server rendering.
pub fn use_live_events(
    status: RwSignal<LiveStatus>,
    on_event: impl Fn(StoredEvent) + Clone + 'static,
) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        browser::connect(status, on_event.clone(), 0);
        #[cfg(not(feature = "hydrate"))]
        let _ = (status, &on_event);
    });
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::LiveStatus;
    use leptos::prelude::*;
    use std::time::Duration;
    use vigil_wire::{LiveMessage, StoredEvent};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    /// Longest wait between reconnection attempts.
    const MAX_BACKOFF_MS: u64 = 10_000;

    pub fn connect(
        status: RwSignal<LiveStatus>,
        on_event: impl Fn(StoredEvent) + Clone + 'static,
        attempt: u32,
    ) {
        let location = window().location();
        let scheme = if location.protocol().as_deref() == Ok("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{host}/api/v1/stream")) else {
            status.set(LiveStatus::Reconnecting);
            return;
        };

        let on_open = Closure::<dyn FnMut()>::new(move || status.set(LiveStatus::Live));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let Some(text) = message.data().as_string() else {
                return;
            };
            if let Ok(LiveMessage::Event { event }) = serde_json::from_str::<LiveMessage>(&text) {
                handler(*event);
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut()>::new(move || {
            status.set(LiveStatus::Reconnecting);
            let delay = (500u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
            let on_event = on_event.clone();
            set_timeout(
                move || connect(status, on_event, attempt + 1),
                Duration::from_millis(delay),
            );
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
    }
}
