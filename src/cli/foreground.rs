//! What the CLI gives a supervised run (`night run`, `night resume`): the status sinks, the
//! live status line on a terminal (indicatif, fed from the journal), the hand-over of a
//! detached run, and the last screen.

use super::detach;
use super::error::{CliError, Done};
use super::out;
use crate::record::journal::Tail;
use crate::record::{Event, History, Journal, Outcome, RunDir};
use crate::report::status::Status;
use crate::run::{Finished, OnStarted, Refused, RunOptions, TextSink};
use crate::secrets::Secrets;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The default grace period between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// The terminal side of a run: the live line, stopped by [`Console::finish`].
pub(super) struct Console {
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    /// The run folder, once the run has started: where a panic's crash report goes.
    run_dir: Arc<std::sync::Mutex<Option<std::path::PathBuf>>>,
}

impl Console {
    /// Stop updating the status line and remove it.
    pub(super) fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The options for a run and its console. On a terminal a status line stays at the bottom
/// (attempt, session time, elapsed/timeout, budget, commits, last checks) with the steps and
/// the agent's output scrolling above it; elsewhere every step is a plain line. `detached`: the
/// child of `--detach`, whose output moves to the run folder once the run has started.
pub(super) fn options(html: bool, detached: bool) -> (RunOptions, Console) {
    let grace = std::env::var("NIGHT_GRACE_MS").ok().and_then(|ms| ms.parse().ok()).map_or(GRACE, Duration::from_millis);
    let stop = Arc::new(AtomicBool::new(false));
    let terminal = std::io::stdout().is_terminal() && !detached;
    let bar = terminal.then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        bar.set_style(ProgressStyle::with_template("{spinner:.dim} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.enable_steady_tick(Duration::from_millis(250));
        bar.set_message("starting");
        bar
    });
    let status: TextSink = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            Arc::new(move |line: &str| bar.println(line))
        }
        None => Arc::new(out::line),
    };
    let echo: Option<TextSink> = bar.as_ref().map(|bar| {
        let bar = bar.clone();
        let sink: TextSink = Arc::new(move |text: &str| {
            let mut shown = String::with_capacity(text.len() + 16);
            for line in text.lines() {
                shown.push_str("  │ ");
                shown.push_str(line);
                shown.push('\n');
            }
            // Printed while the status line is hidden, so the two never overwrite each other.
            bar.suspend(|| {
                let _ = out::print(&shown);
            });
        });
        sink
    });
    let run_dir = Arc::new(std::sync::Mutex::new(None));
    let inner: Option<OnStarted> = if detached {
        Some(Box::new(|run_id: &str, run_dir: &std::path::Path| detach::hand_over(run_id, run_dir)))
    } else {
        bar.as_ref().map(|bar| {
            let (bar, stop) = (bar.clone(), stop.clone());
            let hook: OnStarted = Box::new(move |_: &str, run_dir: &std::path::Path| {
                let journal = RunDir::new(run_dir).journal();
                std::thread::spawn(move || live_line(&bar, &stop, &journal));
            });
            hook
        })
    };
    let remember = run_dir.clone();
    let on_started: OnStarted = Box::new(move |run_id: &str, dir: &std::path::Path| {
        if let Ok(mut slot) = remember.lock() {
            *slot = Some(dir.to_path_buf());
        }
        if let Some(inner) = inner {
            inner(run_id, dir);
        }
    });
    let options = RunOptions { grace, echo, status, env: Arc::new(|name: &str| crate::remote::secrets::var(name)), html, on_started: Some(on_started) };
    (options, Console { bar, stop, run_dir })
}

/// Refresh the status line from the journal twice a second until the run is over.
fn live_line(bar: &ProgressBar, stop: &AtomicBool, journal: &std::path::Path) {
    let mut tail = Tail::new(journal);
    let mut history = History::default();
    while !stop.load(Ordering::Relaxed) {
        for entry in tail.poll().entries {
            history.apply(&entry);
        }
        bar.set_message(Status::new(&history, chrono::Utc::now()).line());
        std::thread::sleep(Duration::from_millis(500));
    }
}

impl Console {
    /// Run the supervisor; should night itself panic, the run still gets its end: the journal
    /// says where, and the reports are written from what it holds (outcome `crashed`).
    pub(super) fn supervise(&self, runtime: &tokio::runtime::Runtime, run: impl std::future::Future<Output = Result<Finished, Refused>>) -> Done {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run)));
        self.finish();
        match result {
            Ok(result) => print_finished(result),
            Err(panic) => {
                let message = panic.downcast_ref::<&str>().map(|s| (*s).to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into());
                let dir = self.run_dir.lock().ok().and_then(|slot| slot.clone());
                if let Some(dir) = dir {
                    crash_report(&RunDir::new(dir), &message);
                }
                Ok(Outcome::Crashed.exit())
            }
        }
    }
}

/// Journal a panic and write the reports of the run that died of it.
fn crash_report(dir: &RunDir, message: &str) {
    if let Ok(journal) = Journal::open(&dir.journal(), Secrets::default()) {
        journal.record(Event::Note { topic: "crash".into(), message: format!("night panicked: {message}") });
    }
    // The supervisor's lock went with it: the run has no live supervisor and no end.
    let written = dir.load().and_then(|history| crate::report::write_reports(dir, &history, true, crate::report::Formats::default(), &Secrets::default()));
    match written {
        Ok(_) => out::eprint(&format!("error: night crashed ({message}); the report is in {}\n  help: `night resume {}` continues the run.\n", dir.path().display(), dir.id())),
        Err(e) => out::eprint(&format!("error: night crashed ({message}); cannot write the report in {}: {e}\n", dir.path().display())),
    }
}

/// Start a supervisor: with `--detach`, hand `command` over to a detached child (the child
/// itself runs on here); otherwise supervise `run` in the foreground with its console.
pub(super) fn start<F, Fut>(command: Vec<std::ffi::OsString>, html: bool, detach: bool, run: F) -> Done
where
    F: FnOnce(RunOptions) -> Fut,
    Fut: std::future::Future<Output = Result<Finished, Refused>>,
{
    if detach && !detach::is_child() {
        let mut child_args = command;
        if html {
            child_args.push("--html".into());
        }
        return detach::start(child_args);
    }
    let detached = detach::become_child();
    let (options, console) = options(html, detached);
    let runtime = runtime()?;
    console.supervise(&runtime, run(options))
}

/// A runtime for the supervisor.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|source| CliError::System { doing: "start the runtime", source })
}

/// Print how the run ended (or why it was refused); the exit status.
pub(super) fn print_finished(result: Result<Finished, Refused>) -> Done {
    let finished = result?;
    let run_dir = RunDir::new(&finished.run_dir);
    let history = run_dir.load().unwrap_or_default();
    let shown = if history.start.is_none() {
        format!("\nnight: {} — {}\n  report    {}\n", finished.outcome, finished.reason, finished.report.display())
    } else {
        crate::report::summary(&crate::report::ReportData::new(&history, false), &finished.report.display().to_string())
    };
    // The run is over whatever becomes of this screen: its outcome is the exit status.
    let _ = out::print(&shown);
    Ok(finished.outcome.exit())
}
