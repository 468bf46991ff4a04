//! One module per page.

mod access;
mod access_forms;
mod account;
mod admin_actions;
mod alert_detail;
mod alert_status;
mod alerts;
mod entity;
mod entity_keys;
mod entity_panels;
mod event_detail;
mod events_view;
mod insights;
mod ip_page;
mod live_feed;
mod login;
mod presets;
mod user_page;

pub use access::{read_access, AccessPage};
pub use account::{change_own_password, AccountPage};
pub use admin_actions::{
    create_api_key, create_operator, disable_operator, reset_operator_password, revoke_api_key,
};
pub use alert_detail::{alert_detail, alert_evidence, AlertDetailPage, AlertWithHistory, Evidence};
pub use alert_status::change_alert_status;
pub use alerts::{list_alerts, AlertsPage};
pub use entity::{entity_overview, EntityView};
pub use event_detail::{event_detail, EventDetailPage};
pub use events_view::search_events;
pub use insights::{explorer_volume, failure_insights};
pub use ip_page::IpPage;
pub use live_feed::{recent_events, LiveFeedPage};
pub use login::LoginPage;
pub use presets::{ApiKeysPage, ExplorerPage, FailuresPage, MfaPage};
pub use user_page::UserPage;
