//! The seed's `ActionResult` and `Severity` values.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: {expected}")]
pub struct OutcomeError {
    pub expected: &'static str,
}

/// How the action ended (`ActionResult` in the seed).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionResult {
    Success,
    Failure,
    Partial,
}

/// How much attention the event deserves (`Severity` in the seed).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl ActionResult {
    pub const ALL: [ActionResult; 3] = [
        ActionResult::Success,
        ActionResult::Failure,
        ActionResult::Partial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionResult::Success => "success",
            ActionResult::Failure => "failure",
            ActionResult::Partial => "partial",
        }
    }
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// The seed's rule of thumb: failures are warnings, everything else is informational.
    pub fn default_for(result: ActionResult) -> Severity {
        match result {
            ActionResult::Failure => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

/// Accepts `success`, `SUCCESS` and the seed's spelling `ActionResult.SUCCESS`.
fn parse_member<T: Copy>(
    raw: &str,
    prefix: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    expected: &'static str,
) -> Result<T, OutcomeError> {
    let bare = raw.trim();
    let bare = bare.strip_prefix(prefix).unwrap_or(bare);
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(bare))
        .ok_or(OutcomeError { expected })
}

impl FromStr for ActionResult {
    type Err = OutcomeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_member(
            s,
            "ActionResult.",
            &Self::ALL,
            Self::as_str,
            "success, failure, partial",
        )
    }
}

impl FromStr for Severity {
    type Err = OutcomeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_member(
            s,
            "Severity.",
            &Self::ALL,
            Self::as_str,
            "info, warning, error, critical",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wire_and_seed_spellings() {
        assert_eq!("failure".parse(), Ok(ActionResult::Failure));
        assert_eq!("ActionResult.PARTIAL".parse(), Ok(ActionResult::Partial));
        assert_eq!("Severity.CRITICAL".parse(), Ok(Severity::Critical));
        assert!("fatal".parse::<Severity>().is_err());
        assert!("ok".parse::<ActionResult>().is_err());
    }

    #[test]
    fn failures_default_to_warning() {
        assert_eq!(
            Severity::default_for(ActionResult::Failure),
            Severity::Warning
        );
        assert_eq!(Severity::default_for(ActionResult::Success), Severity::Info);
    }
}
