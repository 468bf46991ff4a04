//! One module per page.

mod live_feed;

pub use live_feed::{recent_events, LiveFeedPage};
