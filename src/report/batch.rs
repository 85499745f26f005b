//! The morning report of a batch: one table of its runs (outcome, attempts, checks against the
//! baseline, tests lost, cost, duration, branch), the totals, then a link to each run's own
//! report. Rendered from the batch's history and each run's history, nothing else; as
//! markdown, JSON (`version` 1, docs/batches.md) and HTML.

use crate::record::batch::MemberState;
use crate::record::{BatchHistory, History, Member, Outcome};
use crate::report::ReportData;
use serde::Serialize;
use std::fmt::Write as _;

/// One member of the batch, as the caller found it.
pub struct BatchRun<'a> {
    /// The runbook, as planned.
    pub member: &'a Member,
    /// Where it stands in the batch's journal.
    pub state: &'a MemberState,
    /// Its run's history, once it started.
    pub history: Option<&'a History>,
    /// Its supervisor is alive.
    pub running: bool,
    /// Its report, `report.md` in its run folder.
    pub report: Option<String>,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    /// The label (the runbook's name, numbered when shared).
    pub label: String,
    /// The runbook.
    pub runbook: String,
    /// The run id, once started.
    pub run_id: Option<String>,
    /// `success`, `stuck` …, `running`, `crashed` (died), `not started`.
    pub outcome: String,
    /// Why it ended, or why it never started.
    pub reason: Option<String>,
    /// Attempts made.
    pub attempts: usize,
    /// Checks holding at the end, of how many.
    pub checks: Option<(usize, usize)>,
    /// Checks holding at the baseline.
    pub baseline: Option<usize>,
    /// Passing tests at the baseline no longer passing at the end.
    pub lost_tests: Option<u64>,
    /// Spent, in US dollars; `None` when its agent reports no usage.
    pub cost_usd: Option<f64>,
    /// Tokens used.
    pub tokens: u64,
    /// How long it ran.
    pub duration_ms: Option<u64>,
    /// The run branch.
    pub branch: String,
    /// Its own report.
    pub report: Option<String>,
}

/// What the batch report shows.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// Format version of the JSON.
    pub version: u32,
    /// The batch id.
    pub batch_id: String,
    /// When it started, RFC 3339.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Why it ended; `None` while it runs (or after its supervisor died).
    pub end: Option<String>,
    /// The commit every run started from.
    pub start_commit: String,
    /// At most this many at once.
    pub jobs: usize,
    /// The batch budget.
    pub budget_usd: Option<f64>,
    /// The runs.
    pub runs: Vec<BatchRow>,
    /// How many ended with each outcome (and `running`, `crashed`, `not started`).
    pub totals: Vec<(String, usize)>,
    /// Spent by the runs that report usage.
    pub cost_usd: f64,
    /// Tokens used.
    pub tokens: u64,
    /// Runs whose agent reports no usage: outside the budget.
    pub unmetered: Vec<String>,
    /// The digest's deliveries: notifier, delivered, error.
    pub notifications: Vec<(String, bool, Option<String>)>,
}

impl BatchReport {
    /// Read the report off the batch's history and its runs'.
    pub fn new(batch: &BatchHistory, runs: &[BatchRun<'_>]) -> Self {
        let start = batch.start.as_ref();
        let rows: Vec<BatchRow> = runs.iter().map(row).collect();
        let mut totals: Vec<(String, usize)> = Vec::new();
        for row in &rows {
            match totals.iter_mut().find(|(outcome, _)| *outcome == row.outcome) {
                Some((_, n)) => *n += 1,
                None => totals.push((row.outcome.clone(), 1)),
            }
        }
        BatchReport {
            version: 1,
            batch_id: batch.batch_id().to_string(),
            started_at: start.map(|(_, at)| crate::record::event::seconds::text(at)),
            ended_at: batch.end.as_ref().map(|(_, at)| crate::record::event::seconds::text(at)),
            end: batch.end.as_ref().map(|(reason, _)| reason.clone()),
            start_commit: start.map(|(s, _)| s.start_commit.clone()).unwrap_or_default(),
            jobs: start.map_or(0, |(s, _)| s.jobs),
            budget_usd: start.and_then(|(s, _)| s.budget_usd),
            cost_usd: rows.iter().filter_map(|r| r.cost_usd).sum::<f64>() + 0.0,
            tokens: rows.iter().map(|r| r.tokens).sum(),
            unmetered: runs.iter().filter(|r| !r.member.reports_usage).map(|r| r.member.label.clone()).collect(),
            notifications: batch.notifications.clone(),
            totals,
            runs: rows,
        }
    }

    /// The batch's exit status: the worst of its runs (`interrupted` first, then any failure).
    pub fn outcome(&self) -> Outcome {
        let ended: Vec<&str> = self.runs.iter().map(|r| r.outcome.as_str()).collect();
        if self.end.as_deref().is_some_and(|end| end.starts_with("stopped")) || ended.contains(&"interrupted") {
            Outcome::Interrupted
        } else if ended.iter().all(|o| *o == "success" || *o == "nothing-to-do") {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    }
}

fn row(run: &BatchRun<'_>) -> BatchRow {
    let member = run.member;
    let data = run.history.map(|history| ReportData::new(history, !run.running && history.outcome().is_none()));
    let outcome = match (&data, run.state.skipped.as_ref()) {
        (_, Some(_)) => "not started".to_string(),
        (None, None) => "not started".to_string(),
        (Some(_), None) if run.running => "running".to_string(),
        (Some(data), None) => data.outcome.map_or("crashed", Outcome::name).to_string(),
    };
    let reason = run.state.skipped.clone().or_else(|| data.as_ref().and_then(|d| d.reason.clone()));
    let Some(data) = data else {
        return BatchRow { label: member.label.clone(), runbook: member.runbook.clone(), run_id: run.state.run_id.clone(), outcome, reason, attempts: 0, checks: None, baseline: None, lost_tests: None, cost_usd: None, tokens: 0, duration_ms: None, branch: member.branch.clone(), report: None };
    };
    let last = data.attempts.iter().rev().find(|a| !a.checks.is_empty()).map(|a| &a.checks);
    let passing = |checks: &[crate::record::SuccessRecord]| checks.iter().filter_map(|c| c.tests.as_ref()).map(|t| t.passed).sum::<u64>();
    // The last attempt's own verdict on lost tests (by name where the runner names them); for a
    // run journaled without it, the passing tests the baseline had and the attempt has not.
    let lost_tests = match last {
        Some(last) if last.iter().any(|c| c.lost.is_some()) => Some(last.iter().filter_map(|c| c.lost.as_ref()).map(|l| l.lost).sum()),
        Some(last) if data.baseline.iter().any(|c| c.tests.is_some()) => Some(passing(&data.baseline).saturating_sub(passing(last))),
        _ => None,
    };
    BatchRow {
        label: member.label.clone(),
        runbook: member.runbook.clone(),
        run_id: Some(data.run_id.clone()),
        outcome,
        reason,
        attempts: data.attempts.len(),
        checks: last.map(|checks| (checks.iter().filter(|c| c.passed).count(), checks.len())),
        baseline: (!data.baseline.is_empty()).then(|| data.baseline.iter().filter(|c| c.passed).count()),
        lost_tests,
        cost_usd: member.reports_usage.then_some(data.cost_usd),
        tokens: data.tokens,
        duration_ms: data.duration_ms,
        // A delivered run is answered by its pull request; the branch otherwise.
        branch: match data.delivery.as_ref().and_then(|d| d.pull_request_url.clone()) {
            Some(url) => url,
            None if data.branch.is_empty() => member.branch.clone(),
            None => data.branch.clone(),
        },
        report: run.report.clone(),
    }
}

fn money(usd: f64) -> String {
    format!("${usd:.2}")
}

fn cells(row: &BatchRow) -> [String; 8] {
    let checks = match (row.checks, row.baseline) {
        (Some((held, of)), Some(base)) => format!("{held}/{of} (baseline {base}/{of})"),
        (Some((held, of)), None) => format!("{held}/{of}"),
        (None, Some(base)) => format!("baseline {base}"),
        (None, None) => "-".into(),
    };
    [
        row.label.clone(),
        row.outcome.clone(),
        row.attempts.to_string(),
        checks,
        row.lost_tests.map_or_else(|| "-".into(), |n| n.to_string()),
        row.cost_usd.map_or_else(|| "not reported".into(), money),
        row.duration_ms.map_or_else(|| "-".into(), super::duration_text),
        format!("`{}`", row.branch),
    ]
}

const HEADERS: [&str; 8] = ["run", "outcome", "attempts", "checks", "tests lost", "cost", "duration", "branch"];

/// The batch report as markdown: the table first, one screen.
pub fn markdown(report: &BatchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# night batch {}\n", report.batch_id);
    let totals: Vec<String> = report.totals.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    let _ = writeln!(out, "**{} runs: {}**", report.runs.len(), totals.join(", "));
    let budget = report.budget_usd.map(|b| format!(" of the batch budget {}", money(b))).unwrap_or_default();
    let _ = writeln!(out, "spent {}{budget} · {} tokens · from commit `{}` · at most {} at once\n", money(report.cost_usd), report.tokens, super::short(&report.start_commit), report.jobs);
    let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEADERS.len()));
    for row in &report.runs {
        let _ = writeln!(out, "| {} |", cells(row).join(" | "));
    }
    out.push('\n');
    if !report.unmetered.is_empty() {
        let _ = writeln!(out, "Outside the budget (their agents report no usage): {}.\n", report.unmetered.join(", "));
    }
    if let Some(end) = &report.end {
        let _ = writeln!(out, "The batch ended: {end}.\n");
    }
    let _ = writeln!(out, "## Runs\n");
    for row in &report.runs {
        let reason = row.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
        let link = row.report.as_deref().map_or_else(String::new, |r| format!(" · [report]({r})"));
        let _ = writeln!(out, "- **{}** `{}`: {}{reason}{link}", row.label, row.run_id.as_deref().unwrap_or("-"), row.outcome);
    }
    if !report.notifications.is_empty() {
        let _ = writeln!(out, "\n## Digest\n");
        for (notifier, delivered, error) in &report.notifications {
            let how = if *delivered { "delivered".to_string() } else { format!("NOT delivered: {}", error.as_deref().unwrap_or("unknown")) };
            let _ = writeln!(out, "- {notifier}: {how}");
        }
    }
    out
}

/// The batch report as JSON.
pub fn json(report: &BatchReport) -> String {
    // Strings, numbers and lists of them: encoding cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

/// The batch report as one self-contained HTML page.
pub fn html(report: &BatchReport) -> String {
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut out = String::from("<!doctype html>\n<html><head><meta charset=\"utf-8\">");
    let _ = write!(out, "<title>night batch {}</title>", escape(&report.batch_id));
    out.push_str("<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>\n");
    let _ = writeln!(out, "<h1>night batch {}</h1>", escape(&report.batch_id));
    let totals: Vec<String> = report.totals.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    let _ = writeln!(out, "<p><strong>{} runs: {}</strong> · spent {}</p>", report.runs.len(), escape(&totals.join(", ")), money(report.cost_usd));
    out.push_str("<table><tr>");
    for header in HEADERS {
        let _ = write!(out, "<th>{header}</th>");
    }
    out.push_str("</tr>\n");
    for row in &report.runs {
        out.push_str("<tr>");
        let mut cells = cells(row);
        cells[7] = row.branch.clone();
        for (i, cell) in cells.iter().enumerate() {
            match (i, &row.report) {
                (0, Some(link)) => {
                    let _ = write!(out, "<td><a href=\"{}\">{}</a></td>", escape(link), escape(cell));
                }
                _ => {
                    let _ = write!(out, "<td>{}</td>", escape(cell));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    if !report.unmetered.is_empty() {
        let _ = writeln!(out, "<p>Outside the budget (their agents report no usage): {}.</p>", escape(&report.unmetered.join(", ")));
    }
    out.push_str("</body></html>\n");
    out
}
