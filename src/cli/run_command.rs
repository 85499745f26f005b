//! `night run FILE`: check, then the supervised run in the foreground; exit with the outcome's status.

use super::error::{CliError, Done};
use super::out;
use super::RunArgs;
use crate::checklist::check;
use crate::diagnostic::RenderOptions;
use crate::record::RunsDir;

pub fn run(args: &RunArgs) -> Done {
    if args.is_batch() {
        return super::batch_command::run(args);
    }
    if args.batch_dir.is_some() {
        return super::batch_command::member(args);
    }
    let file = args.files.first().ok_or_else(|| CliError::Unreadable("no runbook given".into()))?;
    let source = super::check_command::read_source(file)?;
    if let Some(error) = live_run_here(file) {
        return Err(error);
    }
    let env = |name: &str| crate::remote::secrets::var(name);
    let outcome = check(&source, &env);
    let Some(plan) = outcome.plan.as_ref().filter(|_| !outcome.has_errors()) else {
        let mut text = String::new();
        let options = RenderOptions { width: super::width(), color: super::use_color() };
        super::check_command::render_text(&mut text, &source, &outcome, options);
        out::print(&text)?;
        return Err(CliError::RunbookErrors);
    };
    let command = vec![std::ffi::OsString::from("run"), file.clone().into_os_string()];
    super::foreground::start(command, args.html, args.detach, |options| crate::run::run(plan, options))
}

/// A run in progress in the runbook's repository, said before the checklist: the live run's
/// own work would otherwise show up as a dirty tree, hiding the real reason.
pub(super) fn live_run_here(runbook: &std::path::Path) -> Option<CliError> {
    let dir = std::path::absolute(runbook).ok()?.parent()?.to_path_buf();
    let repo = crate::run::git::repo_root(&dir).ok()?;
    let (run, pid) = RunsDir::of_repo(&repo).live().into_iter().next()?;
    Some(CliError::LiveRun { id: run.id(), pid })
}
