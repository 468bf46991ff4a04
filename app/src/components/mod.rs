//! Components shared by pages.

mod alert_badges;
mod alerts_count;
mod chain_badge;
mod charts;
mod event_fields;
mod event_table;
mod facet_panel;
mod filter_form;
mod live_badge;
mod live_table;
mod operator_menu;
mod timestamp;

pub use alert_badges::{SeverityBadge, StatusBadge};
pub use alerts_count::{read_alert_summary, AlertsCount};
pub use chain_badge::ChainBadge;
pub use charts::{BarChart, TooBroad, TopList};
pub use event_fields::EventFields;
pub use event_table::EventTable;
pub use facet_panel::FacetPanel;
pub use filter_form::FilterForm;
pub use live_badge::LiveBadge;
pub use live_table::LiveTable;
pub use operator_menu::{current_operator, OperatorMenu};
pub use timestamp::{TimeFormat, TimeZoneChoice, TimeZoneToggle, Timestamp, Zone, ZoneName};
