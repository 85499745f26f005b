//! The batch's end: its reports (`report.md`, `report.json`, and `report.html` with `--html`)
//! in the batch folder, and the one digest to the `--notify-batch` notifiers, each run's own
//! notifiers having told of its own end already.

use crate::ast::Event as NotifyEvent;
use crate::diagnostic::Diagnostic;
use crate::notify::{Dispatcher, Message, NotifyError, Settings};
use crate::record::{BatchDir, BatchEvent, BatchHistory, History, ReportFile, RunStatus, RunsDir};
use crate::report::batch::{self, BatchReport, BatchRun};
use crate::source::{Source, Spanned};
use std::path::Path;
use std::time::Duration;

/// The longest the digest waits for its deliveries.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// The batch's report, read from its journal and its runs' (live or not).
pub fn report(dir: &BatchDir, batch: &BatchHistory) -> BatchReport {
    let Some((start, _)) = &batch.start else { return BatchReport::new(batch, &[]) };
    // The runs beside the batch folder (`<repo>/.night/batches/<id>`): where it was made, or
    // where `night pull --on` brought it, whatever path the journal names.
    let beside = dir.path().ancestors().nth(3).map(RunsDir::of_repo).filter(|runs| runs.path().is_dir());
    let runs = beside.unwrap_or_else(|| RunsDir::of_repo(Path::new(&start.repo)));
    let loaded: Vec<Option<(History, bool, String)>> = batch
        .members
        .iter()
        .map(|state| {
            let run = runs.run(state.run_id.as_deref()?);
            let history = run.load().ok().filter(|h| h.start.is_some())?;
            let running = matches!(run.status(&history), RunStatus::Running { .. });
            Some((history, running, run.report(ReportFile::Markdown).display().to_string()))
        })
        .collect();
    let members: Vec<BatchRun<'_>> = start
        .members
        .iter()
        .zip(&batch.members)
        .zip(&loaded)
        .map(|((member, state), loaded)| BatchRun { member, state, history: loaded.as_ref().map(|(h, _, _)| h), running: loaded.as_ref().is_some_and(|(_, r, _)| *r), report: loaded.as_ref().map(|(_, _, r)| r.clone()) })
        .collect();
    BatchReport::new(batch, &members)
}

/// Write the batch's reports into its folder.
pub fn write_reports(dir: &BatchDir, report: &BatchReport, html: bool) -> std::io::Result<()> {
    let put = |file: ReportFile, text: String| -> std::io::Result<()> {
        let partial = dir.path().join(format!(".{}.partial", file.name()));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, dir.report(file))
    };
    put(ReportFile::Markdown, batch::markdown(report))?;
    put(ReportFile::Json, batch::json(report))?;
    if html {
        put(ReportFile::Html, batch::html(report))?;
    }
    Ok(())
}

/// Why the batch's digest cannot be sent, or a `--notify-batch` notifier is not one.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// A `--notify-batch` statement does not parse.
    #[error("`--notify-batch {statement}`: {}", .problem.message)]
    Syntax {
        /// The statement as given.
        statement: String,
        /// The first problem the parser found.
        problem: Box<Diagnostic>,
    },
    /// A `--notify-batch` statement parses, but not as one notifier.
    #[error("`--notify-batch {0}` is not a notifier")]
    NotANotifier(String),
    /// The notifiers cannot be set up (an unset variable, a bad URL).
    #[error("{0}")]
    Notifiers(#[from] NotifyError),
    /// The runtime that sends the digest cannot be started.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
}

/// The `--notify-batch` notifiers, each written as a statement of a runbook's `notify` block
/// (`command "./digest.sh"`, `webhook "https://…"`, `slack env.SLACK_WEBHOOK`); why not.
pub fn notifiers(statements: &[String]) -> Result<Vec<Spanned<crate::ast::Notifier>>, DigestError> {
    let mut all = Vec::new();
    for statement in statements {
        let text = format!("notify {{\n  {statement}\n}}\n");
        let parsed = crate::syntax::parse(&Source::new("--notify-batch", text));
        let problem = parsed.diagnostics.iter().find(|d| d.span().is_some_and(|s| s.start > 0) || d.code == crate::diagnostic::Code::Syntax);
        match (parsed.runbook.notify, problem) {
            (Some(notify), None) if notify.notifiers.len() == 1 => all.extend(notify.notifiers),
            (_, Some(problem)) => return Err(DigestError::Syntax { statement: statement.clone(), problem: Box::new(problem.clone()) }),
            _ => return Err(DigestError::NotANotifier(statement.clone())),
        }
    }
    Ok(all)
}

/// Send the digest to the batch's notifiers and journal each delivery.
pub fn send(dir: &BatchDir, batch: &BatchHistory, report: &BatchReport, env: &dyn Fn(&str) -> Option<String>) -> Result<(), DigestError> {
    let Some((start, _)) = &batch.start else { return Ok(()) };
    if start.notify.is_empty() {
        return Ok(());
    }
    let notifiers = notifiers(&start.notify)?;
    let settings = Settings::from_lookup(env).in_dir(Path::new(&start.repo));
    let dispatcher = Dispatcher::with_settings(&notifiers, env, Box::new(|_| {}), settings)?;
    let totals: Vec<String> = report.totals.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    let detail: Vec<String> = report.runs.iter().map(|r| format!("{}: {}{}", r.label, r.outcome, r.reason.as_deref().map(|x| format!(" — {x}")).unwrap_or_default())).collect();
    let elapsed = batch.start.as_ref().map_or(0, |(_, at)| (chrono::Utc::now() - at).num_seconds().max(0).unsigned_abs());
    let message = Message {
        event: NotifyEvent::End,
        outcome: Some(report.outcome().name().to_string()),
        run_id: report.batch_id.clone(),
        name: "batch".into(),
        branch: String::new(),
        started_at: report.started_at.clone().unwrap_or_default(),
        at: crate::notify::now_rfc3339(),
        elapsed_seconds: elapsed,
        attempt: None,
        attempts: report.runs.iter().map(|r| r.attempts as u64).sum(),
        checks: Vec::new(),
        tokens: report.tokens,
        cost_usd: report.cost_usd,
        pull_request: None,
        report: Some(dir.report(ReportFile::Markdown).display().to_string()),
        summary: format!("batch {}: {} runs: {}", report.batch_id, report.runs.len(), totals.join(", ")),
        detail: Some(detail.join("\n")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(DigestError::Runtime)?;
    let deliveries = runtime.block_on(async {
        dispatcher.notify_end(message);
        dispatcher.flush(DELIVERY_WAIT).await
    });
    for delivery in deliveries {
        let _ = dir.record(BatchEvent::Notification { notifier: delivery.notifier, delivered: delivery.delivered, error: delivery.error });
    }
    Ok(())
}
