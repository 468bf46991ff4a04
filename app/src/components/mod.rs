//! Components shared by pages.

mod event_table;
mod live_badge;

pub use event_table::EventTable;
pub use live_badge::LiveBadge;
