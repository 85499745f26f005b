//! The morning report: renders a run's [`History`](crate::record::History), and nothing else.
//! [`ReportData`] is what the reports show, read off the history; each format renders it:
//! [`markdown`] (`report.md`), [`json`] (`report.json`) and [`html`] (`report.html`, with the
//! [`timeline`] of the night); [`status`] is the live line of `night run` and `night status`,
//! [`summary`] the last screen of a run.

pub mod batch;
mod data;
pub mod html;
pub mod json;
mod markdown;
pub mod status;
pub mod timeline;
mod write;

pub use data::{AgentTriedReport, DeliveryReport, AttemptReport, NotificationReport, ReportData, ResumeReport, RollbackReport, SandboxReport, SessionReport, ViolationReport};
pub use markdown::{first_screen, markdown};
pub use write::{write_reports, Formats};

use crate::record::SuccessRecord;
pub(crate) use crate::record::vocabulary::word;
use std::fmt::Write as _;

fn short(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

/// `1 commit`, `2 commits`: a count and its noun, plural when the count is not one.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    crate::time::format_duration(std::time::Duration::from_millis(ms))
}

/// A check's result in one phrase: `passed`, or `FAILED: reason`, with counts.
fn check_result(check: &SuccessRecord) -> String {
    let mut out = if check.passed { "passed".to_string() } else { "FAILED".to_string() };
    if let Some(tests) = &check.tests {
        let _ = write!(out, " ({} passed, {} failed", tests.passed, tests.failed);
        if tests.skipped > 0 {
            let _ = write!(out, ", {} skipped", tests.skipped);
        }
        if check.partial.is_some() {
            out.push_str("; partial: the runner stopped early");
        }
        out.push(')');
    }
    if let Some(count) = check.count {
        let _ = write!(out, " (count {count})");
    }
    if !check.passed {
        if let Some(reason) = &check.reason {
            let _ = write!(out, ": {reason}");
        }
    }
    out.replace('|', "\\|")
}

/// An attempt whose checks held but which wrote outside `write`, in words: what the terminal,
/// the reports, the notification and the next prompt say instead of "n/n checks hold".
pub fn held_but_wrote_outside(paths: &[String]) -> String {
    let mut shown: Vec<String> = paths.iter().take(5).map(|p| format!("`{p}`")).collect();
    if paths.len() > 5 {
        shown.push(format!("and {} more", paths.len() - 5));
    }
    format!("checks held, but the agent wrote outside `write`: {}", shown.join(", "))
}

/// The checks after an attempt in one phrase: `n/m checks hold`, or, when they all held and
/// the attempt wrote outside `write`, [`held_but_wrote_outside`].
pub fn attempt_checks_phrase(data: &ReportData, attempt: &AttemptReport) -> String {
    let held = attempt.checks.iter().filter(|c| c.passed).count();
    let outside: Vec<String> = data.violations.iter().filter(|v| v.attempt == attempt.number).flat_map(|v| v.paths.iter().cloned()).collect();
    if held == attempt.checks.len() && !attempt.checks.is_empty() && !outside.is_empty() {
        return held_but_wrote_outside(&outside);
    }
    format!("{held}/{} checks hold", attempt.checks.len())
}

/// The commands that continue from where the run left off, each with a comment. None of
/// them fails where the run left the repository: no `git switch` to the branch the checkout
/// is on, nor to a branch checked out in the run's worktree (git refuses both).
pub fn continue_commands(data: &ReportData) -> Vec<(String, String)> {
    let mut commands = Vec::new();
    let on = data.checkout.as_deref();
    if data.worktree {
        commands.push((format!("cd {}", data.work_dir), format!("the run's worktree, on `{}`", data.branch)));
        commands.push((
            format!("git worktree remove {}", data.work_dir),
            format!("when you are done there; the branch stays, and `git switch {}` then works in your checkout", data.branch),
        ));
    } else {
        if on == Some(data.branch.as_str()) {
            commands.push((format!("git log --stat {}..{}", short(&data.start_commit), data.branch), "the work; your checkout is on its branch".to_string()));
        } else {
            let comment = if on.is_some() { "the work" } else { "the work (your checkout may already be on it)" };
            commands.push((format!("git switch {}", data.branch), comment.to_string()));
        }
        // `night resume` goes on in the checkout, on the run branch: no switching away first.
        let resuming = !data.run_id.is_empty() && data.resumable();
        if let Some(original) = data.original_branch.as_ref().filter(|original| on != Some(original.as_str()) && !resuming) {
            commands.push((format!("git switch {original}"), "back to where you were".to_string()));
        }
    }
    for rollback in &data.rollbacks {
        commands.push((format!("git diff {} {}", short(&rollback.target), rollback.kept_ref), format!("the work rolled back after attempt {}", rollback.attempt)));
    }
    if let Some(retry) = data.delivery.as_ref().and_then(|d| d.retry.clone()) {
        commands.push((retry, "deliver again: the last try did not complete, the work is on the run branch".to_string()));
    }
    if !data.run_id.is_empty() && data.resumable() {
        commands.push((format!("night resume {}", data.run_id), "go on from the journal".to_string()));
    }
    commands
}

/// The one-screen summary printed when the run ends.
pub fn summary(data: &ReportData, report_path: &str) -> String {
    let mut out = String::new();
    let outcome = data.outcome.map_or("not finished", crate::record::Outcome::name);
    let _ = writeln!(out, "\nnight: {outcome} — {}", data.reason.as_deref().unwrap_or(""));
    let duration = data.duration_phrase(duration_text).unwrap_or_default();
    let _ = writeln!(out, "  run       {} ({duration})", data.run_id);
    if let Some(last) = data.attempts.last() {
        let _ = writeln!(out, "  attempts  {} (last: {})", data.attempts.len(), attempt_checks_phrase(data, last));
    }
    let _ = writeln!(
        out,
        "  branch    {} ({}, {}, +{} -{})",
        data.branch,
        plural(data.commits.len(), "commit"),
        plural(data.diffstat.files, "file"),
        data.diffstat.insertions,
        data.diffstat.deletions
    );
    if data.worktree {
        let _ = writeln!(out, "  worktree  {}", data.work_dir);
    }
    if !data.violations.is_empty() {
        let paths = data.violations.iter().map(|v| v.paths.len()).sum::<usize>();
        let _ = writeln!(out, "  outside   {paths} {} written outside `write`", if paths == 1 { "path" } else { "paths" });
    }
    if !data.rollbacks.is_empty() {
        let kept = data.rollbacks.iter().map(|r| r.kept_ref.as_str()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(out, "  rollback  work kept at {kept}");
    }
    if let Some(delivery) = &data.delivery {
        let _ = writeln!(out, "  delivered {}", delivery.summary(&data.branch).replace('`', ""));
    }
    let _ = writeln!(out, "  report    {report_path}");
    for (command, _) in continue_commands(data) {
        let _ = writeln!(out, "  next      {command}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{AttemptEndReason, DiffRecord, Entry, Event, History, Outcome, RunEnd, RunStart, TestCountsRecord, SCHEMA_VERSION};

    fn entry(event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: "2025-01-01T00:00:00Z".parse().expect("a time"), event }
    }

    #[test]
    fn the_report_is_built_from_journal_events() {
        let start = RunStart {
            schema: 1,
            night_version: "0".into(),
            run_id: "demo-20250101-000000".into(),
            name: "demo".into(),
            runbook: "demo.night".into(),
            repo: "/r".into(),
            work_dir: "/r".into(),
            branch: "night/demo/20250101-0000".into(),
            original_branch: Some("main".into()),
            start_commit: "0123456789abcdef".into(),
            worktree: false,
            agent: "command".into(),
            agent_command: Some("./agent.sh".into()),
            limits: vec![("timeout".into(), "1h".into()), ("attempts".into(), "3".into())],
            checks: vec![],
            waivers: vec![("no-budget".into(), "a script spends nothing".into())],
            pid: 1,
            batch: None,
        };
        let failing = SuccessRecord {
            index: 0,
            statement: "tests \"sh t.sh\" format tap".into(),
            passed: false,
            tests: Some(TestCountsRecord { passed: 1, failed: 1, skipped: 0 }),
            partial: None,
            names: None,
            names_file: None,
            lost: None,
            count: None,
            exit_code: Some(1),
            timed_out: false,
            reason: Some("1 test failed".into()),
            duration_ms: 5,
            output_tail: String::new(),
        };
        let entries = vec![
            entry(Event::RunStart(start)),
            entry(Event::Baseline { results: vec![failing.clone()] }),
            entry(Event::AttemptStart { attempt: 1, of: Some(3) }),
            entry(Event::Verified { attempt: 1, passed: false, results: vec![failing], signature: Some("s".into()) }),
            entry(Event::AttemptEnd { attempt: 1, passed: false, reason: AttemptEndReason::Exited, signature: Some("s".into()), head: "x".into() }),
            entry(Event::Notification { notifier: "command".into(), on: crate::ast::Event::End, delivered: true, tries: 1, error: None }),
            entry(Event::RunEnd(RunEnd {
                outcome: Outcome::Failed,
                reason: "1 attempts used up without success".into(),
                exit_code: 1,
                attempts: 1,
                head: "x".into(),
                commits: vec![],
                diffstat: DiffRecord::default(),
                duration_ms: 61_000,
                tokens: 0,
                cost_usd: 0.0,
                checkout: None,
        })),
        ];
        let data = ReportData::new(&History::from_entries(&entries), false);
        assert_eq!(data.attempts.len(), 1);
        let text = markdown(&data);
        assert!(text.starts_with("# night run `demo-20250101-000000`: failed"), "{text}");
        assert!(text.contains("| duration | 1m1s, 00:00:00 → 00:00:00 UTC (timeout 1h) |"), "{text}");
        assert!(text.contains("FAILED (1 passed, 1 failed): 1 test failed"));
        assert!(text.contains("`no-budget`: a script spends nothing"));
        assert!(text.contains("`end` to command: sent"));
        assert!(text.contains("git switch night/demo/20250101-0000"));
        assert!(!text.contains("night resume"), "a failed run has nothing to resume");
    }

    #[test]
    fn the_end_summary_aligns_its_labels() {
        let mut data = ReportData {
            run_id: "demo-20250101-000000".into(),
            branch: "night/demo/20250101-0000".into(),
            work_dir: "/r/.night/worktrees/demo".into(),
            worktree: true,
            ..ReportData::default()
        };
        data.violations.push(ViolationReport { attempt: 1, paths: vec!["a".into(), "b".into()], action: crate::ast::OnViolation::Revert, revert_commit: None });
        data.rollbacks.push(RollbackReport {
            attempt: 2,
            condition: "failing > baseline".into(),
            measured: "3 > 1".into(),
            to: crate::ast::RollbackTo::Start,
            target: "0123456789".into(),
            kept_ref: "refs/night/demo-20250101-000000/attempt-2".into(),
            then: crate::ast::RollbackThen::Stop,
        });
        data.diffstat.files = 1;
        let text = summary(&data, "report.md");
        assert!(text.contains("  outside   2 paths written outside `write`"), "{text}");
        assert!(text.contains("(0 commits, 1 file, +0 -0)"), "one file is said in the singular: {text}");
        for line in text.lines().filter(|line| line.starts_with("  ")) {
            let value_at = line[2..].find(' ').map(|label_end| 2 + label_end + line[2 + label_end..].len() - line[2 + label_end..].trim_start().len());
            assert_eq!(value_at, Some(12), "`{line}` is not aligned in\n{text}");
        }
    }

    #[test]
    fn a_journal_with_absurd_times_and_numbers_renders_bounded() {
        let lines = [
            r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"run-start","schema":1,"night_version":"0","run_id":"x-1","name":"x","runbook":"x.night","repo":"/r","work_dir":"/r","branch":"b","original_branch":null,"start_commit":"0","worktree":false,"agent":"command","agent_command":null,"limits":[["attempts","18446744073709551615"],["tokens","x"]],"checks":[],"waivers":[],"pid":4294967295}"#,
            r#"{"v":1,"at":"2025-01-01T00:00:01Z","event":"attempt-start","attempt":18446744073709551615,"of":18446744073709551615}"#,
            r#"{"v":1,"at":"2025-01-01T00:00:02Z","event":"session-end","attempt":18446744073709551615,"session":18446744073709551615,"reason":"exited","exit_code":-2147483648,"signal":2147483647,"duration_ms":18446744073709551615,"output_bytes":18446744073709551615,"killed":true}"#,
            r#"{"v":1,"at":"262000-12-31T23:59:59Z","event":"usage","attempt":0,"tokens":18446744073709551615,"cost_usd":1e308,"total_tokens":18446744073709551615,"total_cost_usd":1e308}"#,
            r#"{"v":1,"at":"1970-01-01T00:00:00Z","event":"resume","pid":1,"previous_pid":null,"elapsed_ms":18446744073709551615,"attempts":0,"continues_attempt":null,"leftover":""}"#,
        ];
        let text = lines.join("\n");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("journal.jsonl"), format!("{text}\n")).expect("write");
        let history = crate::record::RunDir::new(dir.path()).load().expect("load");
        for died in [false, true] {
            let data = ReportData::new(&history, died);
            let rendered = [markdown(&data), json::json(&data), html::html(&data, &timeline::Timeline::new(&history)), summary(&data, "r.md")];
            for text in rendered {
                assert!(text.len() < 1 << 20, "{} bytes", text.len());
            }
        }
        let status = status::Status::new(&history, chrono::Utc::now());
        assert!(status.line().len() < 1000 && status.doing().len() < 1000);
    }

    #[test]
    fn partial_counts_and_lost_tests_show_in_every_report() {
        let lines = [
            r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"run-start","schema":1,"night_version":"0","run_id":"x-1","name":"x","runbook":"x.night","repo":"/r","work_dir":"/r","branch":"b","original_branch":null,"start_commit":"0","worktree":false,"agent":"command","agent_command":null,"limits":[],"checks":[],"waivers":[],"pid":1}"#,
            r#"{"v":1,"at":"2025-01-01T00:00:01Z","event":"baseline","checks":[{"index":0,"statement":"tests \"cargo test\" format cargo","passed":false,"tests":{"passed":84,"failed":4,"skipped":0},"partial":{"reason":"cargo-fail-fast"},"names":[{"name":"strsim::tests::hamming_diff","outcome":"failed"}],"count":null,"exit_code":101,"timed_out":false,"reason":"4 tests failed; the counts are partial","duration_ms":1,"output_tail":""}]}"#,
            r#"{"v":1,"at":"2025-01-01T00:00:02Z","event":"attempt-start","attempt":1,"of":3}"#,
            r#"{"v":1,"at":"2025-01-01T00:00:03Z","event":"checks","attempt":1,"passed":false,"checks":[{"index":0,"statement":"tests \"cargo test\" format cargo","passed":false,"tests":{"passed":91,"failed":1,"skipped":4},"lost":{"evidence":"names","lost":4,"lost_names":["strsim::tests::hamming_diff"],"unreached":0,"unreached_names":[]},"count":null,"exit_code":101,"timed_out":false,"reason":"1 test failed (baseline 4, of a partial run); 4 tests lost: ran at the baseline, now missing or skipped: `strsim::tests::hamming_diff`","duration_ms":1,"output_tail":""}],"signature":"0:x"}"#,
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("journal.jsonl"), format!("{}\n", lines.join("\n"))).expect("write");
        let history = crate::record::RunDir::new(dir.path()).load().expect("load");
        assert_eq!(history.baseline.as_ref().and_then(|b| b[0].names.as_ref()).map(Vec::len), Some(1), "the journal keeps the names");
        let data = ReportData::new(&history, false);
        let md = markdown(&data);
        assert!(md.contains("84 passed, 4 failed; partial: the runner stopped early"), "{md}");
        assert!(md.contains("91 passed 1 failed 4 lost (baseline 84 passed 4 failed, partial)"), "{md}");
        assert!(md.contains("4 tests lost: ran at the baseline"), "{md}");
        let json = json::json(&data);
        assert!(json.contains("\"lost_names\"") && json.contains("\"cargo-fail-fast\""), "{json}");
        assert!(!json.contains("\"names\": ["), "the baseline's list of names stays in the journal: {json}");
        let html = html::html(&data, &timeline::Timeline::new(&history));
        assert!(html.contains("partial: the runner stopped early") && html.contains("4 tests lost"));
    }
}
