//! `read-missing`: the prompt file exists, and the agent may read it when it lies in the repository.

use super::Context;
use crate::ast::Prompt;
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(prompt) = context.runbook.task.as_ref().and_then(|t| t.prompt.as_ref()) else { return };
    let Prompt::File(path) = &prompt.value else { return };
    let full = context.runbook_dir.join(&path.value);
    if !context.host.is_file(&full) {
        findings.push(
            Diagnostic::error(Code::ReadMissing, format!("prompt file `{}` does not exist", path.value))
                .label(path.span, "no such file next to the runbook")
                .help("Prompt files are relative to the runbook's folder; create the file or fix the path."),
        );
        return;
    }
    if context.host.read_to_string(&full).is_none() {
        findings.push(
            Diagnostic::error(Code::ReadMissing, format!("prompt file `{}` cannot be read as text", path.value))
                .label(path.span, "unreadable or not UTF-8")
                .help("Save the prompt as UTF-8 text and make it readable."),
        );
        return;
    }
    let (Some(repo), Some(permissions)) = (&context.repo, &context.runbook.permissions) else { return };
    let Some(canonical) = context.host.canonicalize(&full) else { return };
    let Ok(relative) = canonical.strip_prefix(repo) else { return };
    let relative = relative.to_string_lossy().replace('\\', "/");
    if !permissions.read.is_empty() && !permissions.read.iter().any(|glob| glob.is_match(&relative)) {
        findings.push(
            Diagnostic::error(Code::ReadMissing, format!("the agent may not read its prompt file `{relative}`"))
                .label(path.span, "not inside any `read` glob")
                .help(format!("Add `\"{relative}\"` to `read` in `permissions`, or move the prompt file.")),
        );
    }
}
