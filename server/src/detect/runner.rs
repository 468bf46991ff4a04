//! The evaluating instance: of all `vigil serve` on one database, the one holding the detection
//! lease (a session advisory lock, released by PostgreSQL when its connection dies, `kill -9`
//! included) judges the committed stream. It commits each batch's alerts with the cursor, so
//! whoever holds the lease next resumes after exactly what was committed, its windows rebuilt
//! from the stored events before the cursor: no alert lost or raised twice.

use chrono::Duration as Span;
use sqlx::pool::PoolConnection;
use sqlx::Postgres;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::TryRecvError;
use vigil_wire::StoredEvent;

use super::engine::{Engine, Limits, Verdict};
use super::rule::{Rule, RuleKind};
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::storage::alerts::{AlertMatches, Judgement, NewAlert, MAX_EVIDENCE};
use crate::storage::{EventStore, StorageError};

/// The advisory lock key of the detection lease (`vigil` in ASCII, then `d`).
const LEASE_KEY: i64 = 0x7669_6769_6c64;
/// How often an instance without the lease tries for it, and the holder checks it still has it.
const LEASE_EVERY: Duration = Duration::from_secs(2);
/// Events judged at once at most.
const BATCH: i64 = 1_000;
/// What was judged is committed at least this often…
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// …within this long when it opens an alert (so a burst of alerts is one transaction)…
const OPEN_EVERY: Duration = Duration::from_millis(100);
/// …and after at most this many events.
const FLUSH_EVENTS: usize = 10_000;
/// The furthest ahead of its receipt an event may claim to have happened (the server's
/// default clock skew): how much earlier than their events' windows a rebuild must read.
pub(super) const SKEW: Span = Span::minutes(5);

#[derive(Clone)]
pub struct DetectConfig {
    pub rules: Vec<Rule>,
    pub limits: Limits,
}

/// Runs for the life of the process: wait for the lease, judge while holding it.
pub async fn run(store: EventStore, hub: LiveHub, config: DetectConfig, metrics: Metrics) {
    let mut tries = tokio::time::interval(LEASE_EVERY);
    loop {
        tries.tick().await;
        let lease = match take_lease(&store).await {
            Ok(Some(lease)) => lease,
            Ok(None) => continue,
            Err(err) => {
                tracing::debug!(%err, "cannot try for the detection lease");
                continue;
            }
        };
        tracing::info!("this instance now evaluates the detection rules");
        metrics.detect_evaluating.set(1);
        if let Err(err) = evaluate(&store, &hub, &config, &metrics, lease).await {
            tracing::warn!(%err, "detection stopped; another instance (or this one) resumes it");
        }
        metrics.detect_evaluating.set(0);
    }
}

/// A connection of its own holding the lease, or `None` when another instance has it.
async fn take_lease(store: &EventStore) -> Result<Option<PoolConnection<Postgres>>, StorageError> {
    let mut conn = store.pool().acquire().await?;
    let got: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(LEASE_KEY)
        .fetch_one(&mut *conn)
        .await?;
    if !got {
        return Ok(None);
    }
    Ok(Some(conn))
}

/// Rebuilds the engine from the database, then judges new events until the lease or the
/// database is lost. What it decides is committed within `OPEN_EVERY` when it opens an alert
/// (with everything judged before), otherwise at most `FLUSH_EVERY` or `FLUSH_EVENTS` later: the
/// cursor may lag what was judged, and a successor judges that stretch again, alike.
async fn evaluate(
    store: &EventStore,
    hub: &LiveHub,
    config: &DetectConfig,
    metrics: &Metrics,
    mut lease: PoolConnection<Postgres>,
) -> Result<(), StorageError> {
    // Subscribed before reading the cursor: nothing committed meanwhile is missed.
    let (mut live, published) = hub.subscribe();
    let mut cursor = store.detection_cursor().await?;
    let mut engine = rebuild(store, config, cursor).await?;
    let mut head = published.max(store.chain_head().await?.seq);
    let mut judged = cursor;
    let mut pending: Vec<Arc<StoredEvent>> = Vec::new();
    let mut batch = Batch::default();
    let mut last_commit = Instant::now();
    let mut check = tokio::time::interval(LEASE_EVERY);
    loop {
        // What the hub published: events in seq order, usually exactly the next ones.
        loop {
            match live.try_recv() {
                Ok(published) => take(&mut pending, &mut head, &published),
                Err(TryRecvError::Lagged(_)) => pending.clear(),
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
            }
        }
        pending.retain(|e| e.seq > judged);
        metrics.detect_lag_events.set(head - judged);
        let since = last_commit.elapsed();
        let due =
            (judged > cursor && since >= FLUSH_EVERY) || (batch.opened() && since >= OPEN_EVERY);
        if due || batch.events >= FLUSH_EVENTS {
            if !commit(store, &mut engine, &mut batch, cursor, judged, metrics).await? {
                return Ok(()); // someone else moved the cursor: the lease was lost
            }
            cursor = judged;
            last_commit = Instant::now();
            metrics.detect_keys.set(engine.keys() as i64);
            metrics.detect_late_events.set(engine.stats().late as i64);
            continue;
        }
        if head <= judged {
            let wait = if batch.opened() {
                OPEN_EVERY
            } else {
                FLUSH_EVERY
            };
            let flush = tokio::time::sleep(wait.saturating_sub(last_commit.elapsed()));
            tokio::select! {
                published = live.recv() => {
                    if let Ok(published) = published {
                        take(&mut pending, &mut head, &published);
                    }
                }
                _ = flush, if judged > cursor => {}
                _ = check.tick() => {
                    sqlx::query("select 1").execute(&mut *lease).await?;
                }
            }
            continue;
        }
        let events: Vec<Arc<StoredEvent>> = match pending.first() {
            Some(first) if first.seq == judged + 1 => {
                let n = pending.len().min(BATCH as usize);
                // Gapless seqs: the first `n` are judged+1 … judged+n.
                pending.drain(..n).collect()
            }
            _ => {
                pending.clear();
                let last = head.min(judged + BATCH);
                let read = store.seq_range(judged + 1, last).await?;
                if read.is_empty() {
                    // Only retention leaves holes: skip past it.
                    judged = last;
                    continue;
                }
                read.into_iter().map(Arc::new).collect()
            }
        };
        judged = events.last().map_or(judged, |e| e.seq);
        judge_into(&mut engine, &events, None, &mut batch);
    }
}

/// Adds a hub message's events to what waits to be judged.
fn take(pending: &mut Vec<Arc<StoredEvent>>, head: &mut i64, published: &crate::live::LiveBatch) {
    pending.extend(published.iter().map(|e| e.event.clone()));
    if let Some(last) = published.last() {
        *head = (*head).max(last.seq);
    }
}

/// Commits the batch with the cursor moved from `cursor` to `through`; matches for alerts an
/// operator closed meanwhile are judged again, afresh, and may raise a new alert. False when
/// the cursor was not where this instance left it.
async fn commit(
    store: &EventStore,
    engine: &mut Engine,
    batch: &mut Batch,
    cursor: i64,
    through: i64,
    metrics: &Metrics,
) -> Result<bool, StorageError> {
    let mut expected = cursor;
    let mut current = std::mem::take(batch);
    loop {
        let judgement = current.judgement(through);
        let Some(committed) = store.commit_judgement(&judgement, Some(expected)).await? else {
            return Ok(false);
        };
        for opened in &judgement.opened {
            metrics
                .detect_alerts_opened
                .with_label_values(&[&opened.rule_id])
                .inc();
        }
        expected = through;
        if committed.closed.is_empty() {
            return Ok(true);
        }
        let mut again = Batch::default();
        for (rule_id, key) in &committed.closed {
            engine.mark_closed(rule_id, key);
            if let Some((index, events)) = current.behind.remove(&(rule_id.clone(), key.clone())) {
                judge_into(engine, &events, Some(index), &mut again);
            }
        }
        current = again;
    }
}

/// An engine as it stood after judging everything through `cursor`: the alerts not closed,
/// and every window refilled from the events received within the longest window (plus the
/// lateness and the clock skew) before the cursor's; first-seen rules from their history.
pub async fn rebuild(
    store: &EventStore,
    config: &DetectConfig,
    cursor: i64,
) -> Result<Engine, StorageError> {
    let mut engine = Engine::new(config.rules.clone(), config.limits);
    for (rule, key) in store.live_alert_keys().await? {
        engine.mark_open(&rule, &key);
    }
    let Some(cursor_event) = store.seq_range(cursor, cursor).await?.pop() else {
        return Ok(engine);
    };
    let margin = config.limits.lateness + SKEW;
    // Every rule's window: all events from the longest window before the cursor's event.
    let longest = (engine.rules())
        .filter(|r| !matches!(r.kind, RuleKind::FirstSeen { .. }))
        .map(|r| Span::from_std(r.window).unwrap_or(Span::days(7)))
        .max()
        .unwrap_or(Span::zero());
    let recent = store
        .first_seq_received_since(cursor_event.received_at - longest - margin)
        .await?;
    // First-seen rules' history: only their own events, from further back.
    let histories: Vec<(usize, Rule, i64)> = {
        let mut histories = Vec::new();
        for (index, rule) in engine.rules().enumerate() {
            if let RuleKind::FirstSeen { history_days, .. } = rule.kind {
                let since = cursor_event.received_at - Span::days(i64::from(history_days)) - margin;
                histories.push((
                    index,
                    rule.clone(),
                    store.first_seq_received_since(since).await?,
                ));
            }
        }
        histories
    };
    for (index, rule, mut after) in histories {
        after -= 1;
        loop {
            let page = store
                .matching_after(&rule.filter, after, BATCH as u32)
                .await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            for event in page.iter().filter(|e| e.seq < recent) {
                engine.judge_only(index, event);
            }
            if last >= recent || page.len() < BATCH as usize {
                break;
            }
            after = last;
        }
    }
    let mut from = recent;
    while from <= cursor {
        let to = cursor.min(from + BATCH - 1);
        for event in store.seq_range(from, to).await? {
            // Verdicts were committed when these events were first judged.
            engine.judge(&event);
        }
        from = to + 1;
    }
    Ok(engine)
}

/// An alert's rule id and key.
type AlertKey = (String, String);

/// What judging has decided and not yet committed.
#[derive(Default)]
struct Batch {
    opened: Vec<NewAlert>,
    matched: HashMap<AlertKey, AlertMatches>,
    /// The events behind each live alert's matches, with the rule's index: what is judged
    /// again if that alert turns out closed.
    behind: HashMap<AlertKey, (usize, Vec<Arc<StoredEvent>>)>,
    events: usize,
}

impl Batch {
    fn opened(&self) -> bool {
        !self.opened.is_empty()
    }

    fn judgement(&self, through_seq: i64) -> Judgement {
        let mut matched: Vec<AlertMatches> = self.matched.values().cloned().collect();
        matched.sort_by(|a, b| (&a.rule_id, &a.group_key).cmp(&(&b.rule_id, &b.group_key)));
        Judgement {
            opened: self.opened.clone(),
            matched,
            through_seq,
        }
    }
}

/// Judges the events and sums the verdicts into what one commit writes.
pub fn judge(engine: &mut Engine, events: &[Arc<StoredEvent>], through_seq: i64) -> Judgement {
    let mut batch = Batch::default();
    judge_into(engine, events, None, &mut batch);
    batch.judgement(through_seq)
}

fn judge_into(
    engine: &mut Engine,
    events: &[Arc<StoredEvent>],
    only: Option<usize>,
    batch: &mut Batch,
) {
    batch.events += events.len();
    for event in events {
        let verdicts = match only {
            Some(index) => engine.judge_only(index, event),
            None => engine.judge(event),
        };
        for verdict in verdicts {
            match verdict {
                Verdict::Open {
                    rule,
                    key,
                    tripped,
                    evidence_filter,
                } => {
                    let rule = engine.rule(rule);
                    batch.opened.push(NewAlert {
                        rule_id: rule.id.clone(),
                        title: rule.title.clone(),
                        severity: rule.severity,
                        group_key: key,
                        first_seen: tripped.first,
                        last_seen: tripped.last,
                        seqs: tripped.seqs,
                        evidence_filter,
                    });
                }
                Verdict::Match { rule, key, seen } => {
                    let id = (engine.rule(rule).id.clone(), key);
                    (batch.behind.entry(id.clone()))
                        .or_insert_with(|| (rule, Vec::new()))
                        .1
                        .push(event.clone());
                    let entry = batch.matched.entry(id.clone()).or_insert(AlertMatches {
                        rule_id: id.0,
                        group_key: id.1,
                        count: 0,
                        first_seen: seen.at,
                        last_seen: seen.at,
                        seqs: Vec::new(),
                    });
                    entry.count += 1;
                    entry.first_seen = entry.first_seen.min(seen.at);
                    entry.last_seen = entry.last_seen.max(seen.at);
                    if entry.seqs.len() < MAX_EVIDENCE {
                        entry.seqs.push(seen.seq);
                    }
                }
            }
        }
    }
}
