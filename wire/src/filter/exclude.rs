//! What a filter leaves out: `-user=svc-health`, `-ip=10.0.0.0/8`, `-type=auth.logout`,
//! `-result=success`, `-source=vigil`, `-user_agent=…`, `-client_id=…`. Each names the parameter
//! it negates with a leading `-`; a value is excluded if it equals (or, for `-ip`, lies in) any
//! of the listed ones. Events without the field are never excluded by it.

use serde::{Deserialize, Serialize};

use super::values::{in_network, IpMatch};
use super::{category_named, invalid, FilterError};
use crate::{ActionResult, Category, EventType, StoredEvent};

/// Most values one exclusion parameter may list: enough for a facet clicked through, small
/// enough that every condition stays one cheap array comparison.
pub const MAX_EXCLUDED: usize = 32;

/// Values to leave out, per field. Empty lists exclude nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Exclusions {
    /// Matched against `user_id` and `username`.
    pub users: Vec<String>,
    pub ips: Vec<IpMatch>,
    pub types: Vec<EventType>,
    pub categories: Vec<Category>,
    pub results: Vec<ActionResult>,
    pub sources: Vec<String>,
    pub user_agents: Vec<String>,
    pub client_ids: Vec<String>,
}

/// The exclusion parameters, as `from_params` and `to_params` name them.
pub const EXCLUSION_PARAMS: [&str; 7] = [
    "-user",
    "-ip",
    "-type",
    "-result",
    "-source",
    "-user_agent",
    "-client_id",
];

impl Exclusions {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.ips.is_empty()
            && self.types.is_empty()
            && self.categories.is_empty()
            && self.results.is_empty()
            && self.sources.is_empty()
            && self.user_agents.is_empty()
            && self.client_ids.is_empty()
    }

    /// Reads one `-name=value` parameter; `false` if `name` is not an exclusion. Lists of
    /// addresses, types and results may be comma-separated; text values are one per parameter
    /// (a user agent may contain commas).
    pub(super) fn take(&mut self, name: &str, value: &str) -> Result<bool, FilterError> {
        let items = || value.split(',').map(str::trim).filter(|s| !s.is_empty());
        match name {
            "-user" => add(&mut self.users, name, value.to_owned())?,
            "-source" => add(&mut self.sources, name, value.to_owned())?,
            "-user_agent" => add(&mut self.user_agents, name, value.to_owned())?,
            "-client_id" => add(&mut self.client_ids, name, value.to_owned())?,
            "-ip" => {
                for item in items() {
                    let ip = IpMatch::parse(item).map_err(|r| invalid(name, r))?;
                    add(&mut self.ips, name, ip)?;
                }
            }
            "-type" => {
                for item in items() {
                    match category_named(item) {
                        Some(category) => add(&mut self.categories, name, category)?,
                        None => {
                            let t =
                                EventType::parse(item).map_err(|e| invalid(name, e.to_string()))?;
                            add(&mut self.types, name, t)?;
                        }
                    }
                }
            }
            "-result" => {
                for item in items() {
                    let result = (item.parse())
                        .map_err(|e: crate::OutcomeError| invalid(name, e.to_string()))?;
                    add(&mut self.results, name, result)?;
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The exclusions as query parameters, in `EXCLUSION_PARAMS` order.
    pub(super) fn push_params(&self, params: &mut Vec<(&'static str, String)>) {
        let each = |params: &mut Vec<(&'static str, String)>, name, values: &[String]| {
            params.extend(values.iter().map(|v| (name, v.clone())));
        };
        // One pair per value: joined, 32 long values would pass the length limit no more.
        each(params, "-user", &self.users);
        params.extend(self.ips.iter().map(|ip| ("-ip", ip.to_string())));
        let kinds = (self.categories.iter().map(|c| c.as_str()))
            .chain(self.types.iter().map(EventType::as_str));
        params.extend(kinds.map(|kind| ("-type", kind.to_owned())));
        params.extend(
            self.results
                .iter()
                .map(|r| ("-result", r.as_str().to_owned())),
        );
        each(params, "-source", &self.sources);
        each(params, "-user_agent", &self.user_agents);
        each(params, "-client_id", &self.client_ids);
    }

    /// Whether a stored event is left out.
    pub fn excludes(&self, event: &StoredEvent) -> bool {
        let named = |list: &[String], value: &Option<String>| {
            value.as_ref().is_some_and(|v| list.contains(v))
        };
        named(&self.users, &event.user_id)
            || named(&self.users, &event.username)
            || (event.ip_address).is_some_and(|ip| self.ips.iter().any(|n| in_network(ip, *n)))
            || self.types.iter().any(|t| t.as_str() == event.event_type)
            || self.categories.contains(&event.category)
            || self.results.contains(&event.action_result)
            || self.sources.contains(&event.source)
            || named(&self.user_agents, &event.user_agent)
            || named(&self.client_ids, &event.client_id)
    }
}

/// Adds `value` once; refuses the `MAX_EXCLUDED + 1`th.
fn add<T: PartialEq>(list: &mut Vec<T>, name: &str, value: T) -> Result<(), FilterError> {
    if list.contains(&value) {
        return Ok(());
    }
    if list.len() >= MAX_EXCLUDED {
        return Err(invalid(
            name,
            format!("may exclude at most {MAX_EXCLUDED} values"),
        ));
    }
    list.push(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::EventFilter;

    fn parse(query: &[(&str, &str)]) -> Result<EventFilter, super::FilterError> {
        EventFilter::from_params(query.iter().copied())
    }

    #[test]
    fn exclusions_round_trip_through_parameters() {
        let filter = parse(&[
            ("-user", "svc-health"),
            ("-user", "a,b"),
            ("-ip", "10.0.0.0/8, 2001:db8::1"),
            ("-type", "mfa,auth.logout"),
            ("-result", "success"),
            ("-source", "vigil"),
            ("-user_agent", "Mozilla/5.0 (X11, Linux)"),
            ("-client_id", "cli"),
        ])
        .unwrap();
        let exclude = &filter.exclude;
        assert_eq!(exclude.users, ["svc-health", "a,b"]);
        assert_eq!(exclude.ips.len(), 2);
        assert_eq!((exclude.types.len(), exclude.categories.len()), (1, 1));
        assert_eq!(exclude.user_agents, ["Mozilla/5.0 (X11, Linux)"]);
        let params = filter.to_params();
        let again = EventFilter::from_params(params.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, filter);
    }

    /// What a server function re-checks (`revalidated`) must parse at every size the
    /// parameters allow.
    #[test]
    fn the_most_exclusions_allowed_survive_revalidation() {
        let addresses: Vec<String> = (0..super::MAX_EXCLUDED)
            .map(|i| format!("2001:db8:ffff:ffff:ffff:ffff:ffff:{i:x}"))
            .collect();
        let agent = "A".repeat(1024 * 4);
        let mut query: Vec<(&str, &str)> = addresses.iter().map(|a| ("-ip", a.as_str())).collect();
        query.push(("-user_agent", agent.as_str()));
        query.push(("-user", " padded "));
        let filter = parse(&query).unwrap();
        assert_eq!(filter.exclude.ips.len(), super::MAX_EXCLUDED);
        assert_eq!(
            filter.exclude.users,
            [" padded "],
            "exact values are not trimmed"
        );
        assert_eq!(filter.revalidated().unwrap(), filter);
    }

    #[test]
    fn bad_or_too_many_exclusions_name_their_parameter() {
        assert_eq!(parse(&[("-ip", "nope")]).unwrap_err().param, "-ip");
        assert_eq!(parse(&[("-type", "Bad Type")]).unwrap_err().param, "-type");
        assert_eq!(parse(&[("-result", "meh")]).unwrap_err().param, "-result");
        let many: Vec<String> = (0..=super::MAX_EXCLUDED).map(|i| format!("u{i}")).collect();
        let query: Vec<(&str, &str)> = many.iter().map(|u| ("-user", u.as_str())).collect();
        let err = parse(&query).unwrap_err();
        assert_eq!(err.param, "-user");
        assert!(err.reason.contains("32"), "{}", err.reason);
    }
}
