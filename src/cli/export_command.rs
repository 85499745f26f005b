//! `night export k8s|github-actions|containerfile FILE`: print (or write with `-o`) what runs
//! the runbook on an engine the team already has (src/export/).

use super::{ExportArgs, ExportCommonArgs, ExportWhat};
use crate::diagnostic::{render, RenderOptions};
use crate::export::{self, ExportError, Facts};
use std::io::Write as _;

/// Exit 0 when written, 2 when the runbook cannot be exported (nothing written).
pub fn run(args: &ExportArgs) -> u8 {
    let common = match &args.what {
        ExportWhat::K8s(k8s) => &k8s.common,
        ExportWhat::GithubActions(actions) => &actions.common,
        ExportWhat::Containerfile(common) => common,
    };
    match text(args, common) {
        Ok((text, notes)) => {
            for note in notes {
                eprintln!("night: note: {note}");
            }
            write(common, &text)
        }
        Err(ExportError::Invalid) => 2,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(help) = error.help() {
                eprintln!("  help: {help}");
            }
            2
        }
    }
}

fn text(args: &ExportArgs, common: &ExportCommonArgs) -> Result<(String, Vec<String>), ExportError> {
    let source = match super::check_command::read_source(&common.file) {
        Ok(source) => source,
        Err(message) => {
            eprintln!("error[unreadable]: {message}");
            return Err(ExportError::Invalid);
        }
    };
    let parsed = crate::syntax::parse(&source);
    let errors: Vec<&crate::diagnostic::Diagnostic> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        let options = RenderOptions { width: super::width(), color: super::use_stderr_color() };
        for diagnostic in errors {
            eprint!("{}", render(diagnostic, &source, options));
        }
        eprintln!("night: the runbook has errors; nothing was written");
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
            export::github_actions::workflow(&facts, &options)?
        }
        ExportWhat::Containerfile(_) => export::containerfile::containerfile(&facts, &image),
    };
    Ok((text, notes))
}

fn write(common: &ExportCommonArgs, text: &str) -> u8 {
    match &common.output {
        Some(path) if path.as_os_str() != "-" => match std::fs::write(path, text) {
            Ok(()) => {
                println!("{}", path.display());
                0
            }
            Err(e) => {
                eprintln!("error: cannot write `{}`: {}", path.display(), e.to_string().to_lowercase());
                2
            }
        },
        _ => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => 2,
                _ => 0,
            }
        }
    }
}
