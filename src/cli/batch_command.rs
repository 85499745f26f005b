//! `night run a.night b.night … [--jobs N]`: a batch. Every runbook is checked, then the batch's
//! own rules; any error refuses the whole batch with nothing changed. Then the batch folder,
//! the runs side by side (one live line each on a terminal), the batch's reports and digest.
//! Also each run of a batch (`night run --batch-dir …`, started by the batch supervisor).

use super::detach;
use super::error::{BatchCommandError, CliError, Done};
use super::out;
use super::RunArgs;
use crate::batch::{self, digest, BatchPlan, Launch};
use crate::checklist::{check_batch_member, CheckOutcome};
use crate::diagnostic::{render, Diagnostic, RenderOptions};
use crate::plan::Plan;
use crate::record::{BatchDir, BatchStart, BatchesDir, ReportFile, RunDir};
use crate::run::BatchMember;
use crate::source::Source;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};

/// `night run` of several runbooks.
pub fn run(args: &RunArgs) -> Done {
    if args.detach && !detach::is_child() {
        let child_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).filter(|arg| arg != "--detach").collect();
        return detach::start(child_args);
    }
    let detached = detach::become_child();
    let env = |name: &str| crate::remote::secrets::var(name);
    let mut sources = Vec::new();
    for file in &args.files {
        sources.push(super::check_command::read_source(file)?);
    }
    let outcomes: Vec<CheckOutcome> = sources.iter().map(|source| check_batch_member(source, &env)).collect();
    let options = RenderOptions { width: super::width(), color: super::use_color() };
    let plans: Vec<&Plan> = outcomes.iter().filter_map(|o| o.plan.as_ref().filter(|_| !o.has_errors())).collect();
    if plans.len() < outcomes.len() {
        let mut text = String::new();
        for (source, outcome) in sources.iter().zip(&outcomes).filter(|(_, o)| o.plan.is_none() || o.has_errors()) {
            super::check_command::render_text(&mut text, source, outcome, options);
        }
        out::print(&text)?;
        return Err(CliError::BatchErrors);
    }
    let findings = crate::checklist::batch::check(&plans, chrono::Utc::now());
    let text = render_findings(&plans, &findings, options);
    out::print(&text)?;
    if findings.iter().flatten().any(Diagnostic::is_error) {
        return Err(CliError::BatchErrors);
    }
    if let Some(error) = args.files.first().and_then(|file| super::locate::live_run_here(file)) {
        return Err(error);
    }
    let budget_usd = args.budget.as_deref().map(parse_money).transpose()?;
    let notify: Vec<String> = args.notify_batch.chunks(2).map(notifier_statement).collect();
    digest::notifiers(&notify)?;
    let reports_usage = plans.iter().map(|plan| crate::run::agent::adapter_for(&plan.agent).is_ok_and(|adapter| adapter.reports_usage())).collect();
    let jobs = args.jobs.map_or(batch::DEFAULT_JOBS, |n| n as usize);
    let checks = args.checks.map_or(1, |n| n as usize);
    let plan = BatchPlan { plans, reports_usage, jobs, checks, budget_usd, notify, html: args.html };
    let (dir, _lock) = batch::start(&plan).map_err(BatchCommandError::Start)?;
    if detached {
        detach::hand_over(&dir.id(), dir.path());
    }
    out::line(&format!("night: batch {}: {} runs, at most {jobs} at once", dir.id(), plan.plans.len()));
    supervise(&dir, false)
}

/// Supervise a batch to its end (new, or resumed), then its reports and digest.
pub(super) fn supervise(dir: &BatchDir, detached: bool) -> Done {
    let exe = std::env::current_exe().map_err(|source| CliError::System { doing: "find night's own executable", source })?;
    let terminal = std::io::stdout().is_terminal() && !detached && !detach::is_child();
    let console = terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stdout()));
    let lines: batch::Sink = match &console {
        Some(console) => {
            let console = console.clone();
            Arc::new(move |line: &str| {
                let _ = console.println(line);
            })
        }
        None => Arc::new(out::line),
    };
    let status = console.as_ref().map(|console| {
        let console = console.clone();
        let bars: Mutex<HashMap<usize, ProgressBar>> = Mutex::new(HashMap::new());
        let status: batch::StatusSink = Arc::new(move |index: usize, label: &str, line: &str| {
            let Ok(mut bars) = bars.lock() else { return };
            let bar = bars.entry(index).or_insert_with(|| {
                let bar = console.add(ProgressBar::new_spinner());
                bar.set_style(ProgressStyle::with_template("{spinner:.dim} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
                bar
            });
            bar.set_message(format!("{label}: {line}"));
            bar.tick();
        });
        status
    });
    // Secrets received for `--on` go on to each run in memory (src/remote/secrets.rs).
    let received = crate::remote::secrets::received();
    let secrets = (!received.is_empty()).then(|| (crate::remote::secrets::STDIN_ENV.to_string(), crate::remote::secrets::encode(&received)));
    let launch = Launch { exe, lines, status, env_remove: vec![detach::CHILD_ENV.to_string()], secrets };
    let history = batch::supervise(dir, &launch).map_err(|source| CliError::File { doing: "write the batch journal in", path: dir.path().to_path_buf(), source })?;
    if let Some(console) = &console {
        let _ = console.clear();
    }
    let env = |name: &str| crate::remote::secrets::var(name);
    if let Err(e) = digest::send(dir, &history, &digest::report(dir, &history), &env) {
        out::eprint(&format!("night: cannot send the batch's digest: {e}\n"));
    }
    // The reports after the digest, so that they say whether it was delivered.
    let history = dir.load().unwrap_or(history);
    let report = digest::report(dir, &history);
    let html = history.start.as_ref().is_some_and(|(start, _)| start.html);
    if let Err(e) = digest::write_reports(dir, &report, html) {
        out::eprint(&format!("night: cannot write the batch's reports in {}: {e}\n", dir.path().display()));
    }
    let _ = out::print(&format!("\n{}\n  report    {}\n", crate::report::batch::markdown(&report).lines().take(7 + report.runs.len()).collect::<Vec<_>>().join("\n"), dir.report(ReportFile::Markdown).display()));
    Ok(report.outcome().exit())
}

/// The batch rules' findings, rendered under each runbook's name.
fn render_findings(plans: &[&Plan], findings: &[Vec<Diagnostic>], options: RenderOptions) -> String {
    let mut text = String::new();
    for (plan, found) in plans.iter().zip(findings) {
        for diagnostic in found {
            text.push_str(&render(diagnostic, &plan.source, options));
            text.push('\n');
        }
    }
    text
}

/// `$40`, `40`, `12.50` in US dollars.
fn parse_money(text: &str) -> Result<f64, CliError> {
    let amount = text.trim().trim_start_matches('$').parse::<f64>().ok().filter(|usd| usd.is_finite() && *usd > 0.0);
    amount.ok_or_else(|| CliError::from(BatchCommandError::Budget(text.to_string())))
}

/// `KIND TARGET` as a `notify` statement: the target quoted unless it is an `env.X` reference.
fn notifier_statement(pair: &[String]) -> String {
    match pair {
        [kind, target] if target.starts_with("env.") => format!("{kind} {target}"),
        [kind, target] => format!("{kind} \"{}\"", target.replace('\\', "\\\\").replace('"', "\\\"")),
        other => other.join(" "),
    }
}

/// One run of a batch, started by the batch supervisor: the runbook as the batch saved it,
/// checked again (`git-dirty` waived: the run starts from the batch's commit in a worktree of
/// its own), with the id, branch and commit the batch chose.
pub fn member(args: &RunArgs) -> Done {
    let (Some(dir), Some(index), Some(run_id)) = (&args.batch_dir, args.batch_index, &args.batch_run_id) else {
        return Err(BatchCommandError::MemberArguments.into());
    };
    let dir = BatchDir::new(dir);
    let history = dir.load().map_err(|source| CliError::File { doing: "read the batch journal in", path: dir.path().to_path_buf(), source })?;
    let Some((start, _)) = &history.start else { return Err(BatchCommandError::NoStart.into()) };
    let member = start.members.get(index).ok_or_else(|| CliError::from(BatchCommandError::NoRunbook(index)))?;
    let path = dir.path().join(&member.copy);
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::File { doing: "read the batch's runbook copy", path, source })?;
    let source = Source::new(&member.runbook, text);
    let env = |name: &str| crate::remote::secrets::var(name);
    // As for a resume, the checkout's state is not this run's concern: it starts from the
    // batch's commit in a worktree of its own (the batch checked git when it started).
    let outcome = crate::checklist::check_resumed(&source, &env);
    let Some(plan) = outcome.plan.as_ref().filter(|_| !outcome.has_errors()) else {
        let mut text = String::new();
        super::check_command::render_text(&mut text, &source, &outcome, RenderOptions { width: super::width(), color: false });
        out::print(&text)?;
        return Err(CliError::RunbookChanged);
    };
    let mut batch = batch_member(&dir, start, run_id)?;
    batch.branch.clone_from(&member.branch);
    batch.other_branches.retain(|branch| *branch != member.branch);
    let command = vec![std::ffi::OsString::from("run")];
    super::foreground::start(command, args.html, false, |mut options| {
        options.batch = Some(batch);
        crate::run::run(plan, options)
    })
}

/// What a run of the batch `start` runs with.
fn batch_member(dir: &BatchDir, start: &BatchStart, run_id: &str) -> Result<BatchMember, CliError> {
    let from = git2::Oid::from_str(&start.start_commit).map_err(|_| CliError::from(BatchCommandError::StartCommit(start.start_commit.clone())))?;
    let other_branches = start.members.iter().map(|m| m.branch.clone()).collect();
    Ok(BatchMember { batch_id: start.batch_id.clone(), batch_dir: dir.path().to_path_buf(), run_id: run_id.to_string(), branch: String::new(), other_branches, from, budget_usd: start.budget_usd, check_slots: start.checks })
}

/// For `night resume RUN` of a batch's run: what it runs with, from its batch's folder.
pub(super) fn member_of(run: &RunDir, batch_id: &str) -> Option<BatchMember> {
    let repo = run.path().parent()?.parent()?.parent()?;
    let dir = BatchesDir::of_repo(repo).batch(batch_id);
    let history = dir.load().ok()?;
    let (start, _) = history.start.as_ref()?;
    let mut member = batch_member(&dir, start, &run.id()).ok()?;
    let own = run.load().ok()?.start?.0.branch;
    member.other_branches.retain(|branch| *branch != own);
    member.branch = own;
    Some(member)
}

/// The batch a name names, if it is one (`batch-…`).
pub(super) fn find(name: &str) -> Result<Option<BatchDir>, CliError> {
    if !name.starts_with("batch") {
        return Ok(None);
    }
    let runs = super::locate::runs()?;
    let repo = runs.path().parent().and_then(std::path::Path::parent).map(std::path::Path::to_path_buf).unwrap_or_default();
    Ok(BatchesDir::of_repo(&repo).find(name))
}

/// `night stop BATCH`: SIGTERM to the batch supervisor, which stops every run cleanly; wait.
pub(super) fn stop(dir: &BatchDir) -> Done {
    let id = dir.id();
    let Some(pid) = dir.supervisor() else {
        return Err(BatchCommandError::NotRunning(id.to_string()).into());
    };
    let raw = i32::try_from(pid).map_err(|_| CliError::UnknownSupervisor { id: id.clone(), pid })?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::Signal::SIGTERM).map_err(|source| CliError::Signal { pid, source })?;
    out::line(&format!("night: stopping batch {id} (supervisor pid {pid}): every run ends cleanly (checks, report, notifications)…"));
    while dir.is_live() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let history = dir.load().unwrap_or_default();
    if history.end.is_none() {
        return Err(BatchCommandError::SupervisorGone(id.to_string()).into());
    }
    out::print(&format!("night: batch {id} stopped\n  report    {}\n", dir.report(ReportFile::Markdown).display()))?;
    Ok(crate::record::Exit::Success)
}

/// `night resume BATCH`: after the batch supervisor died, resume each run that had not ended,
/// wait for those still running, start those that had not begun.
pub(super) fn resume(dir: &BatchDir, detach_it: bool) -> Done {
    let id = dir.id();
    if let Some(pid) = dir.supervisor() {
        return Err(BatchCommandError::StillRunning { id: id.to_string(), pid }.into());
    }
    let history = dir.load().map_err(|source| CliError::File { doing: "read the batch journal in", path: dir.path().to_path_buf(), source })?;
    if let Some((reason, _)) = &history.end {
        return Err(BatchCommandError::Ended { id: id.to_string(), reason: reason.to_string() }.into());
    }
    if detach_it && !detach::is_child() {
        let child_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).filter(|arg| arg != "--detach").collect();
        return detach::start(child_args);
    }
    let detached = detach::become_child();
    let _lock = dir.lock()?;
    dir.record(crate::record::BatchEvent::BatchResume { pid: std::process::id() }).map_err(|source| CliError::File { doing: "write the batch journal in", path: dir.path().to_path_buf(), source })?;
    if detached {
        detach::hand_over(&id, dir.path());
    }
    out::line(&format!("night: resuming batch {id}"));
    supervise(dir, detached)
}

/// `night status BATCH`: whether the batch supervisor is running, ended or died; each run's
/// id and where it stands; what to do next.
pub(super) fn status(dir: &BatchDir) -> Done {
    let id = dir.id();
    let history = dir.load().map_err(|source| CliError::File { doing: "read the batch journal in", path: dir.path().to_path_buf(), source })?;
    let report = digest::report(dir, &history);
    let mut text = String::new();
    let supervisor = dir.supervisor();
    let head = match (supervisor, &history.end) {
        (Some(pid), _) => format!("running (supervisor pid {pid})"),
        (None, Some((reason, _))) => format!("ended — {reason}"),
        (None, None) => "died — its supervisor is gone before the batch's end".to_string(),
    };
    let totals: Vec<String> = report.totals.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    text.push_str(&format!("{id}: {head}\n  runs      {}: {}\n", report.runs.len(), totals.join(", ")));
    let width = report.runs.iter().map(|row| row.label.len()).max().unwrap_or(0);
    for row in &report.runs {
        let reason = row.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
        text.push_str(&format!("    {:width$}  {}  {}{reason}\n", row.label, row.run_id.as_deref().unwrap_or("-"), row.outcome));
    }
    text.push_str(&format!("  folder    {}\n", dir.path().display()));
    match (supervisor, &history.end) {
        (Some(_), _) => text.push_str(&format!("  stop      night stop {id}\n")),
        (None, Some(_)) => text.push_str(&format!("  report    night report {id}\n")),
        (None, None) => text.push_str(&format!("  continue  night resume {id}\n")),
    }
    out::print(&text)?;
    Ok(crate::record::Exit::Success)
}

/// `night report BATCH`: the batch's table, as markdown, JSON or HTML.
pub(super) fn report(dir: &BatchDir, args: &super::ReportArgs) -> Done {
    let history = dir.load().map_err(|source| CliError::File { doing: "read the batch journal in", path: dir.path().to_path_buf(), source })?;
    let report = digest::report(dir, &history);
    let text = match args.format {
        super::ReportFormat::Md => crate::report::batch::markdown(&report),
        super::ReportFormat::Json => crate::report::batch::json(&report),
        super::ReportFormat::Html => crate::report::batch::html(&report),
    };
    let write = |path: &std::path::Path| -> Result<(), CliError> {
        std::fs::write(path, &text).map_err(|source| CliError::File { doing: "write", path: path.to_path_buf(), source })?;
        out::print(&format!("{}\n", path.display()))
    };
    match (&args.output, args.format) {
        (Some(path), _) if path.as_os_str() == "-" => out::print(&text)?,
        (Some(path), _) => write(path)?,
        (None, super::ReportFormat::Html) => write(&dir.report(ReportFile::Html))?,
        (None, _) => out::print(&text)?,
    }
    Ok(crate::record::Exit::Success)
}
