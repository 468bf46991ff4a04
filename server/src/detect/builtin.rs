//! The built-in pack, on by default. Thresholds follow the published defaults of the systems
//! the README names beside each rule ("Detections").

use std::time::Duration;

use vigil_wire::{AlertSeverity, EventFilter};

use super::rule::{GroupBy, Part, Rule, RuleKind};

fn filter(query: &str) -> EventFilter {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    EventFilter::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .expect("built-in filters parse")
}

#[allow(clippy::too_many_arguments)]
fn rule(
    id: &str,
    title: &str,
    severity: AlertSeverity,
    description: &str,
    query: &str,
    group_by: &[Part],
    window_secs: u64,
    kind: RuleKind,
) -> Rule {
    Rule {
        id: id.into(),
        title: title.into(),
        severity,
        description: description.into(),
        filter: filter(query),
        group_by: GroupBy(group_by.to_vec()),
        window: Duration::from_secs(window_secs),
        kind,
        enabled: true,
        origin: "built-in",
    }
}

const FAILED_LOGIN: &str = "type=auth.login.failure";

/// The nine built-in rules, in the order the README lists them.
pub fn pack() -> Vec<Rule> {
    use AlertSeverity::*;
    vec![
        rule(
            "brute-force-ip",
            "Brute force from one address",
            High,
            "Many failed sign-ins from one address within two minutes: a password-guessing \
             tool at work. Block or rate-limit the address at the edge, and check whether any \
             sign-in from it succeeded (pivot to its events).",
            FAILED_LOGIN,
            &[Part::Ip],
            120,
            RuleKind::Threshold { count: 8 },
        ),
        rule(
            "account-under-attack",
            "One account under attack",
            High,
            "Many failed sign-ins for one account, from any addresses, within 15 minutes. \
             Confirm with the account's owner, consider locking it or forcing a reset, and \
             look for a success among its events.",
            FAILED_LOGIN,
            &[Part::User],
            900,
            RuleKind::Threshold { count: 10 },
        ),
        rule(
            "password-spraying",
            "Password spraying from one address",
            High,
            "Failed sign-ins for many different usernames from one address within five \
             minutes: one common password tried against many accounts. Block the address and \
             check the targeted accounts for a later success.",
            FAILED_LOGIN,
            &[Part::Ip],
            300,
            RuleKind::Distinct {
                field: Part::Username,
                count: 15,
            },
        ),
        rule(
            "distributed-attack-on-account",
            "Distributed attack on one account",
            High,
            "Failed sign-ins for one account from many different addresses within 30 \
             minutes: a botnet or proxy pool working on one account, below per-address \
             limits. Protect the account (lock, reset, require MFA).",
            FAILED_LOGIN,
            &[Part::User],
            1800,
            RuleKind::Distinct {
                field: Part::Ip,
                count: 10,
            },
        ),
        rule(
            "success-after-failures",
            "Sign-in succeeded after repeated failures",
            Critical,
            "A run of failed sign-ins for an account followed by a successful one within ten \
             minutes: the guessing may have worked. Verify the session with the account's \
             owner; if in doubt revoke its sessions and reset its credentials.",
            FAILED_LOGIN,
            &[Part::User],
            600,
            RuleKind::Sequence {
                count: 5,
                then: Box::new(filter("type=auth.login.success")),
            },
        ),
        rule(
            "mfa-fatigue",
            "MFA fatigue: repeated challenge failures, then a success",
            Critical,
            "Repeated failed MFA challenges for an account followed by a passed one within ten \
             minutes: push-bombing until the user gives in. Ask the user whether they approved \
             it; revoke the session if not.",
            "type=auth.mfa.challenge_failure",
            &[Part::User],
            600,
            RuleKind::Sequence {
                count: 5,
                then: Box::new(filter("type=auth.mfa.challenge_success")),
            },
        ),
        rule(
            "mfa-disabled",
            "MFA disabled on an account",
            Medium,
            "An account turned its second factor off. Confirm the change with its owner: an \
             attacker holding a session does this first.",
            "type=auth.mfa.disabled",
            &[Part::User],
            60,
            RuleKind::Threshold { count: 1 },
        ),
        rule(
            "api-key-new-address",
            "API key used from a new address",
            Medium,
            "An API key was used from an address it has not used in the last 14 days. If the \
             key's owner did not move, treat the key as leaked: revoke and rotate it.",
            "type=auth.api_key.used",
            &[Part::ApiKeyId],
            60,
            RuleKind::FirstSeen {
                field: Part::Ip,
                history_days: 14,
            },
        ),
        rule(
            "token-validation-surge",
            "Surge of token validation failures from one address",
            Medium,
            "Many invalid or expired tokens presented by one address within five minutes: \
             token guessing, or a client replaying stolen tokens. Block the address if it is \
             not a known misconfigured client.",
            "type=auth.token.validation_failed",
            &[Part::Ip],
            300,
            RuleKind::Threshold { count: 20 },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_is_nine_valid_rules_with_distinct_ids() {
        let pack = pack();
        assert_eq!(pack.len(), 9);
        for rule in &pack {
            rule.validate().unwrap();
        }
        let mut ids: Vec<&str> = pack.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 9);
    }
}
