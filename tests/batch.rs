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

/// A success check that takes a second and says when it ran: `check-start <ns>`, `check-end
/// <ns>` (nanoseconds since the epoch), then holds when `src/<name>` is good.
const TIMED_CHECK: &str = "#!/bin/sh\necho \"check-start $(date +%s%N)\"\nsleep 1\necho \"check-end $(date +%s%N)\"\ngrep -q good \"src/$1\"\n";

/// Every success check a run's journal recorded (its baseline and each attempt's) as the
/// (start, end) the timed check printed, in nanoseconds.
fn check_spans(events: &[Value]) -> Vec<(u128, u128)> {
    let mut spans = Vec::new();
    for event in events.iter().filter(|e| e["event"] == "baseline" || e["event"] == "checks") {
        for check in event["checks"].as_array().into_iter().flatten() {
            let tail = check["output_tail"].as_str().unwrap_or_default();
            let at = |word: &str| tail.lines().find_map(|line| line.strip_prefix(word)).and_then(|n| n.trim().parse::<u128>().ok());
            let (Some(start), Some(end)) = (at("check-start "), at("check-end ")) else { panic!("a check without its times: {check}") };
            spans.push((start, end));
        }
    }
    spans
}

/// The most spans that were under way at one moment.
fn most_at_once(spans: &[(u128, u128)]) -> usize {
    let mut edges: Vec<(u128, i32)> = spans.iter().flat_map(|(start, end)| [(*start, 1), (*end, -1)]).collect();
    // An end before a start at the same instant: touching is not overlapping.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

/// Whether the batch in `batch` has ended (its journal has `batch-end`).
fn ended(batch: &Path) -> bool {
    read_events(&batch.join("batch.jsonl")).iter().any(|e| e["event"] == "batch-end")
}

#[test]
fn success_checks_take_turns_across_the_batch_and_a_detached_batch_ends_on_its_own() {
    let test = Test::new();
    for name in ["a", "b", "c"] {
        test.write(&format!("src/{name}"), "bad\n");
    }
    test.script("check.sh", TIMED_CHECK);
    for name in ["a", "b", "c"] {
        let fix = agent(&format!("src/{name}.log"), &format!("echo good > src/{name}; git commit -qam 'fix {name}'; echo agent: done"));
        let book = Runbook { checks: vec![format!("run \"sh check.sh {name}\" within 30s")], ..runbook(name, &format!("{name}.sh"), &[&format!("src/{name}"), &format!("src/{name}.log")]) };
        add_runbook(&test, &format!("{name}.night"), &format!("{name}.sh"), &fix, &book);
    }
    test.commit_all("runbooks");

    // Three runs at once, one check at a time: the three baselines (taken as the runs start,
    // together) and the three final checks never overlap.
    let ran = test.night(&["run", "a.night", "b.night", "c.night", "--jobs", "3", "--checks", "1"]);
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let batch = batches(&test).pop().expect("a batch folder");
    let ids = started(&batch);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let mut spans = Vec::new();
    let mut lives = Vec::new();
    for (_, id) in &ids {
        let events = run_journal(&test, id);
        assert_eq!(outcome_of(&events), "success", "{id}: {}", ran.output());
        spans.extend(check_spans(&events));
        let at = |name: &str| events.iter().find(|e| e["event"] == name).and_then(|e| e["at"].as_str()).map(str::to_string).expect("event");
        lives.push((at("run-start"), at("run-end")));
    }
    assert_eq!(spans.len(), 6, "a baseline and a final check each: {spans:?}");
    assert_eq!(most_at_once(&spans), 1, "with --checks 1 no two checks ran at once: {spans:?}");
    // The runs themselves did overlap: it was the turns that kept their checks apart.
    assert!(lives.iter().all(|(start, _)| lives.iter().all(|(_, end)| start <= end)), "the runs ran side by side: {lives:?}");
    assert!(ran.stdout.contains("waiting for a turn to run the checks (at most 1 at once in the batch)"), "{}", ran.output());

    // `--checks 2`, detached: `night run` answers at once with the batch id, the batch goes on
    // in the background, at most two checks ran at once (and, three runs starting together,
    // two did), and plain `night report` answers for the batch in the morning.
    let detached = test.night(&["run", "a.night", "b.night", "c.night", "--jobs", "3", "--checks", "2", "--detach"]);
    assert_eq!(detached.code, Some(0), "{}", detached.output());
    let batch = batches(&test).pop().expect("a second batch folder");
    let batch_id = batch.file_name().expect("name").to_string_lossy().to_string();
    assert!(detached.stdout.contains(&format!("night: batch {batch_id} started in the background")), "{}", detached.output());
    assert!(!ended(&batch), "`--detach` returned before the batch ended");
    // The batch's report is written after its `batch-end`.
    wait_until(Duration::from_secs(60), "the detached batch's end and report", || ended(&batch) && batch.join("report.md").is_file());
    let ids = started(&batch);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let mut spans = Vec::new();
    for (_, id) in &ids {
        let events = run_journal(&test, id);
        assert_eq!(outcome_of(&events), "success", "{id}");
        spans.extend(check_spans(&events));
    }
    assert_eq!(most_at_once(&spans), 2, "with --checks 2 at most two checks at once, and two did: {spans:?}");
    let output = fs::read_to_string(batch.join("night.out")).expect("the detached batch's output");
    assert!(output.contains("[a] ") && output.contains("[c] "), "the runs' lines go to night.out: {output}");
    let report = test.night(&["report"]);
    assert_eq!(report.code, Some(0), "{}", report.output());
    assert!(report.stdout.contains(&format!("# night batch {batch_id}")), "{}", report.stdout);
    for word in ["| a | success |", "| b | success |", "| c | success |", "3 success"] {
        assert!(report.stdout.contains(word), "`{word}` in:\n{}", report.stdout);
    }
}

/// An agent that works for a minute unless stopped: every 100 ms it prints, runs git, appends
/// to `src/<name>.log`, and commits every tenth round. `$1` is a marker to find it by.
fn long_agent(name: &str) -> String {
    format!("for i in $(seq 1 600); do echo \"agent: round $i\"; git status --short > /dev/null; echo \"$i\" >> src/{name}.log; if [ $((i % 10)) -eq 0 ]; then git add src/{name}.log; git commit -qm \"round $i\"; fi; sleep 0.1; done\necho good > src/{name}; git commit -qam 'fix {name}'\n")
}

/// Three long runbooks (`s0`…`s2`) whose end notifier appends `<run id> <outcome>` to
/// `notified` in the capture folder; their agents carry `marker`. `digest.sh`, for
/// `--notify-batch`, appends `<batch id> <outcome>: <summary>` to `digest` there.
fn long_runbooks(test: &Test, marker: &str) {
    let notified = test.capture.path().join("notified");
    test.script("notified.sh", &format!("#!/bin/sh\necho \"$NIGHT_RUN_ID $NIGHT_OUTCOME\" >> '{}'\n", notified.display()));
    let digest = test.capture.path().join("digest");
    test.script("digest.sh", &format!("#!/bin/sh\necho \"$NIGHT_RUN_ID $NIGHT_OUTCOME: $NIGHT_SUMMARY\" >> '{}'\n", digest.display()));
    for name in ["s0", "s1", "s2"] {
        test.write(&format!("src/{name}"), "bad\n");
        let book = Runbook {
            agent: format!("sh {name}.sh {marker}"),
            checks: vec![format!("run \"grep -q good src/{name}\"")],
            notify: vec!["command \"sh notified.sh\" on end".into()],
            ..runbook(name, &format!("{name}.sh"), &[&format!("src/{name}"), &format!("src/{name}.log")])
        };
        add_runbook(test, &format!("{name}.night"), &format!("{name}.sh"), &long_agent(name), &book);
    }
    test.commit_all("long runbooks");
}

/// Wait until every run the batch started has an agent that committed at least once.
fn wait_for_work(test: &Test, batch: &Path, runs: usize) {
    wait_until(Duration::from_secs(60), "each started run's agent at work", || {
        let ids = started(batch);
        ids.len() == runs && ids.iter().all(|(_, id)| run_journal(test, id).iter().any(|e| e["event"] == "commit"))
    });
}

/// What a stopped batch must leave: each started run ended `interrupted` with its report
/// written and its end notified, its agent gone; the runbooks not begun skipped; the batch's
/// end, report and digest.
fn assert_stopped_cleanly(test: &Test, batch: &Path, marker: &str, not_begun: &[u64]) {
    let notified = fs::read_to_string(test.capture.path().join("notified")).unwrap_or_default();
    for (_, id) in started(batch) {
        let events = run_journal(test, &id);
        let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        let end = events.iter().find(|e| e["event"] == "run-end");
        assert_eq!(outcome_of(&events), "interrupted", "{id}: {names:?}, {end:?}");
        assert!(names.contains(&"checks"), "{id}'s work was checked before it ended: {names:?}");
        assert!(test.path().join(".night/runs").join(&id).join("report.md").is_file(), "{id} has its report");
        assert!(notified.lines().any(|line| line == format!("{id} interrupted")), "{id}'s end was notified: {notified}");
    }
    assert!(support::run::processes_with(marker).is_empty(), "every agent is gone: {:?}", support::run::processes_with(marker));
    let events = read_events(&batch.join("batch.jsonl"));
    let skipped: Vec<u64> = events.iter().filter(|e| e["event"] == "run-skipped").filter_map(|e| e["index"].as_u64()).collect();
    assert_eq!(skipped, not_begun, "{events:?}");
    let end = events.iter().find(|e| e["event"] == "batch-end").unwrap_or_else(|| panic!("no batch-end: {events:?}"));
    assert!(end["reason"].as_str().is_some_and(|r| r.starts_with("stopped")), "{end}");
    let report = fs::read_to_string(batch.join("report.md")).expect("the batch's report");
    assert!(report.contains("interrupted"), "{report}");
    let batch_id = batch.file_name().expect("name").to_string_lossy().to_string();
    let digest = fs::read_to_string(test.capture.path().join("digest")).unwrap_or_default();
    let runs = started(batch).len();
    let summary = match not_begun.len() {
        0 => format!("{batch_id} interrupted: batch {batch_id}: {runs} runs: {runs} interrupted"),
        n => format!("{batch_id} interrupted: batch {batch_id}: {} runs: {runs} interrupted, {n} not started", runs + n),
    };
    assert!(digest.lines().any(|line| line == summary), "`{summary}` in the digests:\n{digest}");
}

/// Wait for `child`, killing it past `within`.
fn wait_child(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if started.elapsed() > within {
            let _ = child.kill();
            panic!("night did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn night_stop_and_sigterm_end_every_run_of_a_batch_cleanly() {
    let test = Test::new();
    let marker = support::run::marker("batch-stop");
    long_runbooks(&test, &marker);

    // Detached, then `night stop BATCH`: the two running runs end cleanly, the third never starts.
    let detached = test.night(&["run", "s0.night", "s1.night", "s2.night", "--jobs", "2", "--notify-batch", "command", "sh digest.sh", "--detach"]);
    assert_eq!(detached.code, Some(0), "{}", detached.output());
    let batch = batches(&test).pop().expect("a batch folder");
    let batch_id = batch.file_name().expect("name").to_string_lossy().to_string();
    wait_for_work(&test, &batch, 2);
    let stopped = test.night(&["stop", &batch_id]);
    assert_eq!(stopped.code, Some(0), "{}", stopped.output());
    assert!(stopped.stdout.contains(&format!("night: batch {batch_id} stopped")), "{}", stopped.output());
    assert_stopped_cleanly(&test, &batch, &marker, &[2]);
    let again = test.night(&["stop", &batch_id]);
    assert_eq!(again.code, Some(2), "nothing left to stop: {}", again.output());

    // In the foreground, SIGTERM to the batch supervisor does the same, and night exits 130.
    let out = fs::File::create(test.capture.path().join("batch.out")).expect("output file");
    let mut child = test.command(&["run", "s0.night", "s1.night", "--jobs", "2", "--notify-batch", "command", "sh digest.sh"]).stdout(out).spawn().expect("start night");
    wait_until(Duration::from_secs(30), "a second batch", || batches(&test).len() == 2);
    let batch = batches(&test).pop().expect("the second batch");
    wait_for_work(&test, &batch, 2);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid")), nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = wait_child(&mut child, Duration::from_secs(60));
    let output = fs::read_to_string(test.capture.path().join("batch.out")).unwrap_or_default();
    assert_eq!(status.code(), Some(130), "{output}");
    assert_stopped_cleanly(&test, &batch, &marker, &[]);
}

/// Each run of a batch works in a worktree of its own, which holds only what is committed: a
/// check given by a path git ignores is refused before anything starts, though alone (in
/// place) the same runbook would run.
#[test]
fn a_check_not_in_the_last_commit_refuses_the_batch() {
    let test = Test::new();
    test.write(".gitignore", ".venv/\n");
    test.script(".venv/bin/lint", "#!/bin/sh\nexit 1\n");
    let venv = Runbook { checks: vec!["run \".venv/bin/lint src\"".into()], ..runbook("venv", "venv.sh", &["src/v"]) };
    add_runbook(&test, "venv.night", "venv.sh", "echo agent: done", &venv);
    add_runbook(&test, "other.night", "other.sh", "echo agent: done", &runbook("other", "other.sh", &["src/o"]));
    test.commit_all("runbooks");
    let alone = test.night(&["check", "venv.night"]);
    assert!(!alone.stdout.contains("not in the run's worktree"), "alone it runs in place: {}", alone.output());
    let checked = test.night(&["check", "--batch", "venv.night", "other.night"]);
    assert_eq!(checked.code, Some(1), "{}", checked.output());
    assert!(checked.stdout.contains("command `.venv/bin/lint` is not in the run's worktree"), "{}", checked.output());
    let refused = test.night(&["run", "venv.night", "other.night"]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(refused.stdout.contains("command `.venv/bin/lint` is not in the run's worktree"), "{}", refused.output());
    assert!(!test.path().join(".night/batches").exists() && !test.path().join(".night/runs").exists(), "a refused batch leaves nothing");
}
