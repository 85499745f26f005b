//! `--detach`: night starts itself again as a child in a session of its own (`setsid`: no
//! controlling terminal, so closing it or losing SSH sends the run no SIGHUP), waits until the
//! child has locked its run folder, prints the run id and how to follow it, and exits. The
//! child's output moves to `night.out` in the run folder at that moment.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Set in the child's environment.
const CHILD_ENV: &str = "NIGHT_DETACHED_CHILD";
/// The line the child prints when the run has started: `<prefix><run id>\t<run folder>`.
const HANDOVER: &str = "night-detached:";
/// Where the detached supervisor's output goes.
pub(super) const OUTPUT_FILE: &str = "night.out";

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
pub(super) fn start(args: Vec<OsString>) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return super::locate::fail(&format!("cannot find night's own executable: {e}")),
    };
    let mut command = Command::new(exe);
    command.args(&args).env(CHILD_ENV, "1").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Secrets received for `--on` go on to the supervisor in memory (src/remote/secrets.rs).
    let secrets = crate::remote::secrets::hand_down(&mut command);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return super::locate::fail(&format!("cannot start night in the background: {e}")),
    };
    if secrets {
        if let Err(e) = crate::remote::secrets::send(&mut child, &crate::remote::secrets::received()) {
            let _ = child.kill();
            return super::locate::fail(&format!("cannot hand the secrets to the background run: {e}"));
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
                return 0;
            }
            println!("{line}");
        }
    }
    // No hand-over: the run was refused or night failed before it started.
    let status = child.wait().ok().and_then(|s| s.code());
    if let Some(text) = stderr.and_then(|thread| thread.join().ok()) {
        eprint!("{text}");
    }
    status.and_then(|code| u8::try_from(code).ok()).unwrap_or(1)
}

fn print_started(run_id: &str, run_dir: &Path, pid: u32) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "night: run {run_id} started in the background (supervisor pid {pid})");
    let _ = writeln!(out, "  status    night status {run_id}");
    let _ = writeln!(out, "  follow    night log -f {run_id}");
    let _ = writeln!(out, "  stop      night stop {run_id}");
    let _ = writeln!(out, "  report    night report {run_id}    (when it is over)");
    let _ = writeln!(out, "  output    {}", run_dir.join(OUTPUT_FILE).display());
    let _ = out.flush();
}

/// In the child, once the run folder is locked: tell the parent, then send stdout and stderr
/// to `night.out`, so that the parent can exit and nothing writes to its closed pipes.
pub(super) fn hand_over(run_id: &str, run_dir: &Path) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(run_dir.join(OUTPUT_FILE));
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
