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
    let env = |name: &str| std::env::var(name).ok();
    let outcome = check(&source, &env);
    let Some(plan) = outcome.plan.as_ref().filter(|_| !outcome.has_errors()) else {
        let mut text = String::new();
        let options = RenderOptions { width: super::width(), color: super::use_color() };
        super::check_command::render_text(&mut text, &source, &outcome, options);
        print!("{text}");
        eprintln!("night: the runbook has errors; nothing was run (fix them, or `waive` a rule with a reason)");
        return Outcome::Refused.exit_code();
    };

    if args.detach && !super::detach::is_child() {
        let mut child_args = vec![std::ffi::OsString::from("run"), args.file.clone().into_os_string()];
        if args.html {
            child_args.push("--html".into());
        }
        return super::detach::start(child_args);
    }
    let detached = super::detach::become_child();
    let (options, console) = super::foreground::options(args.html, detached);
    let runtime = match super::foreground::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(crate::run::run(plan, options));
    console.finish();
    super::foreground::print_finished(result)
}
