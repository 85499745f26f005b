//! Fault injection, each end to end with the real binary: the supervisor SIGKILLed at every
//! phase and resumed, an agent killed like the OOM killer does, a stale `.git/index.lock`, the
//! run branch moved by someone else, a full disk under `agent.log`, wall-clock jumps, a runbook
//! edited during the run, and two runs started at once. docs/reliability.md lists them all.

mod support;

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Child;
use std::time::Duration;
use support::run::{marker, processes_with, read_events, tap_script, wait_until, Ran, Runbook, Test};

/// The OS sandbox is not under test here (tests/sandbox_run.rs): without it every machine
/// behaves alike.
fn runbook() -> Runbook {
    Runbook::default().permission("sandbox off")
}

/// An agent that makes the state good and commits.
const GOOD: &str = "echo good > src/state\ngit commit -qam 'make the state good'\necho agent: done\n";

/// `test.sh` as `tap_script(expected)`, but its `nth` run (1: the baseline, 2: the first
/// attempt's checks) touches `checking` in the capture folder and hangs (a process marked
/// `mark`): only `night resume` ending the dead supervisor's check ends it.
fn hanging_test_script(test: &Test, expected: &[(&str, &str)], nth: u32, mark: &str) {
    let capture = test.capture.path().display();
    let body = tap_script(expected).replacen("#!/bin/sh\n", "", 1);
    let script = format!(
        "#!/bin/sh\nn=$(( $(cat '{capture}/runs' 2>/dev/null || echo 0) + 1 )); echo $n > '{capture}/runs'\nif [ $n = {nth} ]; then touch '{capture}/checking'; sh -c 'sleep 60' {mark}; fi\n{body}"
    );
    test.script("test.sh", &script);
    test.commit_all("a test script that can be held");
}

fn capture_has(test: &Test, name: &str) -> bool {
    test.capture.path().join(name).exists()
}

fn release(test: &Test) {
    fs::write(test.capture.path().join("release"), "").expect("release");
}

/// The run id of the newest run folder.
fn run_id(test: &Test) -> String {
    test.run_dir().and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned())).expect("a run folder")
}

/// SIGKILL the supervisor, let held checks and agents go on, and `night resume` the run to its
/// end. Every line the dead supervisor journaled is still there, first, unchanged.
fn kill_and_resume(test: &Test, mut child: Child) -> Ran {
    child.kill().expect("SIGKILL the supervisor");
    let _ = child.wait();
    let id = run_id(test);
    let journal = test.path().join(".night/runs").join(&id).join("journal.jsonl");
    let before = fs::read_to_string(&journal).unwrap_or_default();
    let status = test.night(&["status", &id]);
    assert!(status.stdout.contains("crashed"), "a dead supervisor's run is crashed until resumed: {}", status.output());
    release(test);
    let resumed = test.night(&["resume", &id]);
    let after = fs::read_to_string(&journal).expect("journal");
    assert!(after.starts_with(&before), "no journal line of the dead supervisor was lost or changed");
    assert_eq!(resumed.events_named("resume").len(), 1, "{}", resumed.output());
    resumed
}

fn outcome_and_report(ran: &Ran, outcome: &str) -> String {
    assert_eq!(ran.outcome(), outcome, "{}", ran.output());
    let report = ran.report();
    assert!(report.starts_with(&format!("# night run `{}`: {outcome}", ran.run_id())), "{report}");
    report
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn sigkill_during_preflight_is_undone_by_the_next_run() {
    let mut test = Test::new();
    test.setup(GOOD, &runbook());
    test.env("NIGHT_TEST_PAUSE_AT", "preflight");
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "preflight's pause", || test.run_dir().is_some_and(|dir| dir.join("paused-at-preflight").exists()));
    let dead = run_id(&test);
    let branch = test.git(&["branch", "--show-current"]);
    assert!(branch.starts_with("night/t/"), "preflight made the run branch and switched to it: {branch}");
    let mut child = child;
    child.kill().expect("SIGKILL the supervisor");
    let _ = child.wait();
    let resumed = test.night(&["resume", &dead]);
    assert_eq!(resumed.code, Some(2), "nothing to resume: the run never started");
    assert!(resumed.stderr.contains("was killed during its preflight") && resumed.stderr.contains("`night run` puts the repository back"), "{}", resumed.output());

    let mut again = test.command(&["run", "t.night"]);
    again.env_remove("NIGHT_TEST_PAUSE_AT");
    let ran = test.finish(again.spawn().expect("night"));
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.stdout.contains(&format!("run `{dead}` was killed during its preflight")) || ran.stderr.contains(&format!("run `{dead}` was killed during its preflight")), "{}", ran.output());
    assert!(ran.output().contains("the checkout is back on `main`"), "{}", ran.output());
    let folders: Vec<_> = fs::read_dir(test.path().join(".night/runs")).expect("runs").flatten().map(|e| e.path()).collect();
    assert_eq!(folders.len(), 1, "the dead preflight's folder is gone (the new run may reuse its id within the same second): {folders:?}");
    assert!(!folders[0].join("paused-at-preflight").exists() && !folders[0].join("preflight.json").exists());
    let start = ran.event("run-start");
    assert_eq!(start["original_branch"], "main", "the new run starts from the user's branch");
    assert_eq!(start["start_commit"].as_str(), Some(test.git(&["rev-parse", "main"]).as_str()));
    outcome_and_report(&ran, "success");
}

#[test]
fn sigkill_during_baseline_then_resume_measures_it_again() {
    let mut test = Test::new();
    let mark = marker("baseline");
    hanging_test_script(&test, &[("state", "good")], 1, &mark);
    test.setup(GOOD, &runbook());
    test.env("NIGHT_HEARTBEAT_MS", "200");
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the baseline's check", || capture_has(&test, "checking"));
    let ran = kill_and_resume(&test, child);
    let report = outcome_and_report(&ran, "success");
    assert!(report.contains("resumed once"), "{report}");
    let events = ran.events();
    assert_eq!(named(&events, "run-start").len(), 1);
    assert_eq!(named(&events, "baseline").len(), 1, "the dead baseline was never journaled; the resumed one is");
    assert_eq!(named(&events, "attempt-start").len(), 1);
    assert!(ran.event("resume")["leftover"].as_str().is_some_and(|l| l.contains("the check command left running")), "{}", ran.event("resume"));
    assert!(processes_with(&mark).is_empty(), "the dead supervisor's check was ended: {:?}", processes_with(&mark));
}

#[test]
fn sigkill_during_checks_then_resume_judges_the_attempt_without_rerunning_the_agent() {
    let test = Test::new();
    let mark = marker("checks");
    hanging_test_script(&test, &[("state", "good")], 2, &mark);
    test.setup(GOOD, &runbook());
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the attempt's checks", || capture_has(&test, "checking"));
    let ran = kill_and_resume(&test, child);
    outcome_and_report(&ran, "success");
    let events = ran.events();
    assert_eq!(named(&events, "session-start").len(), 1, "the agent's work is judged, not done again");
    assert_eq!(named(&events, "attempt-end").len(), 1);
    assert_eq!(named(&events, "checks").len(), 1);
    assert!(processes_with(&mark).is_empty(), "the dead supervisor's check was ended: {:?}", processes_with(&mark));
}

#[test]
fn sigkill_during_rollback_then_resume_rolls_back_and_stops() {
    let mut test = Test::new();
    test.three_tests();
    let agent = "echo broken > src/a\necho broken > src/b\ngit commit -qam 'break things'\n";
    test.setup(agent, &runbook().rollback("when failing > baseline; to start; then stop"));
    test.env("NIGHT_TEST_PAUSE_AT", "rollback");
    let start = test.git(&["rev-parse", "HEAD"]);
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the rollback's pause", || test.run_dir().is_some_and(|dir| dir.join("paused-at-rollback").exists()));
    let ran = kill_and_resume(&test, child);
    let report = outcome_and_report(&ran, "rolled-back");
    assert_eq!(ran.code, Some(1));
    assert_eq!(ran.events_named("rollback").len(), 1, "journaled once, by the resumed supervisor");
    let branch = ran.branch();
    assert_eq!(test.git(&["rev-parse", &branch]), start, "the run branch is back at the start");
    let kept = format!("refs/night/{}/attempt-1", ran.run_id());
    assert_eq!(test.git(&["show", &format!("{kept}:src/a")]), "broken", "the rolled-back work is kept");
    assert!(report.contains(&format!("work kept at `{kept}`")), "{report}");
}

/// A suite of one test a file: `src/want/<name>` holds what `src/<name>` must hold (so the agent
/// may delete and add tests under `write "src/**"`); `a` and `b` pass and `c` fails at the
/// baseline. `test.sh` prints TAP, and its `nth` run hangs like `hanging_test_script`'s.
fn suite_of_files(test: &Test, nth: u32, mark: &str) {
    for (name, have) in [("a", "good"), ("b", "good"), ("c", "bad")] {
        test.write(&format!("src/{name}"), &format!("{have}\n"));
        test.write(&format!("src/want/{name}"), "good\n");
    }
    let capture = test.capture.path().display();
    let script = format!(
        "#!/bin/sh\nn=$(( $(cat '{capture}/runs' 2>/dev/null || echo 0) + 1 )); echo $n > '{capture}/runs'\n\
         if [ $n = {nth} ]; then touch '{capture}/checking'; sh -c 'sleep 60' {mark}; fi\n\
         echo 'TAP version 13'; i=0; failed=0\n\
         for want in src/want/*; do name=$(basename \"$want\"); i=$((i+1))\n\
         if [ \"$(cat src/$name 2>/dev/null)\" = \"$(cat $want)\" ]; then echo \"ok $i - $name\"; else echo \"not ok $i - $name\"; failed=$((failed+1)); fi\n\
         done\necho \"1..$i\"\n[ $failed -eq 0 ]\n"
    );
    test.script("test.sh", &script);
    test.commit_all("a suite of one test a file");
}

/// The cheat that counts cannot see: the failing test deleted and a trivial one added, so that
/// as many tests run as at the baseline and none fails.
const SWAP_THE_FAILING_TEST: &str = "rm -f src/want/c\necho good > src/d\necho good > src/want/d\ngit add -A\ngit commit -qm 'replace a test' || true\necho agent: all tests pass\n";

#[test]
fn sigkill_during_the_checks_of_an_attempt_that_lost_tests_then_resume_still_catches_them_by_name() {
    let test = Test::new();
    let mark = marker("lost");
    suite_of_files(&test, 2, &mark);
    test.setup(SWAP_THE_FAILING_TEST, &runbook().limits(&["timeout 60s", "attempts 2", "stuck 3", "idle 60s"]));
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the attempt's checks", || capture_has(&test, "checking"));
    // The dead supervisor journaled the baseline, and kept its tests by name beside the journal.
    let dir = test.run_dir().expect("a run folder");
    let baseline = read_events(&dir.join("journal.jsonl")).into_iter().find(|e| e["event"] == "baseline").expect("the baseline is journaled");
    assert_eq!(baseline["checks"][0]["names_file"], serde_json::json!({"file": "baseline-tests-0.jsonl", "count": 3}), "{baseline}");
    assert!(baseline["checks"][0].get("names").is_none(), "the names are not in the journal: {baseline}");
    let ran = kill_and_resume(&test, child);

    // The resumed supervisor judged attempt 1 against the baseline's names, and attempt 2 too.
    let report = outcome_and_report(&ran, "failed");
    let checks = ran.events_named("checks");
    assert_eq!(checks.len(), 2, "{}", ran.output());
    for check in &checks {
        let result = &check["checks"][0];
        assert_eq!(result["passed"], false, "{result}");
        assert_eq!(result["tests"], serde_json::json!({"passed": 3, "failed": 0, "skipped": 0}), "as many tests ran as at the baseline: {result}");
        assert_eq!(result["lost"]["evidence"], "names", "{result}");
        assert_eq!(result["lost"]["lost_names"], serde_json::json!(["c"]), "{result}");
        assert_eq!(result["reason"], "1 test lost: ran at the baseline, now missing or skipped: `c`", "{result}");
    }
    assert!(ran.events_named("note").iter().all(|n| n["topic"] != "baseline-tests"), "the names were read back: {:?}", ran.events_named("note"));
    let second = fs::read_to_string(ran.dir().join("prompt-2-1.md")).expect("attempt 2's prompt");
    assert!(second.contains("These tests must keep running: `c`."), "{second}");
    assert!(report.contains("1 test lost"), "{report}");
    assert!(processes_with(&mark).is_empty(), "the dead supervisor's check was ended: {:?}", processes_with(&mark));
}

#[test]
fn without_the_baseline_names_file_a_resumed_run_judges_by_counts_and_says_so() {
    // The control of the test above: the same run, the names file gone before the resume. By
    // counts the swap is invisible, so the resumed run calls it a success, and a note says why
    // lost tests were found by counts only.
    let test = Test::new();
    let mark = marker("lost-file");
    suite_of_files(&test, 2, &mark);
    test.setup(SWAP_THE_FAILING_TEST, &runbook().limits(&["timeout 60s", "attempts 2", "stuck 3", "idle 60s"]));
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the attempt's checks", || capture_has(&test, "checking"));
    let dir = test.run_dir().expect("a run folder");
    fs::remove_file(dir.join("baseline-tests-0.jsonl")).expect("the names file is there to remove");
    let ran = kill_and_resume(&test, child);
    outcome_and_report(&ran, "success");
    let checks = ran.event("checks");
    assert!(checks["checks"][0].get("lost").is_none(), "{checks}");
    let notes = ran.events_named("note");
    let note = notes.iter().find(|n| n["topic"] == "baseline-tests").unwrap_or_else(|| panic!("a note says why: {notes:?}"));
    let message = note["message"].as_str().unwrap_or_default();
    assert!(message.contains("baseline-tests-0.jsonl") && message.ends_with("lost tests are found by counts only"), "{message}");
}

#[test]
fn an_agent_killed_by_sigkill_like_the_oom_killer_ends_its_session_and_the_next_attempt_goes_on() {
    let test = Test::new();
    let mark = marker("oom");
    // The OOM killer picks the agent's main process (the group's leader: `sh -c`, whose
    // child this script is) and SIGKILLs it alone.
    let agent = format!("if [ \"$NIGHT_ATTEMPT\" = 1 ]; then\n  sh -c 'sleep 30' {mark} &\n  echo agent: using all the memory\n  kill -9 $(cut -d' ' -f5 /proc/$$/stat)\n  sleep 30\nelse\n{GOOD}fi\n");
    test.setup(&agent, &runbook());
    let ran = test.run();
    let report = outcome_and_report(&ran, "success");
    let first = ran.events_named("session-end").into_iter().find(|e| e["attempt"] == 1).expect("attempt 1's session");
    assert_eq!(first["signal"], 9, "{first}");
    assert_eq!(first["exit_code"], Value::Null);
    assert!(report.contains("killed by signal 9 (SIGKILL)"), "{report}");
    assert!(processes_with(&mark).is_empty(), "the killed agent's children were ended: {:?}", processes_with(&mark));
}

#[test]
fn a_stale_index_lock_left_by_a_crashed_agent_is_removed_and_the_work_committed() {
    let test = Test::new();
    // The agent's own `git commit` crashed: the work is in the files, the lock is left.
    test.setup("echo good > src/state\ntouch .git/index.lock\n", &runbook());
    let ran = test.run();
    outcome_and_report(&ran, "success");
    assert!(!test.path().join(".git/index.lock").exists());
    let notes = ran.events_named("note");
    assert!(notes.iter().any(|n| n["topic"] == "index-lock"), "the removal is journaled: {notes:?}");
    let branch = ran.branch();
    assert_eq!(test.git(&["show", &format!("{branch}:src/state")]), "good", "the leftover work is committed on the run branch");
    assert!(ran.report().contains(".git/index.lock"), "{}", ran.report());
}

#[test]
fn the_run_branch_moved_by_someone_else_ends_the_run_and_keeps_the_work() {
    let test = Test::new();
    let mark = marker("moved");
    let agent = format!("echo worse > src/state\ngit commit -qam 'the agent works'\nsh -c 'sleep 60' {mark}\n");
    test.setup(&agent, &runbook());
    let child = test.spawn();
    let commit = test.wait_for_event("commit", Duration::from_secs(30));
    let agents_commit = commit["id"].as_str().unwrap_or_default().to_string();
    wait_until(Duration::from_secs(10), "the agent's sleeper", || !processes_with(&mark).is_empty());
    let branch = test.wait_for_event("run-start", Duration::from_secs(1))["branch"].as_str().unwrap_or_default().to_string();
    let empty_tree = test.git(&["hash-object", "-t", "tree", "/dev/null"]);
    let foreign = test.git(&["commit-tree", &empty_tree, "-m", "someone else's commit"]);
    test.git(&["update-ref", &format!("refs/heads/{branch}"), &foreign]);
    let ran = test.finish(child);
    let report = outcome_and_report(&ran, "interrupted");
    assert_eq!(ran.code, Some(130));
    assert!(ran.event("run-end")["reason"].as_str().is_some_and(|r| r.contains("moved")), "{}", ran.output());
    assert!(report.contains("moved"), "{report}");
    assert_eq!(test.git(&["rev-parse", &branch]), foreign, "night does not fight over the branch");
    let kept = test.git(&["for-each-ref", "--format=%(refname)", &format!("refs/night/{}/", ran.run_id())]);
    assert!(
        kept.lines().any(|r| test.try_git(&["merge-base", "--is-ancestor", &agents_commit, r]).is_some()),
        "the agent's commit is kept under refs/night/: {kept}"
    );
    assert!(processes_with(&mark).is_empty(), "the agent was ended: {:?}", processes_with(&mark));
}

/// A tmpfs mounted on a folder, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` (with the reason printed) where mounting is not permitted.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(at).expect("mount point");
        let output = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).output();
        match output {
            Ok(output) if output.status.success() => Some(Tmpfs(at.to_path_buf())),
            Ok(output) => {
                eprintln!("skipped: cannot mount a tmpfs (needs root): {}", String::from_utf8_lossy(&output.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_for_agent_log_ends_the_run_cleanly_and_says_why() {
    let test = Test::new();
    let mark = marker("full");
    // 2 MB of output into a 1 MB run folder, then the agent would go on for a minute.
    let agent = format!("i=0; while [ $i -lt 2000 ]; do head -c 1000 /dev/zero | tr '\\0' x; echo; i=$((i+1)); done\nsh -c 'sleep 60' {mark}\n");
    test.setup(&agent, &runbook());
    let Some(_tmpfs) = Tmpfs::mount(&test.path().join(".night/runs"), "1m") else { return };
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert!(!ran.stderr.contains("panicked"), "{}", ran.output());
    assert!(ran.output().contains("No space left on device"), "night says why: {}", ran.output());
    let end = ran.event("run-end");
    assert_eq!(end["outcome"], "crashed", "{end}");
    assert!(end["reason"].as_str().is_some_and(|r| r.contains("agent.log") && r.contains("No space left")), "{end}");
    assert!(processes_with(&mark).is_empty(), "the agent was ended: {:?}", processes_with(&mark));
    assert_eq!(ran.event("session-end")["reason"], "log-failed");
    assert!(ran.report().contains("No space left on device"), "the reserve's room holds the report: {}", ran.report());
    let lines = fs::read_to_string(ran.dir().join("journal.jsonl")).expect("journal");
    assert!(lines.ends_with('\n') && read_events(&ran.dir().join("journal.jsonl")).len() == lines.lines().count(), "every journal line is whole");
}

#[test]
fn the_runbook_edited_and_deleted_during_the_run_changes_nothing_even_on_resume() {
    let mut test = Test::new();
    let agent = r#"if [ "$NIGHT_ATTEMPT" = 1 ]; then
  echo worse > src/state; git commit -qam "attempt 1: worse"
elif [ "$NIGHT_SESSION" = 1 ]; then
  touch "$CAPTURE/attempt-2"
  while [ ! -f "$CAPTURE/release" ]; do sleep 0.05; done
else
  cp "$NIGHT_PROMPT_FILE" "$CAPTURE/prompt"
  echo good > src/state; git commit -qam "good, after the resume"
fi
"#;
    test.setup(agent, &runbook());
    test.env("NIGHT_HEARTBEAT_MS", "200");
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "attempt 2", || capture_has(&test, "attempt-2"));
    // One attempt, another prompt, another check: none of it may reach the run.
    let edited = Runbook { prompt: "Do something else entirely.".into(), checks: vec!["run \"false\"".into()], ..runbook() }.limits(&["timeout 60s", "attempts 1"]);
    test.write("t.night", &edited.render());
    fs::remove_file(test.path().join("t.night")).expect("delete the runbook");
    let ran = kill_and_resume(&test, child);
    outcome_and_report(&ran, "success");
    assert_eq!(ran.event("run-end")["attempts"], 2);
    let prompt = fs::read_to_string(test.capture.path().join("prompt")).expect("the resumed session's prompt");
    assert!(prompt.contains("Make the state good and commit.") && !prompt.contains("something else"), "{prompt}");
    assert_eq!(fs::read_to_string(ran.dir().join("runbook.night")).expect("copy"), runbook().render(), "the run's copy is the runbook as it started");
}

#[test]
fn two_runs_started_at_once_one_runs_and_the_other_refuses() {
    let test = Test::new();
    let agent = "while [ ! -f \"$CAPTURE/release\" ]; do sleep 0.05; done\necho good > src/state\ngit commit -qam good\n";
    test.setup(agent, &runbook());
    test.write("u.night", &Runbook { name: "u".into(), ..runbook() }.render());
    test.commit_all("a second runbook");
    let main = test.git(&["rev-parse", "main"]);
    let mut first = test.spawn();
    let mut second = test.command(&["run", "u.night"]).spawn().expect("night");
    let mut refused = None;
    wait_until(Duration::from_secs(60), "one of the two to refuse", || {
        for (name, child) in [("t", &mut first), ("u", &mut second)] {
            if let Ok(Some(_)) = child.try_wait() {
                refused = Some(name);
            }
        }
        refused.is_some()
    });
    let (loser, winner) = if refused == Some("t") { (first, second) } else { (second, first) };
    let lost = loser.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&lost.stderr);
    assert_eq!(lost.status.code(), Some(2), "{stderr}");
    let live = run_id(&test);
    assert!(stderr.contains(&format!("run `{live}` is in progress")), "the refusal names the live run: {stderr}");
    let branches = test.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/night/"]);
    assert_eq!(branches.lines().count(), 1, "only the running run made a branch: {branches}");
    assert_eq!(fs::read_dir(test.path().join(".night/runs")).expect("runs").count(), 1, "only one run folder");
    release(&test);
    let ran = test.finish(winner);
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(test.git(&["rev-parse", "main"]), main);
}

/// libfaketime, where installed (`.ci/faults-setup` installs it): it fakes the wall clock of
/// night and everything it starts, and leaves the monotonic clock alone.
fn libfaketime() -> Option<&'static str> {
    let found = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1", "/usr/local/lib/faketime/libfaketime.so.1"]
        .into_iter()
        .find(|path| Path::new(path).is_file());
    if found.is_none() {
        eprintln!("skipped: libfaketime is not installed (apt-get install faketime; .ci/faults-setup does it)");
    }
    found
}

/// Run night under libfaketime with its wall clock offset read from `<capture>/clock`, which
/// `jump` rewrites while night runs.
fn with_fake_clock(test: &mut Test, library: &str) {
    let clock = test.capture.path().join("clock");
    fs::write(&clock, "+0\n").expect("clock");
    test.env("LD_PRELOAD", library);
    test.env("DONT_FAKE_MONOTONIC", "1");
    test.env("FAKETIME_NO_CACHE", "1");
    test.env("FAKETIME_TIMESTAMP_FILE", &clock.display().to_string());
}

fn jump(test: &Test, offset: &str) {
    fs::write(test.capture.path().join("clock"), format!("{offset}\n")).expect("jump the clock");
}

#[test]
fn wall_clock_jumps_neither_fire_limits_early_nor_hold_them_off() {
    let Some(library) = libfaketime() else { return };
    let mut test = Test::new();
    with_fake_clock(&mut test, library);
    // Attempts 1 and 2 go silent right after a jump: `silence 2s` must end each after two
    // seconds of real time, not at once (+10h) and not never (-10h); `timeout 60s` must not
    // fire at the +10h jump. Attempt 3 succeeds.
    let agent = r#"if [ "$NIGHT_ATTEMPT" -lt 3 ]; then
  touch "$CAPTURE/attempt-$NIGHT_ATTEMPT"
  while [ ! -f "$CAPTURE/jumped-$NIGHT_ATTEMPT" ]; do echo agent: waiting; sleep 0.2; done
  echo agent: going quiet
  sleep 30
else
  echo good > src/state; git commit -qam good
fi
"#;
    test.setup(agent, &runbook().limits(&["timeout 60s", "attempts 3", "stuck 3", "silence 2s"]));
    let child = test.spawn();
    for (attempt, offset) in [(1, "+10h"), (2, "-10h")] {
        wait_until(Duration::from_secs(30), "the attempt's agent", || capture_has(&test, &format!("attempt-{attempt}")));
        jump(&test, offset);
        fs::write(test.capture.path().join(format!("jumped-{attempt}")), "").expect("go on");
    }
    let ran = test.finish(child);
    outcome_and_report(&ran, "success");
    let silent: Vec<u64> = ran.events_named("session-end").iter().filter(|e| e["reason"] == "silence").filter_map(|e| e["duration_ms"].as_u64()).collect();
    assert_eq!(silent.len(), 2, "{}", ran.output());
    for duration in silent {
        assert!((2000..15_000).contains(&duration), "`silence 2s` fired after {duration} ms of real time");
    }
    assert!(ran.events_named("limit").iter().all(|l| l["limit"] != "timeout"), "{}", ran.output());
    let stamps: Vec<String> = ran.events().iter().filter_map(|e| e["at"].as_str().map(str::to_string)).collect();
    assert!(stamps.iter().any(|at| at[..13] != stamps[0][..13]), "libfaketime moved night's wall clock: {stamps:?}");
}

#[test]
fn a_clock_jump_before_the_supervisor_died_does_not_use_up_the_timeout_on_resume() {
    let Some(library) = libfaketime() else { return };
    let mut test = Test::new();
    with_fake_clock(&mut test, library);
    test.env("NIGHT_HEARTBEAT_MS", "200");
    let agent = r#"if [ "$NIGHT_SESSION" = 1 ]; then
  touch "$CAPTURE/working"
  while [ ! -f "$CAPTURE/release" ]; do sleep 0.05; done
else
  echo good > src/state; git commit -qam "good, after the resume"
fi
"#;
    test.setup(agent, &runbook().limits(&["timeout 60s", "attempts 2", "stuck 3", "idle 60s"]));
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the agent", || capture_has(&test, "working"));
    let started = test.wait_for_event("run-start", Duration::from_secs(1))["at"].as_str().unwrap_or_default().to_string();
    jump(&test, "+10h");
    // A heartbeat stamped after the jump: the journal's wall-clock span is now ten hours.
    wait_until(Duration::from_secs(30), "a heartbeat after the jump", || {
        let events = test.run_dir().map(|dir| read_events(&dir.join("journal.jsonl"))).unwrap_or_default();
        events.iter().any(|e| e["event"] == "heartbeat" && e["at"].as_str().is_some_and(|at| at[..13] != started[..13]))
    });
    let ran = kill_and_resume(&test, child);
    outcome_and_report(&ran, "success");
    let resume = ran.event("resume");
    assert!(resume["elapsed_ms"].as_u64().is_some_and(|ms| ms < 60_000), "supervised time is monotonic time, not the wall clock's jump: {resume}");
}

/// Seconds in `2h3m4s` (the CLI's duration notation).
fn seconds_in(text: &str) -> u64 {
    let (mut total, mut number) = (0, 0);
    for c in text.chars() {
        match c {
            '0'..='9' => number = number * 10 + u64::from(c.to_digit(10).unwrap_or(0)),
            'h' => (total, number) = (total + number * 3600, 0),
            'm' => (total, number) = (total + number * 60, 0),
            's' => (total, number) = (total + number, 0),
            _ => return u64::MAX,
        }
    }
    total
}

#[test]
fn a_resumed_run_lists_its_whole_wall_time_and_the_time_since_the_resume() {
    let test = Test::new();
    let mark = marker("wall");
    hanging_test_script(&test, &[("state", "good")], 2, &mark);
    test.setup(GOOD, &runbook());
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the attempt's checks", || capture_has(&test, "checking"));
    // The dead supervisor journals nothing while its check hangs: these seconds, and the time
    // no supervisor ran, are the run's all the same.
    std::thread::sleep(Duration::from_secs(4));
    let ran = kill_and_resume(&test, child);
    outcome_and_report(&ran, "success");
    let id = run_id(&test);
    let listed = test.night(&["list"]);
    let line = listed.stdout.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{}", listed.output())).to_string();
    let (_, after) = line.split_once("success").unwrap_or_else(|| panic!("{line}"));
    let phrase = after.trim_start();
    let (wall, rest) = phrase.split_once(" (").unwrap_or_else(|| panic!("the wall time and the time since the resume: {line}"));
    assert!(seconds_in(wall) >= 4 && seconds_in(wall) < 120, "the whole run, its first part included: {line}");
    let (since, _) = rest.split_once(" since the resume)").unwrap_or_else(|| panic!("{line}"));
    assert!(seconds_in(since) < seconds_in(wall), "{line}");
    let expected = format!("{wall} ({since} since the resume)");
    let status = test.night(&["status", &id]);
    assert!(status.stdout.contains(&format!("  duration  {expected}")), "status says what list says ({expected}): {}", status.output());
    let report = ran.report();
    // The report writes times under a second in milliseconds: the same wall time, the same words.
    assert!(report.contains(&format!("| {wall} (")) && report.contains(" since the resume), "), "the report too ({expected}): {report}");
    let json: Value = serde_json::from_str(&fs::read_to_string(ran.dir().join("report.json")).expect("report.json")).expect("json");
    let (wall_ms, supervised_ms) = (json["wall_ms"].as_u64().expect("wall_ms"), json["duration_ms"].as_u64().expect("duration_ms"));
    assert!(wall_ms >= 4000 && wall_ms > supervised_ms, "wall {wall_ms} vs supervised {supervised_ms}: {json}");
    assert!(json["since_resume_ms"].as_u64().is_some_and(|since| since < wall_ms), "{json}");
}
