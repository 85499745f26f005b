//! `night list`: the runs of this repository, newest first: id, outcome (or `running`),
//! duration, branch.

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
    let rows: Vec<[String; 4]> = runs.iter().map(row).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0).max(3), width(1).max(7), width(2).max(8));
    let mut text = String::new();
    let _ = writeln!(text, "{:w0$}  {:w1$}  {:w2$}  BRANCH", "RUN", "OUTCOME", "DURATION");
    for [id, outcome, duration, branch] in rows {
        let _ = writeln!(text, "{id:w0$}  {outcome:w1$}  {duration:>w2$}  {branch}");
    }
    out::print(&text)?;
    Ok(Exit::Success)
}

fn row(run: &RunDir) -> [String; 4] {
    let history = run.load().unwrap_or_default();
    let status = run.status(&history);
    let data = ReportData::new(&history, status == RunStatus::Died);
    let duration = match status {
        RunStatus::Running { .. } => Some(history.elapsed_at(chrono::Utc::now())),
        _ => data.duration_ms.map(std::time::Duration::from_millis),
    };
    let duration = duration.map_or_else(|| "-".to_string(), crate::time::format_duration);
    [run.id(), status.label().to_string(), duration, data.branch]
}
