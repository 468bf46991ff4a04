//! The engine: every enabled rule's memory, fed committed events one at a time. Pure and
//! synchronous, so the live runner, `vigil detect --since` and the tests judge alike.

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use vigil_wire::{EventFilter, StoredEvent};

use super::rule::{Rule, RuleKind};
use super::window::{self, Seen, Tripped};

/// The engine's bounds: every one a number (README, "Detections").
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Keys one rule remembers; beyond it the least recently active is forgotten.
    pub keys_per_rule: usize,
    /// Alerts one rule keeps open at once; beyond it new ones are counted, not raised.
    pub open_alerts_per_rule: usize,
    /// How far behind a key's newest event another may have happened and still count.
    pub lateness: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            keys_per_rule: 65_536,
            open_alerts_per_rule: 10_000,
            lateness: Duration::minutes(5),
        }
    }
}

/// What judging one event decided, per rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The rule tripped for a key without an alert that is not closed: raise one.
    Open {
        rule: usize,
        key: String,
        tripped: Tripped,
        /// The explorer query reproducing the matching events.
        evidence_filter: String,
    },
    /// One more matching event for a key whose alert is not closed: update it.
    Match {
        rule: usize,
        key: String,
        seen: Seen,
    },
}

enum Memory {
    Events(Vec<Seen>),
    Values(HashMap<String, Seen>),
    History(HashMap<String, DateTime<Utc>>),
}

struct KeyState {
    newest: DateTime<Utc>,
    memory: Memory,
}

struct RuleState {
    rule: Rule,
    keys: LruCache<String, KeyState>,
    /// Alert keys with an alert not closed: their matches update it instead of being judged.
    open: HashSet<String>,
}

/// Counters for the metrics and `vigil rules list`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events that happened too long before their key's newest to count.
    pub late: u64,
    /// Alerts not raised because their rule had `open_alerts_per_rule` open.
    pub suppressed: u64,
    /// Keys forgotten to stay within `keys_per_rule`.
    pub evicted: u64,
}

pub struct Engine {
    rules: Vec<RuleState>,
    limits: Limits,
    stats: EngineStats,
}

impl Engine {
    pub fn new(rules: Vec<Rule>, limits: Limits) -> Self {
        let cap = NonZeroUsize::new(limits.keys_per_rule.max(1)).expect("at least one");
        let rules = (rules.into_iter())
            .filter(|r| r.enabled)
            .map(|rule| RuleState {
                rule,
                keys: LruCache::new(cap),
                open: HashSet::new(),
            })
            .collect();
        Engine {
            rules,
            limits,
            stats: EngineStats::default(),
        }
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }

    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Keys remembered over all rules: what bounds the engine's memory.
    pub fn keys(&self) -> usize {
        self.rules.iter().map(|r| r.keys.len() + r.open.len()).sum()
    }

    /// An alert of `rule_id` for `key` is not closed (at start: those in the database).
    pub fn mark_open(&mut self, rule_id: &str, key: &str) {
        if let Some(state) = self.rules.iter_mut().find(|r| r.rule.id == rule_id) {
            state.open.insert(key.to_owned());
        }
    }

    /// That alert was closed: the key's next matches are judged afresh.
    pub fn mark_closed(&mut self, rule_id: &str, key: &str) {
        if let Some(state) = self.rules.iter_mut().find(|r| r.rule.id == rule_id) {
            state.open.remove(key);
        }
    }

    /// Judges one committed event against every rule.
    pub fn judge(&mut self, event: &StoredEvent) -> Vec<Verdict> {
        self.judge_rules(event, None)
    }

    /// Judges an event against the rule at `index` alone (a first-seen rule's history).
    pub fn judge_only(&mut self, index: usize, event: &StoredEvent) -> Vec<Verdict> {
        self.judge_rules(event, Some(index))
    }

    fn judge_rules(&mut self, event: &StoredEvent, only: Option<usize>) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        let limits = self.limits;
        for (index, state) in self.rules.iter_mut().enumerate() {
            if only.is_some_and(|o| o != index) {
                continue;
            }
            let rule = &state.rule;
            let now = event.received_at;
            let in_run = rule.filter.matches(event, None, now);
            let ends = matches!(&rule.kind, RuleKind::Sequence { then, .. } if then.matches(event, None, now));
            if !in_run && !ends {
                continue;
            }
            let Some(group) = rule.group_by.key_of(event) else {
                continue;
            };
            let seen = Seen {
                at: event.occurred_at,
                seq: event.seq,
            };
            let mut key = group.to_string();
            let value = match &rule.kind {
                RuleKind::FirstSeen { field, .. } | RuleKind::Distinct { field, .. } => {
                    let Some(value) = field.of(event) else {
                        continue;
                    };
                    if matches!(rule.kind, RuleKind::FirstSeen { .. }) {
                        key = format!("{key} {}={value}", field.name());
                    }
                    Some(value)
                }
                _ => None,
            };
            let group_key = group.to_string();
            if state.open.contains(&key) {
                if let (RuleKind::FirstSeen { .. }, Some(value)) = (&rule.kind, &value) {
                    // Keep the key's history current while its alert is open.
                    let memory =
                        key_state(&mut state.keys, &group_key, rule, seen, &mut self.stats);
                    if let Memory::History(history) = &mut memory.memory {
                        history.insert(value.clone(), seen.at);
                    }
                }
                verdicts.push(Verdict::Match {
                    rule: index,
                    key,
                    seen,
                });
                continue;
            }
            let tripped = {
                let memory = key_state(&mut state.keys, &group_key, rule, seen, &mut self.stats);
                memory.newest = memory.newest.max(seen.at);
                let window = Duration::from_std(rule.window).expect("windows are at most 7 days");
                let horizon = memory.newest - window - limits.lateness;
                if seen.at < horizon {
                    self.stats.late += 1;
                    continue;
                }
                match (&rule.kind, &mut memory.memory) {
                    (RuleKind::Threshold { count }, Memory::Events(events)) => {
                        window::threshold(events, seen, horizon, window, *count)
                    }
                    (RuleKind::Distinct { count, .. }, Memory::Values(values)) => {
                        let value = value.clone().expect("distinct rules have a value");
                        let newest = memory.newest;
                        window::distinct(values, value, seen, newest, horizon, window, *count)
                    }
                    (RuleKind::Sequence { count, .. }, Memory::Events(events)) => {
                        if ends {
                            window::then(events, seen, window, *count)
                        } else {
                            window::run(events, seen, horizon, *count);
                            None
                        }
                    }
                    (RuleKind::FirstSeen { history_days, .. }, Memory::History(history)) => {
                        let value = value.as_deref().expect("first-seen rules have a value");
                        let history_span = Duration::days(i64::from(*history_days));
                        (window::first_seen(history, value, seen, history_span)).then(|| Tripped {
                            seqs: vec![seen.seq],
                            first: seen.at,
                            last: seen.at,
                        })
                    }
                    _ => unreachable!("a key's memory is made for its rule's kind"),
                }
            };
            let Some(tripped) = tripped else {
                continue;
            };
            if !matches!(rule.kind, RuleKind::FirstSeen { .. }) {
                state.keys.pop(&group_key);
            }
            if state.open.len() >= limits.open_alerts_per_rule {
                self.stats.suppressed += 1;
                continue;
            }
            state.open.insert(key.clone());
            let evidence_filter = evidence(rule, &group, value.as_deref(), &tripped);
            verdicts.push(Verdict::Open {
                rule: index,
                key,
                tripped,
                evidence_filter,
            });
        }
        verdicts
    }
}

/// The key's memory, made fresh for the rule's kind if the key is new (or was forgotten).
fn key_state<'a>(
    keys: &'a mut LruCache<String, KeyState>,
    key: &str,
    rule: &Rule,
    seen: Seen,
    stats: &mut EngineStats,
) -> &'a mut KeyState {
    if !keys.contains(key) {
        let memory = match rule.kind {
            RuleKind::Threshold { .. } | RuleKind::Sequence { .. } => Memory::Events(Vec::new()),
            RuleKind::Distinct { .. } => Memory::Values(HashMap::new()),
            RuleKind::FirstSeen { .. } => Memory::History(HashMap::new()),
        };
        let fresh = KeyState {
            newest: seen.at,
            memory,
        };
        if keys.push(key.to_owned(), fresh).is_some() {
            stats.evicted += 1;
        }
    }
    keys.get_mut(key).expect("just made")
}

/// The explorer query for the events behind an alert: the rule's filter (and a sequence's end),
/// the key's parts the explorer can filter by, and the tripping events' time span.
fn evidence(
    rule: &Rule,
    group: &super::rule::GroupKey,
    value: Option<&str>,
    tripped: &Tripped,
) -> String {
    let mut filter: EventFilter = rule.filter.clone();
    if let RuleKind::Sequence { then, .. } = &rule.kind {
        filter.types.extend(then.types.iter().cloned());
        filter.categories.extend(then.categories.iter().copied());
        filter.result = None;
    }
    let mut params = filter.to_params();
    for (part, v) in &group.parts {
        params.extend(part.as_param(v));
    }
    if let (RuleKind::FirstSeen { field, .. }, Some(v)) = (&rule.kind, value) {
        params.extend(field.as_param(v));
    }
    params.push((
        "since",
        tripped
            .first
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    ));
    let until = tripped.last + Duration::microseconds(1);
    params.push((
        "until",
        until.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    ));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}
