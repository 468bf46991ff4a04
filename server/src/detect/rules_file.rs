//! The rules file (`--rules FILE`, TOML): custom rules, and overrides of the built-ins'
//! state, count and window. Every error names the rule, the field and why.
//!
//! ```toml
//! [[rule]]
//! id = "admin-console-failures"
//! title = "Failed sign-ins to the admin console"
//! severity = "high"
//! description = "What it means, and what to do."
//! kind = "threshold"                 # threshold | distinct | sequence | first_seen
//! filter = "type=auth.login.failure&source=admin-console"
//! group_by = ["ip"]
//! window = "10m"
//! count = 3
//!
//! [override.brute-force-ip]
//! count = 12
//! window = "5m"
//!
//! [override.mfa-disabled]
//! enabled = false
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use vigil_wire::{AlertSeverity, EventFilter};

use super::builtin;
use super::rule::{parse_duration, GroupBy, Part, Rule, RuleError, RuleKind};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<CustomRule>,
    #[serde(default, rename = "override")]
    overrides: BTreeMap<String, Override>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomRule {
    id: String,
    title: String,
    severity: String,
    #[serde(default)]
    description: String,
    kind: String,
    #[serde(default)]
    filter: String,
    group_by: Vec<String>,
    window: Option<String>,
    count: Option<u32>,
    field: Option<String>,
    then: Option<String>,
    history: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    enabled: Option<bool>,
    count: Option<u32>,
    window: Option<String>,
    severity: Option<String>,
}

/// Why a rules file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesFileError {
    #[error("cannot read {path}: {err}")]
    Read { path: String, err: std::io::Error },
    #[error("{path}: {err}")]
    Syntax { path: String, err: String },
    #[error("{path}: {err}")]
    Rule { path: String, err: RuleError },
}

/// The built-in pack with `path`'s overrides applied, then its custom rules.
pub fn load(path: &Path) -> Result<Vec<Rule>, RulesFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| RulesFileError::Read {
        path: shown.clone(),
        err,
    })?;
    parse(&text).map_err(|err| match err {
        Parsed::Syntax(err) => RulesFileError::Syntax { path: shown, err },
        Parsed::Rule(err) => RulesFileError::Rule { path: shown, err },
    })
}

/// No rules file: the built-in pack as shipped.
pub fn defaults() -> Vec<Rule> {
    builtin::pack()
}

pub enum Parsed {
    Syntax(String),
    Rule(RuleError),
}

pub fn parse(text: &str) -> Result<Vec<Rule>, Parsed> {
    let file: RulesFile = toml::from_str(text).map_err(|e| Parsed::Syntax(e.to_string()))?;
    let mut rules = builtin::pack();
    for (id, change) in &file.overrides {
        let err = |field: &str, reason: String| {
            Parsed::Rule(RuleError {
                rule: id.clone(),
                field: field.into(),
                reason,
            })
        };
        let Some(rule) = rules.iter_mut().find(|r| &r.id == id) else {
            return Err(err("override", "names no built-in rule".into()));
        };
        if let Some(enabled) = change.enabled {
            rule.enabled = enabled;
        }
        if let Some(window) = &change.window {
            rule.window = parse_duration(window).map_err(|e| err("window", e))?;
        }
        if let Some(severity) = &change.severity {
            rule.severity = severity_named(severity).map_err(|e| err("severity", e))?;
        }
        if let Some(new) = change.count {
            match &mut rule.kind {
                RuleKind::Threshold { count }
                | RuleKind::Distinct { count, .. }
                | RuleKind::Sequence { count, .. } => *count = new,
                RuleKind::FirstSeen { .. } => {
                    return Err(err("count", "a first_seen rule has no count".into()))
                }
            }
        }
        rule.validate().map_err(Parsed::Rule)?;
    }
    for custom in file.rule {
        let rule = custom.into_rule().map_err(Parsed::Rule)?;
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(Parsed::Rule(RuleError {
                rule: rule.id,
                field: "id".into(),
                reason: "is taken (by a built-in or an earlier rule); use [override.<id>] to change a built-in".into(),
            }));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn severity_named(text: &str) -> Result<AlertSeverity, String> {
    AlertSeverity::parse(text).ok_or_else(|| "must be low, medium, high or critical".into())
}

fn filter_named(text: &str) -> Result<EventFilter, String> {
    let params: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    for (name, _) in &params {
        if !["user", "ip", "type", "result", "severity", "source", "q"].contains(&name.as_str()) {
            return Err(format!(
                "`{name}` is not a rule filter parameter (user, ip, type, result, severity, source, q)"
            ));
        }
    }
    EventFilter::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())
}

impl CustomRule {
    fn into_rule(self) -> Result<Rule, RuleError> {
        let id = self.id.clone();
        let err = |field: &str, reason: String| RuleError {
            rule: id.clone(),
            field: field.into(),
            reason,
        };
        let need = |field: &str, value: Option<String>| {
            value.ok_or_else(|| err(field, format!("is required for a {} rule", self.kind)))
        };
        let part = |field: &str, name: &str| {
            Part::named(name).ok_or_else(|| {
                err(
                    field,
                    format!("`{name}` is not one of: ip, network, user, username, source, api_key_id, client_id, user_agent, event_type"),
                )
            })
        };
        let count = || {
            self.count
                .ok_or_else(|| err("count", format!("is required for a {} rule", self.kind)))
        };
        let kind = match self.kind.as_str() {
            "threshold" => RuleKind::Threshold { count: count()? },
            "distinct" => RuleKind::Distinct {
                field: part("field", &need("field", self.field.clone())?)?,
                count: count()?,
            },
            "sequence" => RuleKind::Sequence {
                count: count()?,
                then: Box::new(
                    filter_named(&need("then", self.then.clone())?).map_err(|e| err("then", e))?,
                ),
            },
            "first_seen" => {
                let history = parse_duration(&need("history", self.history.clone())?)
                    .map_err(|e| err("history", e))?;
                if history.as_secs() % 86_400 != 0 {
                    return Err(err("history", "must be whole days, like 14d".into()));
                }
                RuleKind::FirstSeen {
                    field: part("field", &need("field", self.field.clone())?)?,
                    history_days: u32::try_from(history.as_secs() / 86_400).unwrap_or(u32::MAX),
                }
            }
            other => {
                return Err(err(
                    "kind",
                    format!("`{other}` is not threshold, distinct, sequence or first_seen"),
                ))
            }
        };
        let window = match (&kind, &self.window) {
            (_, Some(w)) => parse_duration(w).map_err(|e| err("window", e))?,
            (RuleKind::FirstSeen { .. }, None) => std::time::Duration::from_secs(60),
            (_, None) => {
                return Err(err(
                    "window",
                    format!("is required for a {} rule", self.kind),
                ))
            }
        };
        let group_by = (self.group_by.iter())
            .map(|name| part("group_by", name))
            .collect::<Result<Vec<_>, _>>()?;
        let rule = Rule {
            id: self.id.clone(),
            title: self.title.clone(),
            severity: severity_named(&self.severity).map_err(|e| err("severity", e))?,
            description: self.description.clone(),
            filter: filter_named(&self.filter).map_err(|e| err("filter", e))?,
            group_by: GroupBy(group_by),
            window,
            kind,
            enabled: self.enabled,
            origin: "rules file",
        };
        rule.validate()?;
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_error(text: &str) -> RuleError {
        match parse(text) {
            Err(Parsed::Rule(e)) => e,
            Err(Parsed::Syntax(e)) => panic!("syntax error instead: {e}"),
            Ok(_) => panic!("accepted: {text}"),
        }
    }

    #[test]
    fn custom_rules_and_overrides_apply_over_the_pack() {
        let rules = parse(
            r#"
            [[rule]]
            id = "admin-failures"
            title = "Failed sign-ins to the admin console"
            severity = "high"
            kind = "threshold"
            filter = "type=auth.login.failure&source=admin"
            group_by = ["ip", "user"]
            window = "10m"
            count = 3

            [override.brute-force-ip]
            count = 12
            window = "5m"

            [override.mfa-disabled]
            enabled = false
            "#,
        )
        .ok()
        .unwrap();
        assert_eq!(rules.len(), 10);
        let brute = rules.iter().find(|r| r.id == "brute-force-ip").unwrap();
        assert_eq!(brute.kind, RuleKind::Threshold { count: 12 });
        assert_eq!(brute.window.as_secs(), 300);
        assert!(
            !rules
                .iter()
                .find(|r| r.id == "mfa-disabled")
                .unwrap()
                .enabled
        );
        let custom = rules.last().unwrap();
        assert_eq!(custom.group_by.to_string(), "ip+user");
        assert_eq!(custom.filter.source.as_deref(), Some("admin"));
    }

    #[test]
    fn errors_name_the_rule_the_field_and_why() {
        let base = "id = \"x\"\ntitle = \"t\"\nseverity = \"high\"\ngroup_by = [\"ip\"]\n";
        for (body, field, why) in [
            ("kind = \"threshold\"\nwindow = \"1m\"", "count", "required"),
            (
                "kind = \"threshold\"\nwindow = \"1m\"\ncount = 0",
                "count",
                "1–1000",
            ),
            (
                "kind = \"threshold\"\nwindow = \"1y\"\ncount = 3",
                "window",
                "duration",
            ),
            (
                "kind = \"threshold\"\nwindow = \"30d\"\ncount = 3",
                "window",
                "7 days",
            ),
            ("kind = \"often\"\nwindow = \"1m\"", "kind", "not threshold"),
            (
                "kind = \"distinct\"\nwindow = \"1m\"\ncount = 3\nfield = \"shoe\"",
                "field",
                "not one of",
            ),
            (
                "kind = \"threshold\"\nwindow = \"1m\"\ncount = 3\nfilter = \"since=1h\"",
                "filter",
                "not a rule filter",
            ),
            (
                "kind = \"threshold\"\nwindow = \"1m\"\ncount = 3\nfilter = \"type=nope\"",
                "filter",
                "type",
            ),
            (
                "kind = \"sequence\"\nwindow = \"1m\"\ncount = 3",
                "then",
                "required",
            ),
            (
                "kind = \"first_seen\"\nfield = \"ip\"\nhistory = \"36h\"",
                "history",
                "whole days",
            ),
        ] {
            let e = rule_error(&format!("[[rule]]\n{base}{body}\n"));
            assert_eq!(
                (e.rule.as_str(), e.field.as_str()),
                ("x", field),
                "{body}: {e}"
            );
            assert!(e.reason.contains(why), "{body}: {e}");
        }
        let e = rule_error("[override.no-such-rule]\nenabled = false\n");
        assert_eq!(
            (e.rule.as_str(), e.field.as_str()),
            ("no-such-rule", "override")
        );
        let e = rule_error("[override.mfa-disabled]\ncount = 0\n");
        assert_eq!(e.field, "count");
        let e = rule_error("[[rule]]\nid = \"brute-force-ip\"\ntitle = \"t\"\nseverity = \"low\"\ngroup_by = [\"ip\"]\nkind = \"threshold\"\nwindow = \"1m\"\ncount = 2\n");
        assert_eq!(e.field, "id");
        assert!(matches!(parse("[[rule]]\nid = 3"), Err(Parsed::Syntax(_))));
        assert!(matches!(parse("[nonsense]\n"), Err(Parsed::Syntax(_))));
    }
}
