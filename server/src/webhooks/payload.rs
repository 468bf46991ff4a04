//! What a receiver is sent, from the change storage/alerts.rs queued (`{"event", "alert"}`):
//! Vigil's JSON with a link to the alert, or a Slack message. The same stored change always
//! renders to the same bytes, so every retry sends what the first attempt did.

use serde::Deserialize;
use serde_json::Value;
use vigil_wire::AlertSeverity;

use crate::config::PublicUrl;
use crate::storage::WebhookFormat;

/// Longest title, group key, operator name or note a Slack message quotes, in characters:
/// event values are the attacker's, and a message is for reading at a glance.
pub const MAX_SLACK_FIELD_CHARS: usize = 300;

/// Why a queued change cannot be sent (it could never be: the delivery fails at once).
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the queued change is not the JSON Vigil writes: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("the queued change is not a JSON object")]
    NotAnObject,
}

/// Where the dashboard shows alert `id`.
pub fn alert_link(public_url: &PublicUrl, id: i64) -> String {
    format!("{}/alerts/{id}", public_url.origin())
}

/// The request body for `format`.
pub fn render(stored: &str, format: WebhookFormat, link: &str) -> Result<String, PayloadError> {
    match format {
        WebhookFormat::Json => {
            let mut change: Value = serde_json::from_str(stored)?;
            let object = change.as_object_mut().ok_or(PayloadError::NotAnObject)?;
            object.insert("link".to_owned(), Value::String(link.to_owned()));
            Ok(change.to_string())
        }
        WebhookFormat::Slack => {
            let change: StoredChange = serde_json::from_str(stored)?;
            Ok(serde_json::json!({ "text": slack_text(&change, link) }).to_string())
        }
    }
}

/// The fields of a queued change a Slack message shows.
#[derive(Deserialize)]
struct StoredChange {
    event: String,
    alert: AlertView,
}

#[derive(Deserialize)]
struct AlertView {
    id: i64,
    title: String,
    severity: AlertSeverity,
    group_key: String,
    event_count: i64,
    status_changed_by: Option<String>,
    note: Option<String>,
}

fn slack_text(change: &StoredChange, link: &str) -> String {
    let alert = &change.alert;
    let by = || {
        (alert.status_changed_by.as_deref())
            .map(|by| format!(" by {}", slack_escape(by)))
            .unwrap_or_default()
    };
    let what = match change.event.as_str() {
        "alert.opened" => "Alert opened".to_owned(),
        "alert.acknowledged" => format!("Alert acknowledged{}", by()),
        "alert.closed" => format!("Alert closed{}", by()),
        other => format!("Alert change `{}`", slack_escape(other)),
    };
    let severity = alert.severity.as_str().to_ascii_uppercase();
    let events = if alert.event_count == 1 {
        "event"
    } else {
        "events"
    };
    let mut text = format!(
        "*[{severity}]* {what}: {}\nKey: {} · {} {events}\n",
        slack_escape(&alert.title),
        slack_escape(&alert.group_key),
        alert.event_count,
    );
    if let (Some(note), false) = (&alert.note, change.event == "alert.opened") {
        text.push_str(&format!("Note: {}\n", slack_escape(note)));
    }
    text.push_str(&format!("<{link}|Alert #{} in Vigil>", alert.id));
    text
}

/// Slack's three control characters as its entities, so a value can neither mention
/// (`<!channel>`) nor link (`<https://…|…>`); cut to `MAX_SLACK_FIELD_CHARS`.
fn slack_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_SLACK_FIELD_CHARS));
    for (i, c) in value.chars().enumerate() {
        if i == MAX_SLACK_FIELD_CHARS {
            out.push('…');
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(event: &str, title: &str, key: &str) -> String {
        serde_json::json!({
            "event": event,
            "alert": {
                "id": 7, "revision": 2, "title": title, "severity": "high", "group_key": key,
                "event_count": 12, "status_changed_by": "ana", "note": "on it",
                "extra": "kept as is",
            },
        })
        .to_string()
    }

    #[test]
    fn json_adds_the_link_and_keeps_the_rest() {
        let body = render(&stored("alert.opened", "t", "k"), WebhookFormat::Json, "L").unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["event"], "alert.opened");
        assert_eq!(body["alert"]["extra"], "kept as is");
        assert_eq!(body["link"], "L");
        assert!(render("[1]", WebhookFormat::Json, "L").is_err());
        assert!(render("not json", WebhookFormat::Json, "L").is_err());
    }

    #[test]
    fn slack_text_escapes_what_the_attacker_wrote() {
        let change = stored("alert.acknowledged", "Spray <b>&", "user=<!channel>\u{7}");
        let body = render(&change, WebhookFormat::Slack, "https://v.example/alerts/7").unwrap();
        let text = serde_json::from_str::<Value>(&body).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            text,
            "*[HIGH]* Alert acknowledged by ana: Spray &lt;b&gt;&amp;\n\
             Key: user=&lt;!channel&gt;  · 12 events\nNote: on it\n\
             <https://v.example/alerts/7|Alert #7 in Vigil>"
        );
    }

    #[test]
    fn long_values_are_cut() {
        let escaped = slack_escape(&"<".repeat(1000));
        assert_eq!(
            escaped,
            format!("{}…", "&lt;".repeat(MAX_SLACK_FIELD_CHARS))
        );
    }
}
