//! Facets: the most frequent values of a few columns among the events a filter matches, beside
//! every table, each a click away from being kept (`user=…`) or left out (`-user=…`).

use serde::{Deserialize, Serialize};

use crate::Ranked;

/// The columns a facet ranks, in the order the panel shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetField {
    EventType,
    ActionResult,
    Username,
    IpAddress,
    Source,
    UserAgent,
    ClientId,
}

impl FacetField {
    pub const ALL: [FacetField; 7] = [
        FacetField::EventType,
        FacetField::ActionResult,
        FacetField::Username,
        FacetField::IpAddress,
        FacetField::Source,
        FacetField::UserAgent,
        FacetField::ClientId,
    ];

    /// The column's name, as events and exports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            FacetField::EventType => "event_type",
            FacetField::ActionResult => "action_result",
            FacetField::Username => "username",
            FacetField::IpAddress => "ip_address",
            FacetField::Source => "source",
            FacetField::UserAgent => "user_agent",
            FacetField::ClientId => "client_id",
        }
    }

    /// The filter parameter that keeps one value (`-` before it leaves the value out).
    pub fn param(self) -> &'static str {
        match self {
            FacetField::EventType => "type",
            FacetField::ActionResult => "result",
            FacetField::Username => "user",
            FacetField::IpAddress => "ip",
            FacetField::Source => "source",
            FacetField::UserAgent => "user_agent",
            FacetField::ClientId => "client_id",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        FacetField::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// One column's top values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facet {
    pub field: FacetField,
    pub values: Vec<Ranked>,
}

/// The facets of a filter, counted over its newest `counted` events: every match when
/// `counted < sample_limit`, else the newest `sample_limit` of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    pub counted: u64,
    pub sample_limit: u64,
    pub fields: Vec<Facet>,
}

impl Facets {
    /// Whether more events match than were counted.
    pub fn sampled(&self) -> bool {
        self.counted >= self.sample_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_their_column_and_round_trip() {
        for field in FacetField::ALL {
            assert_eq!(FacetField::parse(field.as_str()), Some(field));
        }
        assert_eq!(FacetField::Username.param(), "user");
        assert_eq!(FacetField::parse("password"), None);
    }
}
