//! Logging setup: lines on stderr, human-readable or JSON, filtered by `RUST_LOG` (default
//! `info`).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // stderr, so commands that print results (keys, exports) keep stdout clean for scripts.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colours for a terminal only: a log file or journal gets plain text.
        LogFormat::Text => (builder.with_ansi(std::io::stderr().is_terminal())).try_init(),
        // One object per line, with the span's fields (request, source) beside the event's.
        LogFormat::Json => {
            (builder.json().with_current_span(true).with_span_list(false)).try_init()
        }
    };
}

/// Longest attacker-chosen value a log line carries, in characters.
const UNTRUSTED_MAX_CHARS: usize = 64;

/// A value someone outside chose (a username, a user agent) as a log field: truncated, and
/// with control characters, quotes and backslashes escaped, so it can neither forge a log line
/// nor hide behind terminal escape sequences.
pub fn untrusted(value: &str) -> String {
    let mut shown: String = (value.chars().take(UNTRUSTED_MAX_CHARS))
        .flat_map(char::escape_debug)
        .collect();
    let more = value.chars().count().saturating_sub(UNTRUSTED_MAX_CHARS);
    if more > 0 {
        shown.push_str(&format!("…(+{more} chars)"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_values_cannot_forge_lines_or_run_escapes() {
        assert_eq!(untrusted("alice"), "alice");
        assert_eq!(
            untrusted("x\n2026-01-01 INFO forged"),
            "x\\n2026-01-01 INFO forged"
        );
        assert_eq!(untrusted("\u{1b}[31mred"), "\\u{1b}[31mred");
        let long = untrusted(&"a".repeat(1000));
        assert!(long.starts_with(&"a".repeat(64)) && long.ends_with("…(+936 chars)"));
    }
}
