//! `night list`: the runs of this repository, newest first (a batch's runs together, under
//! a line naming the batch): id, when it started (UTC), outcome (or `running`), duration,
//! branch, and, when a run was delivered, its pull request (or `delivery failed`).

use super::error::Done;
use super::{locate, out};
use crate::record::{Exit, RunDir, RunStatus};
use crate::report::ReportData;
use std::fmt::Write as _;

pub fn run() -> Done {
    let runs = locate::runs()?.list();
    if runs.is_empty() {
        out::print("no run in this repository yet\n")?;
        return Ok(Exit::Success);
    }
    // The runs of a batch are listed together, under a line naming the batch, where its
    // newest run would be.
    let mut ordered: Vec<(Option<String>, &RunDir)> = Vec::new();
    let batch_of = |run: &RunDir| run.load().ok().and_then(|h| h.start.and_then(|(start, _)| start.batch));
    let tagged: Vec<(Option<String>, &RunDir)> = runs.iter().map(|run| (batch_of(run), run)).collect();
    for (batch, run) in &tagged {
        if ordered.iter().any(|(_, seen)| seen.id() == run.id()) {
            continue;
        }
        match batch {
            Some(id) => ordered.extend(tagged.iter().filter(|(b, _)| b.as_deref() == Some(id.as_str())).map(|(b, r)| (b.clone(), *r))),
            None => ordered.push((None, run)),
        }
    }
    let rows: Vec<[String; 6]> = ordered
        .iter()
        .map(|(batch, run)| {
            let mut row = row(run);
            if batch.is_some() {
                row[0] = format!("  {}", row[0]);
            }
            row
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0).max(3), width(1).max(11), width(2).max(7), width(3).max(8));
    // The column appears once a run of the repository was delivered.
    let delivered = rows.iter().any(|r| !r[5].is_empty());
    let w4 = if delivered { width(4).max(6) } else { 0 };
    let mut text = String::new();
    let header = format!("{:w0$}  {:w1$}  {:w2$}  {:w3$}  {:w4$}", "RUN", "STARTED UTC", "OUTCOME", "DURATION", "BRANCH");
    let _ = writeln!(text, "{}", if delivered { format!("{header}  DELIVERED") } else { header.trim_end().to_string() });
    let mut batch_shown: Option<&str> = None;
    for ((batch, _), [id, started, outcome, duration, branch, delivery]) in ordered.iter().zip(rows) {
        if let Some(batch) = batch.as_deref().filter(|b| batch_shown != Some(*b)) {
            let _ = writeln!(text, "batch {batch}    (night report {batch})");
            batch_shown = Some(batch);
        }
        let line = format!("{id:w0$}  {started:w1$}  {outcome:w2$}  {duration:>w3$}  {branch:w4$}  {delivery}");
        let _ = writeln!(text, "{}", line.trim_end());
    }
    out::print(&text)?;
    Ok(Exit::Success)
}

fn row(run: &RunDir) -> [String; 6] {
    let history = run.load().unwrap_or_default();
    let status = run.status(&history);
    let mut data = ReportData::new(&history, status == RunStatus::Died);
    if let RunStatus::Running { .. } = status {
        data.duration_ms = Some(crate::time::millis(history.elapsed_at(chrono::Utc::now())));
        data.set_wall(&history, chrono::Utc::now());
    }
    // Like `night status` and the report: a resumed run's whole wall time, and the time since the resume.
    let duration = data.duration_phrase(crate::time::format_millis).unwrap_or_else(|| "-".to_string());
    let delivery = match &data.delivery {
        Some(delivery) => match (&delivery.pull_request_url, delivery.status) {
            (Some(url), _) => url.clone(),
            (None, "delivered") => format!("pushed to {}", delivery.remote),
            (None, "failed") => "delivery FAILED".to_string(),
            (None, _) => "delivering".to_string(),
        },
        None => String::new(),
    };
    let started = history.started_at().map_or_else(|| "-".to_string(), |at| at.format("%Y-%m-%d %H:%M").to_string());
    [run.id(), started, status.label().to_string(), duration, data.branch, delivery]
}
