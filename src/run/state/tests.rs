//! Tests: where a run goes on from its history, and what the history says of prompts, `stuck`
//! and the last green commit; the same derivations serve a live run and a resumed one.

use super::*;
use crate::ast::{OnViolation, RollbackTo};
use crate::record::{AttemptEndReason, Entry, Event, RollbackRecord, RunStart, SuccessRecord, TestCountsRecord, SCHEMA_VERSION};

/// A plan from a real runbook, checked in a throwaway repository.
fn checked_plan(extra: &str) -> (tempfile::TempDir, Plan) {
    checked_plan_with("tests \"sh t.sh\" format tap", extra)
}

/// A plan from a real runbook whose `success` block holds `success`.
fn checked_plan_with(success: &str, extra: &str) -> (tempfile::TempDir, Plan) {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("git").args(args).current_dir(dir.path()).env("GIT_AUTHOR_NAME", "t").env("GIT_AUTHOR_EMAIL", "t@t").env("GIT_COMMITTER_NAME", "t").env("GIT_COMMITTER_EMAIL", "t@t").output().expect("git");
        assert!(status.status.success(), "{status:?}");
    };
    run(&["init", "-q", "-b", "main"]);
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("src/x"), "x\n").expect("write");
    std::fs::write(dir.path().join("t.sh"), "echo 'not ok 1'\nexit 1\n").expect("write");
    let text = format!(
        "name \"t\"\ntask {{\n  prompt \"Fix it.\"\n  agent command \"true\"\n}}\nsuccess {{\n  {success}\n}}\npermissions {{\n  write \"src/**\"\n  deny irreversible\n}}\nlimits {{\n  timeout 1h\n  attempts 5\n  stuck 2\n  idle 30m\n  session 10m\n}}\n{extra}\nnotify {{\n  command \"true\" on end\n}}\nwaive no-budget \"a script\"\n"
    );
    std::fs::write(dir.path().join("t.night"), &text).expect("write");
    run(&["add", "."]);
    run(&["commit", "-qm", "init"]);
    let source = crate::source::Source::new(dir.path().join("t.night"), text);
    let outcome = crate::checklist::check(&source, &|name: &str| std::env::var(name).ok());
    let plan = outcome.plan.unwrap_or_else(|| panic!("the runbook checks clean: {:?}", outcome.diagnostics));
    (dir, plan)
}

fn at(second: u32, event: Event) -> Entry {
    Entry { v: SCHEMA_VERSION, at: format!("2025-01-01T00:00:{second:02}Z").parse().expect("a time"), event }
}

fn start() -> Event {
    Event::RunStart(RunStart::example(&[]))
}

fn result(passed: bool, failed: u64) -> SuccessRecord {
    SuccessRecord {
        index: 0,
        statement: "tests \"true\" format tap".into(),
        passed,
        tests: Some(TestCountsRecord { passed: 3, failed, skipped: 0 }),
        partial: None,
        names: None,
        names_file: None,
        lost: None,
        count: None,
        exit_code: Some(i32::from(!passed)),
        timed_out: false,
        reason: (!passed).then(|| format!("{failed} tests failed")),
        duration_ms: 1,
        output_tail: String::new(),
    }
}

fn session(attempt: u64, session: u64, reason: Option<SessionEndReason>) -> Vec<Event> {
    let mut events = vec![Event::SessionStart { attempt, session, pid: Some(9), prompt_file: "p".into(), prompt_kind: PromptKind::Task }];
    events.extend(reason.map(|reason| Event::SessionEnd { attempt, session, reason, exit_code: None, signal: None, duration_ms: 1, output_bytes: 0, killed: false, wakeups: None }));
    events
}

/// A failed attempt, judged: its checks with `failed` failing tests, and its end.
fn failed_attempt(attempt: u64, failed: u64, signature: &str) -> Vec<Event> {
    let mut events = vec![Event::AttemptStart { attempt, of: Some(5) }];
    events.extend(session(attempt, 1, Some(SessionEndReason::Exited)));
    events.push(Event::Verified { attempt, passed: false, results: vec![result(false, failed)], signature: Some(signature.into()) });
    events.push(Event::AttemptEnd { attempt, passed: false, reason: AttemptEndReason::Exited, signature: Some(signature.into()), head: format!("{attempt:040}") });
    events
}

fn history(events: Vec<Event>) -> History {
    let entries: Vec<Entry> = std::iter::once(start()).chain(events).enumerate().map(|(i, e)| at(u32::try_from(i).unwrap_or(0) % 60, e)).collect();
    History::from_entries(&entries)
}

#[test]
fn a_run_goes_on_where_its_history_stands() {
    let (_dir, plan) = checked_plan("");
    assert_eq!(Step::from_history(&history(vec![]), &plan), Step::Baseline);
    let baseline = Event::Baseline { results: vec![result(false, 1)] };
    assert_eq!(Step::from_history(&history(vec![baseline.clone()]), &plan), Step::Attempt);
    let held = Event::Baseline { results: vec![result(true, 0)] };
    assert!(matches!(Step::from_history(&history(vec![held]), &plan), Step::End(Outcome::NothingToDo, _)));

    let started = vec![baseline.clone(), Event::AttemptStart { attempt: 1, of: Some(5) }];
    assert_eq!(Step::from_history(&history(started.clone()), &plan), Step::Sessions { session: 1, work: AttemptWork::default() });
    let open = [started.clone(), session(1, 1, None)].concat();
    assert!(matches!(Step::from_history(&history(open), &plan), Step::Sessions { session: 2, .. }), "the dead session's attempt goes on");
    let limited = [started.clone(), session(1, 1, Some(SessionEndReason::Limit(Limit::Session)))].concat();
    assert!(matches!(Step::from_history(&history(limited), &plan), Step::Sessions { session: 2, .. }));
    let mut idle = [started.clone(), session(1, 1, Some(SessionEndReason::Limit(Limit::Idle)))].concat();
    idle.push(Event::Limit { limit: Limit::Idle, value: "2m".into(), attempt: 1, ends: Ends::Attempt });
    match Step::from_history(&history(idle), &plan) {
        Step::Judge(work) => assert_eq!(work.ended_by, Some(Limit::Idle)),
        other => panic!("the attempt is judged: {other:?}"),
    }
    let mut quota = [started, session(1, 1, Some(SessionEndReason::Limit(Limit::Quota)))].concat();
    quota.push(Event::Limit { limit: Limit::Quota, value: "no `quota wait`".into(), attempt: 1, ends: Ends::Run });
    assert!(matches!(Step::from_history(&history(quota), &plan), Step::Judge(AttemptWork { run_limit: Some(Limit::Quota), .. })), "a quota that ended the run is judged, not waited for");

    let judged = [vec![baseline.clone()], failed_attempt(1, 1, "s")].concat();
    assert!(matches!(Step::from_history(&history(judged.clone()), &plan), Step::Decide(_)));
    let mut stuck = judged.clone();
    stuck.push(Event::Limit { limit: Limit::Stuck, value: "2".into(), attempt: 1, ends: Ends::Run });
    assert_eq!(Step::from_history(&history(stuck), &plan), Step::End(Outcome::Stuck, "the same failure 2 attempts in a row".into()));
    let mut rolled = judged;
    let rollback = RollbackRecord { attempt: 1, condition: "failing > baseline".into(), measured: "failing 1, baseline 0".into(), to: RollbackTo::Start, target: "abcdef0123".into(), kept_ref: "refs/night/t-1/attempt-1".into(), then: RollbackThen::Stop };
    rolled.push(Event::Rollback(rollback.clone()));
    assert_eq!(Step::from_history(&history(rolled), &plan), Step::End(Outcome::RolledBack, rollback.what()));
}

#[test]
fn prompts_say_what_the_history_says() {
    let (_dir, plan) = checked_plan("");
    let mut events = [vec![Event::Baseline { results: vec![result(false, 1)] }], failed_attempt(1, 2, "s")].concat();
    events.push(Event::Violation { attempt: 1, paths: vec!["secret.txt".into()], action: OnViolation::Revert, revert_commit: None });
    events.push(Event::AttemptStart { attempt: 2, of: Some(5) });
    events.extend(session(2, 1, Some(SessionEndReason::Limit(Limit::Session))));
    let history = history(events);
    assert_eq!(prompt(&history, &plan, 1, 1), ("Fix it.".to_string(), PromptKind::Task));
    let (text, kind) = prompt(&history, &plan, 2, 1);
    assert_eq!(kind, PromptKind::Feedback);
    assert!(text.contains("attempt 2 of 5") && text.contains("2 tests failed") && text.contains("`secret.txt`"), "{text}");
    let (text, kind) = prompt(&history, &plan, 2, 2);
    assert_eq!(kind, PromptKind::Continue);
    assert!(text.contains("the session reached `session 10m`"), "{text}");
}

#[test]
fn stuck_counts_judged_failures_in_a_row() {
    let events = [failed_attempt(1, 1, "a"), failed_attempt(2, 1, "b"), failed_attempt(3, 1, "b")].concat();
    assert_eq!(stuck_repeats(&history(events.clone())), 2);
    // An attempt cut short by Ctrl-C was never judged: it neither counts nor breaks the series.
    let mut interrupted = vec![Event::AttemptStart { attempt: 4, of: None }];
    interrupted.extend(session(4, 1, Some(SessionEndReason::Interrupted)));
    interrupted.push(Event::AttemptEnd { attempt: 4, passed: false, reason: AttemptEndReason::Exited, signature: Some("b".into()), head: "h".into() });
    assert_eq!(stuck_repeats(&history([events.clone(), interrupted].concat())), 2);
    assert_eq!(stuck_repeats(&history([events, failed_attempt(5, 1, "c")].concat())), 1);
}

#[test]
fn the_last_green_commit_is_the_last_judged_attempt_that_did_not_regress() {
    let (_dir, plan) = checked_plan("rollback {\n  when failing > baseline\n  to last-green\n  then retry\n}");
    let baseline = Event::Baseline { results: vec![result(false, 2)] };
    assert_eq!(last_green(&history(vec![baseline.clone()]), &plan), None, "the start commit");
    let events = [vec![baseline.clone()], failed_attempt(1, 1, "a"), failed_attempt(2, 3, "b")].concat();
    assert_eq!(last_green(&history(events.clone()), &plan), Some(format!("{:040}", 1)), "attempt 2 regressed past the baseline");
    let (_other, without) = checked_plan("");
    assert_eq!(last_green(&history(events), &without), None, "no rollback, no green point");
}

#[test]
fn rollback_counts_lost_tests_as_failing() {
    let (_dir, plan) = checked_plan("rollback {\n  when failing > baseline\n}");
    let when = rollback_when(&plan);
    let baseline = Baseline::new(&[result(false, 1)]);
    let mut cheat = result(false, 0);
    cheat.lost = Some(crate::test_counts::LostTests { evidence: crate::test_counts::Evidence::Names, lost: 2, lost_names: vec!["a".into(), "b".into()], unreached: 0, unreached_names: vec![] });
    assert_eq!(rollback_condition(&plan, &[cheat], Some(&baseline), when), Ok((true, "failing 2 (2 of them lost), baseline 1".to_string())));
    let (_dir, allowing) = checked_plan_with("tests \"sh t.sh\" format tap allow lost 2", "rollback {\n  when failing > baseline\n}");
    let mut allowed = result(true, 0);
    allowed.lost = Some(crate::test_counts::LostTests { evidence: crate::test_counts::Evidence::Counts, lost: 2, lost_names: vec![], unreached: 0, unreached_names: vec![] });
    assert_eq!(rollback_condition(&allowing, &[allowed], Some(&baseline), when), Ok((false, "failing 0, baseline 1".to_string())));
}

#[test]
fn partial_counts_are_not_compared_with_complete_ones_as_if_alike() {
    let (_dir, plan) = checked_plan("rollback {\n  when failing > baseline\n}");
    let when = rollback_when(&plan);
    let baseline = Baseline::new(&[result(false, 2)]);
    let mut stopped = result(false, 1);
    stopped.partial = Some(crate::test_counts::PartialReason::CargoFailFast);
    let undecided = rollback_condition(&plan, &[stopped.clone()], Some(&baseline), when);
    assert_eq!(undecided.map_err(|e| e.to_string()), Err("the counts are partial (failing at least 1 (partial), baseline 2) and cannot decide `failing > baseline`".to_string()));
    stopped.tests = Some(TestCountsRecord { passed: 0, failed: 5, skipped: 0 });
    assert_eq!(rollback_condition(&plan, &[stopped], Some(&baseline), when).map(|(holds, _)| holds), Ok(true), "more failures than the whole baseline broke more");
}

#[test]
fn without_a_tests_check_rollback_counts_failing_run_and_count_checks() {
    let success = "run \"sh b.sh\"\n  run \"sh a.sh\"\n  count /x/ in \"cat src/x\" == 0\n  exists \"src/x\"\n  committed";
    let (_dir, plan) = checked_plan_with(success, "rollback {\n  when failing > baseline\n}");
    let when = rollback_when(&plan);
    let record = |index: usize, passed: bool| SuccessRecord { index, tests: None, ..result(passed, 0) };
    // At the baseline `sh a.sh` fails; `committed` always does, and is not counted.
    let baseline = Baseline::new(&[record(0, true), record(1, false), record(2, true), record(3, true), record(4, false)]);
    let worse = [record(0, false), record(1, false), record(2, true), record(3, true), record(4, false)];
    assert_eq!(rollback_condition(&plan, &worse, Some(&baseline), when), Ok((true, "failing 2 `run`/`count` checks, baseline 1".to_string())));
    let same = [record(0, true), record(1, false), record(2, true), record(3, false), record(4, true)];
    assert_eq!(rollback_condition(&plan, &same, Some(&baseline), when).map(|(holds, _)| holds), Ok(false));
    let (_dir, nothing) = checked_plan_with("exists \"src/x\"", "");
    assert!(rollback_condition(&nothing, &same, Some(&baseline), when).is_err());
}

#[test]
fn the_baseline_reads_names_from_old_journals_and_leaves_new_ones_in_their_file() {
    // A journal written before `names_file`: the names are in the record, read as they are.
    let old = r#"{"v":1,"at":"2025-01-01T00:00:01Z","event":"baseline","checks":[{"index":0,"statement":"tests \"sh t.sh\" format tap","passed":false,"tests":{"passed":1,"failed":1,"skipped":0},"names":[{"name":"a","outcome":"passed"},{"name":"b","outcome":"failed"}],"count":null,"exit_code":1,"timed_out":false,"reason":"1 test failed","duration_ms":1,"output_tail":""}]}"#;
    let entry: Entry = serde_json::from_str(old).expect("an old baseline line still reads");
    let history = History::from_entries(&[at(0, start()), entry]);
    let tests = baseline(&history).and_then(|b| b.run(0).and_then(|r| r.tests.clone())).expect("names");
    assert_eq!(tests.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);

    // A journal of now: the record names the file; the history holds no names, and the
    // supervisor gives them to the baseline when it judges (`Baseline::set_tests`).
    let new = old.replace(r#""names":[{"name":"a","outcome":"passed"},{"name":"b","outcome":"failed"}]"#, r#""names_file":{"file":"baseline-tests-0.jsonl","count":2}"#);
    let entry: Entry = serde_json::from_str(&new).expect("a new baseline line reads");
    let history = History::from_entries(&[at(0, start()), entry]);
    let record = history.baseline_check(0).expect("the baseline's check");
    assert_eq!((record.names.as_ref(), record.names_file.as_ref().map(|f| f.count)), (None, Some(2)));
    let mut measured = baseline(&history).expect("a baseline");
    assert_eq!(measured.run(0).map(|r| r.tests.is_none()), Some(true));
    measured.set_tests(0, vec![crate::test_counts::TestCase::new("a", crate::test_counts::Outcome::Passed)]);
    assert_eq!(measured.run(0).and_then(|r| r.tests.as_ref()).map(Vec::len), Some(1));
    assert_eq!(measured.tests(0).map(|t| (t.passed, t.failed)), Some((1, 1)), "the counts are the journal's");
}

#[test]
fn only_the_shells_own_not_found_line_counts() {
    assert_eq!(shell_not_found("collecting\nsh: 2: .venv/bin/pytest: not found\n"), Some("sh: 2: .venv/bin/pytest: not found"));
    assert_eq!(shell_not_found("sh: line 2: pytset: command not found"), Some("sh: line 2: pytset: command not found"));
    assert_eq!(shell_not_found("FAILED test_x - file not found\n1 failed"), None, "a test's own words are not the shell's");
    assert_eq!(shell_not_found(""), None);
}
