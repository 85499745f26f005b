//! `night list`: the runs of this repository, newest first: id, when it started (UTC),
//! outcome (or `running`), duration, branch.

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
    let rows: Vec<[String; 5]> = runs.iter().map(row).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0).max(3), width(1).max(11), width(2).max(7), width(3).max(8));
    let mut text = String::new();
    let _ = writeln!(text, "{:w0$}  {:w1$}  {:w2$}  {:w3$}  BRANCH", "RUN", "STARTED UTC", "OUTCOME", "DURATION");
    for [id, started, outcome, duration, branch] in rows {
        let _ = writeln!(text, "{id:w0$}  {started:w1$}  {outcome:w2$}  {duration:>w3$}  {branch}");
    }
    out::print(&text)?;
    Ok(Exit::Success)
}

fn row(run: &RunDir) -> [String; 5] {
    let history = run.load().unwrap_or_default();
    let status = run.status(&history);
    let data = ReportData::new(&history, status == RunStatus::Died);
    let duration = match status {
        RunStatus::Running { .. } => Some(history.elapsed_at(chrono::Utc::now())),
        _ => data.duration_ms.map(std::time::Duration::from_millis),
    };
    let duration = duration.map_or_else(|| "-".to_string(), crate::time::format_duration);
    let started = history.started_at().map_or_else(|| "-".to_string(), |at| at.format("%Y-%m-%d %H:%M").to_string());
    [run.id(), started, status.label().to_string(), duration, data.branch]
}
