//! Components shared by pages.

mod event_fields;
mod event_table;
mod filter_form;
mod live_badge;

pub use event_fields::EventFields;
pub use event_table::EventTable;
pub use filter_form::FilterForm;
pub use live_badge::LiveBadge;
