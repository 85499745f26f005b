//! `open-ended-task`: a prompt with open-ended words needs a check that measures the change.

use super::Context;
use crate::ast::{Check, Prompt};
use crate::diagnostic::{Code, Diagnostic};
use regex::Regex;
use std::sync::OnceLock;

const OPEN_ENDED: &[&str] = &[
    "improve", "improves", "improving", "explore", "clean up", "cleanup", "make it better", "make things better",
    "as needed", "wherever", "as you see fit", "where possible", "as much as possible", "optimize", "optimise", "polish", "tidy up",
];

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(prompt) = context.runbook.task.as_ref().and_then(|t| t.prompt.as_ref()) else { return };
    let Some(text) = &context.prompt_text else { return };
    let measured = context
        .runbook
        .success
        .as_ref()
        .is_some_and(|s| s.checks.iter().any(|c| matches!(c.value, Check::Count { .. } | Check::Changed(_))));
    if measured {
        return;
    }
    let Some(found) = open_ended_regex().find(text) else { return };
    let phrase = found.as_str().to_lowercase();
    let label = match &prompt.value {
        Prompt::Inline(_) => format!("says \"{phrase}\""),
        Prompt::File(path) => format!("`{}` says \"{phrase}\"", path.value),
    };
    findings.push(
        Diagnostic::warning(Code::OpenEndedTask, format!("the task is open-ended (\"{phrase}\") and nothing measures the change"))
            .label(prompt.span, label)
            .help("Say when it is done, or add a check that measures it, e.g. `count /TODO/ in \"grep -r TODO src\" < baseline` or `changed \"src/**\"`."),
    );
}

fn open_ended_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        let alternatives: Vec<String> = OPEN_ENDED.iter().map(|w| regex::escape(w).replace(' ', r"\s+")).collect();
        Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).unwrap_or_else(|_| Regex::new("$^").expect("valid"))
    })
}
