//! `night stop [RUN]`: a clean stop from another process. SIGTERM to the run's supervisor,
//! which ends the agent, runs the checks, writes the report and notifies, as for Ctrl-C;
//! then wait for it to finish and print the outcome.

use super::locate;
use crate::run::lock;
use crate::run::runs::{state_of, RunState};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

pub fn run(name: Option<&str>) -> u8 {
    let dir = match locate::live_or_newest(name) {
        Ok(dir) => dir,
        Err(message) => return locate::fail(&message),
    };
    let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some(pid) = lock::holder(&dir) else {
        let data = crate::report::load(&dir).map(|(_, data)| data).unwrap_or_default();
        let state = state_of(&dir, &data);
        return locate::fail(&format!("run `{id}` is not running ({}); there is nothing to stop", state.label()));
    };
    if !holds_lock(pid, &dir) {
        return locate::fail(&format!("cannot tell which process supervises `{id}` (the lock names pid {pid}); nothing was signalled"));
    }
    let Ok(raw) = i32::try_from(pid) else {
        return locate::fail(&format!("pid {pid} is out of range"));
    };
    if let Err(e) = kill(Pid::from_raw(raw), Signal::SIGTERM) {
        return locate::fail(&format!("cannot signal the supervisor (pid {pid}): {e}"));
    }
    println!("night: stopping {id} (supervisor pid {pid}): ending the agent, running the checks, writing the report, notifying…");
    let started = Instant::now();
    let mut told = false;
    while lock::is_live(&dir) {
        if !told && started.elapsed() > Duration::from_secs(10) {
            println!("night: still stopping (the checks may take a while); Ctrl-C leaves it to finish on its own");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let data = crate::report::load(&dir).map(|(_, data)| data).unwrap_or_default();
    match state_of(&dir, &data) {
        RunState::Finished { outcome } => {
            println!("night: {id} ended: {outcome} — {}", data.reason.as_deref().unwrap_or(""));
            println!("  report    {}", dir.join("report.md").display());
            0
        }
        state => locate::fail(&format!("the supervisor of `{id}` is gone without an end in the journal ({}); `night resume {id}` continues it", state.label())),
    }
}

/// Whether `pid` really holds the lock file open: the pid written in it could be stale or
/// reused, and only the supervisor must get the signal. Where `/proc` cannot tell, trust it.
fn holds_lock(pid: u32, run_dir: &std::path::Path) -> bool {
    let lock_file = run_dir.join(lock::LOCK_FILE);
    let Ok(wanted) = lock_file.canonicalize() else { return true };
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return true };
    fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == wanted))
}
