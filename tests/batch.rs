//! Batches end to end: the real binary runs several runbooks side by side in one temporary
//! repository, with scripted agents that commit several times, run git and print steadily.

mod support;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::http_receiver::Receiver;
use support::run::{read_events, wait_until, Runbook, Test};

/// An agent that prints and commits a few steps, then does `last`.
fn agent(steps: &str, last: &str) -> String {
    format!("for i in 1 2 3; do echo \"agent: step $i\"; echo \"$i\" >> {steps}; git add {steps}; git commit -qm \"step $i\"; sleep 0.1; done\n{last}\n")
}

/// A runbook named `name` whose agent runs `script`, writing `write`.
fn runbook(name: &str, script: &str, write: &[&str]) -> Runbook {
    Runbook { name: name.into(), agent: format!("sh {script}"), ..Runbook::default() }.write(write)
}

fn add_runbook(test: &Test, file: &str, script: &str, agent_text: &str, book: &Runbook) {
    test.script(script, &format!("#!/bin/sh\n{agent_text}"));
    test.write(file, &book.render());
}

/// The batch folders, newest last.
fn batches(test: &Test) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(test.path().join(".night/batches")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    dirs.sort();
    dirs
}

fn run_journal(test: &Test, run_id: &str) -> Vec<Value> {
    read_events(&test.path().join(".night/runs").join(run_id).join("journal.jsonl"))
}

fn outcome_of(events: &[Value]) -> String {
    events.iter().find(|e| e["event"] == "run-end").map(|e| e["outcome"].as_str().unwrap_or_default().to_string()).unwrap_or_default()
}

/// The run ids a batch started, by member index.
fn started(batch: &Path) -> Vec<(u64, String)> {
    read_events(&batch.join("batch.jsonl")).iter().filter(|e| e["event"] == "run-started").map(|e| (e["index"].as_u64().unwrap_or(99), e["run_id"].as_str().unwrap_or_default().to_string())).collect()
}

#[test]
fn three_runbooks_two_at_a_time_one_morning_report_and_a_digest() {
    let test = Test::new();
    test.three_tests();
    // One fixes `c` (success), one only takes notes (the same failure: stuck), one breaks
    // `a` and `b` (past the baseline: rolled back).
    add_runbook(&test, "ok.night", "ok.sh", &agent("src/c.log", "echo good > src/c; git commit -qam 'fix c'; echo agent: done"), &runbook("fix", "ok.sh", &["src/c", "src/c.log"]));
    add_runbook(&test, "notes.night", "notes.sh", &agent("src/notes", "echo agent: no idea"), &runbook("notes", "notes.sh", &["src/notes"]).limits(&["timeout 60s", "attempts 4", "stuck 2", "idle 60s"]));
    let breaking = runbook("breaks", "breaks.sh", &["src/a", "src/b", "src/b.log"]).rollback("when failing > baseline; to start; then stop");
    add_runbook(&test, "breaks.night", "breaks.sh", &agent("src/b.log", "echo broken > src/a; echo broken > src/b; git commit -qam 'break a and b'"), &breaking);
    // Two runbooks of one branch: the batch is refused, nothing changes.
    add_runbook(&test, "twin.night", "twin.sh", "echo twin", &runbook("fix", "twin.sh", &["src/c"]).task("branch \"night/fix\""));
    add_runbook(&test, "twin2.night", "twin.sh", "echo twin", &runbook("other", "twin.sh", &["src/c"]).task("branch \"night/fix\""));
    test.commit_all("runbooks");
    let main = test.git(&["rev-parse", "main"]);

    let checked = test.night(&["check", "--batch", "twin.night", "twin2.night"]);
    assert_eq!(checked.code, Some(1), "{}", checked.output());
    assert!(checked.stdout.contains("batch-same-branch"), "{}", checked.output());
    assert!(checked.stdout.contains("batch-write-overlap"), "{}", checked.output());
    let plain = test.night(&["check", "twin.night", "twin2.night"]);
    assert_eq!(plain.code, Some(0), "a plain check of unrelated runbooks has no batch rules: {}", plain.output());
    let refused = test.night(&["run", "twin.night", "twin2.night"]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(refused.stderr.contains("the batch has errors; nothing was run"), "{}", refused.output());
    assert!(!test.path().join(".night/batches").exists() && !test.path().join(".night/runs").exists(), "a refused batch leaves nothing");

    let receiver = Receiver::start();
    let ran = test.night(&["run", "ok.night", "notes.night", "breaks.night", "--jobs", "2", "--notify-batch", "webhook", &receiver.url("/digest")]);
    assert_eq!(ran.code, Some(1), "not every run succeeded: {}", ran.output());
    let batch = batches(&test).pop().expect("a batch folder");
    let ids = started(&batch);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let outcome = |index: u64| {
        let (_, id) = ids.iter().find(|(i, _)| *i == index).expect("started");
        let events = run_journal(&test, id);
        let start = events.iter().find(|e| e["event"] == "run-start").unwrap_or_else(|| panic!("no run-start in {id}: {events:?}\n{}", ran.output())).clone();
        (outcome_of(&events), start)
    };
    let (fix, fix_start) = outcome(0);
    let (notes, notes_start) = outcome(1);
    let (breaks, breaks_start) = outcome(2);
    assert_eq!((fix.as_str(), notes.as_str(), breaks.as_str()), ("success", "stuck", "rolled-back"), "{}", ran.output());
    let batch_id = batch.file_name().expect("name").to_string_lossy().to_string();
    let mut worktrees = Vec::new();
    for start in [&fix_start, &notes_start, &breaks_start] {
        assert_eq!(start["start_commit"].as_str(), Some(main.as_str()), "every run starts from the batch's commit");
        assert_eq!(start["batch"].as_str(), Some(batch_id.as_str()));
        assert_eq!(start["worktree"], true);
        worktrees.push(start["work_dir"].as_str().expect("work dir").to_string());
    }
    worktrees.sort();
    worktrees.dedup();
    assert_eq!(worktrees.len(), 3, "each run has its own worktree");
    assert_eq!(test.git(&["show", &format!("{}:src/c", fix_start["branch"].as_str().expect("branch"))]), "good");
    // Never more than two at once: the batch journal's starts and ends.
    let mut running = 0;
    for event in read_events(&batch.join("batch.jsonl")) {
        match event["event"].as_str() {
            Some("run-started") => running += 1,
            Some("run-ended" | "run-skipped") => running -= 1,
            _ => {}
        }
        assert!(running <= 2, "more than two runs at once");
    }

    // The morning: plain `night report` answers for the batch.
    let report = test.night(&["report"]);
    assert_eq!(report.code, Some(0), "{}", report.output());
    assert!(report.stdout.contains(&format!("# night batch {batch_id}")), "{}", report.stdout);
    for word in ["| fix | success |", "| notes | stuck |", "| breaks | rolled-back |", "1 success, 1 stuck, 1 rolled-back"] {
        assert!(report.stdout.contains(word), "`{word}` in:\n{}", report.stdout);
    }
    let json: Value = serde_json::from_str(&test.night(&["report", &batch_id, "--format", "json"]).stdout).expect("json");
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["runs"][0]["checks"], serde_json::json!([1, 1]));
    assert_eq!(json["runs"][2]["lost_tests"], 2, "the rolled-back run lost a and b");
    let html = test.night(&["report", &batch_id, "--format", "html"]);
    assert!(fs::read_to_string(batch.join("report.html")).expect("html").contains("<table>"), "{}", html.output());
    let list = test.night(&["list"]);
    assert!(list.stdout.contains(&format!("batch {batch_id}")), "{}", list.stdout);

    // One digest, delivered to a real receiver.
    let digest = receiver.wait_for(1, Duration::from_secs(10));
    let body = digest[0].json();
    assert!(body["summary"].as_str().expect("summary").contains("3 runs: 1 success, 1 stuck, 1 rolled-back"), "{body}");
    assert_eq!(body["run_id"].as_str(), Some(batch_id.as_str()));
    assert!(fs::read_to_string(batch.join("report.md")).expect("report.md").contains("delivered"));
}

#[test]
fn a_killed_batch_resumes_its_runs_and_starts_those_not_begun() {
    let test = Test::new();
    test.write("src/one", "bad\n");
    test.write("src/two", "bad\n");
    test.script("test.sh", &support::run::tap_script(&[("one", "good"), ("two", "good")]));
    // Slow enough to be killed mid-session: it prints every 100ms for a while, then commits.
    let slow = |file: &str| format!("for i in $(seq 1 15); do echo \"agent: working $i\"; sleep 0.1; done\necho good > {file}; git add {file}; git commit -qm 'fix {file}'\n");
    add_runbook(&test, "one.night", "one.sh", &slow("src/one"), &Runbook { checks: vec!["run \"grep -q good src/one\"".into()], ..runbook("one", "one.sh", &["src/one"]) });
    add_runbook(&test, "two.night", "two.sh", &slow("src/two"), &Runbook { checks: vec!["run \"grep -q good src/two\"".into()], ..runbook("two", "two.sh", &["src/two"]) });
    test.commit_all("runbooks");
    let mut child = test.command(&["run", "one.night", "two.night", "--jobs", "1"]).spawn().expect("start night");
    let batch_pid = child.id();
    wait_until(Duration::from_secs(30), "the first run's session", || {
        batches(&test).pop().is_some_and(|batch| started(&batch).first().is_some_and(|(_, id)| run_journal(&test, id).iter().any(|e| e["event"] == "session-start")))
    });
    let batch = batches(&test).pop().expect("batch");
    let (_, first) = started(&batch)[0].clone();
    let member_pid: i32 = fs::read_to_string(test.path().join(".night/runs").join(&first).join("supervisor.lock")).expect("lock").trim().parse().expect("pid");
    // The machine stops under both supervisors at once.
    for pid in [i32::try_from(batch_pid).expect("pid"), member_pid] {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill");
    }
    assert_eq!(child.wait().expect("wait").code(), None, "killed");
    let batch_id = batch.file_name().expect("name").to_string_lossy().to_string();
    let resumed = test.night(&["resume", &batch_id]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.output());
    let ids = started(&batch);
    assert_eq!(ids.len(), 2, "the second run started after the resume: {ids:?}");
    for (_, id) in &ids {
        assert_eq!(outcome_of(&run_journal(&test, id)), "success", "{}", resumed.output());
    }
    assert!(run_journal(&test, &first).iter().any(|e| e["event"] == "resume"), "the first run was resumed, not started again");
    assert!(read_events(&batch.join("batch.jsonl")).iter().any(|e| e["event"] == "batch-resume"));
}

/// Claude Code against the scripted model server, or a loud SKIPPED (tests/run_claude.rs).
fn claude() -> Option<String> {
    let bin = std::env::var("NIGHT_TEST_CLAUDE").unwrap_or_else(|_| "/usr/bin/claude".to_string());
    match night::run::agent::claude::preflight(&bin) {
        Ok(_) => Some(bin),
        Err(error) => {
            assert!(std::env::var_os("CI").is_none(), "Claude Code is not usable and CI is set ({error}): run .ci/claude-setup");
            eprintln!("\n*** SKIPPED: Claude Code is not usable here ({error}); run .ci/claude-setup. This test did not run. ***\n");
            None
        }
    }
}

#[test]
fn the_batch_budget_ends_the_run_that_crosses_it_and_the_unmetered_one_goes_on() {
    use support::model_server::{ModelServer, Script};
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let mut test = Test::new();
    test.write("src/other", "bad\n");
    let spender = format!(
        "name \"spender\"\n\ntask {{\n  prompt \"Make src/state good and commit.\"\n  agent claude {{\n    bin \"{bin}\"\n  }}\n}}\n\n\
         success {{\n  tests \"sh test.sh\" format tap within 30s\n}}\n\npermissions {{\n  write \"src/state\"\n  deny irreversible\n}}\n\n\
         limits {{\n  timeout 300s\n  attempts 2\n  stuck 3\n  idle 10m\n  cost $5\n}}\n\nnotify {{\n  command \"true\" on end\n}}\n"
    );
    test.write("spender.night", &spender);
    let steady = Runbook { checks: vec!["run \"grep -q good src/other\"".into()], ..runbook("steady", "steady.sh", &["src/other", "src/other.log"]) };
    add_runbook(&test, "steady.night", "steady.sh", &agent("src/other.log", "echo good > src/other; git commit -qam 'fix other'"), &steady);
    test.commit_all("runbooks");
    let home = test.capture.path().join("home");
    fs::create_dir_all(&home).expect("home");
    for (name, value) in server.claude_env(&home) {
        test.env(&name, &value);
    }
    test.env("GIT_AUTHOR_NAME", "agent").env("GIT_AUTHOR_EMAIL", "agent@example.com");
    test.env("GIT_COMMITTER_NAME", "agent").env("GIT_COMMITTER_EMAIL", "agent@example.com");
    test.deadline = Duration::from_secs(320);
    let mut script = Script::new();
    for _ in 0..10 {
        // 20k input tokens a turn: $0.06 at Sonnet's list price; the runbook's own `cost $5` is far.
        script = script.bash("ls").usage(20_000, 100).bash("pwd").usage(20_000, 100);
    }
    server.set_script(script);
    let ran = test.night(&["run", "spender.night", "steady.night", "--budget", "$0.10"]);
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    let batch = batches(&test).pop().expect("batch");
    let ids = started(&batch);
    let outcome = |index: u64| outcome_of(&run_journal(&test, &ids.iter().find(|(i, _)| *i == index).expect("started").1));
    assert_eq!(outcome(0), "budget", "{}", ran.output());
    assert_eq!(outcome(1), "success", "the unmetered run goes on: {}", ran.output());
    assert!(run_journal(&test, &ids[0].1).iter().any(|e| e["event"] == "note" && e["topic"] == "batch-budget"));
    assert!(server.turns_used() < 10, "{}", server.turns_used());
    let report = fs::read_to_string(batch.join("report.md")).expect("report");
    assert!(report.contains("Outside the budget (their agents report no usage): steady."), "{report}");
}
