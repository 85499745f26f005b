//! `--detach`: night starts itself again as a child in a session of its own (`setsid`: no
//! controlling terminal, so closing it or losing SSH sends the run no SIGHUP), waits until the
//! child has locked its run folder, prints the run id and how to follow it, and exits. The
//! child's output moves to `night.out` in the run folder at that moment.

use super::error::{CliError, Done};
use crate::record::{Exit, RunDir};
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Set in the child's environment.
const CHILD_ENV: &str = "NIGHT_DETACHED_CHILD";
/// The line the child prints when the run has started: `<prefix><run id>\t<run folder>`.
const HANDOVER: &str = "night-detached:";

/// Whether this process is the detached child.
pub(super) fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == "1")
}

/// In the detached child, leave the parent's session; true when this is the child.
pub(super) fn become_child() -> bool {
    if !is_child() {
        return false;
    }
    // Fails only for a process group leader, which a freshly spawned child is not.
    let _ = nix::unistd::setsid();
    true
}

/// Start `night ARGS` detached and wait for its hand-over; the exit status.
pub(super) fn start(args: Vec<OsString>) -> Done {
    let exe = std::env::current_exe().map_err(|source| CliError::System { doing: "find night's own executable", source })?;
    let mut command = Command::new(exe);
    command.args(&args).env(CHILD_ENV, "1").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Secrets received for `--on` go on to the supervisor in memory (src/remote/secrets.rs).
    let secrets = crate::remote::secrets::hand_down(&mut command);
    let mut child = command.spawn().map_err(|source| CliError::System { doing: "start night in the background", source })?;
    if secrets {
        if let Err(source) = crate::remote::secrets::send(&mut child, &crate::remote::secrets::received()) {
            let _ = child.kill();
            return Err(CliError::System { doing: "hand the secrets to the background run", source });
        }
    }
    // Read stderr alongside, so a child that says a lot before it hands over never blocks.
    let stderr = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix(HANDOVER) {
                let (run_id, run_dir) = rest.split_once('\t').unwrap_or((rest, ""));
                print_started(run_id, Path::new(run_dir), child.id());
                return Ok(Exit::Success);
            }
            super::out::line(&line);
        }
    }
    // No hand-over: the run was refused or night failed before it started.
    let status = child.wait().ok().and_then(|s| s.code());
    if let Some(text) = stderr.and_then(|thread| thread.join().ok()) {
        super::out::eprint(&text);
    }
    Ok(match status {
        Some(0) => Exit::Success,
        Some(2) => Exit::Error,
        Some(130) => Exit::Interrupted,
        _ => Exit::Failure,
    })
}

fn print_started(run_id: &str, run_dir: &Path, pid: u32) {
    let output = RunDir::new(run_dir).night_out();
    super::out::line(&format!(
        "night: run {run_id} started in the background (supervisor pid {pid})\n  status    night status {run_id}\n  follow    night log -f {run_id}\n  stop      night stop {run_id}\n  report    night report {run_id}    (when it is over)\n  output    {}",
        output.display()
    ));
}

/// In the child, once the run folder is locked: tell the parent, then send stdout and stderr
/// to `night.out`, so that the parent can exit and nothing writes to its closed pipes.
pub(super) fn hand_over(run_id: &str, run_dir: &Path) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(RunDir::new(run_dir).night_out());
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{HANDOVER}{run_id}\t{}", run_dir.display());
        let _ = stdout.flush();
    }
    if let Ok(file) = file {
        let fd = file.as_raw_fd();
        let _ = nix::unistd::dup2(fd, 1);
        let _ = nix::unistd::dup2(fd, 2);
    }
}
