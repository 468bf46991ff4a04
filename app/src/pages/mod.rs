//! One module per page.

mod access;
mod event_detail;
mod events_view;
mod insights;
mod live_feed;
mod login;
mod presets;

pub use access::{read_access, AccessPage};
pub use event_detail::{event_detail, EventDetailPage};
pub use events_view::search_events;
pub use insights::{explorer_volume, failure_insights};
pub use live_feed::{recent_events, LiveFeedPage};
pub use login::LoginPage;
pub use presets::{ApiKeysPage, ExplorerPage, FailuresPage, MfaPage};
