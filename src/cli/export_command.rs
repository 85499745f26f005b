//! `night export k8s|github-actions|containerfile FILE`: print (or write with `-o`) what runs
//! the runbook on an engine the team already has (src/export/).

use super::error::{CliError, Done};
use super::out;
use super::{ExportArgs, ExportCommonArgs, ExportWhat};
use crate::record::Exit;
use crate::diagnostic::{render, RenderOptions};
use crate::export::{self, ExportError, Facts};

/// Exit 0 when written, 2 when the runbook cannot be exported (nothing written).
pub fn run(args: &ExportArgs) -> Done {
    let common = match &args.what {
        ExportWhat::K8s(k8s) => &k8s.common,
        ExportWhat::GithubActions(actions) => &actions.common,
        ExportWhat::Containerfile(common) => common,
    };
    match text(args, common) {
        Ok((text, notes)) => {
            for note in notes {
                out::eprint(&format!("note: {note}\n"));
            }
            write(common, &text)
        }
        // What was wrong is printed already.
        Err(ExportError::Invalid) => Ok(Exit::Error),
        Err(error) => Err(CliError::Export(error)),
    }
}

fn text(args: &ExportArgs, common: &ExportCommonArgs) -> Result<(String, Vec<String>), ExportError> {
    let source = match super::check_command::read_source(&common.file) {
        Ok(source) => source,
        Err(error) => {
            out::eprint(&error.render());
            return Err(ExportError::Invalid);
        }
    };
    let parsed = crate::syntax::parse(&source);
    let errors: Vec<&crate::diagnostic::Diagnostic> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        let options = RenderOptions { width: super::width(), color: super::use_stderr_color() };
        for diagnostic in errors {
            out::eprint(&render(diagnostic, &source, options));
        }
        out::eprint("error: the runbook has errors; nothing was written\n");
        return Err(ExportError::Invalid);
    }
    let facts = Facts::read(&source, &parsed)?;
    let image = facts.image(common.image.as_deref());
    let mut notes: Vec<String> = Vec::new();
    let text = match &args.what {
        ExportWhat::K8s(k8s) => {
            let options = export::k8s::K8sOptions::new(&facts, common.image.as_deref(), k8s.repo.as_deref(), k8s.git_ref.as_deref(), k8s.secret.as_deref(), &k8s.cpu, &k8s.memory)?;
            notes.extend(facts.no_delivery_note());
            export::k8s::job(&facts, &options)
        }
        ExportWhat::GithubActions(actions) => {
            let options = export::github_actions::ActionsOptions { image, schedule: actions.schedule.clone(), runs_on: actions.runs_on.clone() };
            notes.extend(facts.no_delivery_note());
            notes.extend(export::github_actions::notes(&facts));
            export::github_actions::workflow(&facts, &options)?
        }
        ExportWhat::Containerfile(_) => export::containerfile::containerfile(&facts, &image),
    };
    Ok((text, notes))
}

fn write(common: &ExportCommonArgs, text: &str) -> Done {
    match &common.output {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::write(path, text).map_err(|source| CliError::File { doing: "write", path: path.clone(), source })?;
            out::print(&format!("{}\n", path.display()))?;
        }
        _ => out::print(text)?,
    }
    Ok(Exit::Success)
}
