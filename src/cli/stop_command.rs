//! `night stop [RUN]`: a clean stop from another process. SIGTERM to the run's supervisor,
//! which ends the agent, runs the checks, writes the report and notifies, as for Ctrl-C;
//! then wait for it to finish and print the outcome.

use super::error::{CliError, Done};
use super::{locate, out};
use crate::record::{Exit, ReportFile, RunStatus};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

pub fn run(name: Option<&str>) -> Done {
    let dir = locate::live_or_newest(name)?;
    let id = dir.id();
    let Some(pid) = dir.supervisor() else {
        let state = dir.status(&dir.load().unwrap_or_default());
        return Err(CliError::NotRunning { id, state: state.label() });
    };
    // The pid written in the lock could be stale or reused: only the process holding the lock
    // open is the supervisor. Where `/proc` cannot tell, trust it.
    if let Ok(lock) = dir.lock_file().canonicalize() {
        if crate::os::proc::holds_open(pid, &lock) == Some(false) {
            return Err(CliError::UnknownSupervisor { id, pid });
        }
    }
    let raw = i32::try_from(pid).map_err(|_| CliError::UnknownSupervisor { id: id.clone(), pid })?;
    kill(Pid::from_raw(raw), Signal::SIGTERM).map_err(|source| CliError::Signal { pid, source })?;
    out::line(&format!("night: stopping {id} (supervisor pid {pid}): ending the agent, running the checks, writing the report, notifying…"));
    let started = Instant::now();
    let mut told = false;
    while dir.is_live() {
        if !told && started.elapsed() > Duration::from_secs(10) {
            out::line("night: still stopping (the checks may take a while); Ctrl-C leaves it to finish on its own");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = dir.load().unwrap_or_default();
    match dir.status(&history) {
        RunStatus::Finished { outcome } => {
            let reason = history.end.as_ref().map_or("", |(end, _)| end.reason.as_str());
            out::print(&format!("night: {id} ended: {outcome} — {reason}\n  report    {}\n", dir.report(ReportFile::Markdown).display()))?;
            Ok(Exit::Success)
        }
        state => Err(CliError::Vanished { id, state: state.label() }),
    }
}
