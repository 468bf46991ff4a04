//! `vigil rules check|list` and `vigil detect --since`.

use anyhow::Context;
use std::path::Path;

use crate::config::{DetectArgs, RulesCommand};
use crate::detect::history::judge_history;
use crate::detect::{rules_file, Rule};
use crate::storage::alerts::Judgement;
use crate::storage::EventStore;
use vigil_wire::TimeBound;

fn rules_from(path: Option<&Path>) -> anyhow::Result<Vec<Rule>> {
    Ok(match path {
        Some(path) => rules_file::load(path)?,
        None => rules_file::defaults(),
    })
}

/// `check` needs no database; `list` reads the alerts of each rule.
pub async fn rules(command: &RulesCommand, store: Option<&EventStore>) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let rules = rules_file::load(file)?;
            let enabled = rules.iter().filter(|r| r.enabled).count();
            println!(
                "{}: {} rules, {enabled} enabled",
                file.display(),
                rules.len()
            );
            Ok(())
        }
        RulesCommand::List { rules } => {
            let store = store.expect("list reads the database");
            let rules = rules_from(rules.as_deref())?;
            let counts = store.alert_counts_by_rule().await?;
            println!(
                "{:<32} {:<9} {:<9} {:>7} {:>9}  condition",
                "rule", "state", "severity", "open", "last 24h"
            );
            for rule in rules {
                let info = rule.info();
                let (open, day) = counts.get(&rule.id).copied().unwrap_or((0, 0));
                println!(
                    "{:<32} {:<9} {:<9} {open:>7} {day:>9}  {}",
                    info.id,
                    if info.enabled { "enabled" } else { "disabled" },
                    info.severity,
                    info.condition
                );
            }
            Ok(())
        }
    }
}

pub async fn detect(args: &DetectArgs, store: &EventStore) -> anyhow::Result<()> {
    let rules = rules_from(args.rules.as_deref())?;
    let since = TimeBound::parse(&args.since)
        .map_err(anyhow::Error::msg)
        .context("--since")?
        .resolve(chrono::Utc::now());
    let run = judge_history(store, rules, since, !args.dry_run).await?;
    for alert in &run.opened {
        println!(
            "{:<9} {:<32} {:<40} {:>5} events  {} .. {}",
            alert.severity,
            alert.rule_id,
            alert.group_key,
            alert.seqs.len(),
            alert.first_seen.format("%Y-%m-%d %H:%M:%S"),
            alert.last_seen.format("%H:%M:%S"),
        );
    }
    if args.dry_run {
        println!(
            "{} alerts over {} events (dry run: nothing written)",
            run.opened.len(),
            run.events
        );
        return Ok(());
    }
    let judgement = Judgement {
        opened: run.opened,
        ..Judgement::default()
    };
    let raised = judgement.opened.len();
    store.commit_judgement(&judgement, None).await?;
    println!("raised {raised} alerts over {} events", run.events);
    Ok(())
}
