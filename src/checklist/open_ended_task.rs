//! `open-ended-task`: a prompt with open-ended words needs a check that measures the change.

use super::Context;
use crate::ast::{SuccessCheck, Prompt};
use crate::diagnostic::{Code, Diagnostic};

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
        .is_some_and(|s| s.checks.iter().any(|c| matches!(c.value, SuccessCheck::Count { .. } | SuccessCheck::Changed(_))));
    if measured {
        return;
    }
    let Some(phrase) = open_ended_phrase(text) else { return };
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

/// The first open-ended phrase of `text` (whole words, any case, any white space between the
/// words of a phrase), in lower case. A scan, not a regex: a Unicode regex costs more to compile
/// than the rest of `night check`.
fn open_ended_phrase(text: &str) -> Option<String> {
    // Each word with where it starts and ends in `text`.
    let words: Vec<(usize, usize, String)> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + word.len(), word.to_lowercase())
        })
        .collect();
    let mut found: Option<(usize, &str)> = None;
    for phrase in OPEN_ENDED {
        let parts: Vec<&str> = phrase.split(' ').collect();
        let matches = |window: &&[(usize, usize, String)]| {
            window.iter().zip(&parts).all(|((_, _, word), part)| word == part)
                && window.windows(2).all(|pair| text[pair[0].1..pair[1].0].chars().all(char::is_whitespace))
        };
        if let Some(window) = words.windows(parts.len()).find(matches) {
            if found.is_none_or(|(first, _)| window[0].0 < first) {
                found = Some((window[0].0, phrase));
            }
        }
    }
    found.map(|(_, phrase)| phrase.to_string())
}

#[cfg(test)]
mod tests {
    use super::open_ended_phrase;

    #[test]
    fn phrases_are_whole_words_in_any_case_and_spacing() {
        assert_eq!(open_ended_phrase("Please IMPROVE the parser").as_deref(), Some("improve"));
        assert_eq!(open_ended_phrase("Make it\n  better, as needed.").as_deref(), Some("make it better"));
        assert_eq!(open_ended_phrase("clean up src/ and tidy up").as_deref(), Some("clean up"));
        assert_eq!(open_ended_phrase("The improvement list; fix tests").as_deref(), None);
        assert_eq!(open_ended_phrase("Fix the failing parser tests in src/.").as_deref(), None);
        assert_eq!(open_ended_phrase("don't optimise prematurely").as_deref(), Some("optimise"));
        assert_eq!(open_ended_phrase("make it, better").as_deref(), None, "only white space between the words of a phrase");
        assert_eq!(open_ended_phrase("« wherever » you can").as_deref(), Some("wherever"));
    }
}
