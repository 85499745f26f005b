//! `night remote-host`: the host's side of `--on`, run by the host's night over SSH. It reads a
//! [`Request`] on standard input, brings the checkout to the laptop's commit with the files that
//! travel, then runs the night command asked for (`run … --detach`, `check …`) there, handing
//! the secrets down in memory. Errors read as at home (`error: …`, `  help: …`); the laptop
//! prefixes them with the host's name.

use super::payload::{Answer, Prepare, Request, VERSION};
use super::secrets::{self, STDIN_ENV};
use crate::os::lock::DirLock;
use crate::record::{BatchesDir, RunsDir};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The mirror's name as a remote of the checkout (`origin` stays the laptop's).
pub const MIRROR_REMOTE: &str = "night-mirror";
/// The file in the checkout's `.night/` listing the paths written by the last request.
const TRAVELLED: &str = "travelled";

/// A refusal, as the host says it.
#[derive(Debug)]
struct Refusal {
    message: String,
    help: Option<String>,
}

fn refuse(message: impl Into<String>, help: Option<&str>) -> Refusal {
    Refusal { message: message.into(), help: help.map(str::to_string) }
}

/// Serve one request from standard input; the exit status.
pub fn serve() -> u8 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        return fail(&refuse(format!("cannot read the request: {e}"), None));
    }
    let request: Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => return fail(&refuse(format!("the request is not one this night understands: {e}"), Some("Use the same night version on both machines."))),
    };
    if request.version != VERSION {
        return fail(&refuse(format!("the laptop speaks version {} of `--on`, this night speaks {VERSION}", request.version), Some("Use the same night version on both machines.")));
    }
    let work = PathBuf::from(&request.prepare.work);
    let lock_dir = PathBuf::from(&request.prepare.lock);
    if let Err(e) = std::fs::create_dir_all(&lock_dir) {
        return fail(&refuse(format!("cannot create `{}`: {e}", lock_dir.display()), None));
    }
    // Held until the command below has returned (for `run --detach`: until the run is live),
    // so that two `--on` commands never switch the checkout under each other.
    let _lock = match DirLock::acquire(&lock_dir, std::time::Duration::from_secs(60)) {
        Ok(lock) => lock,
        Err(e) => return fail(&refuse(e.to_string(), None)),
    };
    if let Err(refusal) = prepare(&request.prepare, &request.on, request.then.args.first().map(String::as_str)) {
        return fail(&refusal);
    }
    then(&work, &request)
}

fn fail(refusal: &Refusal) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", refusal.message);
    if let Some(help) = &refusal.help {
        let _ = writeln!(stderr, "  help: {help}");
    }
    2
}

/// Bring the checkout to the commit, with the travelling files written.
fn prepare(prepare: &Prepare, on: &str, command: Option<&str>) -> Result<(), Refusal> {
    let work = Path::new(&prepare.work);
    if work.join(".git").exists() {
        // A live batch holds the checkout even between its runs: its runs read their runbooks
        // and prompt files there.
        if let Some((id, pid)) = BatchesDir::of_repo(work).list().into_iter().find_map(|batch| batch.supervisor().map(|pid| (batch.id(), pid))) {
            let help = match command {
                Some("check") => format!("`night check` without `--on` checks here; the host's checkout is the batch's until it ends (`night status {id} --on {on}`)."),
                _ => format!("Follow it with `night status {id} --on {on}`, or stop it with `night stop {id} --on {on}`; nothing was changed."),
            };
            return Err(Refusal { message: format!("batch `{id}` is in progress in this repository (supervisor pid {pid}); one run at a time"), help: Some(help) });
        }
        if let Some((id, pid)) = RunsDir::of_repo(work).live().into_iter().next().map(|(run, pid)| (run.id(), pid)) {
            let help = match command {
                Some("check") => format!("`night check` without `--on` checks here; the host's checkout is the run's until it ends (`night status --on {on}`)."),
                _ => format!("Follow it with `night status --on {on}` or `night log -f --on {on}`, or stop it with `night stop --on {on}`; nothing was changed."),
            };
            return Err(Refusal { message: format!("run `{id}` is in progress in this repository (supervisor pid {pid}); one run at a time"), help: Some(help) });
        }
        refuse_leftovers(work, prepare, on)?;
    } else {
        let parent = work.parent().unwrap_or(work);
        std::fs::create_dir_all(parent).map_err(|e| refuse(format!("cannot create `{}`: {e}", parent.display()), None))?;
        git(parent, &["clone", "-q", "--no-checkout", "-o", MIRROR_REMOTE, &prepare.mirror, &prepare.work])?;
    }
    let tracking = format!("+refs/heads/{0}:refs/remotes/{MIRROR_REMOTE}/{0}", prepare.branch);
    git(work, &["fetch", "-q", MIRROR_REMOTE, &tracking])?;
    // The tree is clean but for night's own files (checked above): `-f` only puts back a
    // travelled runbook that the commit also has.
    git(work, &["checkout", "-q", "-f", "-B", &prepare.branch, &prepare.commit])?;
    write_files(work, prepare)?;
    configure(work, prepare)
}

/// Uncommitted changes in the checkout that night did not write: a dead run's work. Refuse
/// rather than lose them.
fn refuse_leftovers(work: &Path, prepare: &Prepare, on: &str) -> Result<(), Refusal> {
    let travelled = std::fs::read_to_string(work.join(".night").join(TRAVELLED)).unwrap_or_default();
    let ours = |path: &str| travelled.lines().any(|p| p == path) || prepare.files.iter().any(|f| f.path == path);
    let status = git(work, &["status", "--porcelain", "--untracked-files=all"])?;
    let left: Vec<&str> = status.lines().filter_map(|line| line.get(3..)).filter(|path| !ours(path) && !path.starts_with(".night/")).collect();
    if left.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = left.iter().take(5).map(|p| format!("`{p}`")).collect();
    let died = RunsDir::of_repo(work).list().into_iter().next().filter(|run| run.load().map_or(true, |history| history.outcome().is_none()));
    let help = match died.as_ref().map(crate::record::RunDir::id) {
        Some(id) => format!("Run `{id}` died with work in progress: `night resume {id} --on {on}` continues it; nothing was changed."),
        None => format!("Look at them with `ssh {} git -C {} status`; nothing was changed.", on.split(':').next().unwrap_or(on), work.display()),
    };
    Err(Refusal { message: format!("the host's checkout `{}` has uncommitted changes no run holds: {}", work.display(), shown.join(", ")), help: Some(help) })
}

fn write_files(work: &Path, prepare: &Prepare) -> Result<(), Refusal> {
    for file in &prepare.files {
        let path = work.join(&file.path);
        if !path.starts_with(work) || file.path.split('/').any(|part| part == "..") {
            return Err(refuse(format!("`{}` is not a path inside the repository", file.path), None));
        }
        // Written as they are: the checkout is clean without a waiver (`git-dirty` passes over
        // the runbook itself, and the files the commit lacks are excluded below), and a
        // waiver here would need `worktree on`, which is the runbook's choice, not the host's.
        let text = &file.text;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| refuse(format!("cannot create `{}`: {e}", parent.display()), None))?;
        }
        std::fs::write(&path, text).map_err(|e| refuse(format!("cannot write `{}`: {e}", path.display()), None))?;
    }
    let night = work.join(".night");
    std::fs::create_dir_all(&night).map_err(|e| refuse(format!("cannot create `{}`: {e}", night.display()), None))?;
    let list: String = prepare.files.iter().map(|f| format!("{}\n", f.path)).collect();
    std::fs::write(night.join(TRAVELLED), list).map_err(|e| refuse(format!("cannot write in `{}`: {e}", night.display()), None))
}

/// `.git/info/exclude` hides night's folder and the travelling files the commit lacks (so that
/// no `git add -A` commits them); the laptop's identity and remotes.
fn configure(work: &Path, prepare: &Prepare) -> Result<(), Refusal> {
    let exclude = work.join(".git").join("info").join("exclude");
    let existing = std::fs::read_to_string(&exclude).unwrap_or_default();
    let mut wanted = vec!["/.night/".to_string()];
    wanted.extend(prepare.files.iter().filter(|f| !f.in_commit).map(|f| format!("/{}", f.path)));
    let missing: String = wanted.iter().filter(|line| !existing.lines().any(|l| l == line.as_str())).map(|line| format!("{line}\n")).collect();
    if !missing.is_empty() {
        if let Some(parent) = exclude.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let separator = if existing.is_empty() || existing.ends_with('\n') { "" } else { "\n" };
        std::fs::write(&exclude, format!("{existing}{separator}{missing}")).map_err(|e| refuse(format!("cannot write `{}`: {e}", exclude.display()), None))?;
    }
    if let Some((name, email)) = &prepare.identity {
        git(work, &["config", "user.name", name])?;
        git(work, &["config", "user.email", email])?;
    }
    let known = git(work, &["remote"])?;
    for remote in prepare.remotes.iter().filter(|r| r.name != MIRROR_REMOTE) {
        if known.lines().any(|name| name == remote.name) {
            git(work, &["remote", "set-url", &remote.name, &remote.url])?;
        } else {
            git(work, &["remote", "add", &remote.name, &remote.url])?;
        }
        if let Some(push) = &remote.push_url {
            git(work, &["remote", "set-url", "--push", &remote.name, push])?;
        }
    }
    Ok(())
}

/// Run git in `dir`; its standard output, or a refusal with its own words.
fn git(dir: &Path, args: &[&str]) -> Result<String, Refusal> {
    let output = Command::new("git").args(args).current_dir(dir).env("GIT_TERMINAL_PROMPT", "0").stdin(Stdio::null()).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => refuse("`git` is not installed", Some("Install git on the host, on the PATH of SSH commands.")),
        _ => refuse(format!("cannot run git: {e}"), None),
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(refuse(format!("`git {}` failed in `{}`: {said}", args.first().copied().unwrap_or_default(), dir.display()), None))
}

/// Run the night command of the request in the checkout, handing the secrets down; for a run,
/// answer with its id once it is live; for a check, say whether the agent is there.
fn then(work: &Path, request: &Request) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return fail(&refuse(format!("cannot find night's own executable: {e}"), None)),
    };
    let args = &request.then.args;
    let is_run = args.first().is_some_and(|a| a == "run" || a == "resume");
    // A batch is told from a run by the folder it makes (the prepare lock keeps any other out).
    let batches_before: Vec<String> = BatchesDir::of_repo(work).list().iter().map(crate::record::BatchDir::id).collect();
    let mut command = Command::new(exe);
    command.args(args).current_dir(work).stderr(Stdio::inherit());
    command.stdout(if is_run { Stdio::piped() } else { Stdio::inherit() });
    if request.then.secrets.is_empty() {
        command.stdin(Stdio::null());
    } else {
        command.env(STDIN_ENV, "1").stdin(Stdio::piped());
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return fail(&refuse(format!("cannot start night: {e}"), None)),
    };
    if let Err(e) = secrets::send(&mut child, &request.then.secrets) {
        let _ = child.kill();
        return fail(&refuse(format!("cannot hand the secrets to night: {e}"), None));
    }
    let stdout = child.stdout.take().map(super::ssh::drain);
    let status = child.wait().ok().and_then(|s| s.code()).and_then(|c| u8::try_from(c).ok()).unwrap_or(2);
    let mut out = std::io::stdout().lock();
    let batch = is_run.then(|| BatchesDir::of_repo(work).list().into_iter().find(|b| !batches_before.contains(&b.id()))).flatten();
    if let (Some(batch), 0) = (batch, status) {
        // What the batch said before it went to the background (its rules' warnings), then its id.
        let said = stdout.unwrap_or_default();
        let before: String = said.lines().take_while(|line| !line.starts_with("night: batch ")).map(|line| format!("{line}\n")).collect();
        let _ = out.write_all(before.as_bytes());
        let runs = batch.load().ok().and_then(|history| history.start.map(|(start, _)| start.members.len())).unwrap_or(0);
        let _ = writeln!(out, "{}", Answer::Batch { batch_id: batch.id(), pid: batch.supervisor().unwrap_or(0), runs }.line());
    } else if is_run && status == 0 {
        // The newest run is this one: the prepare lock kept any other from starting.
        let newest = RunsDir::of_repo(work).list().into_iter().next();
        if let Some(run) = newest {
            let run_id = run.id();
            let pid = run.supervisor().unwrap_or(0);
            let _ = writeln!(out, "{}", Answer::Started { run_id, pid }.line());
        }
    } else if let Some(text) = stdout {
        let _ = out.write_all(text.as_bytes());
    }
    if args.first().is_some_and(|a| a == "check") {
        for runbook in &request.prepare.runbooks {
            let _ = writeln!(out, "{}", agent_answer(&work.join(runbook)).line());
        }
    }
    let _ = out.flush();
    status
}

/// Whether the runbook's agent can be started on this host.
fn agent_answer(runbook: &Path) -> Answer {
    let text = std::fs::read_to_string(runbook).unwrap_or_default();
    let parsed = crate::syntax::parse(&crate::source::Source::new(runbook, text));
    let agent = parsed.runbook.task.as_ref().and_then(|t| t.agent.as_ref()).map_or_else(|| crate::ast::Agent::new(crate::ast::AgentKind::Claude), |a| a.value.clone());
    let kind = agent.kind.name();
    match crate::run::agent::adapter_for(&agent) {
        Err(e) => Answer::Agent { found: false, message: e.to_string() },
        Ok(adapter) => match adapter.preflight() {
            Ok(()) => Answer::Agent { found: true, message: format!("`agent {kind}` can be started") },
            Err(error) => Answer::Agent { found: false, message: error.to_string() },
        },
    }
}
