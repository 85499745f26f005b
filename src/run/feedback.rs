//! The prompt of each session: the task, and from the second attempt on what went wrong
//! last time; for a fresh session inside an attempt, a summary of the progress so far.

use crate::record::{History, SuccessRecord};
use crate::test_counts::LostTests;
use std::fmt::Write as _;

/// The most output shown per failing check.
pub const TAIL_PER_CHECK: usize = 2 * 1024;
/// The most check output shown in one prompt.
pub const TAIL_TOTAL: usize = 8 * 1024;
/// The most lost tests named in one prompt.
const LOST_NAMES: usize = 30;

/// What the last attempt left for the next one to know.
#[derive(Debug, Clone, Default)]
pub struct AttemptFeedback {
    /// The attempt this describes.
    pub attempt: u64,
    /// The checks that failed, with their output.
    pub failed_checks: Vec<SuccessRecord>,
    /// Paths written outside `write`, and whether night restored them.
    pub violation: Option<(Vec<String>, bool)>,
    /// Why night ended the session, when it did (idle, silence, a tool-call loop).
    pub ended_because: Option<String>,
    /// What was rolled back, when the work regressed.
    pub rolled_back: Option<String>,
    /// The checks ran after it (an attempt stopped before them has no results to speak of).
    pub checked: bool,
}

/// The prompt for the first session of attempt `attempt`.
pub fn attempt_prompt(task: &str, attempt: u64, of: Option<u64>, last: Option<&AttemptFeedback>) -> String {
    let Some(last) = last else { return task.to_string() };
    let mut out = String::new();
    out.push_str(task.trim_end());
    let _ = write!(out, "\n\n---\nnight: this is attempt {attempt}{}. ", of.map(|n| format!(" of {n}")).unwrap_or_default());
    let _ = writeln!(out, "Attempt {} did not succeed; night verified the result itself:", last.attempt);
    if let Some(reason) = &last.ended_because {
        let _ = writeln!(out, "\n- The session was ended because {reason}.");
    }
    if let Some((paths, reverted)) = &last.violation {
        let listed = paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let what = match (*reverted, paths.len()) {
            (true, 1) => "night restored it",
            (true, _) => "night restored them",
            (false, 1) => "it was kept for review",
            (false, _) => "they were kept for review",
        };
        if last.failed_checks.is_empty() && last.checked {
            // The checks held: the write outside `write` is the whole reason; say so first.
            let _ = writeln!(out, "\n- The {}; {what}. An attempt that writes outside `write` fails even when every check holds: change only the files the task allows.", crate::report::held_but_wrote_outside(paths));
        } else {
            let _ = writeln!(out, "\n- Permission violation: it wrote outside the allowed paths ({listed}); {what}. Change only the files the task allows.");
        }
    }
    if let Some(rollback) = &last.rolled_back {
        let _ = writeln!(out, "\n- The work regressed and was rolled back: {rollback}.");
    }
    if last.failed_checks.is_empty() && last.violation.is_none() && last.ended_because.is_none() {
        let _ = writeln!(out, "\n- Every check held, but the attempt did not count (see above).");
    }
    let mut budget = TAIL_TOTAL;
    for check in &last.failed_checks {
        let reason = check.reason.as_deref().unwrap_or("it did not hold");
        let _ = writeln!(out, "\n- Check `{}` failed: {reason}.", check.statement);
        if let Some(lost) = check.lost.as_ref().filter(|l| l.lost > 0) {
            let _ = writeln!(out, "{}", must_keep_running(lost));
        }
        let tail = tail(&check.output_tail, TAIL_PER_CHECK.min(budget));
        if !tail.trim().is_empty() {
            budget = budget.saturating_sub(tail.len());
            let _ = writeln!(out, "  The end of its output:\n```\n{}\n```", tail.trim_end());
        }
    }
    out.push_str("\nFix the cause and make every check hold.\n");
    out
}

/// What a check's lost tests ask of the agent.
fn must_keep_running(lost: &LostTests) -> String {
    if lost.lost_names.is_empty() {
        return format!("  {} fewer tests ran than at the start. Every test that ran at the start must keep running: do not delete, skip or deselect tests; fix the code instead.", lost.lost);
    }
    let mut names: Vec<String> = lost.lost_names.iter().take(LOST_NAMES).map(|n| format!("`{n}`")).collect();
    if lost.lost > LOST_NAMES as u64 {
        names.push(format!("and {} more", lost.lost - LOST_NAMES as u64));
    }
    format!("  These tests must keep running: {}. They ran at the start; do not delete, skip or deselect them — fix the code instead.", names.join(", "))
}

/// The prompt for a fresh session inside an attempt, after the session limit.
pub fn continue_prompt(
    task: &str,
    attempt: u64,
    session: u64,
    reason: &str,
    history: &History,
) -> String {
    let mut out = String::new();
    out.push_str(task.trim_end());
    let _ = writeln!(out, "\n\n---\nnight: this is session {session} of attempt {attempt}; the last session ended because {reason}, and its work was committed.");
    if history.commits.is_empty() {
        out.push_str("\nNo commits on the run branch yet.\n");
    } else {
        out.push_str("\nCommits on the run branch so far (oldest first):\n");
        for (commit, _) in &history.commits {
            let _ = writeln!(out, "- {} {}", commit.short, commit.summary);
        }
    }
    if let Some(checks) = history.last_results() {
        out.push_str("\nThe last success checks:\n");
        for check in checks {
            let mark = if check.passed { "passed" } else { "FAILED" };
            let reason = check.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            let _ = writeln!(out, "- `{}` {mark}{reason}", check.statement);
        }
    }
    out.push_str("\nContinue from where the work stands.\n");
    out
}

/// The last `max` bytes of `text`, cut at a line start when one is near, else at a character.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    match rest.find('\n') {
        Some(newline) if newline < 200 => &rest[newline + 1..],
        _ => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(statement: &str, output: String) -> SuccessRecord {
        SuccessRecord {
            index: 0,
            statement: statement.into(),
            passed: false,
            tests: None,
            partial: None,
            names: None,
            names_file: None,
            lost: None,
            count: None,
            exit_code: Some(1),
            timed_out: false,
            reason: Some("2 tests failed".into()),
            duration_ms: 1,
            output_tail: output,
        }
    }

    #[test]
    fn the_first_attempt_gets_the_task_alone() {
        assert_eq!(attempt_prompt("do it", 1, Some(3), None), "do it");
    }

    #[test]
    fn feedback_names_checks_violations_and_why_the_session_ended_and_stays_bounded() {
        let long = "x".repeat(10_000) + "\nlast line of output";
        let feedback = AttemptFeedback {
            attempt: 1,
            failed_checks: (0..6).map(|i| failed(&format!("tests \"t{i}\""), long.clone())).collect(),
            violation: Some((vec!["secret.txt".into()], true)),
            ended_because: Some("no new commit on the run branch for `idle 2s`".into()),
            rolled_back: None,
            checked: true,
        };
        let prompt = attempt_prompt("do it", 2, Some(3), Some(&feedback));
        assert!(prompt.starts_with("do it\n"));
        assert!(prompt.contains("attempt 2 of 3"));
        assert!(prompt.contains("Check `tests \"t0\"` failed: 2 tests failed."));
        assert!(prompt.contains("last line of output"));
        assert!(prompt.contains("(`secret.txt`); night restored it"), "one path is `it`: {prompt}");
        assert!(prompt.contains("idle 2s"));
        assert!(prompt.len() < TAIL_TOTAL + 2_000, "{}", prompt.len());
    }

    #[test]
    fn lost_tests_are_named_as_tests_that_must_keep_running() {
        let mut check = failed("tests \"pytest -rA\"", String::new());
        check.lost = Some(LostTests {
            evidence: crate::test_counts::Evidence::Names,
            lost: 2,
            lost_names: vec!["t.py::test_a".into(), "t.py::test_b".into()],
            unreached: 0,
            unreached_names: vec![],
        });
        let feedback = AttemptFeedback { attempt: 1, failed_checks: vec![check], ..AttemptFeedback::default() };
        let prompt = attempt_prompt("do it", 2, None, Some(&feedback));
        assert!(prompt.contains("These tests must keep running: `t.py::test_a`, `t.py::test_b`."), "{prompt}");
    }

    #[test]
    fn tails_respect_character_boundaries() {
        let text = "é".repeat(100);
        let cut = tail(&text, 51);
        assert!(cut.len() <= 51 && cut.chars().all(|c| c == 'é'));
    }
}
