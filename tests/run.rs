//! `night run` end to end: the real binary, a fresh git repository per test, and scripted
//! stand-in agents that really edit, commit, hang, loop and fork.

mod support;

use std::fs;
use std::time::Duration;
use support::run::{marker, processes_with, tap_script, Runbook, Test};

/// An agent that makes the state good and commits.
const GOOD: &str = "echo good > src/state\ngit commit -qam 'make the state good'\necho agent: done\n";

/// Runs after every scenario: the user's branch is where it was.
fn assert_main_untouched(test: &Test, main_before: &str) {
    assert_eq!(test.git(&["rev-parse", "main"]), main_before, "the user's branch moved");
}

#[test]
fn success_on_the_first_attempt() {
    let test = Test::new();
    test.setup(GOOD, &Runbook::default());
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success");
    assert_eq!(ran.events_named("attempt-start").len(), 1);
    let start = ran.event("run-start");
    assert_eq!(start["schema"], 1);
    assert_eq!(start["start_commit"].as_str(), Some(main.as_str()));
    let branch = start["branch"].as_str().expect("branch").to_string();
    assert!(branch.starts_with("night/t/"), "{branch}");
    assert_eq!(test.git(&["show", &format!("{branch}:src/state")]), "good");
    assert_eq!(ran.events_named("commit").len(), 1, "the agent's commit is journaled");
    let baseline = ran.event("baseline");
    assert_eq!(baseline["checks"][0]["passed"], false);
    assert_eq!(baseline["checks"][0]["tests"]["failed"], 1);
    assert!(ran.events_named("keep-awake").len() == 1);
    assert!(ran.events_named("note").iter().any(|n| n["topic"] == "deny-not-enforced"));
    for event in ran.events() {
        assert_eq!(event["v"], 1);
        assert!(event["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{event}");
    }
    let report = ran.report();
    assert!(report.contains(": success"), "{report}");
    assert!(report.contains("make the state good"), "{report}");
    assert!(report.contains(&format!("..{branch}")) && !report.contains(&format!("git switch {branch}")), "the checkout is on the run branch: {report}");
    assert!(ran.stdout.contains("report.md"), "{}", ran.output());
    assert_eq!(fs::read_to_string(ran.dir().join("runbook.night")).expect("copy"), fs::read_to_string(test.path().join("t.night")).expect("runbook"));
    assert_main_untouched(&test, &main);
}

#[test]
fn success_after_feedback_carries_the_failure_into_the_second_prompt() {
    let test = Test::new();
    let agent = r#"cat > "$CAPTURE/prompt-$NIGHT_ATTEMPT"
[ "$(cat "$NIGHT_PROMPT_FILE")" = "$(cat "$CAPTURE/prompt-$NIGHT_ATTEMPT")" ] || echo "prompt file differs" > "$CAPTURE/mismatch"
if [ "$NIGHT_ATTEMPT" = 1 ]; then echo worse > src/state; else echo good > src/state; fi
git commit -qam "attempt $NIGHT_ATTEMPT"
"#;
    // The agent saves what it saw in $CAPTURE, outside the repository: no OS sandbox.
    test.setup(agent, &Runbook::default().permission("sandbox off"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.events_named("attempt-start").len(), 2);
    let first = fs::read_to_string(test.capture.path().join("prompt-1")).expect("first prompt");
    let second = fs::read_to_string(test.capture.path().join("prompt-2")).expect("second prompt");
    assert_eq!(first, "Make the state good and commit.");
    assert!(second.starts_with("Make the state good and commit."), "{second}");
    assert!(second.contains("attempt 2 of 3"), "{second}");
    assert!(second.contains("not ok 1 - state is good"), "{second}");
    assert!(second.contains("got: 'worse'"), "{second}");
    assert!(!test.capture.path().join("mismatch").exists(), "stdin and $NIGHT_PROMPT_FILE must hold the same prompt");
    let checks = ran.events_named("checks");
    assert_eq!(checks[0]["passed"], false);
    assert_eq!(checks[1]["passed"], true);
    assert_main_untouched(&test, &main);
}

#[test]
fn the_same_failure_twice_in_a_row_is_stuck() {
    let test = Test::new();
    test.setup("echo agent: trying\n", &Runbook::default().limits(&["timeout 60s", "attempts 5", "stuck 2", "idle 60s"]));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "stuck");
    assert_eq!(ran.events_named("attempt-start").len(), 2);
    let ends = ran.events_named("attempt-end");
    assert_eq!(ends[0]["signature"], ends[1]["signature"]);
    assert_eq!(ran.event("limit")["limit"], "stuck");
    assert_main_untouched(&test, &main);
}

#[test]
fn idle_ends_a_session_that_makes_no_commit() {
    let test = Test::new();
    let agent = "while :; do echo agent: thinking; sleep 0.2; done\n";
    test.setup(agent, &Runbook::default().limits(&["timeout 60s", "attempts 2", "stuck 2", "idle 2s"]));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "stuck", "two attempts ended by idle have the same signature");
    let limits = ran.events_named("limit");
    assert_eq!(limits.len(), 3, "{limits:?}");
    assert!(limits[..2].iter().all(|l| l["limit"] == "idle" && l["value"] == "2s" && l["ends"] == "attempt"));
    assert_eq!(limits[2]["limit"], "stuck");
    let ends = ran.events_named("session-end");
    assert!(ends.iter().all(|e| e["reason"] == "idle"), "{ends:?}");
    let attempt_end = &ran.events_named("attempt-end")[0];
    assert_eq!(attempt_end["signature"], "idle");
    assert_eq!(ran.events_named("checks").len(), 2, "an attempt ended by idle still runs its checks");
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("second prompt");
    assert!(second.contains("no new commit on the run branch for `idle 2s`"), "{second}");
    assert_main_untouched(&test, &main);
}

#[test]
fn a_commit_defers_idle() {
    let test = Test::new();
    // Commits a second apart over 6 s; a 4 s idle limit leaves 3 s of slack per gap for a
    // loaded machine, and would fire without the commits.
    let agent = "for i in 1 2 3 4 5 6; do sleep 1; echo $i >> src/log; git add src/log; git commit -qm \"step $i\"; done\necho good > src/state; git commit -qam done\n";
    test.setup(agent, &Runbook::default().limits(&["timeout 60s", "attempts 1", "stuck 2", "idle 4s"]));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "commits every second keep a 4s idle limit from firing over 6s\n{}", ran.output());
    assert!(ran.events_named("limit").is_empty(), "{:?}", ran.events_named("limit"));
    assert_eq!(ran.events_named("commit").len(), 7);
}

#[test]
fn commits_are_seen_while_the_agent_runs() {
    let test = Test::new();
    // The agent stays until night has journaled its commit (at most 30 s): the commit can only
    // have been seen by the ref watch, during the session.
    let agent = format!("{GOOD}for i in $(seq 300); do grep -q '\"event\":\"commit\"' \"$NIGHT_RUN_DIR/journal.jsonl\" && break; sleep 0.1; done\necho agent: exiting\n");
    test.setup(&agent, &Runbook::default());
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let names: Vec<String> = ran.events().iter().map(|e| e["event"].as_str().unwrap_or_default().to_string()).collect();
    let commit = names.iter().position(|n| n == "commit").expect("a commit event");
    let end = names.iter().position(|n| n == "session-end").expect("a session-end event");
    assert!(commit < end, "the ref watch reports the commit during the session: {names:?}");
}

/// Issue 19: every read of the git folder (the agent's `git status`, night's own look at the
/// branch) used to wake the supervisor, which read the git folder again: hundreds of wake-ups
/// a second from the first commit on. Counted, not timed: a slow machine makes fewer loops,
/// never fewer than a handful per commit.
#[test]
fn a_committing_agent_wakes_the_supervisor_a_handful_of_times_per_commit() {
    let test = Test::new();
    // Five commits; after each the agent keeps working (git status, git diff, a line of
    // output) until night has journaled the commit, and at least ten rounds.
    let agent = r#"for i in 1 2 3 4 5; do
  echo "step $i" >> src/log
  git add src/log
  git commit -qm "step $i"
  n=0
  while [ $n -lt 300 ]; do
    git status --short > /dev/null
    git diff HEAD > /dev/null
    echo "agent: working on step $i, round $n"
    n=$((n+1))
    if [ $n -ge 10 ] && [ "$(grep -c '"event":"commit"' "$NIGHT_RUN_DIR/journal.jsonl")" -ge $i ]; then break; fi
    sleep 0.05
  done
done
echo good > src/state
git commit -qam 'make the state good'
"#;
    test.setup(agent, &Runbook::default().limits(&["timeout 120s", "attempts 1"]));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let names: Vec<String> = ran.events().iter().map(|e| e["event"].as_str().unwrap_or_default().to_string()).collect();
    let end = names.iter().position(|n| n == "session-end").expect("a session-end event");
    let seen_live = names[..end].iter().filter(|n| *n == "commit").count();
    assert!(seen_live >= 5, "the ref watch reports each commit while the agent works: {names:?}");
    let commits = ran.events_named("commit").len() as u64;
    assert_eq!(commits, 6);
    let wakeups = ran.event("session-end")["wakeups"].as_u64().expect("session-end counts the wake-ups");
    assert!(wakeups >= 1, "the supervisor was woken by the agent's commits");
    assert!(wakeups <= 4 * commits, "{wakeups} wake-ups for {commits} commits: the supervisor wakes for more than the branch moving");
}

#[test]
fn silence_ends_a_hung_agent() {
    let test = Test::new();
    test.setup("echo agent: starting\nsleep 60\n", &Runbook::default().limits(&["timeout 60s", "attempts 1", "silence 2s"]));
    let main = test.git(&["rev-parse", "main"]);
    let started = std::time::Instant::now();
    let ran = test.run();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "failed");
    let limits = ran.events_named("limit");
    assert_eq!(limits[0]["limit"], "silence");
    assert_eq!(limits[1]["limit"], "attempts");
    assert_eq!(ran.event("session-end")["reason"], "silence");
    assert_eq!(ran.event("attempt-end")["signature"], "silence");
    assert!(ran.agent_log().contains("agent: starting"));
    assert_main_untouched(&test, &main);
}

#[test]
fn no_descendant_of_a_hung_agent_survives() {
    let test = Test::new();
    let mark = marker("hung");
    let agent = format!(
        r#"sh -c 'while :; do sleep 1; done' {mark}-child &
( sh -c 'trap "" TERM; while :; do sleep 1; done' {mark}-stubborn & ) &
sh -c '( sh -c "while :; do sleep 1; done" {mark}-grandchild & ); sleep 100' {mark}-parent &
trap '' TERM
echo agent: forked
while :; do sleep 1; done
"#
    );
    test.setup(&agent, &Runbook::default().limits(&["timeout 60s", "attempts 1", "silence 2s"]));
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    let end = ran.event("session-end");
    assert_eq!(end["killed"], true, "the agent ignores SIGTERM: SIGKILL after the grace period");
    std::thread::sleep(Duration::from_millis(300));
    let left = processes_with(&mark);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn children_left_by_an_agent_that_exits_are_ended() {
    let test = Test::new();
    let mark = marker("orphans");
    let agent = format!("sh -c 'while :; do sleep 1; done' {mark} &\n{GOOD}");
    test.setup(&agent, &Runbook::default());
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    std::thread::sleep(Duration::from_millis(300));
    assert!(processes_with(&mark).is_empty(), "{:?}", processes_with(&mark));
}

#[test]
fn a_write_outside_the_allowlist_is_reverted() {
    let test = Test::new();
    let agent = r#"if [ "$NIGHT_ATTEMPT" = 1 ]; then
  echo hacked > README.md
  echo junk > notes.txt
fi
echo good > src/state
git add -A
git commit -qm "attempt $NIGHT_ATTEMPT"
"#;
    // Without the sandbox the write happens and is reverted (with it, the OS refuses the
    // write: tests/sandbox_run.rs).
    test.setup(agent, &Runbook::default().permission("sandbox off"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let violation = ran.event("violation");
    assert_eq!(violation["action"], "revert");
    assert_eq!(violation["attempt"], 1);
    let mut paths: Vec<&str> = violation["paths"].as_array().expect("paths").iter().filter_map(|p| p.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["README.md", "notes.txt"]);
    assert_eq!(ran.events_named("attempt-end")[0]["passed"], false, "a violation fails the attempt even when the checks hold");
    assert_eq!(ran.events_named("attempt-start").len(), 2);
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert_eq!(test.git(&["show", &format!("{branch}:README.md")]), "a test repository");
    assert!(test.try_git(&["show", &format!("{branch}:notes.txt")]).is_none(), "the new file is removed");
    assert!(!test.path().join("notes.txt").exists());
    assert_eq!(fs::read_to_string(test.path().join("README.md")).expect("readme"), "a test repository\n");
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("second prompt");
    assert!(second.contains("wrote outside `write`") && second.contains("`README.md`"), "{second}");
    assert!(ran.report().contains("`README.md`"));
    assert_main_untouched(&test, &main);
}

#[test]
fn the_revert_commit_is_journaled_so_status_and_the_end_summary_count_the_same_commits() {
    let test = Test::new();
    // Every attempt commits a write outside `write`, and night reverts it with a commit of its
    // own; the second time the run ends stuck, right after its last revert: 4 commits.
    let agent = "echo hacked > README.md\necho good > src/state\ngit add -A\ngit commit -qm \"attempt $NIGHT_ATTEMPT\"\n";
    test.setup(agent, &Runbook::default().permission("sandbox off").limits(&["timeout 60s", "attempts 3", "stuck 2"]));
    let ran = test.run();
    assert_eq!(ran.outcome(), "stuck", "{}", ran.output());
    let reverts: Vec<String> = ran.events_named("violation").iter().filter_map(|v| v["revert_commit"].as_str().map(str::to_string)).collect();
    assert_eq!(reverts.len(), 2, "{}", ran.output());
    let journaled: Vec<String> = ran.events_named("commit").iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect();
    assert!(reverts.iter().all(|r| journaled.contains(r)), "night's revert commits are journaled as commits: {reverts:?} {journaled:?}");
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert_eq!(test.git(&["rev-list", "--count", &format!("main..{branch}")]), "4", "{}", ran.output());
    assert_eq!(journaled.len(), 4, "{journaled:?}");
    assert!(ran.stdout.contains("(4 commits,"), "the end summary: {}", ran.output());
    let id = ran.event("run-start")["run_id"].as_str().expect("run id").to_string();
    let status = test.night(&["status", &id]);
    assert!(status.stdout.contains("commits   4 (last:"), "status counts what the summary counts: {}", status.output());
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(ran.dir().join("report.json")).expect("report.json")).expect("json");
    assert_eq!(json["commits"].as_array().map(Vec::len), Some(4), "{json}");
}

#[test]
fn a_failure_by_violation_alone_says_the_checks_held_but_the_agent_wrote_outside_write() {
    let test = Test::new();
    let agent = "echo hacked > README.md\necho good > src/state\ngit add -A\ngit commit -qm \"attempt $NIGHT_ATTEMPT\"\n";
    test.setup(agent, &Runbook::default().permission("sandbox off").limits(&["timeout 60s", "attempts 3", "stuck 2"]));
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "stuck");
    let said = "checks held, but the agent wrote outside `write`: `README.md`";
    assert!(!ran.stdout.contains("1/1 checks hold"), "the terminal must not call it a pass:\n{}", ran.output());
    assert!(ran.stdout.contains(&format!("night: {said}")), "{}", ran.output());
    assert!(ran.stdout.contains(&format!("(last: {said})")), "{}", ran.output());
    assert!(ran.event("run-end")["reason"].as_str().expect("reason").ends_with(said), "{}", ran.output());
    let report = ran.report();
    assert!(report.contains(&format!("after attempt 2: {said}")) && !report.contains("1/1 checks hold"), "{report}");
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("second prompt");
    assert!(second.contains(said), "{second}");
}

#[test]
fn on_violation_stop_ends_the_run() {
    let test = Test::new();
    let agent = "echo hacked > README.md\necho good > src/state\ngit commit -qam sneaky\n";
    // Without the sandbox the write happens and `on violation` acts (with it, the OS refuses
    // the write: tests/sandbox_run.rs).
    let runbook = Runbook::default().permission("on violation stop").permission("sandbox off");
    test.setup(agent, &runbook);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "failed");
    assert!(ran.event("run-end")["reason"].as_str().expect("reason").contains("permission violation"));
    assert_eq!(ran.event("violation")["action"], "stop");
    assert_eq!(ran.events_named("attempt-start").len(), 1);
    assert!(ran.events_named("checks").is_empty(), "the run stops before the checks");
    assert_main_untouched(&test, &main);
}

/// Three tests over `src/a`, `src/b`, `src/c`; the baseline has one failing (`c`).
#[test]
fn rollback_to_start_keeps_the_broken_work_in_the_attempt_ref() {
    let test = Test::new();
    test.three_tests();
    let agent = "echo broken > src/a\necho broken > src/b\ngit commit -qam 'break things'\necho uncommitted > src/b\n";
    let runbook = Runbook::default().rollback("when failing > baseline; to start; then stop");
    test.setup(agent, &runbook);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "rolled-back");
    let rollback = ran.event("rollback");
    assert_eq!(rollback["to"], "start");
    assert_eq!(rollback["target"].as_str(), Some(main.as_str()));
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert_eq!(test.git(&["rev-parse", &branch]), main, "the run branch is back at the start");
    let kept = format!("refs/night/{}/attempt-1", ran.run_id());
    assert_eq!(rollback["kept"].as_str(), Some(kept.as_str()));
    assert_eq!(test.git(&["show", &format!("{kept}:src/a")]), "broken");
    assert_eq!(test.git(&["show", &format!("{kept}:src/b")]), "uncommitted", "uncommitted work is kept too");
    assert_eq!(fs::read_to_string(test.path().join("src/a")).expect("a"), "good\n");
    assert!(ran.report().contains(&kept));
    assert_main_untouched(&test, &main);
}

/// Without a `tests` check, `failing` counts the `run` checks that fail (one at the baseline).
#[test]
fn rollback_beside_run_checks_counts_the_failing_checks() {
    let test = Test::new();
    test.three_tests();
    let agent = "echo broken > src/a\necho broken > src/b\ngit commit -qam 'break things'\n";
    let mut runbook = Runbook::default().rollback("when failing > baseline; to start; then stop");
    runbook.checks = ["a", "b", "c"].iter().map(|f| format!("run \"grep -qx good src/{f}\"")).collect();
    test.setup(agent, &runbook);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "rolled-back");
    let rollback = ran.event("rollback");
    assert_eq!(rollback["measured"], "failing 3 `run`/`count` checks, baseline 1");
    assert_eq!(test.git(&["rev-parse", &ran.branch()]), main, "the run branch is back at the start");
    assert_main_untouched(&test, &main);
}

#[test]
fn rollback_to_last_green_resets_to_the_last_attempt_that_did_not_regress() {
    let test = Test::new();
    test.three_tests();
    let agent = r#"if [ "$NIGHT_ATTEMPT" = 1 ]; then
  echo progress >> src/notes; git add src/notes; git commit -qm "harmless progress"
else
  echo broken > src/a; echo broken > src/b; git commit -qam "break things"
fi
"#;
    let runbook = Runbook::default().rollback("when failing > baseline; to last-green; then stop");
    test.setup(agent, &runbook);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "rolled-back");
    let green = ran.events_named("attempt-end")[0]["head"].as_str().expect("head").to_string();
    assert_ne!(green, main);
    let rollback = ran.event("rollback");
    assert_eq!(rollback["to"], "last-green");
    assert_eq!(rollback["attempt"], 2);
    assert_eq!(rollback["target"].as_str(), Some(green.as_str()));
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert_eq!(test.git(&["rev-parse", &branch]), green);
    let kept = format!("refs/night/{}/attempt-2", ran.run_id());
    assert_eq!(test.git(&["show", &format!("{kept}:src/a")]), "broken");
    assert_main_untouched(&test, &main);
}

#[test]
fn rollback_then_retry_goes_on_with_feedback() {
    let test = Test::new();
    test.three_tests();
    let agent = r#"if [ "$NIGHT_ATTEMPT" = 1 ]; then
  echo broken > src/a; git commit -qam "break things"
else
  echo good > src/c; git commit -qam "fix c"
fi
"#;
    let runbook = Runbook::default().rollback("when failing > baseline; to start; then retry");
    test.setup(agent, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.events_named("rollback").len(), 1);
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("second prompt");
    assert!(second.contains("rolled back"), "{second}");
}

#[test]
fn timeout_ends_the_run() {
    let test = Test::new();
    test.setup("echo agent: working\nsleep 60\n", &Runbook::default().limits(&["timeout 2s", "attempts 3"]));
    let main = test.git(&["rev-parse", "main"]);
    let started = std::time::Instant::now();
    let ran = test.run();
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "timeout");
    assert_eq!(ran.event("limit")["limit"], "timeout");
    assert_eq!(ran.events_named("attempt-start").len(), 1);
    assert_eq!(ran.events_named("checks").len(), 1, "the checks still run for the report");
    assert_main_untouched(&test, &main);
}

#[test]
fn ctrl_c_interrupts_cleans_up_and_exits_130() {
    let test = Test::new();
    let mark = marker("ctrlc");
    let agent = format!("sh -c 'while :; do sleep 1; done' {mark} &\necho agent: working\nwhile :; do sleep 1; done\n");
    test.setup(&agent, &Runbook::default());
    let main = test.git(&["rev-parse", "main"]);
    let child = test.spawn();
    test.wait_for_event("session-start", Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let ran = test.finish(child);
    assert_eq!(ran.code, Some(130), "{}", ran.output());
    assert_eq!(ran.outcome(), "interrupted");
    assert_eq!(ran.event("session-end")["reason"], "interrupted");
    assert_eq!(ran.events_named("checks").len(), 1, "the checks run after an interrupt");
    assert!(ran.report().contains("interrupted"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(processes_with(&mark).is_empty(), "{:?}", processes_with(&mark));
    assert_main_untouched(&test, &main);
}

#[test]
fn ctrl_c_during_the_checks_ends_the_run_and_the_attempt_counts_toward_no_stuck_after_resume() {
    let test = Test::new();
    // The checks of an attempt take a while and say when they start, so that Ctrl-C comes
    // while they run (the baseline is quick: nothing attempted yet).
    let capture = test.capture.path().display().to_string();
    let check = format!("#!/bin/sh\nif [ -f src/attempted ]; then touch '{capture}/checking'; sleep 1; fi\n{}", &tap_script(&[("state", "good")])["#!/bin/sh\n".len()..]);
    test.script("test.sh", &check);
    test.commit_all("slow checks");
    let agent = "echo \"$NIGHT_ATTEMPT\" > src/attempted\ngit add -A\ngit commit -qm \"attempt $NIGHT_ATTEMPT\"\n";
    // Without the sandbox: the checks tell the test, outside the repository, when they start.
    test.setup(agent, &Runbook::default().permission("sandbox off").limits(&["timeout 60s", "attempts 2", "stuck 2"]));
    let child = test.spawn();
    support::run::wait_until(Duration::from_secs(30), "the checks of attempt 1", || test.capture.path().join("checking").exists());
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let ran = test.finish(child);
    assert_eq!(ran.code, Some(130), "a Ctrl-C during the checks stops the run after them\n{}", ran.output());
    assert_eq!(ran.events_named("attempt-start").len(), 1, "{}", ran.output());
    assert_eq!(ran.event("attempt-end")["reason"], "interrupted");
    // Attempt 2 fails the same way as attempt 1; attempt 1 was cut short, so this is not `stuck 2`.
    let resumed = test.night(&["resume", &ran.run_id()]);
    let ends = resumed.events_named("run-end");
    assert_eq!(ends.last().map(|end| end["outcome"].clone()), Some("failed".into()), "{}", resumed.output());
    assert!(resumed.events_named("limit").iter().all(|l| l["limit"] != "stuck"), "{}", resumed.output());
}

/// What a terminal of `width` columns shows after `output`: the rows, trailing blanks cut.
/// Enough of a VT100 for a status line: text with deferred wrapping, CR, LF, cursor up and
/// down, erase line, colours ignored.
fn screen(output: &[u8], width: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(output);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut pending) = (0usize, 0usize, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        while rows.len() <= row {
            rows.push(Vec::new());
        }
        match c {
            '\r' => (col, pending) = (0, false),
            '\n' => (row, pending) = (row + 1, false),
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut args = String::new();
                let Some(command) = chars.by_ref().find(|c| !(c.is_ascii_digit() || *c == ';' || *c == '?') || { args.push(*c); false }) else { break };
                let n = args.parse::<usize>().unwrap_or(1);
                match command {
                    'A' => (row, pending) = (row.saturating_sub(n), false),
                    'B' => (row, pending) = (row + n, false),
                    'K' if args == "2" => rows[row].clear(),
                    'K' => rows[row].truncate(col),
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                if pending {
                    (row, col, pending) = (row + 1, 0, false);
                    while rows.len() <= row {
                        rows.push(Vec::new());
                    }
                }
                let line = &mut rows[row];
                while line.len() <= col {
                    line.push(' ');
                }
                line[col] = c;
                if col + 1 == width { pending = true } else { col += 1 }
            }
        }
    }
    rows.into_iter().map(|r| r.into_iter().collect::<String>().trim_end().to_string()).collect()
}

#[test]
fn ctrl_c_in_a_narrow_terminal_leaves_no_status_line_behind() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    const WIDTH: u16 = 40;
    let test = Test::new();
    test.setup("echo agent: working\nwhile :; do sleep 1; done\n", &Runbook::default());
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize { ws_row: 24, ws_col: WIDTH, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty fills the two descriptors, which are then owned here.
    assert_eq!(unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) }, 0, "openpty");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut command = test.command(&["run", "t.night"]);
    command.stdin(slave.try_clone().expect("fd")).stdout(slave.try_clone().expect("fd")).stderr(slave);
    // SAFETY: only async-signal-safe calls between fork and exec: a session of its own, whose
    // controlling terminal is the pty, so that ^C there is SIGINT to night.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("night in a pty");
    drop(command);
    let mut reader = fs::File::from(master.try_clone().expect("fd"));
    let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let collected = output.clone();
    let reading = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut reader, &mut buffer) {
            collected.lock().expect("lock").extend_from_slice(&buffer[..n]);
        }
    });
    test.wait_for_event("session-start", Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(1500));
    std::io::Write::write_all(&mut fs::File::from(master), b"\x03").expect("^C");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "night did not end after ^C");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = reading.join();
    let output = output.lock().expect("lock").clone();
    let shown = screen(&output, usize::from(WIDTH));
    let spinner: Vec<&String> = shown.iter().filter(|row| row.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))).collect();
    assert!(spinner.is_empty(), "the status line stayed on the screen: {spinner:?}\n{}", shown.join("\n"));
    assert!(shown.iter().any(|row| row.contains("night: interrupted")), "{}", shown.join("\n"));
}

#[test]
fn a_dirty_tree_is_refused_and_nothing_changes() {
    let test = Test::new();
    test.setup(GOOD, &Runbook::default());
    test.write("src/state", "edited by the user\n");
    let branches = test.git(&["branch", "--list"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(2), "{}", ran.output());
    assert!(ran.stdout.contains("git-dirty"), "{}", ran.output());
    assert_eq!(test.git(&["branch", "--list"]), branches);
    assert!(!test.path().join(".night").exists());
    assert_eq!(fs::read_to_string(test.path().join("src/state")).expect("state"), "edited by the user\n");
}

#[test]
fn a_waived_dirty_tree_runs_in_a_worktree_and_the_uncommitted_work_stays() {
    let test = Test::new();
    test.setup(GOOD, &Runbook::default().task("worktree on").top("waive git-dirty \"work in progress\""));
    test.write("README.md", "edited by the user, not committed\n");
    test.write("notes.txt", "the user's untracked notes\n");
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success");
    assert_eq!(test.git(&["show", &format!("{}:src/state", ran.branch())]), "good");
    assert_eq!(fs::read_to_string(test.path().join("README.md")).expect("readme"), "edited by the user, not committed\n");
    assert_eq!(fs::read_to_string(test.path().join("notes.txt")).expect("notes"), "the user's untracked notes\n");
    assert_eq!(fs::read_to_string(test.path().join("src/state")).expect("state"), "bad\n", "the checkout is left as it was");
    assert_eq!(test.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");
}

#[test]
fn a_waived_dirty_tree_in_place_is_refused_with_the_reason() {
    let test = Test::new();
    test.setup(GOOD, &Runbook::default().top("waive git-dirty \"work in progress\""));
    test.write("notes.txt", "the user's untracked notes\n");
    let ran = test.run();
    assert_eq!(ran.code, Some(2), "{}", ran.output());
    assert!(ran.stdout.contains("`waive git-dirty` needs `worktree on`"), "{}", ran.output());
    assert!(!test.path().join(".night").exists());
    assert_eq!(fs::read_to_string(test.path().join("notes.txt")).expect("notes"), "the user's untracked notes\n");
}

#[test]
fn a_folder_written_without_a_glob_means_its_contents() {
    let test = Test::new();
    test.setup(GOOD, &Runbook::default().write(&["src"]));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success");
    assert!(ran.events_named("violation").is_empty(), "`write \"src\"` allows `src/state`: {:?}", ran.events_named("violation"));
    assert_eq!(test.git(&["show", &format!("{}:src/state", ran.branch())]), "good");
}

#[test]
fn a_runbook_with_errors_is_refused() {
    let test = Test::new();
    let runbook = Runbook::default().write(&["**"]);
    test.setup(GOOD, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(2), "{}", ran.output());
    assert!(ran.stdout.contains("write-unbounded"), "{}", ran.output());
    assert!(!test.path().join(".night").exists());
    assert_eq!(test.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");
}

#[test]
fn a_taken_run_branch_gets_a_numbered_one_and_the_next_steps_do_not_fail() {
    let test = Test::new();
    // A fixed name stands for two runs of one runbook in the same minute (`{name}/{date}`).
    let runbook = Runbook::default().task("branch \"night/fixed\"");
    test.setup(GOOD, &runbook);
    let first = test.run();
    assert_eq!(first.code, Some(0), "{}", first.output());
    assert_eq!(first.branch(), "night/fixed");
    // In place, the checkout is left on the run branch: no `git switch` to where it is.
    assert_eq!(test.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "night/fixed");
    assert!(!first.stdout.contains("git switch night/fixed"), "{}", first.output());
    assert!(first.stdout.contains("git switch main") && first.report().contains("git switch main"), "{}", first.output());
    test.git(&["switch", "-q", "main"]);
    let second = test.run();
    assert_eq!(second.code, Some(0), "{}", second.output());
    assert_eq!(second.branch(), "night/fixed-2", "every run gets a branch of its own");
    assert!(second.stdout.contains("branch `night/fixed` exists already") && second.stdout.contains("`night/fixed-2`"), "{}", second.output());
    assert!(second.report().contains("`night/fixed-2`"), "{}", second.report());
    assert_eq!(test.git(&["rev-parse", "night/fixed"]), first.event("run-end")["head"].as_str().expect("head"), "the first run's work is untouched");
    for text in [&second.stdout, &second.stderr, &second.report()] {
        assert!(!text.contains("branch -D"), "never suggest deleting a run's branch:\n{text}");
    }
}

#[test]
fn a_suite_of_100_000_tests_keeps_its_names_beside_the_journal_and_its_losses_bounded() {
    let test = Test::new();
    // 100 000 TAP tests; `tests::t1` fails while `src/state` is bad; `src/cut` drops the first 5 000.
    let script = r#"#!/bin/sh
cut=0; [ -f src/cut ] && cut=5000
awk -v cut=$cut -v state="$(cat src/state)" 'BEGIN { print "TAP version 13"; n = 0
  for (i = 1; i <= 100000; i++) { if (i <= cut) continue; n++
    if (i == 1 && state != "good") print "not ok " n " - tests::t" i; else print "ok " n " - tests::t" i }
  print "1.." n }'
"#;
    test.script("test.sh", script);
    test.commit_all("a large suite");
    test.setup("touch src/cut\ngit add -A\ngit commit -qm 'drop the failing tests and a few thousand more'\n", &Runbook::default().limits(&["timeout 60s", "attempts 1", "idle 60s"]));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.outcome(), "failed", "{}", ran.output());

    let names = fs::read_to_string(ran.dir().join("baseline-tests-0.jsonl")).expect("the baseline's names beside the journal");
    assert_eq!(names.lines().count(), 100_000);
    assert_eq!(names.lines().next(), Some(r#"{"name":"tests::t1","outcome":"failed"}"#));
    let baseline = ran.event("baseline");
    assert_eq!(baseline["checks"][0]["names_file"], serde_json::json!({"file": "baseline-tests-0.jsonl", "count": 100_000}), "{baseline}");
    let journal = fs::metadata(ran.dir().join("journal.jsonl")).expect("journal").len();
    assert!(journal < 64 * 1024, "the journal stays small whatever the suite's size: {journal} bytes");

    let checks = ran.event("checks");
    let result = &checks["checks"][0];
    assert_eq!(result["tests"], serde_json::json!({"passed": 95_000, "failed": 0, "skipped": 0}), "{result}");
    assert_eq!((result["lost"]["evidence"].as_str(), result["lost"]["lost"].as_u64()), (Some("names"), Some(5_000)), "every loss counted");
    assert_eq!(result["lost"]["lost_names"].as_array().map(Vec::len), Some(100), "at most 100 names journaled");
    let reason = result["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("5000 tests lost: ran at the baseline, now missing or skipped: `tests::t1`, ") && reason.ends_with(", and 4990 more"), "{reason}");
    let report = fs::metadata(ran.dir().join("report.json")).expect("report.json").len();
    assert!(report < 64 * 1024, "the report does not list the suite: {report} bytes");
    assert_main_untouched(&test, &main);
}

#[test]
fn checks_that_already_hold_are_nothing_to_do() {
    let test = Test::new();
    test.write("src/state", "good\n");
    test.commit_all("already good");
    test.setup(GOOD, &Runbook::default());
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "nothing-to-do");
    assert!(ran.events_named("session-start").is_empty(), "the agent never starts");
    assert!(ran.report().contains("nothing-to-do"));
    assert_main_untouched(&test, &main);
}

#[test]
fn a_waived_baseline_runs_anyway() {
    let test = Test::new();
    test.write("src/state", "good\n");
    test.commit_all("already good");
    let runbook = Runbook::default().top("waive success-already-holds \"the agent only adds docs\"");
    test.setup("echo docs > src/docs\ngit add -A\ngit commit -qm docs\n", &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.report().contains("the agent only adds docs"));
}

#[test]
fn the_session_limit_checkpoints_and_starts_a_fresh_session() {
    let test = Test::new();
    let agent = r#"cat > "$CAPTURE/prompt-$NIGHT_SESSION"
if [ "$NIGHT_SESSION" = 1 ]; then
  echo good > src/state
  while :; do echo agent: still going; sleep 0.3; done
fi
echo agent: session $NIGHT_SESSION finds the work committed
"#;
    // The agent saves what it saw in $CAPTURE, outside the repository: no OS sandbox.
    test.setup(agent, &Runbook::default().limits(&["timeout 60s", "session 2s", "attempts 1"]).permission("sandbox off"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let checkpoint = ran.event("checkpoint");
    assert!(checkpoint["commit"].is_string(), "the leftover work is committed: {checkpoint}");
    let sessions = ran.events_named("session-start");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1]["session"], 2);
    assert_eq!(sessions[1]["prompt_kind"], "continue");
    assert_eq!(ran.event("limit")["limit"], "session");
    let second = fs::read_to_string(test.capture.path().join("prompt-2")).expect("second session's prompt");
    assert!(second.contains("session 2 of attempt 1"), "{second}");
    assert!(second.contains("night: checkpoint"), "the progress summary lists the commits: {second}");
    assert_main_untouched(&test, &main);
}

#[test]
fn the_demo_runbook_succeeds_after_one_retry_in_a_worktree() {
    let test = Test::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::create_dir_all(test.path().join("runbooks")).expect("mkdir");
    fs::copy(root.join("runbooks/demo.night"), test.path().join("runbooks/demo.night")).expect("copy runbook");
    copy_dir(&root.join("runbooks/demo"), &test.path().join("runbooks/demo"));
    test.commit_all("the demo");
    // As in a fresh clone, the refs are packed: git 2.45 and later then try `packed-refs.lock`
    // on every commit, which the sandbox refuses, and make the commit all the same.
    test.git(&["pack-refs", "--all"]);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run_file("runbooks/demo.night");
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success");
    assert_eq!(ran.events_named("attempt-start").len(), 2, "the demo agent fails once");
    assert_eq!(test.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main", "the checkout is never switched");
    let start = ran.event("run-start");
    assert_eq!(start["worktree"], true);
    let work_dir = start["work_dir"].as_str().expect("work dir");
    assert!(work_dir.contains(".night/worktrees/"), "{work_dir}");
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("second prompt");
    assert!(second.contains("not ok 3 - trims spaces"), "{second}");
    assert!(ran.stdout.contains("report.md"), "{}", ran.output());
    // The branch is checked out in the worktree: `git switch` to it would fail in the checkout.
    assert!(!ran.stdout.contains(&format!("git switch {}", ran.branch())), "{}", ran.output());
    assert!(ran.stdout.contains(&format!("git worktree remove {work_dir}")), "{}", ran.output());
    assert_eq!(ran.event("run-end")["commits"].as_array().map(Vec::len), Some(2));
    // Each commit deletes git's AUTO_MERGE, which locks the shared packed-refs: git's own work
    // in the sandbox, never reported as something the agent was refused.
    assert!(!ran.output().contains("the sandbox refused"), "{}", ran.output());
    assert!(!ran.report().contains("refusal"), "{}", ran.report());
    assert_main_untouched(&test, &main);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn secrets_stay_out_of_the_agent_the_journal_the_log_and_the_report() {
    let mut test = Test::new();
    let secret = "http://127.0.0.1:9/hook-s3cr3t-7f1d";
    test.env("NIGHT_TEST_SECRET", secret);
    fs::write(test.capture.path().join("secret"), secret).expect("write");
    let agent = r#"env > "$CAPTURE/agent-env"
echo "leak: $(cat "$CAPTURE/secret")"
echo good > src/state
git commit -qam "the secret is $(cat "$CAPTURE/secret")"
"#;
    // The agent saves its environment in $CAPTURE, outside the repository: no OS sandbox
    // (tests/sandbox_run.rs checks the same with the sandbox on).
    let runbook = Runbook::default().notifier("webhook env.NIGHT_TEST_SECRET on violation").permission("sandbox off");
    test.setup(agent, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let agent_env = fs::read_to_string(test.capture.path().join("agent-env")).expect("agent env");
    assert!(!agent_env.contains("NIGHT_TEST_SECRET"), "the agent must not see the secret's variable");
    assert!(agent_env.contains("NIGHT_RUN_ID=") && agent_env.contains("NIGHT_ATTEMPT=1") && agent_env.contains("NIGHT_PROMPT_FILE="));
    assert!(ran.agent_log().contains("leak: [redacted]"), "{}", ran.agent_log());
    for file in ["journal.jsonl", "agent.log", "report.md"] {
        let text = fs::read_to_string(ran.dir().join(file)).expect(file);
        assert!(!text.contains("s3cr3t"), "{file} holds the secret:\n{text}");
    }
}

#[test]
fn the_command_notifier_is_told_the_event_and_the_outcome() {
    let mut test = Test::new();
    test.env("NIGHT_NOTIFY_BACKOFF_MS", "10");
    let log = test.capture.path().join("notified");
    let notifier = format!(
        "command \"echo $NIGHT_EVENT $NIGHT_OUTCOME $NIGHT_RUN_ID $NIGHT_REPORT >> {}\" on start attempt end",
        log.display()
    );
    let runbook = Runbook { notify: vec![notifier, "webhook \"http://127.0.0.1:9/closed\" on end".into()], ..Runbook::default() };
    test.setup(GOOD, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let run_id = ran.run_id();
    let lines: Vec<String> = fs::read_to_string(&log).expect("the notifier ran").lines().map(str::to_string).collect();
    let report = ran.dir().join("report.md");
    assert_eq!(
        lines,
        [
            format!("start {run_id}"),
            format!("attempt {run_id}"),
            format!("end success {run_id} {}", report.display()),
        ],
        "one line per event, in order"
    );
    let notifications = ran.events_named("notification");
    assert!(notifications.iter().any(|n| n["on"] == "end" && n["delivered"] == true && n["notifier"].as_str().is_some_and(|d| d.starts_with("command"))), "{notifications:?}");
    assert!(notifications.iter().any(|n| n["on"] == "end" && n["delivered"] == false && n["error"].is_string()), "a failing webhook is recorded: {notifications:?}");
    let text = ran.report();
    assert!(text.contains("## Notifications") && text.contains("FAILED after"), "{text}");
}

#[test]
fn an_agent_that_cannot_be_found_is_refused() {
    let test = Test::new();
    let runbook = Runbook::default().limits(&["timeout 60s", "attempts 3", "stuck 3", "idle 60s", "tokens 1M"]);
    test.setup(GOOD, &runbook);
    let text = fs::read_to_string(test.path().join("t.night"))
        .expect("runbook")
        .replace("agent command \"sh agent.sh\"", "agent claude {\n    bin \"/nonexistent/claude\"\n  }");
    test.write("t.night", &text);
    test.commit_all("claude");
    let ran = test.run();
    assert_eq!(ran.code, Some(2), "{}", ran.output());
    // `night check` finds it first, as part of the runbook's checklist.
    assert!(ran.stdout.contains("agent program `/nonexistent/claude` not found"), "{}", ran.output());
    assert!(ran.stdout.contains("npm install -g @anthropic-ai/claude-code"), "{}", ran.output());
    assert!(!test.path().join(".night").exists());
    assert_eq!(test.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");
}

/// A check whose command is not found at the baseline (exit 127, the shell's `not found`) can
/// never pass: the run ends as `failed` before the first attempt instead of using up every
/// attempt on it. Here a committed link to a program git ignores (`tools/lint` to
/// `.venv/bin/lint`): `night check` finds it in the checkout and in the last commit, but the
/// link leads nowhere in the run's worktree.
#[test]
fn a_check_not_found_at_the_baseline_ends_the_run_before_the_agent_starts() {
    let mut test = Test::new();
    let log = test.capture.path().join("notified");
    let runbook = Runbook {
        checks: vec!["tests \"sh test.sh\" format tap within 30s".into(), "run \"tools/lint src\"".into()],
        notify: vec![format!("command \"echo $NIGHT_EVENT $NIGHT_OUTCOME >> {}\" on end", log.display())],
        ..Runbook::default()
    }
    .task("worktree on");
    test.env("NIGHT_NOTIFY_BACKOFF_MS", "10");
    test.setup(GOOD, &runbook);
    test.write(".gitignore", ".venv/\n");
    test.write(".venv/bin/lint", "#!/bin/sh\nexit 0\n");
    let lint = test.path().join(".venv/bin/lint");
    let mut permissions = fs::metadata(&lint).expect("lint").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&lint, permissions).expect("chmod");
    fs::create_dir_all(test.path().join("tools")).expect("mkdir");
    std::os::unix::fs::symlink("../.venv/bin/lint", test.path().join("tools/lint")).expect("symlink");
    test.commit_all("lint through the venv");
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "failed", "{}", ran.output());
    assert!(ran.events_named("session-start").is_empty(), "the agent never starts: {}", ran.output());
    assert!(ran.events_named("attempt-start").is_empty(), "no attempt is used: {}", ran.output());
    let reason = ran.event("run-end")["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("cannot run") && reason.contains("tools/lint: not found") && reason.contains("at the baseline"), "{reason}");
    assert!(ran.report().contains("tools/lint: not found"), "{}", ran.report());
    assert_eq!(fs::read_to_string(&log).expect("the notifier ran").trim(), "end failed");
    assert_main_untouched(&test, &main);
}
