//! The read API's filters as command-line flags (`vigil tail`), parsed by the same
//! `EventFilter::from_params` the server uses.

use clap::Args;
use vigil_wire::{EventFilter, FilterError};

/// The read API's filters as flags, each named as its query parameter, so they map one to one
/// onto `EventFilter`.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// user_id or username.
    #[arg(long)]
    pub user: Option<String>,
    /// An address or a CIDR network.
    #[arg(long)]
    pub ip: Option<String>,
    /// Event types or categories (repeat, or comma-separate).
    #[arg(long = "type")]
    pub types: Vec<String>,
    /// success, failure or partial.
    #[arg(long)]
    pub result: Option<String>,
    /// info, warning, error or critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Producer key name.
    #[arg(long)]
    pub source: Option<String>,
    /// Raw session id.
    #[arg(long)]
    pub session: Option<String>,
    /// Text in reason, error_message or user_agent.
    #[arg(long = "q")]
    pub text: Option<String>,
    /// A user agent, exactly.
    #[arg(long)]
    pub user_agent: Option<String>,
    /// An OAuth client id, exactly.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Leave out a user_id or username (repeat for more), as `-user=` does.
    #[arg(long)]
    pub exclude_user: Vec<String>,
    /// Leave out an address or network (repeat, or comma-separate).
    #[arg(long)]
    pub exclude_ip: Vec<String>,
    /// Leave out event types or categories (repeat, or comma-separate).
    #[arg(long)]
    pub exclude_type: Vec<String>,
    /// Leave out results (repeat, or comma-separate).
    #[arg(long)]
    pub exclude_result: Vec<String>,
    /// Leave out a producer (repeat); `--exclude-source vigil` hides Vigil's own events.
    #[arg(long)]
    pub exclude_source: Vec<String>,
    /// Leave out a user agent, exactly (repeat).
    #[arg(long)]
    pub exclude_user_agent: Vec<String>,
    /// Leave out an OAuth client id (repeat).
    #[arg(long)]
    pub exclude_client_id: Vec<String>,
}

impl FilterArgs {
    /// The filter, parsed as the server parses it: a bad value names its flag.
    pub fn to_filter(&self) -> Result<EventFilter, FilterError> {
        let types = (!self.types.is_empty()).then(|| self.types.join(","));
        let single = [
            ("user", &self.user),
            ("ip", &self.ip),
            ("type", &types),
            ("result", &self.result),
            ("severity", &self.severity),
            ("source", &self.source),
            ("session", &self.session),
            ("q", &self.text),
            ("user_agent", &self.user_agent),
            ("client_id", &self.client_id),
        ];
        let excluded = [
            ("-user", &self.exclude_user),
            ("-ip", &self.exclude_ip),
            ("-type", &self.exclude_type),
            ("-result", &self.exclude_result),
            ("-source", &self.exclude_source),
            ("-user_agent", &self.exclude_user_agent),
            ("-client_id", &self.exclude_client_id),
        ];
        let params = (single.into_iter())
            .filter_map(|(name, value)| Some((name, value.as_deref()?)))
            .chain(
                (excluded.into_iter())
                    .flat_map(|(name, values)| values.iter().map(move |v| (name, v.as_str()))),
            );
        // The filter's errors name the parameter (`-user_agent`); the flag is `exclude-user-agent`.
        EventFilter::from_params(params).map_err(|mut e| {
            e.param = match e.param.strip_prefix('-') {
                Some(negated) => format!("exclude-{negated}"),
                None => e.param.clone(),
            }
            .replace('_', "-");
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_flags_map_onto_the_filter_and_errors_name_the_flag() {
        let args = FilterArgs {
            exclude_source: vec!["vigil".into()],
            exclude_ip: vec!["10.0.0.0/8,192.0.2.1".into()],
            user_agent: Some("curl/8.0".into()),
            ..FilterArgs::default()
        };
        let filter = args.to_filter().unwrap();
        assert_eq!(filter.exclude.sources, ["vigil"]);
        assert_eq!(filter.exclude.ips.len(), 2);
        assert_eq!(filter.user_agent.as_deref(), Some("curl/8.0"));
        let bad = FilterArgs {
            exclude_user_agent: vec!["x".repeat(5_000)],
            ..FilterArgs::default()
        };
        assert_eq!(bad.to_filter().unwrap_err().param, "exclude-user-agent");
        let bad = FilterArgs {
            client_id: Some("y".repeat(600)),
            ..FilterArgs::default()
        };
        assert_eq!(bad.to_filter().unwrap_err().param, "client-id");
    }
}
