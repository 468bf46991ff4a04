//! `vigil tail`: the live stream in a terminal, with the read API's filters. It resumes with
//! `after=` from the last seq it saw whenever the connection drops, so nothing is lost or
//! repeated while the server restarts, and Ctrl-C ends it cleanly.

use anyhow::{bail, Context};
use futures::StreamExt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::{self, Message};
use vigil_wire::{LiveMessage, StoredEvent};

use crate::config::TailArgs;

/// Reconnection backoff: first retry quickly, then at most this long apart.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let client = TailClient::new(&args)?;
    let json = args.json;
    let follow = client.follow(args.after, move |event| {
        let line = if json {
            serde_json::to_string(event)?
        } else {
            summary(event)
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    });
    tokio::select! {
        outcome = follow => outcome,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Where and what to follow.
#[derive(Clone, Debug)]
pub struct TailClient {
    stream_url: String,
    token: String,
    /// The filter's query parameters, validated before the first connection.
    filter_query: String,
    /// For wss:// URLs.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl TailClient {
    pub fn new(args: &TailArgs) -> anyhow::Result<Self> {
        // The server would refuse a bad filter too; checking here names the flag sooner.
        let filter = (args.filter.to_filter())
            .map_err(|e| anyhow::anyhow!("--{}: {}", e.param, e.reason))?;
        let filter_query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(filter.to_params())
            .finish();
        let base = args.url.trim_end_matches('/');
        let (stream_url, tls) = match base.split_once("://") {
            Some(("http" | "ws", rest)) => (format!("ws://{rest}/api/v1/stream"), None),
            Some(("https" | "wss", rest)) => (
                format!("wss://{rest}/api/v1/stream"),
                Some(super::tls::client_config(args.ca_cert.as_deref())?),
            ),
            _ => bail!(
                "--url: expected http://host:port or https://host, got `{}`",
                args.url
            ),
        };
        if tls.is_none() && args.ca_cert.is_some() {
            bail!("--ca-cert: only for https:// URLs");
        }
        Ok(TailClient {
            stream_url,
            token: args.token.clone(),
            filter_query,
            tls,
        })
    }

    /// Calls `on_event` for every matching event, in seq order, for as long as the server can
    /// be reached again; returns only on an error that retrying cannot fix (a refused key or
    /// filter) or one from `on_event`.
    pub async fn follow(
        &self,
        mut after: Option<i64>,
        mut on_event: impl FnMut(&StoredEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut retry = RETRY_FIRST;
        loop {
            match self.follow_once(&mut after, &mut on_event).await {
                Ok(Session::Ended) => retry = RETRY_FIRST,
                Ok(Session::Refused(reason)) => bail!("the server refused the stream: {reason}"),
                Err(err) => {
                    eprintln!("vigil tail: {err:#}; reconnecting in {retry:?}");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// One connection: follows until it ends. `after` moves with every event and heartbeat.
    async fn follow_once(
        &self,
        after: &mut Option<i64>,
        on_event: &mut impl FnMut(&StoredEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<Session> {
        let mut url = format!("{}?{}", self.stream_url, self.filter_query);
        if let Some(seq) = after {
            url.push_str(&format!("&after={seq}"));
        }
        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert(
            AUTHORIZATION,
            format!("Bearer {}", self.token)
                .parse()
                .context("--token is not a valid header value")?,
        );
        let connector = (self.tls.clone()).map(tokio_tungstenite::Connector::Rustls);
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
        let (mut socket, _) = match connecting.await {
            Ok(connected) => connected,
            Err(tungstenite::Error::Http(response)) if response.status().is_client_error() => {
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
                    .into_owned();
                return Ok(Session::Refused(format!("{} {body}", response.status())));
            }
            // A certificate the client does not trust stays untrusted: retrying cannot help.
            Err(tungstenite::Error::Io(err)) if is_tls_failure(&err) => {
                return Ok(Session::Refused(format!("TLS: {err}")));
            }
            Err(err) => return Err(err).context("cannot connect"),
        };
        while let Some(message) = socket.next().await {
            let text = match message.context("the connection dropped")? {
                Message::Text(text) => text,
                Message::Close(_) => break,
                _ => continue,
            };
            match serde_json::from_str::<LiveMessage>(&text)? {
                LiveMessage::Event { event } => {
                    // After a reconnect the server replays from `after`: nothing repeats.
                    if after.is_some_and(|seq| event.seq <= seq) {
                        continue;
                    }
                    *after = Some(event.seq);
                    on_event(&event)?;
                }
                // Everything through `seq` has been delivered: a safe place to resume.
                LiveMessage::Heartbeat { seq } => *after = Some(after.map_or(seq, |a| a.max(seq))),
                LiveMessage::Resync { after: seq } => {
                    *after = Some(seq);
                    break;
                }
                // `tail` does not ask for alerts.
                LiveMessage::Alert { .. } => {}
            }
        }
        Ok(Session::Ended)
    }
}

/// Whether a connect failed in the TLS handshake (tungstenite reports it as I/O).
fn is_tls_failure(err: &std::io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

enum Session {
    /// The connection ended; reconnect and resume.
    Ended,
    /// The server refused the upgrade (401, 422): retrying cannot help.
    Refused(String),
}

/// One line per event; values from producers are escaped so they cannot drive the terminal.
pub fn summary(e: &StoredEvent) -> String {
    let mut line = format!(
        "{} #{} {} {}",
        e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        e.seq,
        safe(&e.event_type),
        e.action_result.as_str()
    );
    let ip = e.ip_address.map(|ip| ip.to_string());
    let fields = [
        ("user", e.username.as_ref().or(e.user_id.as_ref())),
        ("ip", ip.as_ref()),
        ("source", Some(&e.source)),
        ("reason", e.reason.as_ref()),
        ("key", e.api_key_name.as_ref()),
    ]
    .map(|(name, value)| value.map(|v| format!(" {name}={}", safe(v))));
    for field in fields.into_iter().flatten() {
        line.push_str(&field);
    }
    line
}

/// Control characters (escape sequences, CR/LF) shown as escapes; quoted when it has spaces.
fn safe(value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if escaped.contains(' ') || escaped.is_empty() {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_control_characters_are_escaped() {
        assert_eq!(safe("alice"), "alice");
        assert_eq!(safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(safe("x\r\ny"), "x\\r\\ny");
        assert_eq!(safe("two words"), "\"two words\"");
    }
}
