//! The report: a Markdown table to paste into docs/BENCHMARKS.md, the two target ratios, and the
//! diagnostics that explain the figures (CPU split, commit grouping, refusals, integrity).

use crate::measure::PhaseResult;

/// What the figures were measured on.
pub struct Setting {
    pub cores: usize,
    pub postgres: String,
    pub date: String,
    pub load_before: String,
    pub clients: usize,
}

/// Prints the table and ratios; `phases` are COPY, row per transaction, single, batched.
pub fn print(phases: &[PhaseResult; 4], setting: &Setting, checks: &[String]) {
    let [copy, rows, single, batched] = phases;
    println!();
    println!("| phase | events | seconds | events/s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for phase in phases {
        let cut = if phase.cut_short {
            " (hit the time limit)"
        } else {
            ""
        };
        println!(
            "| {}{cut} | {} | {:.2} | {} | {} | {} |",
            phase.label,
            thousands(phase.events),
            phase.elapsed.as_secs_f64(),
            thousands(phase.rate().round() as u64),
            ms(phase.percentile_ms(0.50)),
            ms(phase.percentile_ms(0.99)),
        );
    }
    let batched_share = 100.0 * batched.rate() / copy.rate().max(1e-9);
    let single_factor = single.rate() / rows.rate().max(1e-9);
    println!();
    println!(
        "- batched ingest = {batched_share:.0}% of COPY (target ≥ 50%: {})",
        verdict(batched_share >= 50.0)
    );
    println!(
        "- single-event ingest with {} clients = {single_factor:.1}× one-row-per-transaction (target ≥ 2×: {})",
        setting.clients,
        verdict(single_factor >= 2.0)
    );
    println!(
        "- machine: {} cores (nproc), {}; load generator, Vigil and PostgreSQL on the same machine; {}",
        setting.cores, setting.postgres, setting.date
    );
    println!();
    println!(
        "Diagnostics (load average before the run: {}):",
        setting.load_before
    );
    for phase in phases {
        print_diagnostics(phase);
    }
    for check in checks {
        println!("- {check}");
    }
}

fn print_diagnostics(phase: &PhaseResult) {
    let per_k = |seconds: f64| 1000.0 * seconds / (phase.events.max(1) as f64);
    let cpu = &phase.cpu;
    let postgres = cpu
        .postgres
        .map_or_else(|| "n/a".to_owned(), |s| format!("{:.3}", per_k(s)));
    let mut line = format!(
        "- {}: CPU s per 1,000 events: load client {:.3}, Vigil {:.3}, PostgreSQL {postgres}",
        short(&phase.label),
        per_k(cpu.client),
        per_k(cpu.server),
    );
    if let Some((rows, commits)) = phase.commits {
        let mean = rows as f64 / commits.max(1) as f64;
        line.push_str(&format!(
            "; {rows} rows in {commits} transactions ({mean:.1} rows per commit)"
        ));
    }
    println!("{line}");
    if !phase.refused.is_empty() {
        println!(
            "  {} requests were not answered 201; the first ones:",
            phase.refused.len()
        );
        for why in phase.refused.iter().take(10) {
            println!("    {why}");
        }
    }
}

/// The phase's letter and name, without the parenthesised detail.
fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

/// 12345 → "12,345", for a table people read.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}
