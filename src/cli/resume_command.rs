//! `night resume RUN`: continue a run whose supervisor died, with the runbook exactly as it
//! ran (the run folder's copy), checked again.

use super::error::{CliError, Done};
use super::{locate, out};
use super::ResumeArgs;
use crate::checklist::check_resumed;
use crate::diagnostic::RenderOptions;
use crate::run::Refused;
use crate::source::Source;

pub fn run(args: &ResumeArgs) -> Done {
    if let Some(batch) = super::batch_command::find(&args.run)? {
        return super::batch_command::resume(&batch, args.detach);
    }
    let dir = locate::run_dir(Some(&args.run))?;
    if let Some(on) = pulled_from(&dir) {
        // Its work tree, processes and paths are the host's.
        return Err(CliError::Pulled { id: dir.id(), on });
    }
    let history = dir.load().map_err(|source| CliError::Refused(Refused::Journal { doing: "read", source }))?;
    let Some((start, _)) = history.start else { return Err(Refused::NeverStarted.into()) };
    let path = dir.runbook();
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::File { doing: "read the run's runbook copy", path, source })?;
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
        out::print(&text)?;
        return Err(CliError::RunbookChanged);
    };
    let batch = start.batch.as_deref().and_then(|batch| super::batch_command::member_of(&dir, batch));
    let command = vec![std::ffi::OsString::from("resume"), start.run_id.clone().into()];
    super::foreground::start(command, args.html, args.detach, |mut options| async move {
        options.batch = batch;
        crate::run::resume(plan, &dir, options).await
    })
}

/// The `--on` value a run was pulled with (`pulled.json`), when `night pull --on` brought it.
fn pulled_from(dir: &crate::record::RunDir) -> Option<String> {
    let text = std::fs::read_to_string(dir.pulled()).ok()?;
    let note: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(note["pulled_from"].as_str().unwrap_or("the host").to_string())
}
