//! Detections: rules judged over the committed event stream, raising alerts that the team sees
//! on the dashboard, over the API and the live stream, and through webhooks.
//!
//! - `rule`, `builtin`, `rules_file`: what a rule is, the pack, the rules file;
//! - `window`, `engine`: the pure judging, one committed event at a time;
//! - `runner`: the one evaluating instance, its cursor, and the alerts it writes.

pub mod builtin;
pub mod engine;
pub mod history;
pub mod rule;
pub mod rules_file;
pub mod runner;
pub mod window;

pub use engine::{Engine, EngineStats, Limits, Verdict};
pub use rule::{Part, Rule, RuleError, RuleKind};
