//! `vigil webhooks …`: register, list and remove the receivers alerts are POSTed to, and show how
//! their deliveries went. Results go to stdout, messages to stderr.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::RngCore;

use crate::config::{AddWebhookArgs, DeliveriesArgs, WebhooksCommand};
use crate::events::chain::to_hex;
use crate::storage::{
    DeliveryQuery, DeliveryRecord, DeliveryState, EventStore, NewWebhook, WebhookFormat,
    WebhookSecret,
};

/// Random bytes in a webhook's signing secret (printed as hex).
pub const SECRET_BYTES: usize = 32;

pub async fn run(command: WebhooksCommand, store: &EventStore) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::Add(args) => add(&args, store).await,
        WebhooksCommand::List => list(store).await,
        WebhooksCommand::Remove { id } => {
            if !store.remove_webhook(id).await? {
                anyhow::bail!("no webhook with id {id} (see `vigil webhooks list`)");
            }
            eprintln!("Removed webhook {id} and its deliveries.");
            Ok(())
        }
        WebhooksCommand::Deliveries(args) => deliveries(&args, store).await,
    }
}

async fn add(args: &AddWebhookArgs, store: &EventStore) -> anyhow::Result<()> {
    let format = WebhookFormat::parse(&args.format).context("--format: must be json or slack")?;
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let secret = to_hex(&secret);
    let webhook = NewWebhook {
        url: args.url.as_str().to_owned(),
        min_severity: args.min_severity,
        format,
        on_status_change: args.on_status_change,
        secret: WebhookSecret::new(secret.clone()),
    };
    let id = (store.add_webhook(&webhook).await).context("could not add the webhook")?;
    let changes = if args.on_status_change {
        "opened, acknowledged and closed"
    } else {
        "newly opened"
    };
    eprintln!(
        "Added webhook {id}: {changes} alerts of severity {} or worse, as {format}. The secret \
         signs every request's Vigil-Signature header; it is shown only now.",
        args.min_severity
    );
    println!("id={id}");
    println!("secret={secret}");
    Ok(())
}

async fn list(store: &EventStore) -> anyhow::Result<()> {
    println!(
        "{:<5} {:<6} {:<9} {:<8} {:>9} {:>7} {:>6}  {:<48} URL",
        "ID", "FORMAT", "SEVERITY", "CHANGES", "DELIVERED", "PENDING", "FAILED", "LAST ATTEMPT"
    );
    for tally in store.webhooks().await? {
        let webhook = &tally.webhook;
        let last = (tally.last_attempted.as_ref()).map_or_else(|| "-".to_owned(), last_attempt);
        println!(
            "{:<5} {:<6} {:<9} {:<8} {:>9} {:>7} {:>6}  {last:<48} {}",
            webhook.id,
            webhook.format.as_str(),
            format!("{}+", webhook.min_severity),
            if webhook.on_status_change {
                "all"
            } else {
                "opened"
            },
            tally.delivered,
            tally.pending,
            tally.failed,
            webhook.url
        );
    }
    Ok(())
}

/// `#12 delivered HTTP 200 at …`, `#13 pending after 3 attempts: HTTP 500, next …`.
fn last_attempt(delivery: &DeliveryRecord) -> String {
    let outcome = outcome(delivery);
    match delivery.state {
        DeliveryState::Delivered => format!("#{} delivered: {outcome}", delivery.id),
        DeliveryState::Pending => format!(
            "#{} pending after {}: {outcome}, next {}",
            delivery.id,
            attempts(delivery.attempts),
            time(delivery.next_attempt_at)
        ),
        DeliveryState::Failed => format!(
            "#{} failed after {}: {outcome}",
            delivery.id,
            attempts(delivery.attempts)
        ),
    }
}

fn attempts(n: i32) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

/// The last attempt's result: its HTTP status and error, as far as known.
fn outcome(delivery: &DeliveryRecord) -> String {
    match (&delivery.last_error, delivery.last_status) {
        (Some(error), _) => error.clone(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) if delivery.attempts == 0 => "not attempted yet".to_owned(),
        (None, None) => "in flight".to_owned(),
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn deliveries(args: &DeliveriesArgs, store: &EventStore) -> anyhow::Result<()> {
    let query = DeliveryQuery {
        webhook: args.webhook,
        alert: args.alert,
    };
    let found = store.webhook_deliveries(query, args.limit.into()).await?;
    println!(
        "{:<7} {:<7} {:<7} {:<4} {:<18} {:<9} {:>8} {:<20} {:<20} OUTCOME",
        "ID", "WEBHOOK", "ALERT", "REV", "EVENT", "STATE", "ATTEMPTS", "CREATED", "DONE/NEXT"
    );
    for delivery in &found {
        let when = match delivery.state {
            DeliveryState::Delivered => delivery.delivered_at.map(time).unwrap_or_default(),
            _ => time(delivery.next_attempt_at),
        };
        println!(
            "{:<7} {:<7} {:<7} {:<4} {:<18} {:<9} {:>8} {:<20} {when:<20} {}",
            delivery.id,
            delivery.webhook_id,
            delivery.alert_id,
            delivery.alert_revision,
            delivery.event,
            delivery.state.as_str(),
            delivery.attempts,
            time(delivery.created_at),
            outcome(delivery)
        );
    }
    if found.is_empty() {
        eprintln!("No deliveries match.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WEBHOOK_FORMATS;

    #[test]
    fn the_cli_offers_exactly_the_stored_formats() {
        let stored: Vec<&str> = WebhookFormat::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(stored, WEBHOOK_FORMATS);
    }
}
