//! `night pull [RUN] --on HOST`: an ended run comes back from the host: its branch and attempt
//! refs with `git fetch` from the host's checkout, its run folder with `tar` over the SSH
//! channel. Nothing on the host is removed.

use super::client::{connect, report_error, say};
use super::on_host::describe;
use super::layout::Layout;
use super::ssh::{self, quote, Ssh};
use super::RemoteError;
use std::path::Path;
use std::process::{Command, Stdio};

/// `night pull [RUN|BATCH] --on HOST`: bring an ended run back (or every run of an ended
/// batch, and the batch's folder): its branch and attempt refs with git, its run folder with
/// tar; the host keeps its copy.
pub fn pull(on: &str, run: Option<&str>) -> u8 {
    match pull_named(on, run) {
        Ok(()) => 0,
        Err(e) => report_error(&e),
    }
}

fn pull_named(on: &str, run: Option<&str>) -> Result<(), RemoteError> {
    let (ssh, layout) = connect(on)?;
    let host = ssh.host().to_string();
    // The host's report says what the name names: a run, or a batch (as plain `night report`
    // does when the newest run is one of a batch).
    let described = describe(&ssh, &layout, run)?;
    let cwd = std::env::current_dir().map_err(|e| RemoteError::local(format!("cannot read the current folder: {e}"), None))?;
    let repo = crate::run::git::repo_root(&cwd).map_err(|e| RemoteError::local(e.to_string(), None))?;
    if let Some(batch_id) = described["batch_id"].as_str().filter(|id| !id.is_empty()) {
        return pull_batch(&ssh, &layout, &repo, batch_id, &described);
    }
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
    pull_run(&ssh, &layout, &repo, &run_id, &branch)?;
    say(&format!("night: pulled run {run_id} from {host}: branch {branch}, its attempt refs, and its run folder .night/runs/{run_id} (the host keeps its copy)"));
    say(&format!("  report    night report {run_id}"));
    if !branch.is_empty() {
        say(&format!("  look      git log --stat {branch}"));
    }
    Ok(())
}

/// Every run of an ended batch, then the batch's folder (its journal and reports), so that
/// `night report BATCH` and `night list` read it here.
fn pull_batch(ssh: &Ssh, layout: &Layout, repo: &Path, batch_id: &str, described: &serde_json::Value) -> Result<(), RemoteError> {
    let host = ssh.host().to_string();
    let on = ssh.target.to_string();
    let rows = described["runs"].as_array().cloned().unwrap_or_default();
    if described["end"].is_null() {
        let running = rows.iter().filter(|row| row["outcome"] == "running").count();
        return Err(RemoteError::Step {
            host,
            message: format!("batch `{batch_id}` has not ended there ({running} of its runs running); it is pulled once it has ended"),
            help: Some(format!("Follow it with `night status {batch_id} --on {on}` (a batch whose supervisor died: `night resume {batch_id} --on {on}`); an ended run of it comes back alone with `night pull RUN --on {on}`.")),
        });
    }
    let mut pulled = Vec::new();
    // A runbook whose run never started (refused, or the batch stopped first) has nothing to
    // bring back. The others are read one by one: the batch's table shows a delivered run's
    // pull request where its branch would be.
    for row in rows.iter().filter(|row| row["outcome"] != "not started") {
        let Some(run_id) = row["run_id"].as_str() else { continue };
        let run = describe(ssh, layout, Some(run_id))?;
        let branch = run["branch"].as_str().unwrap_or_default();
        pull_run(ssh, layout, repo, run_id, branch)?;
        pulled.push((row["label"].as_str().unwrap_or(run_id).to_string(), run_id.to_string(), branch.to_string(), row["outcome"].as_str().unwrap_or_default().to_string()));
    }
    let batches = crate::record::BatchesDir::of_repo(repo).batch(batch_id);
    let into = batches.path().parent().map_or_else(|| repo.to_path_buf(), Path::to_path_buf);
    std::fs::create_dir_all(&into).map_err(|e| RemoteError::local(format!("cannot create `{}`: {e}", into.display()), None))?;
    copy_folder(ssh, layout, ".night/batches", batch_id, &["supervisor.lock"], &into)?;
    let note = serde_json::json!({ "pulled_from": on, "path": format!("{}/.night/batches/{batch_id}", layout.work()), "at": chrono::Utc::now().to_rfc3339() });
    let _ = std::fs::write(batches.path().join("pulled.json"), format!("{note:#}\n"));
    let plural = if pulled.len() == 1 { "" } else { "s" };
    say(&format!("night: pulled batch {batch_id} from {host}: {} run{plural}, their branches, attempt refs and run folders, and the batch folder .night/batches/{batch_id} (the host keeps its copy)", pulled.len()));
    let width = pulled.iter().map(|(label, ..)| label.len()).max().unwrap_or(0);
    for (label, run_id, branch, outcome) in &pulled {
        say(&format!("    {label:width$}  {run_id}  {outcome}  {branch}"));
    }
    say(&format!("  report    night report {batch_id}"));
    Ok(())
}

/// One ended run: its branch and attempt refs with `git fetch` from the host's checkout, its
/// run folder with tar, and `pulled.json` saying from where.
fn pull_run(ssh: &Ssh, layout: &Layout, repo: &Path, run_id: &str, branch: &str) -> Result<(), RemoteError> {
    let host = ssh.host().to_string();
    let work = ssh.target.git_url(&layout.work());
    let mut refspecs = vec![format!("+refs/night/{run_id}/*:refs/night/{run_id}/*")];
    if !branch.is_empty() {
        refspecs.insert(0, format!("refs/heads/{branch}:refs/heads/{branch}"));
    }
    let mut git = Command::new("git");
    // Not `--quiet`: it would silence the `! [rejected] … (non-fast-forward)` line that says why.
    git.args(["fetch", "--no-tags", &work]).args(&refspecs).current_dir(repo).stdin(Stdio::null());
    ssh.configure_git(&mut git);
    let fetched = git.output().map_err(|e| RemoteError::local(format!("cannot run git: {e}"), None))?;
    if !fetched.status.success() {
        let said = ssh::last_line(&fetched.stderr);
        let help = if said.contains("[rejected]") {
            format!("A local branch `{branch}` that moved apart from the host's is never overwritten: rename it, then pull again.")
        } else {
            "git reaches the host with the same ssh as night (`NIGHT_SSH` becomes `GIT_SSH_COMMAND`).".to_string()
        };
        return Err(RemoteError::Step { host, message: format!("cannot fetch the run branch `{branch}`: {said}"), help: Some(help) });
    }
    let runs = crate::record::RunsDir::of_repo(repo).path().to_path_buf();
    std::fs::create_dir_all(&runs).map_err(|e| RemoteError::local(format!("cannot create `{}`: {e}", runs.display()), None))?;
    copy_folder(ssh, layout, ".night/runs", run_id, LEFT_ON_THE_HOST, &runs)?;
    let note = serde_json::json!({ "pulled_from": ssh.target.to_string(), "path": format!("{}/.night/runs/{run_id}", layout.work()), "at": chrono::Utc::now().to_rfc3339() });
    let _ = std::fs::write(crate::record::RunDir::new(runs.join(run_id)).pulled(), format!("{note:#}\n"));
    exclude_night_folder(repo);
    Ok(())
}

/// What of a run folder stays on the host: the supervisor's lock and disk reserve, and the
/// sandbox's working areas (its temporary folder, overlay state and git object stores, whose
/// objects are in the repository once the run has ended, and so come back with `git fetch`).
const LEFT_ON_THE_HOST: &[&str] = &["supervisor.lock", "reserve", "tmp", "state", "objects", "base-objects"];

/// `tar` the folder `name` of `parent` (a path in the host's checkout) into `into` here, over
/// the SSH channel, less the `left` entries of it.
fn copy_folder(ssh: &Ssh, layout: &Layout, parent: &str, name: &str, left: &[&str], into: &Path) -> Result<(), RemoteError> {
    let excludes: String = left.iter().map(|entry| format!(" --exclude={}", quote(&format!("{name}/{entry}")))).collect();
    let script = format!(
        "cd {base} && cd {parent} && tar -cf -{excludes} {name}",
        base = quote(&layout.base),
        parent = quote(&format!("{}/{parent}", layout.work())),
        name = quote(name),
    );
    let mut remote = ssh.script(&script);
    remote.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut remote = ssh.spawn(&mut remote)?;
    let Some(archive) = remote.stdout.take() else { return Err(ssh.unreachable("no output from ssh")) };
    let untar = Command::new("tar").arg("-xf").arg("-").arg("-C").arg(into).stdin(archive).stderr(Stdio::piped()).output();
    let remote = remote.wait_with_output().map_err(|e| ssh.unreachable(&e.to_string()))?;
    ssh.check_connected(&remote)?;
    if !remote.status.success() {
        return Err(RemoteError::Step { host: ssh.host().to_string(), message: format!("cannot read `{parent}/{name}` there: {}", ssh::text(&remote.stderr)), help: None });
    }
    match untar {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(RemoteError::local(format!("cannot unpack `{name}` into `{}`: {}", into.display(), ssh::text(&output.stderr)), None)),
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

