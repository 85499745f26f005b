//! `night check FILE…`: diagnostics, then the checklist; exit 0 / 1 / 2.

use super::error::{CliError, Done, Unreadable};
use super::out;
use super::{CheckArgs, Format};
use crate::record::Exit;
use crate::checklist::{check, check_batch_member, CheckOutcome, ItemStatus};
use crate::diagnostic::{render, JsonDiagnostic, RenderOptions, Severity};
use crate::source::Source;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// The JSON document printed by `night check --format json`.
#[derive(Serialize)]
struct JsonReport {
    version: u32,
    files: Vec<JsonFile>,
}

#[derive(Serialize)]
struct JsonFile {
    file: String,
    readable: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic>,
    checklist: Vec<crate::checklist::ChecklistItem>,
}

/// Read a runbook as UTF-8, or say precisely why not.
pub fn read_source(path: &Path) -> Result<Source, CliError> {
    let bytes = std::fs::read(path).map_err(|source| Unreadable::File { path: path.to_path_buf(), source })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(path, text)),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.into_bytes()[..offset]).into_owned();
            let line = text.matches('\n').count() + 1;
            Err(Unreadable::NotUtf8 { path: path.to_path_buf(), line, offset }.into())
        }
    }
}


pub fn run(args: &CheckArgs) -> Done {
    let env = |name: &str| crate::remote::secrets::var(name);
    let options = RenderOptions { width: super::width(), color: super::use_color() };
    let mut unreadable = 0;
    let mut errors = 0;
    let mut warnings = 0;
    let mut text = String::new();
    let mut json = JsonReport { version: 1, files: Vec::new() };
    let mut checked: Vec<CheckOutcome> = Vec::new();

    for path in &args.files {
        let source = match read_source(path) {
            Ok(source) => source,
            Err(error) => {
                let message = error.to_string();
                unreadable += 1;
                errors += 1;
                let _ = writeln!(text, "error[unreadable]: {message}");
                let diagnostic = crate::diagnostic::Diagnostic::error(crate::diagnostic::Code::Unreadable, message)
                    .help("Pass a UTF-8 text file that exists and can be read.");
                json.files.push(JsonFile {
                    file: path.display().to_string(),
                    readable: false,
                    errors: 1,
                    warnings: 0,
                    diagnostics: vec![JsonDiagnostic::new(&diagnostic, &Source::new(path, ""))],
                    checklist: Vec::new(),
                });
                continue;
            }
        };
        let outcome = if args.batch { check_batch_member(&source, &env) } else { check(&source, &env) };
        let file_errors = outcome.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        let file_warnings = outcome.diagnostics.len() - file_errors;
        errors += file_errors;
        warnings += file_warnings;
        match args.format {
            Format::Text => render_text(&mut text, &source, &outcome, options),
            Format::Json => json.files.push(JsonFile {
                file: source.name(),
                readable: true,
                errors: file_errors,
                warnings: file_warnings,
                diagnostics: outcome.diagnostics.iter().map(|d| JsonDiagnostic::new(d, &source)).collect(),
                checklist: outcome.checklist.clone(),
            }),
        }
        checked.push(outcome);
    }
    if args.batch {
        // The batch's own rules, between the files given (each of which checked clean).
        let plans: Vec<&crate::plan::Plan> = checked.iter().filter_map(|o| o.plan.as_ref()).collect();
        if plans.len() == checked.len() && unreadable == 0 {
            let findings = crate::checklist::batch::check(&plans, chrono::Utc::now());
            for (plan, found) in plans.iter().zip(&findings) {
                for diagnostic in found {
                    if diagnostic.severity == Severity::Error {
                        errors += 1;
                    } else {
                        warnings += 1;
                    }
                    if args.format == Format::Text {
                        text.push_str(&render(diagnostic, &plan.source, options));
                        text.push('\n');
                    }
                }
            }
            if args.format == Format::Json {
                for (file, found) in json.files.iter_mut().zip(&findings) {
                    let source = plans.iter().find(|p| p.source.name() == file.file).map(|p| &p.source);
                    for diagnostic in found {
                        if let Some(source) = source {
                            file.diagnostics.push(JsonDiagnostic::new(diagnostic, source));
                        }
                        if diagnostic.severity == Severity::Error {
                            file.errors += 1;
                        } else {
                            file.warnings += 1;
                        }
                    }
                }
            }
        }
    }

    match args.format {
        Format::Text => {
            let _ = writeln!(text, "{}", summary(errors, warnings, unreadable, args.files.len()));
            out::print(&text)?;
        }
        Format::Json => {
            // Every field is a string, number, bool or list of them: encoding cannot fail.
            let document = serde_json::to_string_pretty(&json).unwrap_or_default();
            out::print(&format!("{document}\n"))?;
        }
    }
    Ok(if unreadable > 0 {
        Exit::Error
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// The human rendering of one file's outcome: every diagnostic, then the checklist.
pub fn render_text(out: &mut String, source: &Source, outcome: &CheckOutcome, options: RenderOptions) {
    for diagnostic in &outcome.diagnostics {
        out.push_str(&render(diagnostic, source, options));
        out.push('\n');
    }
    let _ = writeln!(out, "checklist for {}:", source.name());
    // Nothing was checked (a syntax error, an empty file): one line, not one per rule.
    let reasons: Vec<&str> = outcome
        .checklist
        .iter()
        .map(|item| match &item.status {
            ItemStatus::NotChecked { reason } => Some(*reason),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if let [first, rest @ ..] = reasons.as_slice() {
        if rest.iter().all(|reason| reason == first) {
            let _ = writeln!(out, "  [----] none of the {} items was checked: {first}", reasons.len());
            return;
        }
    }
    let code_width = outcome.checklist.iter().map(|item| item.code.name().len()).max().unwrap_or(0);
    for item in &outcome.checklist {
        let (mark, note) = match &item.status {
            ItemStatus::Passed => ("ok  ", String::new()),
            ItemStatus::Failed { severity: Severity::Error } => ("FAIL", String::new()),
            ItemStatus::Failed { severity: Severity::Warning } => ("warn", String::new()),
            ItemStatus::Waived { reason } => ("waiv", format!(" — waived: {reason}")),
            ItemStatus::AtRun => ("run ", " — checked by `night run` at the baseline".to_string()),
            ItemStatus::NotChecked { reason } => ("----", format!(" — not checked: {reason}")),
        };
        let _ = writeln!(out, "  [{mark}] {:code_width$}  {}{note}", item.code.name(), item.title);
    }
    if let Some(plan) = &outcome.plan {
        before_the_run(out, plan);
    }
}

/// What `deny irreversible` will hide from the agent on this machine, and what the sandbox will
/// not enforce here (and how to get it): the same values `night run` computes.
fn before_the_run(out: &mut String, plan: &crate::plan::Plan) {
    use crate::sandbox;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let spec = sandbox::SandboxSpec::from_plan(plan, &plan.repo, &plan.repo.join(".git"), &plan.repo.join(".night"), home.as_deref());
    let mut lines = Vec::new();
    let layers = sandbox::layers(&spec, &sandbox::probe(), plan.permissions.sandbox);
    // Only what a layer of this machine hides is said to be hidden; the gaps name the rest.
    let scrubbed = if layers.as_ref().is_ok_and(|l| l.mounts) { spec.scrubbed.as_slice() } else { &[] };
    if (!spec.hidden.is_empty() || !scrubbed.is_empty()) && layers.as_ref().is_ok_and(sandbox::ActiveLayers::hides_stores) {
        let mut stores: Vec<String> = spec.hidden.iter().map(|s| format!("`{}` ({})", s.path.display(), s.holds)).collect();
        stores.extend(scrubbed.iter().map(|s| format!("the credentials in `{}` (a copy without them)", s.path.display())));
        lines.push(format!("hidden from the agent and the success checks: {}; the environment keeps only the allowlist of docs/sandbox.md", stores.join(", ")));
    }
    match layers {
        // The process limit's exemption for root says nothing about what the runbook can do.
        Ok(layers) => lines.extend(layers.gaps.into_iter().filter(|g| !g.contains("process limit")).map(|g| format!("not enforced: {g}"))),
        Err(error) => lines.push(format!("`night run` will refuse: {error}")),
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "before the run:");
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn summary(errors: usize, warnings: usize, unreadable: usize, files: usize) -> String {
    let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
    let verdict = if unreadable > 0 {
        format!("{} could not be read", plural(unreadable, "file"))
    } else if errors == 0 {
        "ready to run".to_string()
    } else {
        "not ready: fix the errors above".to_string()
    };
    format!("{}, {} in {}: {verdict}", plural(errors, "error"), plural(warnings, "warning"), plural(files, "file"))
}
