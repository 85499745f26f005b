//! Tests: every statement kind passing and failing, timeouts, bounded output, signatures.

use super::command::{strip_ansi, LINE_MAX, READ_CHUNK};
use super::signature::normalise;
use super::*;
use crate::ast::{Agent, AgentKind, Network, OnViolation, Sandbox};
use crate::plan::{PlanLimits, PlanPermissions};
use crate::source::Source;
use git2::{Repository, RepositoryInitOptions, Signature};
use std::path::PathBuf;
use tempfile::TempDir;

/// A plan whose `success` block is `body`.
fn plan(body: &str) -> Plan {
    let source = Source::new("test.night", format!("success {{\n{body}\n}}\n"));
    let parsed = crate::syntax::parse(&source);
    // Only the success block is written; the other blocks' absence does not matter here.
    let problems: Vec<_> =
        parsed.diagnostics.iter().filter(|d| d.code != crate::diagnostic::Code::MissingBlock).collect();
    assert!(problems.is_empty(), "{problems:?}");
    let checks = parsed.runbook.success.expect("success block").checks;
    Plan {
        source,
        runbook_path: PathBuf::from("/nowhere/test.night"),
        name: "test".into(),
        repo: PathBuf::new(),
        prompt: String::new(),
        agent: Agent::new(AgentKind::Claude),
        branch_template: String::new(),
        worktree: false,
        checks,
        permissions: PlanPermissions {
            read: Vec::new(),
            write: Vec::new(),
            deny: Vec::new(),
            deny_irreversible: true,
            allow: Vec::new(),
            pass: Vec::new(),
            reveal: Vec::new(),
            network: Network::On,
            sandbox: Sandbox::Auto,
            on_violation: OnViolation::Revert,
        },
        limits: PlanLimits {
            timeout: Duration::from_secs(3600),
            session: None,
            attempts: None,
            stuck: None,
            idle: None,
            silence: None,
            tokens: None,
            cost: None,
            quota_wait: None,
        },
        rollback: None,
        notifiers: Vec::new(),
        delivery: None,
        waivers: Vec::new(),
        warnings: Vec::new(),
    }
}

/// A one-commit repository with a run branch checked out in place.
fn fixture() -> (TempDir, PathBuf, RunGit, Oid) {
    let temp = TempDir::new().expect("tempdir");
    let root = temp.path().join("repo");
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main");
    let repository = Repository::init_opts(&root, &options).expect("init");
    std::fs::write(root.join("README"), "readme\n").expect("write");
    commit(&repository, "initial");
    let (git, start) = RunGit::preflight(&root, "night/test", false, "test-1", None, None).expect("preflight");
    (temp, root, git, start)
}

fn commit(repository: &Repository, message: &str) -> Oid {
    let mut index = repository.index().expect("index");
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).expect("add");
    index.write().expect("write");
    let tree = repository.find_tree(index.write_tree().expect("tree")).expect("tree");
    let signature = Signature::now("Test", "test@example.com").expect("signature");
    let parent = repository.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repository.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).expect("commit")
}

async fn run_all(body: &str) -> Vec<SuccessRecord> {
    let (_temp, _root, git, start) = fixture();
    run(&Context { plan: &plan(body), git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await
}

async fn one(body: &str) -> SuccessRecord {
    let mut results = run_all(body).await;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// Whether a process is gone or a zombie (this container's init does not reap orphans).
fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

const CARGO_OK: &str = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
const CARGO_FAILED: &str = "test result: FAILED. 2 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s";

// ------------------------------------------------------------------------ run ----

#[tokio::test]
async fn run_holds_on_exit_zero_and_fails_otherwise() {
    let results = run_all("run \"exit 0\"\nrun \"echo out; sleep 0.2; echo err >&2; exit 3\"").await;
    assert!(results[0].passed);
    assert_eq!((results[0].exit_code, results[0].reason.as_deref()), (Some(0), None));
    assert!(!results[1].passed);
    assert_eq!(results[1].exit_code, Some(3));
    assert_eq!(results[1].reason.as_deref(), Some("exit 3"));
    assert_eq!(results[1].output_tail, "out\nerr\n");
    assert_eq!(results[1].statement, "run \"echo out; sleep 0.2; echo err >&2; exit 3\"");
    assert_eq!((results[0].index, results[1].index), (0, 1));
    assert!(!results[1].timed_out);
}

#[tokio::test]
async fn run_matches_reads_standard_output_only() {
    let results = run_all(
        "run \"echo hello world\" matches /wor/\nrun \"echo hello\" matches /bye/\nrun \"echo bye >&2\" matches /bye/\nrun \"echo bye; exit 1\" matches /bye/",
    )
    .await;
    assert!(results[0].passed);
    assert_eq!(results[1].reason.as_deref(), Some("standard output does not match /bye/"));
    assert_eq!(results[2].reason.as_deref(), Some("standard output does not match /bye/"));
    assert_eq!(results[3].reason.as_deref(), Some("exit 1"));
    assert_eq!(results.iter().map(|r| r.passed).collect::<Vec<_>>(), vec![true, false, false, false]);
}

#[tokio::test]
async fn commands_get_the_extra_env_without_the_removed_names() {
    assert!(std::env::var_os("HOME").is_some(), "the test needs HOME set");
    let (_temp, _root, git, start) = fixture();
    let plan = plan(r#"run "test \"$NIGHT_TEST_VALUE\" = bar && test -z \"$HOME\" && test -n \"$PATH\"""#);
    let env = [("NIGHT_TEST_VALUE".to_string(), "bar".to_string())];
    let results = run(&Context { plan: &plan, git: &git, start, env: &env, env_remove: &["HOME".to_string()], running: None, sandbox: None }, None).await;
    assert!(results[0].passed, "{:?}", results[0]);
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(!results[0].passed);
}

#[tokio::test]
async fn commands_run_in_the_given_dir_with_stdin_closed() {
    let (_temp, _root, git, start) = fixture();
    let plan = plan(r#"run "test -f README && cat""#);
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(results[0].passed, "{:?}", results[0]);
    assert_eq!(results[0].output_tail, "");
}

// ---------------------------------------------------------------------- tests ----

#[tokio::test]
async fn tests_hold_when_none_failed_and_some_passed() {
    let result = one(&format!("tests \"echo Running; echo '{CARGO_OK}'\" format cargo")).await;
    assert!(result.passed, "{result:?}");
    assert_eq!(result.tests, Some(TestCountsRecord { passed: 3, failed: 0, skipped: 1 }));
}

#[tokio::test]
async fn tests_fail_with_the_failed_count() {
    let result = one(&format!("tests \"echo '{CARGO_FAILED}' >&2; exit 101\"")).await;
    assert!(!result.passed);
    assert_eq!(result.tests, Some(TestCountsRecord { passed: 2, failed: 2, skipped: 0 }));
    assert_eq!(result.reason.as_deref(), Some("2 tests failed"));
    assert_eq!(result.exit_code, Some(101));

    let (_temp, _root, git, start) = fixture();
    let mut base = failed(0, "tests", "x", "");
    base.tests = Some(TestCountsRecord { passed: 3, failed: 1, skipped: 0 });
    let baseline = Baseline::new(&[base]);
    let plan = plan(&format!("tests \"echo '{CARGO_FAILED}'; exit 101\""));
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, Some(&baseline)).await;
    assert_eq!(results[0].reason.as_deref(), Some("2 tests failed (baseline 1)"));
}

#[tokio::test]
async fn tests_fail_without_a_summary_or_without_a_passed_test() {
    let results = run_all(
        "tests \"echo compiling; exit 0\"\ntests \"echo 'error: could not compile'; exit 101\"\ntests \"echo 'test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s'\"",
    )
    .await;
    // The parsers' own message, whatever its wording.
    let unrecognised = crate::test_counts::CountError::NotRecognised.to_string();
    assert_eq!(results[0].reason.as_deref(), Some(unrecognised.as_str()));
    assert_eq!(results[1].reason, Some(format!("exit 101: {unrecognised}")));
    assert_eq!(results[2].reason.as_deref(), Some("no test passed"));
    assert!(results.iter().all(|r| !r.passed));
    assert_eq!(results[0].tests, None);
}

#[tokio::test]
async fn tests_fail_on_a_nonzero_exit_even_when_the_counts_look_clean() {
    // A test binary that crashed prints no summary; the other binaries' clean counts must not pass.
    let result = one(&format!("tests \"echo '{CARGO_OK}'; exit 101\"")).await;
    assert!(!result.passed);
    assert_eq!(result.reason.as_deref(), Some("exit 101 although no failed test was counted"));
    assert_eq!(result.tests, Some(TestCountsRecord { passed: 3, failed: 0, skipped: 1 }));
}

// ---------------------------------------------------------------------- count ----

#[tokio::test]
async fn count_compares_matches_in_stdout_and_stderr_whatever_the_exit() {
    let results = run_all(
        "count /error TS\\d+/ in \"echo 'error TS1 a'; echo 'error TS22 b' >&2; echo ok; exit 2\" <= 2\n\
         count /error TS\\d+/ in \"echo 'error TS1 a'; echo 'error TS22 b' >&2\" < 2\n\
         count /x/ in \"echo x\" == 1",
    )
    .await;
    assert!(results[0].passed, "{:?}", results[0]);
    assert_eq!(results[0].count, Some(2));
    assert_eq!(results[0].exit_code, Some(2));
    assert!(!results[1].passed);
    assert_eq!(results[1].reason.as_deref(), Some("2 matches, expected < 2"));
    assert!(results[2].passed);
    assert_eq!(results[0].statement, "count /error TS\\d+/ in \"echo 'error TS1 a'; echo 'error TS22 b' >&2; echo ok; exit 2\" <= 2");
}

#[tokio::test]
async fn count_against_the_baseline() {
    let (_temp, _root, git, start) = fixture();
    let plan = plan("count /warn/ in \"printf 'warn\\nwarn\\n'\" <= baseline\ncount /warn/ in \"echo warn\" < baseline");
    // Measuring: the values just counted are the baseline.
    let measured = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(measured[0].passed, "{:?}", measured[0]);
    assert_eq!(measured[0].count, Some(2));
    assert_eq!(measured[1].reason.as_deref(), Some("1 match, expected < 1 (baseline)"));
    let (mut first, mut second) = (failed(0, "count", "x", ""), failed(1, "count", "x", ""));
    (first.count, second.count) = (Some(1), Some(2));
    let baseline = Baseline::new(&[first, second]);
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, Some(&baseline)).await;
    assert_eq!(results[0].reason.as_deref(), Some("2 matches, expected <= 1 (baseline)"));
    assert!(results[1].passed);
    let empty = Baseline::default();
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, Some(&empty)).await;
    assert_eq!(results[0].reason.as_deref(), Some("no baseline count was measured for this check"));
}

#[tokio::test]
async fn count_fails_when_the_command_cannot_run() {
    let result = one("count /error/ in \"no-such-command-for-night-tests\" == 0").await;
    assert!(!result.passed);
    assert_eq!(result.reason.as_deref(), Some("the command could not be run (exit 127)"));
    assert_eq!(result.count, None);
}

#[tokio::test]
async fn count_reads_non_utf8_and_coloured_output() {
    let result = one("count /error/ in \"printf '\\\\377\\\\376 error\\\\n\\\\033[31merror\\\\033[0m\\\\n'\" == 2").await;
    assert!(result.passed, "{result:?}");
    assert_eq!(result.output_tail, "\u{fffd}\u{fffd} error\nerror\n");
}

// ------------------------------------------------------------ lost tests ----

#[tokio::test]
async fn lost_tests_fail_the_check_by_name_unless_allowed() {
    let (_temp, root, git, start) = fixture();
    let tap = |lines: &str| std::fs::write(root.join("out.tap"), lines).expect("write");
    let run_with = |plan: Plan, baseline: Option<Baseline>| {
        let git = &git;
        async move { run(&Context { plan: &plan, git, start, env: &[], env_remove: &[], running: None, sandbox: None }, baseline.as_ref()).await }
    };
    tap("TAP version 13\nok 1 - keeps\nnot ok 2 - broken\nnot ok 3 - also broken\n1..3\n");
    let measured = run_with(plan("tests \"cat out.tap\" format tap"), None).await;
    let names: Vec<String> = measured[0].names.iter().flatten().map(|t| t.name.clone()).collect();
    assert_eq!(names, ["keeps", "broken", "also broken"], "the baseline keeps every name");
    assert_eq!(measured[0].lost, None);
    let baseline = Baseline::new(&measured);

    // The failing tests deleted: nothing fails, and the check fails for what was lost.
    tap("TAP version 13\nok 1 - keeps\n1..1\n");
    let cheat = run_with(plan("tests \"cat out.tap\" format tap"), Some(baseline.clone())).await;
    assert!(!cheat[0].passed);
    assert_eq!(cheat[0].reason.as_deref(), Some("2 tests lost: ran at the baseline, now missing or skipped: `also broken`, `broken`"));
    let lost = cheat[0].lost.as_ref().expect("lost journaled");
    assert_eq!((lost.lost, lost.lost_names.len()), (2, 2));
    assert_eq!(cheat[0].names, None, "an attempt's names are not kept");

    // One skipped, one still failing: the failure and the loss both show.
    tap("TAP version 13\nok 1 - keeps\nok 2 - broken # SKIP later\nnot ok 3 - also broken\n1..3\n");
    let skipped = run_with(plan("tests \"cat out.tap\" format tap"), Some(baseline.clone())).await;
    assert_eq!(skipped[0].reason.as_deref(), Some("1 test failed (baseline 2); 1 test lost: ran at the baseline, now missing or skipped: `broken`"));

    // `allow lost 2` lets a task delete tests on purpose.
    tap("TAP version 13\nok 1 - keeps\n1..1\n");
    let allowed = run_with(plan("tests \"cat out.tap\" format tap allow lost 2"), Some(baseline.clone())).await;
    assert!(allowed[0].passed, "{:?}", allowed[0].reason);
    assert_eq!(allowed[0].lost.as_ref().map(|l| l.lost), Some(2), "still journaled");

    // Fixed for real: every test of the baseline runs and passes.
    tap("TAP version 13\nok 1 - keeps\nok 2 - broken\nok 3 - also broken\nok 4 - new\n1..4\n");
    let fixed = run_with(plan("tests \"cat out.tap\" format tap"), Some(baseline)).await;
    assert!(fixed[0].passed, "{:?}", fixed[0].reason);
    assert_eq!(fixed[0].lost, None);
}

#[tokio::test]
async fn partial_counts_fail_and_say_so() {
    let (_temp, root, git, start) = fixture();
    std::fs::write(root.join("out.tap"), "TAP version 13\nok 1 - a\nnot ok 2 - b\nBail out! stop\n").expect("write");
    let plan = plan("tests \"cat out.tap\" format tap");
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert_eq!(results[0].partial, Some(crate::test_counts::PartialReason::TapBailOut));
    let reason = results[0].reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with("2 tests failed; the counts are partial: the TAP stream bailed out"), "{reason}");
}

// ------------------------------------------------------------ files and git ----

#[tokio::test]
async fn exists_and_absent() {
    let results = run_all("exists \"README\"\nexists \"missing.txt\"\nabsent \"missing.txt\"\nabsent \"README\"").await;
    assert_eq!(results.iter().map(|r| r.passed).collect::<Vec<_>>(), vec![true, false, true, false]);
    assert_eq!(results[1].reason.as_deref(), Some("`missing.txt` does not exist"));
    assert_eq!(results[3].reason.as_deref(), Some("`README` exists"));
    assert_eq!(results[1].statement, "exists \"missing.txt\"");
}

#[tokio::test]
async fn changed_sees_committed_and_uncommitted_paths() {
    let (_temp, root, git, start) = fixture();
    let plan = plan("changed \"src/**\" \"docs/*.md\"");
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert_eq!(results[0].reason.as_deref(), Some("no path matching `src/**`, `docs/*.md` changed since the start"));
    std::fs::write(root.join("other.txt"), "x").expect("write");
    assert!(!run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await[0].passed);
    std::fs::create_dir_all(root.join("src/deep")).expect("mkdir");
    std::fs::write(root.join("src/deep/new.rs"), "x").expect("write");
    assert!(run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await[0].passed, "uncommitted counts");
    let repository = Repository::open(&root).expect("open");
    commit(&repository, "agent");
    assert!(run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await[0].passed, "committed counts");
}

#[tokio::test]
async fn committed_needs_a_commit_and_a_clean_tree() {
    let (_temp, root, git, start) = fixture();
    let plan = plan("committed");
    let reason = |results: Vec<SuccessRecord>| results[0].reason.clone();
    assert_eq!(reason(run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await).as_deref(), Some("the run made no commit"));
    std::fs::write(root.join("work.txt"), "x").expect("write");
    assert_eq!(
        reason(run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await).as_deref(),
        Some("the run made no commit and left uncommitted changes: `work.txt`")
    );
    let repository = Repository::open(&root).expect("open");
    commit(&repository, "agent");
    std::fs::write(root.join("more.txt"), "x").expect("write");
    assert_eq!(
        reason(run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await).as_deref(),
        Some("uncommitted changes are left in the work tree: `more.txt`")
    );
    std::fs::remove_file(root.join("more.txt")).expect("rm");
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(results[0].passed, "{:?}", results[0]);
}

// ------------------------------------------------------------ supervision ----

#[tokio::test]
async fn within_kills_the_command_and_its_children_quickly() {
    let (_temp, root, git, start) = fixture();
    let plan = plan("run \"sleep 100 & echo $! > child.pid; echo started; sleep 100\" within 1s");
    let started = Instant::now();
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_secs(1), "took {elapsed:?}");
    let result = &results[0];
    assert!(!result.passed);
    assert!(result.timed_out);
    assert_eq!(result.exit_code, None);
    assert_eq!(result.reason.as_deref(), Some("timed out after 1s"));
    assert_eq!(result.output_tail, "started\n");
    assert_eq!(result.statement, "run \"sleep 100 & echo $! > child.pid; echo started; sleep 100\" within 1s");
    let child = std::fs::read_to_string(root.join("child.pid")).expect("pid");
    assert!(dead(&child), "the background child {child} survived");
}

#[tokio::test]
async fn a_child_ignoring_sigterm_gets_sigkill_after_the_grace() {
    let (_temp, root, git, start) = fixture();
    let plan = plan("run \"trap '' TERM; sleep 100 & echo $! > child.pid; wait\" within 1s");
    let started = Instant::now();
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(9), "took {elapsed:?}");
    assert!(results[0].timed_out);
    let child = std::fs::read_to_string(root.join("child.pid")).expect("pid");
    assert!(dead(&child), "the child {child} survived SIGKILL");
}

#[tokio::test]
async fn background_leftovers_of_a_finished_command_are_ended() {
    let (_temp, root, git, start) = fixture();
    let plan = plan("run \"sleep 100 & echo $! > child.pid; echo done\"");
    let started = Instant::now();
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert!(results[0].passed, "{:?}", results[0]);
    assert_eq!(results[0].output_tail, "done\n");
    let child = std::fs::read_to_string(root.join("child.pid")).expect("pid");
    assert!(dead(&child), "the background child {child} survived");
}

#[tokio::test]
async fn huge_output_is_held_bounded_and_counted_exactly() {
    let temp = TempDir::new().expect("tempdir");
    let limit = 256 << 10;
    let runner = Runner { dir: temp.path(), env: &[], env_remove: &[], limit, record: None, sandbox: None };
    let regex = regex::Regex::new(r"error TS\d+").expect("regex");
    // 300 000 lines, 5.4 MB: twenty times the limit.
    let output = runner
        .run("yes 'error TS1 and more' | head -n 300000; echo last line", Duration::from_secs(60), true, Some(&regex))
        .await;
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(output.combined.matches(&regex), 300_000);
    assert!(output.combined.buffer.len() <= limit, "{}", output.combined.buffer.len());
    assert!(output.combined.buffer.capacity() <= limit + LINE_MAX + READ_CHUNK, "{}", output.combined.buffer.capacity());
    assert!(output.combined.dropped > 5_000_000);
    let stdout = output.stdout.as_ref().expect("stdout kept");
    assert!(stdout.buffer.capacity() <= limit + LINE_MAX + READ_CHUNK);
    let tail = output.combined.tail(TAIL_BYTES);
    assert!(tail.len() <= TAIL_BYTES);
    assert!(tail.ends_with("error TS1 and more\nlast line\n"), "{tail}");
    assert!(tail.starts_with("error TS1 and more\n"), "the tail starts at a whole line");
}

#[tokio::test]
async fn output_beyond_the_real_limit_keeps_memory_bounded() {
    let (_temp, _root, git, start) = fixture();
    // 40 MB through the default 32 MiB capture.
    let plan = plan("count /row/ in \"yes 'row of output text' | head -n 2000000\" == 2000000");
    let results = run(&Context { plan: &plan, git: &git, start, env: &[], env_remove: &[], running: None, sandbox: None }, None).await;
    assert!(results[0].passed, "{:?}", results[0].reason);
    assert_eq!(results[0].count, Some(2_000_000));
    assert!(results[0].output_tail.len() <= TAIL_BYTES);
    assert!(results[0].output_tail.ends_with("row of output text\n"));
}

// ------------------------------------------------------- baseline & signature ----

fn failed(index: usize, statement: &str, reason: &str, tail: &str) -> SuccessRecord {
    SuccessRecord {
        index,
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
        output_tail: tail.into(),
        duration_ms: 10,
        reason: Some(reason.into()),
    }
}

#[test]
fn baseline_from_indexes_like_the_plan() {
    let mut tests = failed(0, "tests \"t\"", "1 test failed", "");
    tests.tests = Some(TestCountsRecord { passed: 4, failed: 1, skipped: 0 });
    let mut count = failed(2, "count", "x", "");
    count.count = Some(7);
    let baseline = Baseline::new(&[tests, failed(1, "exists", "x", ""), count]);
    assert_eq!(baseline.tests(0), Some(TestCountsRecord { passed: 4, failed: 1, skipped: 0 }));
    assert_eq!((baseline.tests(1), baseline.count(1)), (None, None));
    assert_eq!(baseline.count(2), Some(7));
    // An index from a journal edited by hand is looked up, never allocated for.
    let mut huge = failed(usize::MAX, "count", "x", "");
    huge.count = Some(1);
    assert_eq!(Baseline::new(&[huge]).count(usize::MAX), Some(1));
}

#[test]
fn failure_signature_ignores_timings_addresses_pids_and_paths() {
    let first = "\
running 3 tests at 2024-05-01T12:00:01.123Z
test a ... ok (0.53s)
thread 'b' panicked at src/lib.rs:12:5: pointer 0x7ffee3b4a8c0
pid 4242 wrote /tmp/.tmpAbC123/out.txt in 12ms
object 3f2a9c1e7b5d4e6f
error: test failed, finished in 1m2.5s at 12:00:03
";
    let second = "\
running 3 tests at 2025-11-30T23:59:59Z
test a ... ok (10.02s)
thread 'b' panicked at src/lib.rs:14:9: pointer 0x55d0c0ffee00
pid 99 wrote /tmp/.tmpZz9Yx8/out.txt in 3 ms
object 9b8c7d6e5f4a3b2c
error: test failed, finished in 0.4s at 07:45:10
";
    let signature = |tail: &str, reason: &str| failure_signature(&[failed(0, "tests \"cargo test\"", reason, tail)]);
    assert_eq!(signature(first, "1 test failed (baseline 0)"), signature(second, "1 test failed (baseline 0)"));
    assert_ne!(signature(first, "1 test failed"), signature(&second.replace("panicked", "aborted"), "1 test failed"));
    assert_ne!(signature(first, "1 test failed"), signature(first, "2 tests failed"));
    assert!(signature(first, "x").starts_with("0:"), "{}", signature(first, "x"));
}

#[test]
fn failure_signature_differs_when_another_check_fails() {
    let mut passed = failed(1, "exists \"a\"", "", "");
    passed.passed = true;
    passed.reason = None;
    let a = failure_signature(&[failed(0, "run \"x\"", "exit 1", "boom\n"), passed.clone()]);
    let b = failure_signature(&[
        { let mut r = failed(0, "run \"x\"", "", "boom\n"); r.passed = true; r.reason = None; r },
        failed(1, "exists \"a\"", "exit 1", "boom\n"),
    ]);
    let both = failure_signature(&[failed(0, "run \"x\"", "exit 1", "boom\n"), failed(1, "exists \"a\"", "exit 1", "boom\n")]);
    assert_ne!(a, b);
    assert_ne!(a, both);
    assert!(a.starts_with("0:") && b.starts_with("1:") && both.starts_with("0,1:"), "{a} {b} {both}");
    assert_eq!(failure_signature(&[passed]), "none");
    // Stable across builds: a fixed input hashes to a fixed value.
    assert_eq!(failure_signature(&[failed(0, "run \"x\"", "exit 1", "boom\n")]), failure_signature(&[failed(0, "run \"x\"", "exit 1", "boom\n")]));
}

#[test]
fn failure_signature_ignores_the_order_of_parallel_test_lines() {
    let a = failure_signature(&[failed(0, "t", "2 tests failed", "test x ... FAILED\ntest y ... FAILED\n")]);
    let b = failure_signature(&[failed(0, "t", "2 tests failed", "test y ... FAILED\ntest x ... FAILED\n")]);
    assert_eq!(a, b);
}

#[test]
fn normalise_replaces_what_varies() {
    assert_eq!(
        normalise("at src/main.rs:10:4 took 0.53s (in 12ms) pid=77 [1234] 0xdeadBEEF /tmp/x/y line 9"),
        "at src/main.rs:<line> took <duration> (in <duration>) pid <n> [<n>] <hex> <tmp> line <n>"
    );
    assert_eq!(normalise("add cafe1 facade 2 tests"), "add cafe1 facade 2 tests");
    assert_eq!(normalise("commit 1a2b3c4d5e"), "commit <hex>");
}

#[test]
fn strip_ansi_removes_colours_and_titles() {
    assert_eq!(strip_ansi("\x1b[1;31mred\x1b[0m plain \x1b]0;title\x07end\x1b]8;;http://x\x1b\\link"), "red plain endlink");
    assert_eq!(strip_ansi("no escapes"), "no escapes");
}

#[test]
fn statements_render_as_written() {
    let plan = plan(
        "run \"make   check\" matches /ok/i within 5m\ntests \"cargo test\" format cargo\ntests \"pytest\" format junit \"out/*.xml\" within 1h30m\nabsent \"x\"\nchanged \"a/**\" \"b\"\ncommitted\nrun \"a very long command that goes on and on and on and on and on and on and on and on and on and on and on\"",
    );
    let statements: Vec<String> = plan.checks.iter().map(|c| statement(&c.value)).collect();
    assert_eq!(statements[0], "run \"make check\" matches /ok/i within 5m");
    assert_eq!(statements[1], "tests \"cargo test\" format cargo");
    assert_eq!(statements[2], "tests \"pytest\" format junit \"out/*.xml\" within 1h30m");
    assert_eq!(statements[3], "absent \"x\"");
    assert_eq!(statements[4], "changed \"a/**\" \"b\"");
    assert_eq!(statements[5], "committed");
    assert_eq!(statements[6].chars().count(), STATEMENT_CHARS);
    assert!(statements[6].ends_with('…'));
}
