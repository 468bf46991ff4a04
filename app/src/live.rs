//! The browser side of the live stream: one WebSocket per table, with that table's filter,
//! resuming with `after=` from the last seq it saw whenever it reconnects, so nothing committed
//! while the connection was down is missed.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    Connecting,
    Live,
    /// The connection dropped; retrying soon.
    Reconnecting,
    /// Several attempts failed in a row; still retrying, less often.
    Offline,
}

impl LiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveStatus::Connecting => "connecting",
            LiveStatus::Live => "live",
            LiveStatus::Reconnecting => "reconnecting",
            LiveStatus::Offline => "offline",
        }
    }
}

/// Follows `/api/v1/stream?{filter_query}` from `after` (the newest seq the page already shows)
/// and calls `on_event` for each matching event, in seq order. The connection closes with the
/// component that called this. Does nothing during server rendering.
pub fn use_live_events(
    filter_query: String,
    after: Option<i64>,
    status: RwSignal<LiveStatus>,
    on_event: impl Fn(StoredEvent) + Clone + 'static,
) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        browser::follow(filter_query.clone(), after, status, on_event.clone());
        #[cfg(not(feature = "hydrate"))]
        let _ = (&filter_query, after, status, &on_event);
    });
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::LiveStatus;
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;
    use vigil_wire::{LiveMessage, StoredEvent};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    /// Longest wait between reconnection attempts.
    const MAX_BACKOFF_MS: u64 = 10_000;
    /// Failed attempts in a row after which the table says it is offline.
    const OFFLINE_AFTER: u32 = 3;

    /// One table's subscription, shared by the socket callbacks.
    struct Follower {
        filter_query: String,
        /// Everything through this seq has been shown or did not match: where to resume.
        after: Cell<Option<i64>>,
        attempt: Cell<u32>,
        socket: RefCell<Option<WebSocket>>,
        /// Set when the table goes away: no more reconnecting.
        closed: Cell<bool>,
        status: RwSignal<LiveStatus>,
        on_event: Box<dyn Fn(StoredEvent)>,
    }

    pub fn follow(
        filter_query: String,
        after: Option<i64>,
        status: RwSignal<LiveStatus>,
        on_event: impl Fn(StoredEvent) + 'static,
    ) {
        let follower = Rc::new(Follower {
            filter_query,
            after: Cell::new(after),
            attempt: Cell::new(0),
            socket: RefCell::new(None),
            closed: Cell::new(false),
            status,
            on_event: Box::new(on_event),
        });
        connect(follower.clone());
        // Cleanup runs on the browser's one thread; the wrapper only satisfies the signature.
        let follower = SendWrapper::new(follower);
        on_cleanup(move || {
            follower.closed.set(true);
            if let Some(socket) = follower.socket.borrow_mut().take() {
                let _ = socket.close();
            }
        });
    }

    fn connect(follower: Rc<Follower>) {
        if follower.closed.get() {
            return;
        }
        let location = window().location();
        let scheme = if location.protocol().as_deref() == Ok("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let mut url = format!("{scheme}://{host}/api/v1/stream?{}", follower.filter_query);
        if let Some(after) = follower.after.get() {
            url.push_str(&format!("&after={after}"));
        }
        let Ok(socket) = WebSocket::new(&url) else {
            retry_later(follower);
            return;
        };

        let on_open = {
            let follower = follower.clone();
            Closure::<dyn FnMut()>::new(move || {
                follower.attempt.set(0);
                follower.status.set(LiveStatus::Live);
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = {
            let follower = follower.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
                let Some(text) = message.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<LiveMessage>(&text) {
                    Ok(LiveMessage::Event { event }) => {
                        if follower.after.get().is_some_and(|after| event.seq <= after) {
                            return; // already shown before a reconnect
                        }
                        follower.after.set(Some(event.seq));
                        (follower.on_event)(*event);
                    }
                    Ok(LiveMessage::Heartbeat { seq }) => {
                        let after = follower.after.get().map_or(seq, |a| a.max(seq));
                        follower.after.set(Some(after));
                    }
                    Ok(LiveMessage::Resync { after }) => {
                        follower.after.set(Some(after));
                        if let Some(socket) = follower.socket.borrow().as_ref() {
                            let _ = socket.close(); // reconnects from `after`
                        }
                    }
                    // Event streams do not ask for alerts (`live_alerts.rs` does).
                    Ok(LiveMessage::Alert { .. }) | Err(_) => {}
                }
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = {
            let follower = follower.clone();
            Closure::<dyn FnMut()>::new(move || retry_later(follower.clone()))
        };
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        *follower.socket.borrow_mut() = Some(socket);
    }

    fn retry_later(follower: Rc<Follower>) {
        if follower.closed.get() {
            return;
        }
        let attempt = follower.attempt.get();
        follower.attempt.set(attempt + 1);
        follower.status.set(if attempt + 1 >= OFFLINE_AFTER {
            LiveStatus::Offline
        } else {
            LiveStatus::Reconnecting
        });
        let delay = (500u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
        let follower = SendWrapper::new(follower);
        set_timeout(
            move || connect(follower.take()),
            Duration::from_millis(delay),
        );
    }
}
