//! `night status [RUN]`: whether a run is running, finished or died, and what it is doing now
//! or did, from its history and its supervisor's lock.

use super::error::{CliError, Done};
use super::{locate, out};
use crate::record::{Exit, RunStatus};
use crate::report::status::Status;
use crate::report::ReportData;
use std::fmt::Write as _;

pub fn run(name: Option<&str>) -> Done {
    if let Some(batch) = name.map(super::batch_command::find).transpose()?.flatten() {
        return super::batch_command::status(&batch);
    }
    let dir = locate::live_or_newest(name)?;
    let history = dir.load().map_err(|source| CliError::File { doing: "read the journal of", path: dir.path().to_path_buf(), source })?;
    let state = dir.status(&history);
    let data = ReportData::new(&history, state == RunStatus::Died);
    let now = chrono::Utc::now();
    let mut text = String::new();
    let id = if data.run_id.is_empty() { dir.id() } else { data.run_id.clone() };
    let reason = data.reason.as_deref().unwrap_or("");
    match &state {
        RunStatus::Running { pid } => {
            let status = Status::new(&history, now);
            let _ = writeln!(text, "{id}: running (supervisor pid {pid})");
            let _ = writeln!(text, "  now       {}", status.doing());
            let _ = writeln!(text, "  progress  {}", status.line());
        }
        RunStatus::Finished { outcome } => {
            let _ = writeln!(text, "{id}: {outcome} — {reason}");
            if let Some(duration) = data.duration_phrase(crate::time::format_millis) {
                let _ = writeln!(text, "  duration  {duration}");
            }
        }
        RunStatus::Died => {
            let _ = writeln!(text, "{id}: crashed — {reason}");
            // Where it stood when it was last heard of.
            let _ = writeln!(text, "  progress  {}", Status::new(&history, history.last_at.unwrap_or(now)).line());
        }
    }
    let _ = writeln!(text, "  branch    {}", data.branch);
    if data.worktree {
        let _ = writeln!(text, "  worktree  {}", data.work_dir);
    }
    if let Some(started) = &data.started_at {
        let _ = writeln!(text, "  started   {started}");
    }
    if let Some((last, _)) = history.commits.last() {
        let _ = writeln!(text, "  commits   {} (last: {} {})", history.commits.len(), last.short, last.summary);
    }
    if let Some((attempt, verified)) = history.last_verified() {
        let held = verified.results.iter().filter(|c| c.passed).count();
        let _ = writeln!(text, "  checks    {held}/{} hold after attempt {attempt}", verified.results.len());
    }
    let fired: Vec<String> = history.limits_fired().map(|l| format!("{} {}", l.limit, l.value)).collect();
    if !fired.is_empty() {
        let _ = writeln!(text, "  limits    {}", fired.join(", "));
    }
    if !history.resumes.is_empty() {
        let times = match history.resumes.len() {
            1 => "once".to_string(),
            n => format!("{n} times"),
        };
        let _ = writeln!(text, "  resumed   {times}");
    }
    if let Some(delivery) = &data.delivery {
        if let Some(url) = &delivery.pull_request_url {
            let _ = writeln!(text, "  pull req  {url}");
        }
        let _ = writeln!(text, "  delivery  {}", delivery.summary(&data.branch).replace('`', ""));
        if let Some(retry) = &delivery.retry {
            let _ = writeln!(text, "  deliver   {retry}");
        }
    }
    let _ = writeln!(text, "  folder    {}", dir.path().display());
    match &state {
        RunStatus::Running { .. } => {
            let _ = writeln!(text, "  follow    night log -f {id}");
            let _ = writeln!(text, "  stop      night stop {id}");
        }
        RunStatus::Finished { .. } => {
            let _ = writeln!(text, "  report    night report {id}");
        }
        RunStatus::Died => {
            let _ = writeln!(text, "  continue  night resume {id}");
        }
    }
    out::print(&text)?;
    Ok(Exit::Success)
}
