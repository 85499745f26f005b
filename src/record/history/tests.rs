//! Tests: the fold of a run's events, across resumes and clock jumps, and of journals nobody
//! should have written.

use super::*;
use crate::record::{SessionEndReason, SCHEMA_VERSION};
use crate::record::journal;
use std::io::Write as _;

fn at(time: &str, event: Event) -> Entry {
    Entry { v: SCHEMA_VERSION, at: format!("2025-01-01T{time}Z").parse().expect("a time"), event }
}

fn start() -> Event {
    Event::RunStart(RunStart { pid: 41, ..RunStart::example(&[("attempts", "3")]) })
}

#[test]
fn a_resume_reopens_a_crashed_run_and_supervised_time_comes_from_monotonic_figures() {
    let end = RunEnd {
        outcome: Outcome::Crashed,
        reason: "night failed".into(),
        exit_code: 1,
        attempts: 1,
        head: "h".into(),
        commits: vec![],
        diffstat: crate::record::DiffRecord::default(),
        duration_ms: 1,
        tokens: 0,
        cost_usd: 0.0,
        checkout: None,
};
    let mut history = History::from_entries(&[
        at("00:00:00", start()),
        at("00:00:01", Event::AttemptStart { attempt: 1, of: Some(3) }),
        at("00:00:02", Event::SessionStart { attempt: 1, session: 1, pid: Some(9), prompt_file: "p".into(), prompt_kind: PromptKind::Task }),
        at("00:01:00", Event::Heartbeat { elapsed_ms: 60_000 }),
        // The wall clock jumped ten hours ahead before the supervisor died.
        at("10:01:30", Event::RunEnd(end)),
    ]);
    assert_eq!(history.outcome(), Some(Outcome::Crashed));
    assert_eq!(history.supervised(Duration::from_secs(120)), Duration::from_secs(180), "at most two heartbeats' worth after the last figure");
    assert_eq!(history.supervisor_pid, Some(41));
    history.apply(&at("10:05:00", Event::Resume(Resume { pid: 42, previous_pid: Some(41), elapsed_ms: 180_000, attempts: 1, continues_attempt: Some(1), leftover: "gone".into() })));
    assert_eq!(history.outcome(), None, "a resumed run goes on");
    assert_eq!(history.phase, Phase::Between);
    assert_eq!(history.supervisor_pid, Some(42));
    assert_eq!(history.resumes[0].last_heard, Some("2025-01-01T10:01:30Z".parse().expect("time")));
    history.apply(&at("10:05:01", Event::SessionEnd { attempt: 1, session: 1, reason: SessionEndReason::SupervisorDied, exit_code: None, signal: None, duration_ms: 58_000, output_bytes: 0, killed: false, wakeups: None }));
    assert_eq!(history.attempts[0].sessions.len(), 1, "the open session is closed, not doubled");
    assert_eq!(history.attempt_count(), 1);
}

#[test]
fn a_journal_edited_by_hand_folds_to_less_never_to_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.jsonl");
    let mut file = std::fs::File::create(&path).expect("create");
    let lines = [
        r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"attempt-start","attempt":18446744073709551615,"of":0}"#,
        r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"checks","attempt":3,"passed":false,"checks":[{"index":18446744073709551615,"statement":"x","passed":false,"tests":{"passed":1,"failed":18446744073709551615,"skipped":0},"count":null,"exit_code":null,"timed_out":false,"reason":null,"duration_ms":0,"output_tail":""}],"signature":null}"#,
        r#"{"v":1,"at":"9999-12-31T23:59:59Z","event":"session-end","attempt":0,"session":0,"reason":"exited","exit_code":null,"signal":null,"duration_ms":18446744073709551615,"output_bytes":0,"killed":false}"#,
        r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"limit","limit":"forever","value":"1","attempt":1,"ends":"run"}"#,
        r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"run-end","outcome":"triumph","reason":"x"}"#,
        "{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"note\",\"topic\":\"\u{fffd}\"",
    ];
    for line in lines {
        writeln!(file, "{line}").expect("write");
    }
    drop(file);
    let read = journal::read(&path).expect("read");
    assert_eq!(read.entries.len(), 3);
    assert_eq!(read.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [4, 5, 6]);
    let history = History::from_lines(&read, None);
    assert_eq!(history.attempt_count(), u64::MAX);
    assert_eq!(history.attempts.len(), 3);
    assert_eq!(history.skipped.len(), 3);
    assert_eq!(history.elapsed_at("2025-01-01T00:00:00Z".parse().expect("time")), Duration::ZERO, "no run-start, no clock");
}

#[test]
fn a_journal_of_every_event_as_night_has_always_written_them_reads_whole() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal/v1-every-event.jsonl");
    let read = journal::read(&path).expect("read");
    assert!(read.skipped.is_empty(), "{:?}", read.skipped);
    let names: std::collections::BTreeSet<&str> = read.entries.iter().map(|e| e.event.name()).collect();
    assert_eq!(names.len(), 23, "every kind of event: {names:?}");
    let history = History::from_lines(&read, None);
    assert_eq!(history.outcome(), Some(Outcome::RolledBack));
    assert_eq!(history.attempt_count(), 1);
    let attempt = &history.attempts[0];
    assert_eq!(attempt.sessions[0].end.as_ref().map(|e| e.reason), Some(SessionEndReason::Limit(Limit::Idle)));
    assert_eq!(attempt.end.as_ref().map(|e| e.reason), Some(AttemptEndReason::Violation));
    assert_eq!(attempt.rollback.as_ref().map(|(r, _)| r.to), Some(crate::ast::RollbackTo::LastGreen));
    assert_eq!((history.tokens, history.resumes.len(), history.commits.len()), (1200, 1, 1));
    // Written back, every line is the line read.
    for (line, entry) in std::fs::read_to_string(&path).expect("text").lines().zip(&read.entries) {
        let again: serde_json::Value = serde_json::to_value(entry).expect("json");
        assert_eq!(again, serde_json::from_str::<serde_json::Value>(line).expect("json"), "{line}");
    }
}


#[test]
fn deliveries_fold_to_the_last_try_and_the_commit_last_pushed() {
    use crate::record::{DeliveredBy, DeliveryRecord, DeliveryStart, DeliveryStatus, DeliveryStepRecord};
    let begin = |by| Event::DeliveryStart(DeliveryStart { outcome: Outcome::Success, by, remote: "origin".into(), url: "file:///r.git".into(), pull_request: Some("github a/b".into()) });
    let pushed = DeliveryStepRecord { commit: Some("c1".into()), ..DeliveryStepRecord::of(DeliveryStatus::Done) };
    let failed_pr = DeliveryStepRecord { error: Some("GitHub answered 502".into()), tries: 3, ..DeliveryStepRecord::of(DeliveryStatus::Failed) };
    let opened = DeliveryStepRecord { url: Some("https://forge/a/b/pull/1".into()), ..DeliveryStepRecord::of(DeliveryStatus::Done) };
    let failed = DeliveryRecord { outcome: Outcome::Success, by: DeliveredBy::Run, push: pushed.clone(), pull_request: failed_pr };
    let history = History::from_entries(&[at("00:00:00", start()), at("00:00:01", begin(DeliveredBy::Run)), at("00:00:02", Event::DeliveryFailed(failed.clone()))]);
    assert_eq!(history.delivery.pushed.as_deref(), Some("c1"));
    assert_eq!(history.delivery.last.as_ref().map(|(r, _)| r.is_complete()), Some(false));
    assert_eq!(failed.failure().as_deref(), Some("pull request: GitHub answered 502"));
    let mut later = history.clone();
    later.apply(&at("00:05:00", begin(DeliveredBy::Hand)));
    assert!(later.delivery.last.is_none(), "a new try has no result yet");
    let delivered = DeliveryRecord { by: DeliveredBy::Hand, pull_request: opened, ..failed };
    later.apply(&at("00:05:01", Event::Delivered(delivered)));
    let (last, _) = later.delivery.last.as_ref().expect("a result");
    assert!(last.is_complete());
    assert_eq!(last.pull_request_url(), Some("https://forge/a/b/pull/1"));
    assert_eq!(later.delivery.tries, 2);
    assert_eq!(later.phase, history.phase, "delivery after the end moves no phase");
}

#[test]
fn an_old_journal_without_the_revert_commit_counts_the_commits_its_end_lists() {
    let commit = |id: &str| CommitRecord { attempt: 1, id: id.into(), short: id.into(), summary: id.into(), files: 1, insertions: 1, deletions: 0 };
    let end = RunEnd {
        outcome: Outcome::Failed,
        reason: "permission violation".into(),
        exit_code: 1,
        attempts: 1,
        head: "b".into(),
        commits: vec![commit("a"), commit("b")],
        diffstat: crate::record::DiffRecord::default(),
        duration_ms: 1,
        tokens: 0,
        cost_usd: 0.0,
        checkout: None,
    };
    // Written before night journaled its revert commit `b`: only the agent's `a` is a `commit` event.
    let history = History::from_entries(&[at("00:00:00", start()), at("00:00:01", Event::Commit(commit("a"))), at("00:00:02", Event::RunEnd(end))]);
    let ids: Vec<&str> = history.commits.iter().map(|(c, _)| c.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
}
