//! `night pull [RUN] --on HOST`: an ended run comes back from the host: its branch and attempt
//! refs with `git fetch` from the host's checkout, its run folder with `tar` over the SSH
//! channel. Nothing on the host is removed.

use super::client::{connect, describe, report_error, say};
use super::layout::Layout;
use super::ssh::{self, quote, Ssh};
use super::RemoteError;
use std::path::Path;
use std::process::{Command, Stdio};

/// `night pull [RUN] --on HOST`: bring an ended run back: its branch and attempt refs with
/// git, its run folder with tar; the host keeps its copy.
pub fn pull(on: &str, run: Option<&str>) -> u8 {
    match pull_run(on, run) {
        Ok(()) => 0,
        Err(e) => report_error(&e),
    }
}

fn pull_run(on: &str, run: Option<&str>) -> Result<(), RemoteError> {
    let (ssh, layout) = connect(on)?;
    let host = ssh.host().to_string();
    let described = describe(&ssh, &layout, run)?;
    let run_id = described["run_id"].as_str().unwrap_or_default().to_string();
    let branch = described["branch"].as_str().unwrap_or_default().to_string();
    if run_id.is_empty() {
        return Err(RemoteError::Step { host, message: "the host's report names no run".into(), help: None });
    }
    if described["state"] == "running" {
        return Err(RemoteError::Step {
            host,
            message: format!("run `{run_id}` is still running there; it is pulled once it has ended"),
            help: Some(format!("Follow it with `night status {run_id} --on {on}`; `night report {run_id} --on {on}` reads it there now.")),
        });
    }
    let cwd = std::env::current_dir().map_err(|e| RemoteError::local(format!("cannot read the current folder: {e}"), None))?;
    let repo = crate::run::git::repo_root(&cwd).map_err(|e| RemoteError::local(e.to_string(), None))?;
    let work = ssh.target.git_url(&layout.work());
    let mut refspecs = vec![format!("+refs/night/{run_id}/*:refs/night/{run_id}/*")];
    if !branch.is_empty() {
        refspecs.insert(0, format!("refs/heads/{branch}:refs/heads/{branch}"));
    }
    let mut git = Command::new("git");
    git.args(["fetch", "--quiet", "--no-tags", &work]).args(&refspecs).current_dir(&repo).stdin(Stdio::null());
    ssh.configure_git(&mut git);
    let fetched = git.output().map_err(|e| RemoteError::local(format!("cannot run git: {e}"), None))?;
    if !fetched.status.success() {
        return Err(RemoteError::Step {
            host,
            message: format!("cannot fetch the run branch `{branch}`: {}", ssh::text(&fetched.stderr)),
            help: Some(format!("A local branch `{branch}` that moved apart from the host's is never overwritten: rename it, then pull again.")),
        });
    }
    let runs = crate::record::RunsDir::of_repo(&repo).path().to_path_buf();
    std::fs::create_dir_all(&runs).map_err(|e| RemoteError::local(format!("cannot create `{}`: {e}", runs.display()), None))?;
    copy_run_folder(&ssh, &layout, &run_id, &runs)?;
    let note = serde_json::json!({ "pulled_from": ssh.target.to_string(), "path": format!("{}/.night/runs/{run_id}", layout.work()), "at": chrono::Utc::now().to_rfc3339() });
    let _ = std::fs::write(runs.join(&run_id).join("pulled.json"), format!("{note:#}\n"));
    exclude_night_folder(&repo);
    say(&format!("night: pulled run {run_id} from {host}: branch {branch}, its attempt refs, and its run folder .night/runs/{run_id} (the host keeps its copy)"));
    say(&format!("  report    night report {run_id}"));
    if !branch.is_empty() {
        say(&format!("  look      git log --stat {branch}"));
    }
    Ok(())
}

/// What of a run folder stays on the host: the supervisor's lock and disk reserve, and the
/// sandbox's working areas (its temporary folder, overlay state and git object stores, whose
/// objects are in the repository once the run has ended, and so come back with `git fetch`).
const LEFT_ON_THE_HOST: &[&str] = &["supervisor.lock", "reserve", "tmp", "state", "objects", "base-objects"];

/// `tar` the run folder on the host into `runs` here, over the SSH channel.
fn copy_run_folder(ssh: &Ssh, layout: &Layout, run_id: &str, runs: &Path) -> Result<(), RemoteError> {
    let excludes: String = LEFT_ON_THE_HOST.iter().map(|name| format!(" --exclude={}", quote(&format!("{run_id}/{name}")))).collect();
    let script = format!(
        "cd {base} && cd {runs} && tar -cf -{excludes} {id}",
        base = quote(&layout.base),
        runs = quote(&format!("{}/.night/runs", layout.work())),
        id = quote(run_id),
    );
    let mut remote = ssh.script(&script);
    remote.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut remote = ssh.spawn(&mut remote)?;
    let Some(archive) = remote.stdout.take() else { return Err(ssh.unreachable("no output from ssh")) };
    let untar = Command::new("tar").arg("-xf").arg("-").arg("-C").arg(runs).stdin(archive).stderr(Stdio::piped()).output();
    let remote = remote.wait_with_output().map_err(|e| ssh.unreachable(&e.to_string()))?;
    ssh.check_connected(&remote)?;
    if !remote.status.success() {
        return Err(RemoteError::Step { host: ssh.host().to_string(), message: format!("cannot read the run folder: {}", ssh::text(&remote.stderr)), help: None });
    }
    match untar {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(RemoteError::local(format!("cannot unpack the run folder into `{}`: {}", runs.display(), ssh::text(&output.stderr)), None)),
        Err(e) => Err(RemoteError::local(format!("cannot run tar: {e}"), Some("Install tar on this machine."))),
    }
}

/// `.night/` in the repository's `info/exclude`, as a run at home puts it.
fn exclude_night_folder(repo: &Path) {
    let Ok(repository) = git2::Repository::open(repo) else { return };
    let exclude = repository.commondir().join("info").join("exclude");
    let existing = std::fs::read_to_string(&exclude).unwrap_or_default();
    if existing.lines().any(|line| matches!(line.trim(), ".night" | ".night/" | "/.night" | "/.night/")) {
        return;
    }
    if let Some(parent) = exclude.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let separator = if existing.is_empty() || existing.ends_with('\n') { "" } else { "\n" };
    let _ = std::fs::write(&exclude, format!("{existing}{separator}/.night/\n"));
}

