//! Alert changes pushed over the live stream (`/api/v1/stream?events=false&alerts=true`): one
//! socket per page, opened by the top bar's count, resuming with `alerts_after=` from the last
//! change it heard of whenever it reconnects. What it hears is a version number that pages put
//! in their resources' sources, so every view of alerts refetches itself (simple, and correct
//! whatever the change was: a new alert, more matches, a status another operator set).

use leptos::prelude::*;

use crate::live::LiveStatus;

/// How long a burst of changes is gathered before views refetch, in milliseconds: an attack
/// that updates many alerts at once costs one refetch, not one per change.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const GATHER_MS: u64 = 250;

/// Shared through context from the app's root: the top bar writes it, pages read it.
#[derive(Clone, Copy, Debug)]
pub struct AlertChanges {
    /// Bumped (after `GATHER_MS`) whenever alerts changed.
    pub version: RwSignal<u64>,
    /// The alert stream's connection.
    pub status: RwSignal<LiveStatus>,
}

impl AlertChanges {
    pub fn provide() {
        provide_context(AlertChanges {
            version: RwSignal::new(0),
            status: RwSignal::new(LiveStatus::Connecting),
        });
    }

    /// The root's, or a still one (a page rendered outside the app, as in a test).
    pub fn current() -> AlertChanges {
        use_context::<AlertChanges>().unwrap_or_else(|| AlertChanges {
            version: RwSignal::new(0),
            status: RwSignal::new(LiveStatus::Offline),
        })
    }

    /// What a view of alerts puts in its resource's source: tracks every change.
    pub fn track(self) -> u64 {
        self.version.get()
    }
}

/// Follows alert changes, once `resume_after` returns `Some` (the server-rendered summary has
/// arrived; its change seq, if it had one), for as long as the calling component lives. Does
/// nothing during server rendering.
pub fn follow_alert_changes(
    changes: AlertChanges,
    resume_after: impl Fn() -> Option<Option<i64>> + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        let follower = browser::Follower::new(changes);
        Effect::new(move |_| {
            if let Some(after) = resume_after() {
                follower.start(after);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (changes, resume_after);
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{AlertChanges, GATHER_MS};
    use crate::live::LiveStatus;
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;
    use vigil_wire::LiveMessage;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    /// Longest wait between reconnection attempts (as the event tables'; `live.rs`).
    const MAX_BACKOFF_MS: u64 = 10_000;
    /// Failed attempts in a row after which the stream counts as offline.
    const OFFLINE_AFTER: u32 = 3;

    struct State {
        changes: AlertChanges,
        started: Cell<bool>,
        /// Every alert change through this one has been heard of: where to resume.
        after: Cell<Option<i64>>,
        attempt: Cell<u32>,
        /// Connected at least once: a reconnect refetches, in case of what it missed.
        connected_before: Cell<bool>,
        gathering: Cell<bool>,
        socket: RefCell<Option<WebSocket>>,
        /// The component went away: no more reconnecting.
        closed: Cell<bool>,
    }

    /// A handle the starting effect holds; the socket closes with the component that made it.
    #[derive(Clone)]
    pub struct Follower(SendWrapper<Rc<State>>);

    impl Follower {
        pub fn new(changes: AlertChanges) -> Self {
            let state = Rc::new(State {
                changes,
                started: Cell::new(false),
                after: Cell::new(None),
                attempt: Cell::new(0),
                connected_before: Cell::new(false),
                gathering: Cell::new(false),
                socket: RefCell::new(None),
                closed: Cell::new(false),
            });
            // Cleanup runs on the browser's one thread; the wrapper only satisfies the signature.
            let on_close = SendWrapper::new(state.clone());
            on_cleanup(move || {
                on_close.closed.set(true);
                if let Some(socket) = on_close.socket.borrow_mut().take() {
                    let _ = socket.close();
                }
            });
            Follower(SendWrapper::new(state))
        }

        /// Connects, the first time only.
        pub fn start(&self, after: Option<i64>) {
            let state: &Rc<State> = &self.0;
            if state.started.replace(true) {
                return;
            }
            state.after.set(after);
            connect(state.clone());
        }
    }

    fn connect(state: Rc<State>) {
        if state.closed.get() {
            return;
        }
        let location = window().location();
        let scheme = if location.protocol().as_deref() == Ok("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let mut url = format!("{scheme}://{host}/api/v1/stream?events=false&alerts=true");
        if let Some(after) = state.after.get() {
            url.push_str(&format!("&alerts_after={after}"));
        }
        let Ok(socket) = WebSocket::new(&url) else {
            retry_later(state);
            return;
        };

        let on_open = {
            let state = state.clone();
            Closure::<dyn FnMut()>::new(move || {
                state.attempt.set(0);
                state.changes.status.set(LiveStatus::Live);
                if state.connected_before.replace(true) {
                    changed(&state);
                }
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = {
            let state = state.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
                let Some(text) = message.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<LiveMessage>(&text) {
                    Ok(LiveMessage::Alert { alert }) => {
                        advance(&state, alert.change_seq);
                        changed(&state);
                    }
                    // Without events, a heartbeat says every alert change through `seq` was sent.
                    Ok(LiveMessage::Heartbeat { seq }) => advance(&state, seq),
                    Ok(LiveMessage::Resync { .. }) => {
                        if let Some(socket) = state.socket.borrow().as_ref() {
                            let _ = socket.close(); // reconnects from the last change heard
                        }
                    }
                    Ok(LiveMessage::Event { .. }) | Err(_) => {}
                }
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = {
            let state = state.clone();
            Closure::<dyn FnMut()>::new(move || retry_later(state.clone()))
        };
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        *state.socket.borrow_mut() = Some(socket);
    }

    fn advance(state: &State, change_seq: i64) {
        let after = state.after.get().map_or(change_seq, |a| a.max(change_seq));
        state.after.set(Some(after));
    }

    /// Bumps the version once the burst this change belongs to has gathered.
    fn changed(state: &Rc<State>) {
        if state.gathering.replace(true) {
            return;
        }
        let state = SendWrapper::new(state.clone());
        set_timeout(
            move || {
                state.gathering.set(false);
                if !state.closed.get() {
                    state.changes.version.update(|v| *v += 1);
                }
            },
            Duration::from_millis(GATHER_MS),
        );
    }

    fn retry_later(state: Rc<State>) {
        if state.closed.get() {
            return;
        }
        let attempt = state.attempt.get();
        state.attempt.set(attempt + 1);
        state.changes.status.set(if attempt + 1 >= OFFLINE_AFTER {
            LiveStatus::Offline
        } else {
            LiveStatus::Reconnecting
        });
        let delay = (500u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
        let state = SendWrapper::new(state);
        set_timeout(move || connect(state.take()), Duration::from_millis(delay));
    }
}
