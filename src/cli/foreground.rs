//! What the CLI gives a supervised run (`night run`, `night resume`): the status sinks, the
//! live status line on a terminal (indicatif, fed from the journal), the hand-over of a
//! detached run, and the last screen.

use super::detach;
use crate::run::status_line::{JournalTail, LiveState};
use crate::run::{Finished, Outcome, Refused, RunOptions};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal as _, Write as _};
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

fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
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
    let status: crate::run::process::TextSink = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            Arc::new(move |line: &str| bar.println(line))
        }
        None => Arc::new(print_line),
    };
    let echo: Option<crate::run::process::TextSink> = bar.as_ref().map(|bar| {
        let bar = bar.clone();
        let sink: crate::run::process::TextSink = Arc::new(move |text: &str| {
            let mut shown = String::with_capacity(text.len() + 16);
            for line in text.lines() {
                shown.push_str("  │ ");
                shown.push_str(line);
                shown.push('\n');
            }
            // Printed while the status line is hidden, so the two never overwrite each other.
            bar.suspend(|| {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(shown.as_bytes());
                let _ = stdout.flush();
            });
        });
        sink
    });
    let run_dir = Arc::new(std::sync::Mutex::new(None));
    let inner: Option<crate::run::supervisor::OnStarted> = if detached {
        Some(Box::new(|run_id: &str, run_dir: &std::path::Path| detach::hand_over(run_id, run_dir)))
    } else {
        bar.as_ref().map(|bar| {
            let (bar, stop) = (bar.clone(), stop.clone());
            let hook: crate::run::supervisor::OnStarted = Box::new(move |_: &str, run_dir: &std::path::Path| {
                let journal = run_dir.join("journal.jsonl");
                std::thread::spawn(move || live_line(&bar, &stop, &journal));
            });
            hook
        })
    };
    let remember = run_dir.clone();
    let on_started: crate::run::supervisor::OnStarted = Box::new(move |run_id: &str, dir: &std::path::Path| {
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
    let mut tail = JournalTail::new(journal);
    let mut state = LiveState::default();
    while !stop.load(Ordering::Relaxed) {
        for entry in tail.poll() {
            state.apply(&entry);
        }
        bar.set_message(state.line(chrono::Utc::now()));
        std::thread::sleep(Duration::from_millis(500));
    }
}

impl Console {
    /// Run the supervisor; should night itself panic, the run still gets its end: the journal
    /// says where, and the reports are written from what it holds (outcome `crashed`).
    pub(super) fn supervise(&self, runtime: &tokio::runtime::Runtime, run: impl std::future::Future<Output = Result<Finished, Refused>>) -> u8 {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run)));
        self.finish();
        match result {
            Ok(result) => print_finished(result),
            Err(panic) => {
                let message = panic.downcast_ref::<&str>().map(|s| (*s).to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into());
                let dir = self.run_dir.lock().ok().and_then(|slot| slot.clone());
                if let Some(dir) = dir {
                    crash_report(&dir, &message);
                }
                Outcome::Crashed.exit_code()
            }
        }
    }
}

/// Journal a panic and write the reports of the run that died of it.
fn crash_report(dir: &std::path::Path, message: &str) {
    if let Ok(journal) = crate::run::journal::Journal::open(&dir.join("journal.jsonl"), Vec::new()) {
        journal.record(crate::run::journal::Event::Note { topic: "crash".into(), message: format!("night panicked: {message}") });
    }
    // The supervisor's lock went with it: the run has no live supervisor and no end.
    match crate::report::write_reports(dir, crate::report::Formats::default(), true, &[]) {
        Ok(_) => eprintln!("night: crashed ({message}); the report is in {}; `night resume` continues the run", dir.display()),
        Err(e) => eprintln!("night: crashed ({message}); cannot write the report in {}: {e}", dir.display()),
    }
}

/// Start a supervisor: with `--detach`, hand `command` over to a detached child (the child
/// itself runs on here); otherwise supervise `run` in the foreground with its console.
pub(super) fn start<F, Fut>(command: Vec<std::ffi::OsString>, html: bool, detach: bool, run: F) -> u8
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
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    console.supervise(&runtime, run(options))
}

/// A runtime for the supervisor.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("night: cannot start the runtime: {e}");
        Outcome::Crashed.exit_code()
    })
}

/// Print how the run ended (or why it was refused); the exit status.
pub(super) fn print_finished(result: Result<Finished, Refused>) -> u8 {
    match result {
        Err(refused) => {
            eprintln!("error: {refused}");
            if let Some(help) = &refused.help {
                eprintln!("  help: {help}");
            }
            Outcome::Refused.exit_code()
        }
        Ok(finished) => {
            let journal = crate::run::journal::read(&finished.run_dir.join("journal.jsonl")).unwrap_or_default();
            let data = crate::report::ReportData::from_journal(&journal);
            let shown = if journal.is_empty() {
                format!("\nnight: {} — {}\n  report    {}\n", finished.outcome, finished.reason, finished.report.display())
            } else {
                crate::report::summary(&data, &finished.report.display().to_string())
            };
            print!("{shown}");
            let _ = std::io::stdout().flush();
            finished.outcome.exit_code()
        }
    }
}
