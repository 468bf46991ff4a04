//! `vigil webhooks …`: the receivers alerts are POSTed to, and how their deliveries went.

use clap::{Args, Subcommand};
use std::fmt;
use std::str::FromStr;
use vigil_wire::AlertSeverity;

/// Longest webhook URL accepted, in bytes.
pub const MAX_WEBHOOK_URL_BYTES: usize = 2048;
/// The formats `--format` takes (storage's `WebhookFormat` names; a test keeps them in step).
pub const WEBHOOK_FORMATS: [&str; 2] = ["json", "slack"];

#[derive(Subcommand, Debug)]
pub enum WebhooksCommand {
    /// Register a receiver; prints its id and signing secret (shown only now).
    Add(AddWebhookArgs),
    /// List webhooks with their deliveries counted by state and the last attempt's outcome.
    List,
    /// Remove a webhook and its deliveries.
    Remove {
        /// The webhook's id (`vigil webhooks list`).
        id: i64,
    },
    /// Recent deliveries, newest first: attempts, state and the last attempt's outcome.
    Deliveries(DeliveriesArgs),
}

#[derive(Args, Debug, Clone)]
pub struct AddWebhookArgs {
    /// Where to POST: an http:// or https:// URL (a Slack incoming webhook's, with --format slack).
    #[arg(long)]
    pub url: WebhookUrl,
    /// Send only alerts of this severity or worse: low, medium, high or critical.
    #[arg(long, default_value = "low", value_parser = parse_severity)]
    pub min_severity: AlertSeverity,
    /// `json` (Vigil's payload) or `slack` (a Slack-compatible `{"text": …}` message).
    #[arg(long, default_value = "json", value_parser = WEBHOOK_FORMATS)]
    pub format: String,
    /// Also send acknowledgements and closings, not only newly opened alerts.
    #[arg(long)]
    pub on_status_change: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DeliveriesArgs {
    /// Only this webhook's.
    #[arg(long)]
    pub webhook: Option<i64>,
    /// Only this alert's.
    #[arg(long)]
    pub alert: Option<i64>,
    /// How many to show.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

fn parse_severity(text: &str) -> Result<AlertSeverity, String> {
    AlertSeverity::parse(text).ok_or_else(|| "must be low, medium, high or critical".to_owned())
}

/// An absolute http(s) URL with a host and no credentials, as the delivery worker will use it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for WebhookUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.len() > MAX_WEBHOOK_URL_BYTES {
            return Err(format!("is longer than {MAX_WEBHOOK_URL_BYTES} bytes"));
        }
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err("must start with http:// or https://".to_owned());
        }
        // The URL parser would read `http:///x` as `http://x/`: the host must follow `//`.
        let after_slashes = &text[lower.find("://").map_or(0, |at| at + 3)..];
        let url = reqwest::Url::parse(text).map_err(|err| format!("is not a URL ({err})"))?;
        if after_slashes.is_empty()
            || after_slashes.starts_with(['/', '?', '#'])
            || url.host_str().is_none_or(str::is_empty)
        {
            return Err("names no host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry a user name or password (receivers check the Vigil-Signature \
                 header instead)"
                    .to_owned(),
            );
        }
        Ok(WebhookUrl(url.into()))
    }
}

/// The URL's path may be its only key (Slack's are), so `Debug` shows the origin alone.
impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reqwest::Url::parse(&self.0) {
            Ok(url) => write!(f, "{}/…", url.origin().ascii_serialization()),
            Err(_) => f.write_str("<url>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_http_with_a_host_and_no_credentials() {
        let url: WebhookUrl = "https://hooks.example.com/services/T0/B0/secret"
            .parse()
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://hooks.example.com/services/T0/B0/secret"
        );
        assert!(!format!("{url:?}").contains("secret"));
        assert!("http://127.0.0.1:9000".parse::<WebhookUrl>().is_ok());
        for bad in [
            "",
            "hooks.example.com/x",
            "ftp://hooks.example.com/",
            "javascript:alert(1)",
            "http://",
            "http:///path",
            "https://user:pw@hooks.example.com/",
            "http://exa mple.com/",
            "http://[::1/",
        ] {
            assert!(bad.parse::<WebhookUrl>().is_err(), "{bad}");
        }
        let long = format!("https://h.example/{}", "a".repeat(MAX_WEBHOOK_URL_BYTES));
        assert!(long.parse::<WebhookUrl>().is_err());
    }
}
