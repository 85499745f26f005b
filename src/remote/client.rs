//! The laptop's side of `--on`: each command as the user types it, carried out over SSH. `run`
//! and `check` ask the host what it has, put night there if needed, push the commit to the
//! mirror, and ask the host's night to prepare the checkout and run the command; the others
//! run the same night command in the host's checkout and show its output as it comes, each
//! line of its errors prefixed by the host's name.

use super::check_view::{print_check_json, print_check_text, short, HostCheck};
use super::install::{self, RemoteNight};
use super::layout::{repo_key, Layout};
use super::payload::{self, Answer, Prepare, Request, Then};
use super::probe::{self, HostFacts};
use super::secrets::{Secrets, STDIN_ENV};
use super::ssh::{self, quote, Input, Ssh};
use super::travel::{self, Travel};
use super::{RemoteError, Target};
use crate::diagnostic::{render, RenderOptions};
use crate::source::Source;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Exit status of a refused command (nothing was changed), as at home.
const REFUSED: u8 = 2;
/// The pass-through script's own failures, before night runs on the host.
const NO_BASE: i32 = 97;
const NO_CHECKOUT: i32 = 98;
const NO_NIGHT: i32 = 99;

/// Print an `--on` error the way night prints errors, prefixed by the host it is about.
pub fn report_error(error: &RemoteError) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = match error.host() {
        Some(host) => writeln!(stderr, "{host}: error: {error}"),
        None => writeln!(stderr, "error: {error}"),
    };
    if let Some(help) = error.help() {
        let _ = writeln!(stderr, "  help: {help}");
    }
    REFUSED
}

pub(super) fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A batch's options, as `night run` was given them (docs/batches.md).
#[derive(Debug, Clone, Default)]
pub struct BatchArgs {
    /// `--jobs N`.
    pub jobs: Option<u32>,
    /// `--budget MONEY`.
    pub budget: Option<String>,
    /// `--checks N`.
    pub checks: Option<u32>,
    /// `--notify-batch KIND TARGET`, flattened.
    pub notify_batch: Vec<String>,
}

impl BatchArgs {
    /// The options as words of the host's `night run`.
    fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(jobs) = self.jobs {
            words.extend(["--jobs".to_string(), jobs.to_string()]);
        }
        if let Some(budget) = &self.budget {
            words.extend(["--budget".to_string(), budget.clone()]);
        }
        if let Some(checks) = self.checks {
            words.extend(["--checks".to_string(), checks.to_string()]);
        }
        for pair in self.notify_batch.chunks(2) {
            words.push("--notify-batch".into());
            words.extend(pair.iter().cloned());
        }
        words
    }

    /// The `env.X` a digest notifier names: its value travels in memory, as a runbook's.
    fn env_names(&self) -> Vec<String> {
        self.notify_batch.chunks(2).filter_map(|pair| pair.get(1)?.strip_prefix("env.").map(str::to_string)).collect()
    }
}

/// `night run FILE… --on HOST`: start the run (or, with several runbooks or batch options, the
/// batch) detached on the host; print its id.
pub fn run(on: &str, files: &[PathBuf], batch: Option<&BatchArgs>, html: bool, options: RenderOptions) -> u8 {
    let (target, read, mut travel) = match target_and_travel(on, files, options) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if !travel.dirty.is_empty() {
        let mut text = String::new();
        for diagnostic in &travel.dirty {
            text.push_str(&render(diagnostic, &read[0].0, options));
            text.push('\n');
        }
        print!("{text}");
        eprintln!("night: `git-dirty` is judged on this machine, whose commit travels; nothing was sent to {}", target.host());
        return REFUSED;
    }
    let ssh = Ssh::new(target);
    if let Err(e) = ssh.check_command() {
        return report_error(&e);
    }
    let mut args = vec!["run".to_string()];
    args.extend(travel.runbooks.iter().cloned());
    args.push("--detach".into());
    if html {
        args.push("--html".into());
    }
    if let Some(batch) = batch {
        args.extend(batch.words());
        travel.env_names.extend(batch.env_names());
        travel.env_names.sort();
        travel.env_names.dedup();
    }
    let sent = match send(&ssh, &travel, args) {
        Ok(sent) => sent,
        Err(e) => return report_error(&e),
    };
    let started = sent.answers.iter().find(|answer| matches!(answer, Answer::Started { .. } | Answer::Batch { .. }));
    match started {
        Some(Answer::Started { run_id, pid }) if sent.status == 0 => {
            print_started(&ssh.target, run_id, *pid, &sent.layout);
            0
        }
        Some(Answer::Batch { batch_id, pid, runs }) if sent.status == 0 => {
            print!("{}", sent.stdout);
            print_batch_started(&ssh.target, batch_id, *pid, *runs, &sent.layout);
            0
        }
        _ => {
            print!("{}", sent.stdout);
            let _ = std::io::stdout().flush();
            sent.status.max(1)
        }
    }
}

fn print_batch_started(target: &Target, batch_id: &str, pid: u32, runs: usize, layout: &Layout) {
    let on = target.to_string();
    let host = target.host();
    let mut out = std::io::stdout().lock();
    let supervisor = if pid == 0 { "it has already ended".to_string() } else { format!("supervisor pid {pid} there") };
    let plural = if runs == 1 { "" } else { "s" };
    let _ = writeln!(out, "night: batch {batch_id} of {runs} run{plural} started on {host} ({supervisor}); it goes on if this machine sleeps or the connection drops");
    let _ = writeln!(out, "  status    night status {batch_id} --on {on}");
    let _ = writeln!(out, "  runs      night list --on {on}");
    let _ = writeln!(out, "  stop      night stop {batch_id} --on {on}");
    let _ = writeln!(out, "  pull      night pull {batch_id} --on {on}    (when it is over; then `night report {batch_id}` here)");
    let _ = writeln!(out, "  folder    {host}:{}/.night/batches/{batch_id}", layout.work());
    let _ = out.flush();
}

fn print_started(target: &Target, run_id: &str, pid: u32, layout: &Layout) {
    let on = target.to_string();
    let host = target.host();
    let mut out = std::io::stdout().lock();
    let supervisor = if pid == 0 { "it has already ended".to_string() } else { format!("supervisor pid {pid} there") };
    let _ = writeln!(out, "night: run {run_id} started on {host} ({supervisor}); it goes on if this machine sleeps or the connection drops");
    let _ = writeln!(out, "  status    night status {run_id} --on {on}");
    let _ = writeln!(out, "  follow    night log -f {run_id} --on {on}");
    let _ = writeln!(out, "  stop      night stop {run_id} --on {on}");
    let _ = writeln!(out, "  pull      night pull {run_id} --on {on}    (then `night report {run_id}` here)");
    let _ = writeln!(out, "  folder    {host}:{}/.night/runs/{run_id}", layout.work());
    let _ = out.flush();
}

/// `night check FILE… --on HOST`: the checklist as the host judges it, with `git-dirty`
/// judged here.
pub fn check(on: &str, files: &[PathBuf], json: bool, deny_warnings: bool, batch: bool, options: RenderOptions) -> u8 {
    let (target, read, travel) = match target_and_travel(on, files, options) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let ssh = Ssh::new(target);
    if let Err(e) = ssh.check_command() {
        return report_error(&e);
    }
    let mut args = vec!["check".to_string()];
    args.extend(travel.runbooks.iter().cloned());
    if json {
        args.extend(["--format".to_string(), "json".to_string()]);
    }
    if deny_warnings {
        args.push("--deny-warnings".into());
    }
    if batch {
        args.push("--batch".into());
    }
    let sent = match send_quietly(&ssh, &travel, args) {
        Ok(sent) => sent,
        Err(e) => return report_error(&e),
    };
    let agent_missing = sent.answers.iter().any(|a| matches!(a, Answer::Agent { found: false, .. }));
    let laptop_errors = !travel.dirty.is_empty();
    let checkout = sent.layout.work();
    let view = HostCheck { stdout: &sent.stdout, answers: &sent.answers, checkout: &checkout, host: ssh.host() };
    if json {
        print_check_json(&view, &travel, &read);
    } else {
        print_check_text(&view, &travel, &read, options);
    }
    let mut status = sent.status;
    if laptop_errors || agent_missing {
        status = status.max(1);
    }
    status
}

/// A runbook read and parsed on the laptop.
type Read = (Source, crate::syntax::Parsed);

/// The host and what travels to it for `run` and `check --on`: the runbooks read and parsed,
/// their prompt files and env names; the exit status, with the error said, when either is wrong.
fn target_and_travel(on: &str, files: &[PathBuf], options: RenderOptions) -> Result<(Target, Vec<Read>, Travel), u8> {
    let target = Target::parse(on).map_err(|e| report_error(&e))?;
    let mut read = Vec::new();
    for file in files {
        read.push(read_and_parse(file, options).ok_or(REFUSED)?);
    }
    let pairs: Vec<(&Source, &crate::syntax::Parsed)> = read.iter().map(|(s, p)| (s, p)).collect();
    let travel = travel::gather(&pairs).map_err(|e| report_error(&e))?;
    Ok((target, read, travel))
}

/// Read and parse a runbook; syntax errors are printed and refuse the command here.
fn read_and_parse(file: &Path, options: RenderOptions) -> Option<(Source, crate::syntax::Parsed)> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error[unreadable]: cannot read `{}`: {}", file.display(), e.to_string().to_lowercase());
            return None;
        }
    };
    let source = Source::new(file, text);
    let parsed = crate::syntax::parse(&source);
    let errors: Vec<&crate::diagnostic::Diagnostic> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        return Some((source, parsed));
    }
    let mut text = String::new();
    for diagnostic in errors {
        text.push_str(&render(diagnostic, &source, options));
        text.push('\n');
    }
    print!("{text}");
    eprintln!("night: the runbook has errors; nothing was sent to the host");
    None
}

/// What the host answered.
struct Sent {
    /// The exit status of the night command there.
    status: u8,
    /// Its output, the answer lines taken out.
    stdout: String,
    /// The answer lines.
    answers: Vec<Answer>,
    /// Where things are on the host.
    layout: Layout,
}

/// Prepare the host and run `args` there, saying each step.
fn send(ssh: &Ssh, travel: &Travel, args: Vec<String>) -> Result<Sent, RemoteError> {
    send_with(ssh, travel, args, true)
}

/// [`send`] without the step lines (for `check`, whose output is the checklist).
fn send_quietly(ssh: &Ssh, travel: &Travel, args: Vec<String>) -> Result<Sent, RemoteError> {
    send_with(ssh, travel, args, false)
}

fn send_with(ssh: &Ssh, travel: &Travel, args: Vec<String>, steps: bool) -> Result<Sent, RemoteError> {
    let host = ssh.host().to_string();
    let key = key_of(&travel.repo)?;
    let mut layout = Layout { base: ssh.target.base().to_string(), key };
    let facts: HostFacts = probe::probe(ssh, &layout, true)?;
    facts.require(&host, &layout)?;
    layout.base.clone_from(&facts.base);
    if !facts.ensured {
        return Err(RemoteError::Step { host, message: format!("cannot prepare night's folder `{}`", layout.night_dir()), help: None });
    }
    let night: RemoteNight = install::ensure(ssh, &facts, &layout)?;
    if steps {
        match &night.copied {
            Some(why) => say(&format!("night: {host}: copied this night to {} ({why})", night.path)),
            None => say(&format!("night: {host}: {} at {}", night.version, night.path)),
        }
    }
    push(ssh, travel, &layout)?;
    if steps {
        let travelling = if travel.uncommitted.is_empty() { String::new() } else { format!(", with {} uncommitted", travel.uncommitted.join(", ")) };
        say(&format!("night: {host}: pushed {} at {}{travelling}", travel.branch, short(&travel.commit)));
    }
    let secrets = laptop_secrets(&travel.env_names);
    if steps && !secrets.is_empty() {
        let names: Vec<String> = secrets.keys().map(|n| format!("`{n}`")).collect();
        say(&format!("night: {host}: {} handed to the run in memory (never written there)", names.join(", ")));
    }
    let request = Request {
        version: payload::VERSION,
        on: ssh.target.to_string(),
        prepare: Prepare {
            mirror: layout.mirror(),
            work: layout.work(),
            lock: layout.lock(),
            branch: travel.branch.clone(),
            commit: travel.commit.clone(),
            runbooks: travel.runbooks.clone(),
            files: travel.files.clone(),
            identity: travel.identity.clone(),
            remotes: travel.remotes.clone(),
        },
        then: Then { args, secrets },
    };
    let body = serde_json::to_vec(&request).map_err(|e| RemoteError::local(format!("cannot write the request: {e}"), None))?;
    let script = format!("cd {} && exec {} remote-host", quote(&layout.base), quote(&night.path));
    let (status, stdout) = stream(ssh, &script, Input::Bytes(&body), false)?;
    let mut answers = Vec::new();
    let mut shown = String::new();
    for line in stdout.lines() {
        match Answer::parse(line) {
            Some(answer) => answers.push(answer),
            None => {
                shown.push_str(line);
                shown.push('\n');
            }
        }
    }
    Ok(Sent { status, stdout: shown, answers, layout })
}

/// `git push` the commit to the host's mirror, under the laptop's branch name.
fn push(ssh: &Ssh, travel: &Travel, layout: &Layout) -> Result<(), RemoteError> {
    let url = ssh.target.git_url(&layout.mirror());
    let refspec = format!("+{}:refs/heads/{}", travel.commit, travel.branch);
    let mut git = Command::new("git");
    git.args(["push", "--quiet", "--no-verify", &url, &refspec]).current_dir(&travel.repo).stdin(Stdio::null());
    ssh.configure_git(&mut git);
    let output = git.output().map_err(|e| RemoteError::local(format!("cannot run git: {e}"), Some("Install git on this machine.")))?;
    if output.status.success() {
        return Ok(());
    }
    let said = ssh::text(&output.stderr);
    Err(RemoteError::Step {
        host: ssh.host().to_string(),
        message: format!("cannot push the commit to `{}`: {said}", layout.mirror()),
        help: Some("git reaches the host with the same ssh as night (`NIGHT_SSH` becomes `GIT_SSH_COMMAND`); a full disk there says `No space left on device`.".into()),
    })
}

/// The values of `names` in this machine's environment (the set, non-empty ones).
pub(super) fn laptop_secrets(names: &[String]) -> Secrets {
    names.iter().filter_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()).map(|value| (name.clone(), value))).collect()
}

/// The host's key for the repository around `dir` (its main checkout, as `night list` finds runs).
fn key_of(dir: &Path) -> Result<String, RemoteError> {
    let root = crate::run::git::repo_root(dir).map_err(|error| RemoteError::local(error.to_string(), Some("`--on` works from inside the git repository whose runs you mean.")))?;
    Ok(repo_key(&root.canonicalize().unwrap_or(root)))
}

/// Run `script` on the host with `input`; errors prefixed by the host go to stderr as they
/// come; standard output is returned (or, with `inherit`, passed straight through).
pub(super) fn stream(ssh: &Ssh, script: &str, input: Input<'_>, inherit: bool) -> Result<(u8, String), RemoteError> {
    let mut command = ssh.script(script);
    command.stdout(if inherit { Stdio::inherit() } else { Stdio::piped() }).stderr(Stdio::piped());
    command.stdin(match input {
        Input::Nothing => Stdio::null(),
        _ => Stdio::piped(),
    });
    let mut child = ssh.spawn(&mut command)?;
    if let (Some(mut stdin), Input::Bytes(bytes)) = (child.stdin.take(), input) {
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let host = ssh.host().to_string();
    let stderr = child.stderr.take().map(|stderr| std::thread::spawn(move || prefix_lines(stderr, &host)));
    let stdout = child.stdout.take().map(ssh::drain).unwrap_or_default();
    let status = child.wait().map_err(|e| ssh.unreachable(&e.to_string()))?;
    let said = stderr.and_then(|thread| thread.join().ok()).unwrap_or_default();
    if Ssh::failed_to_connect(status) {
        return Err(ssh.unreachable(&said.last));
    }
    if status.code().is_none() {
        return Err(ssh.unreachable("the connection was closed (ssh was ended by a signal); the run there goes on"));
    }
    match status.code() {
        Some(NO_BASE) => return Err(RemoteError::NoBase { host: ssh.host().to_string(), path: ssh.target.base().to_string() }),
        Some(NO_CHECKOUT) => return Err(RemoteError::NoCheckout { host: ssh.host().to_string(), path: said.marker.unwrap_or_default() }),
        Some(NO_NIGHT) => {
            return Err(RemoteError::Incompatible {
                host: ssh.host().to_string(),
                detail: "no night there".into(),
                help: format!("`night run FILE --on {}` puts this night there.", ssh.target),
            })
        }
        _ => {}
    }
    let code = status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(REFUSED);
    Ok((code, stdout))
}

/// What the host wrote on stderr, after it was shown.
#[derive(Default)]
struct Said {
    /// The last line, for ssh's own failures.
    last: String,
    /// The detail of a pass-through script's failure marker.
    marker: Option<String>,
}

/// Show each line the host writes on stderr, prefixed by its name, as it comes.
fn prefix_lines(stderr: impl std::io::Read, host: &str) -> Said {
    let mut said = Said::default();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(detail) = line.strip_prefix(payload::MARK) {
            said.marker = Some(detail.split_once(' ').map_or("", |(_, rest)| rest).to_string());
            continue;
        }
        if !line.trim().is_empty() {
            said.last.clone_from(&line);
        }
        let mut out = std::io::stderr().lock();
        let _ = writeln!(out, "{host}: {line}");
    }
    said
}

/// The script that runs `night ARGS` in the host's checkout of this repository.
pub(super) fn in_checkout(layout: &Layout, args: &[String], secrets: bool) -> String {
    let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let env = if secrets { format!("{STDIN_ENV}=1 ") } else { String::new() };
    let mark = payload::MARK;
    format!(
        r#"cd {base} 2>/dev/null || exit {NO_BASE}
base=$(pwd -P)
work="$base/.night/work/{key}"
[ -d "$work" ] || {{ echo "{mark}no-checkout $work" >&2; exit {NO_CHECKOUT}; }}
bin="$base/.night/bin/night"
[ -x "$bin" ] || bin=$(command -v night) || exit {NO_NIGHT}
cd "$work" && {env}exec "$bin" {args}
"#,
        base = quote(&layout.base),
        key = quote(&layout.key),
        args = words.join(" "),
    )
}

/// The host and layout for a command about this repository's runs there.
pub(super) fn connect(on: &str) -> Result<(Ssh, Layout), RemoteError> {
    let target = Target::parse(on)?;
    let cwd = std::env::current_dir().map_err(|e| RemoteError::local(format!("cannot read the current folder: {e}"), None))?;
    let key = key_of(&cwd)?;
    let layout = Layout { base: target.base().to_string(), key };
    let ssh = Ssh::new(target);
    ssh.check_command()?;
    Ok((ssh, layout))
}
