//! `night resume RUN`: continue a run whose supervisor died, with the runbook exactly as it
//! ran (the run folder's copy), checked again.

use super::locate;
use super::ResumeArgs;
use crate::check::check_resumed;
use crate::diagnostic::RenderOptions;
use crate::run::journal::{self, Event};
use crate::source::Source;

pub fn run(args: &ResumeArgs) -> u8 {
    let dir = match locate::run_dir(Some(&args.run)) {
        Ok(dir) => dir,
        Err(message) => return locate::fail(&message),
    };
    let entries = match journal::read(&dir.join("journal.jsonl")) {
        Ok(entries) => entries,
        Err(e) => return locate::fail(&format!("cannot read the journal: {e}")),
    };
    let Some(start) = entries.iter().find_map(|e| match &e.event {
        Event::RunStart(start) => Some(start.clone()),
        _ => None,
    }) else {
        return locate::fail("the journal has no `run-start`: nothing to resume");
    };
    let text = match std::fs::read_to_string(dir.join("runbook.night")) {
        Ok(text) => text,
        Err(e) => return locate::fail(&format!("cannot read the run's runbook copy: {e}")),
    };
    // The copy's text at the original path: relative paths (prompt files, `repo`) resolve as
    // they did when the run started. The work tree may hold the dead session's uncommitted
    // work, which is no reason to refuse: `check_resumed` waives `git-dirty`.
    let source = Source::new(&start.runbook, text);
    let env = |name: &str| crate::remote::secrets::var(name);
    let outcome = check_resumed(&source, &env);
    let Some(plan) = outcome.plan.as_ref() else {
        let mut text = String::new();
        let options = RenderOptions { width: super::width(), color: super::use_color() };
        super::check_command::render_text(&mut text, &source, &outcome, options);
        print!("{text}");
        return locate::fail("the run's runbook no longer checks clean; nothing was resumed");
    };
    let command = vec![std::ffi::OsString::from("resume"), start.run_id.clone().into()];
    super::foreground::start(command, args.html, args.detach, |options| crate::run::resume::resume(plan, &dir, options))
}
