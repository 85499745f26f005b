//! `night run FILE`: check, then the supervised run in the foreground; exit with the outcome's status.

use super::RunArgs;
use crate::check::check;
use crate::diagnostic::RenderOptions;
use crate::run::Outcome;

pub fn run(args: &RunArgs) -> u8 {
    let source = match super::check_command::read_source(&args.file) {
        Ok(source) => source,
        Err(message) => {
            eprintln!("error[unreadable]: {message}");
            return Outcome::Refused.exit_code();
        }
    };
    if let Some(message) = live_run_here(&args.file) {
        eprintln!("error: {message}");
        eprintln!("  help: Follow it with `night status` or `night log -f`, or stop it with `night stop`; nothing was changed.");
        return Outcome::Refused.exit_code();
    }
    let env = |name: &str| crate::remote::secrets::var(name);
    let outcome = check(&source, &env);
    let Some(plan) = outcome.plan.as_ref().filter(|_| !outcome.has_errors()) else {
        let mut text = String::new();
        let options = RenderOptions { width: super::width(), color: super::use_color() };
        super::check_command::render_text(&mut text, &source, &outcome, options);
        print!("{text}");
        eprintln!("night: the runbook has errors; nothing was run (fix them, or `waive` a rule with a reason)");
        return Outcome::Refused.exit_code();
    };

    let command = vec![std::ffi::OsString::from("run"), args.file.clone().into_os_string()];
    super::foreground::start(command, args.html, args.detach, |options| crate::run::run(plan, options))
}

/// A run in progress in the runbook's repository, said before the checklist: the live run's
/// own work would otherwise show up as a dirty tree, hiding the real reason.
fn live_run_here(runbook: &std::path::Path) -> Option<String> {
    let dir = std::path::absolute(runbook).ok()?.parent()?.to_path_buf();
    let repo = crate::run::runs::repo_root(&dir).ok()?;
    let (id, pid) = crate::run::runs::live(&repo).into_iter().next()?;
    Some(format!("run `{id}` is in progress in this repository (supervisor pid {pid}); one run at a time"))
}
