//! `night run FILE`: check, then the supervised run in the foreground; exit with the outcome's status.

use super::error::{CliError, Done, Unreadable};
use super::out;
use super::RunArgs;
use crate::checklist::check;
use crate::diagnostic::RenderOptions;

pub fn run(args: &RunArgs) -> Done {
    if args.is_batch() {
        return super::batch_command::run(args);
    }
    if args.batch_dir.is_some() {
        return super::batch_command::member(args);
    }
    let file = args.files.first().ok_or(Unreadable::NoRunbook)?;
    let source = super::check_command::read_source(file)?;
    if let Some(error) = super::locate::live_run_here(file) {
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
