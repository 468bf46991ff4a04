//! One module per page.

mod access;
mod alert_detail;
mod alert_status;
mod alerts;
mod event_detail;
mod events_view;
mod insights;
mod live_feed;
mod login;
mod presets;

pub use access::{read_access, AccessPage};
pub use alert_detail::{alert_detail, alert_evidence, AlertDetailPage, AlertWithHistory, Evidence};
pub use alert_status::change_alert_status;
pub use alerts::{list_alerts, AlertsPage};
pub use event_detail::{event_detail, EventDetailPage};
pub use events_view::search_events;
pub use insights::{explorer_volume, failure_insights};
pub use live_feed::{recent_events, LiveFeedPage};
pub use login::LoginPage;
pub use presets::{ApiKeysPage, ExplorerPage, FailuresPage, MfaPage};
