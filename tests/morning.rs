//! The morning: `night report` (md, json, html), `status`, `log`, `list`, `stop`, `resume`
//! and `run --detach`, end to end with the real binary in temporary repositories.

mod support;

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::run::{marker, processes_with, read_events, wait_until, Runbook, Test};

/// These tests are about the report, not the OS sandbox: without it the agents' writes happen
/// on every machine alike, and the snapshots do not depend on the kernel or on running as root
/// (tests/sandbox_run.rs covers the sandbox's lines in the report).
fn runbook() -> Runbook {
    Runbook::default().permission("sandbox off")
}

/// An agent that makes the state good and commits.
const GOOD: &str = "echo good > src/state\ngit commit -qam 'make the state good'\necho agent: done\n";

/// Run `night ARGS` in the repository to its end.
fn night(test: &Test, args: &[&str]) -> Output {
    let mut command = test.command(args);
    let child = command.spawn().expect("start night");
    child.wait_with_output().expect("night output")
}

fn text(output: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", output.status.code(), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A report with what differs from run to run (times, ids, hashes, paths, the machine's
/// keep-awake tool) replaced by placeholders.
fn normalised(test: &Test, report: &str) -> String {
    let filters: Vec<(String, &str)> = vec![
        (regex::escape(&test.path().display().to_string()), "[REPO]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z".into(), "[AT]"),
        (r"\d{2}:\d{2}:\d{2}".into(), "[TIME]"),
        (r"\d{8}-\d{6}".into(), "[STAMP]"),
        (r"\d{8}-\d{4}".into(), "[DATE]"),
        (r"\b[0-9a-f]{7,40}\b".into(), "[HASH]"),
        (r"after \d+(ms|[hms])(\d+[ms])*".into(), "after [DUR]"),
        (r"\| duration \| [0-9hms]+,".into(), "| duration | [DUR],"),
        (r"\| kept awake \|[^\n]*".into(), "| kept awake | [MACHINE] |"),
        // The credential stores and variables of the machine that runs the tests.
        (r"\(`deny irreversible`\): [^\n]*".into(), "(`deny irreversible`): [MACHINE]."),
    ];
    let mut out = report.to_string();
    for (pattern, with) in filters {
        out = regex::Regex::new(&pattern).expect("filter").replace_all(&out, with).into_owned();
    }
    out
}

/// The newest run folder's journal events.
fn events(test: &Test) -> Vec<Value> {
    test.run_dir().map(|dir| read_events(&dir.join("journal.jsonl"))).unwrap_or_default()
}

fn named(events: &[Value], name: &str) -> Vec<Value> {
    events.iter().filter(|e| e["event"] == name).cloned().collect()
}

fn pid_alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat.rfind(')').is_some_and(|i| !stat[i + 1..].trim_start().starts_with('Z')))
}

#[test]
fn report_of_a_success() {
    let test = Test::new();
    test.setup(GOOD, &runbook());
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    for file in ["report.md", "report.json"] {
        assert!(ran.dir().join(file).is_file(), "{file} is written at the end of every run");
    }
    assert!(!ran.dir().join("report.html").exists(), "report.html only where asked");
    let report = ran.report();
    // The answer is on the first screen: 24 lines.
    let first_screen: Vec<&str> = report.lines().take(24).collect();
    // In place, the checkout is on the run branch at the end: no `git switch` to it.
    assert!(first_screen.iter().any(|l| l.starts_with("git log --stat ") && l.contains("..night/t/")), "{report}");
    assert!(first_screen.iter().any(|l| l.starts_with("| changes | 1 commit")), "{report}");
    insta::assert_snapshot!("report_success", normalised(&test, &report));
    let printed = night(&test, &["report"]);
    assert_eq!(stdout(&printed), report, "`night report` prints the newest run's report.md");
}

#[test]
fn report_of_a_stuck_run() {
    let test = Test::new();
    test.setup("echo agent: trying\n", &runbook().limits(&["timeout 60s", "attempts 5", "stuck 2", "idle 60s"]));
    let ran = test.run();
    assert_eq!(ran.outcome(), "stuck", "{}", ran.output());
    insta::assert_snapshot!("report_stuck", normalised(&test, &ran.report()));
}

#[test]
fn report_of_a_rolled_back_run() {
    let test = Test::new();
    test.three_tests();
    let agent = "echo broken > src/a\necho broken > src/b\ngit commit -qam 'break things'\n";
    test.setup(agent, &runbook().rollback("when failing > baseline; to start; then stop"));
    let ran = test.run();
    assert_eq!(ran.outcome(), "rolled-back", "{}", ran.output());
    let report = ran.report();
    let kept = format!("refs/night/{}/attempt-1", ran.run_id());
    let top: String = report.lines().take(24).collect::<Vec<_>>().join("\n");
    assert!(top.contains(&format!("work kept at `{kept}`")), "where the work is kept is on the first screen:\n{report}");
    insta::assert_snapshot!("report_rolled_back", normalised(&test, &report));
}

/// A run folder written by hand: a command agent reports no usage, so a budget run's journal
/// is built from the journal's own schema (the report reads nothing else).
fn budget_journal(test: &Test) -> std::path::PathBuf {
    let id = "budget-20250101-230000";
    let dir = test.path().join(".night/runs").join(id);
    fs::create_dir_all(&dir).expect("run folder");
    let check = |passed: bool, failed: u64| {
        serde_json::json!({"index":0,"statement":"tests \"cargo test\" format cargo","passed":passed,"tests":{"passed":10,"failed":failed,"skipped":0},"count":null,"exit_code":if passed {0} else {101},"timed_out":false,"reason":if passed {Value::Null} else {Value::from(format!("{failed} tests failed"))},"duration_ms":5000,"output_tail":""})
    };
    let lines = vec![
        serde_json::json!({"v":1,"at":"2025-01-01T23:00:00Z","event":"run-start","schema":1,"night_version":"0.1.0","run_id":id,"name":"budget","runbook":"/repo/budget.night","repo":"/repo","work_dir":"/repo","branch":"night/budget/20250101-2300","original_branch":"main","start_commit":"0123456789abcdef0123456789abcdef01234567","worktree":false,"agent":"claude","agent_command":null,"limits":[["timeout","8h"],["attempts","5"],["tokens","200000"],["cost","$5.00"]],"checks":["tests \"cargo test\" format cargo"],"waivers":[["no-rollback","the branch is thrown away if it goes wrong"]],"pid":4242}),
        serde_json::json!({"v":1,"at":"2025-01-01T23:00:05Z","event":"baseline","checks":[check(false, 3)]}),
        serde_json::json!({"v":1,"at":"2025-01-01T23:00:05Z","event":"attempt-start","attempt":1,"of":5}),
        serde_json::json!({"v":1,"at":"2025-01-01T23:00:06Z","event":"session-start","attempt":1,"session":1,"pid":5000,"prompt_file":"p","prompt_kind":"task"}),
        serde_json::json!({"v":1,"at":"2025-01-01T23:40:00Z","event":"usage","attempt":1,"tokens":120000,"cost_usd":3.1,"total_tokens":120000,"total_cost_usd":3.1}),
        serde_json::json!({"v":1,"at":"2025-01-01T23:50:00Z","event":"commit","attempt":1,"id":"89abcdef0123456789abcdef0123456789abcdef","short":"89abcde","summary":"fix the parser","files":2,"insertions":40,"deletions":12}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:00Z","event":"usage","attempt":1,"tokens":90000,"cost_usd":2.0,"total_tokens":210000,"total_cost_usd":5.1}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:00Z","event":"limit","limit":"tokens","value":"200000","attempt":1,"ends":"run"}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:02Z","event":"session-end","attempt":1,"session":1,"reason":"tokens","exit_code":null,"signal":15,"duration_ms":5396000,"output_bytes":123456,"killed":false}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:02Z","event":"attempt-kept","attempt":1,"ref":format!("refs/night/{id}/attempt-1"),"commit":"fedcba9876543210fedcba9876543210fedcba98"}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:40Z","event":"checks","attempt":1,"passed":false,"checks":[check(false, 1)],"signature":"abc"}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:40Z","event":"attempt-end","attempt":1,"passed":false,"reason":"tokens","signature":"tokens","head":"89abcdef0123456789abcdef0123456789abcdef"}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:41Z","event":"run-end","outcome":"budget","reason":"the token budget `tokens 200000` was used up","exit_code":1,"attempts":1,"head":"89abcdef0123456789abcdef0123456789abcdef","commits":[{"attempt":1,"id":"89abcdef0123456789abcdef0123456789abcdef","short":"89abcde","summary":"fix the parser","files":2,"insertions":40,"deletions":12}],"diffstat":{"files":2,"insertions":40,"deletions":12,"per_file":[["src/parser.rs",38,12],["tests/parser.rs",2,0]]},"duration_ms":5441000,"tokens":210000,"cost_usd":5.1}),
        serde_json::json!({"v":1,"at":"2025-01-02T00:30:42Z","event":"notification","notifier":"ntfy (night-alerts)","on":"failure","delivered":false,"tries":3,"error":"connection refused"}),
    ];
    let journal: String = lines.iter().map(|line| format!("{line}\n")).collect();
    fs::write(dir.join("journal.jsonl"), journal).expect("journal");
    let audit = [
        r#"{"time":"2025-01-01T23:10:00Z","event":"PreToolUse","tool":"Edit","path":"src/parser.rs","decision":"allowed"}"#,
        r#"{"time":"2025-01-01T23:20:00Z","event":"PreToolUse","tool":"Bash","command":"git push --force origin main","decision":"denied","reason":"`deny irreversible`: force-pushes rewrite shared history"}"#,
    ];
    fs::write(dir.join("audit.jsonl"), audit.join("\n") + "\n").expect("audit");
    dir
}

#[test]
fn report_of_a_budget_run_with_denied_commands() {
    let test = Test::new();
    let dir = budget_journal(&test);
    let output = night(&test, &["report", "budget"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report = stdout(&output);
    assert!(report.contains("| tokens and cost | 210000 of 200000 tokens, $5.10 of $5.00 |"), "{report}");
    assert!(report.contains("the hook denied 1 of 2 audited calls"), "{report}");
    assert!(report.contains("git push --force origin main"), "{report}");
    assert!(report.contains("`failure` to ntfy (night-alerts): FAILED after 3 tries: connection refused"), "{report}");
    insta::assert_snapshot!("report_budget", report);
    assert_eq!(fs::read_to_string(dir.join("report.md")).expect("written"), report, "the run folder's copy is refreshed");

    let json = night(&test, &["report", "budget", "--format", "json"]);
    let value: Value = serde_json::from_slice(&json.stdout).expect("report.json is JSON");
    assert_eq!(value["version"], 1);
    assert_eq!(value["state"], "finished");
    assert_eq!(value["outcome"], "budget");
    assert_eq!(value["tokens"], 210_000);
    assert_eq!(value["denied"][0]["what"], "git push --force origin main");
    assert_eq!(value["attempts"][0]["limits"][0], "`tokens 200000`");
    assert_eq!(value["next"][0]["command"], "git switch night/budget/20250101-2300");
}

/// Start `night run` with an agent that prints and then sleeps (marked), and wait until the
/// agent runs; the supervisor's child.
fn start_sleeping_run(test: &mut Test, mark: &str, extra_limits: &[&str]) -> std::process::Child {
    let agent = format!(
        r#"if [ "$NIGHT_ATTEMPT" = 1 ] && [ "$NIGHT_SESSION" = 1 ]; then
  echo worse > src/state; git commit -qam "attempt 1: worse"
  echo agent: first try
elif [ "$NIGHT_SESSION" = 1 ]; then
  echo agent: working on attempt $NIGHT_ATTEMPT
  sh -c 'sleep 60' {mark} &
  wait
else
  echo agent: resumed in session $NIGHT_SESSION
  echo good > src/state; git commit -qam "finish after the resume"
fi
"#
    );
    let mut limits = vec!["timeout 120s", "attempts 3", "stuck 3", "idle 100s"];
    limits.extend_from_slice(extra_limits);
    test.env("NIGHT_HEARTBEAT_MS", "200");
    test.setup(&agent, &runbook().limits(&limits));
    let child = test.spawn();
    wait_until(Duration::from_secs(30), "the second attempt's agent", || named(&events(test), "agent-process").iter().any(|e| e["attempt"] == 2));
    wait_until(Duration::from_secs(10), "the marked sleeper", || !processes_with(mark).is_empty());
    child
}

#[test]
fn a_killed_supervisor_is_resumed_and_the_run_completes_with_the_right_totals() {
    let mut test = Test::new();
    let mark = marker("resume");
    let mut child = start_sleeping_run(&mut test, &mark, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    let before_kill = named(&events(&test), "heartbeat").last().map_or(0, |h| h["elapsed_ms"].as_u64().unwrap_or(0));
    child.kill().expect("SIGKILL the supervisor");
    let _ = child.wait();
    assert!(!processes_with(&mark).is_empty(), "the dead supervisor's agent is still running");

    let dir = test.run_dir().expect("run folder");
    let id = dir.file_name().expect("id").to_string_lossy().into_owned();
    let status = night(&test, &["status"]);
    assert!(stdout(&status).contains(&format!("{id}: crashed")), "{}", text(&status));
    assert!(stdout(&status).contains(&format!("night resume {id}")), "{}", text(&status));
    let listed = night(&test, &["list"]);
    assert!(stdout(&listed).lines().any(|l| l.starts_with(&id) && l.contains("crashed")), "{}", text(&listed));
    let started = &id[id.len() - 15..id.len() - 2];
    let started = format!("{}-{}-{} {}:{}", &started[..4], &started[4..6], &started[6..8], &started[9..11], &started[11..13]);
    assert!(stdout(&listed).starts_with("RUN") && stdout(&listed).lines().any(|l| l.starts_with(&id) && l.contains(&started)), "the start time ({started}):\n{}", text(&listed));
    let report = night(&test, &["report"]);
    let crashed = normalised(&test, &stdout(&report));
    insta::assert_snapshot!("report_crashed", crashed);

    let resumed = night(&test, &["resume", &id[..id.len() - 3]]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert!(processes_with(&mark).is_empty(), "the leftover agent was ended: {:?}", processes_with(&mark));
    let events = events(&test);
    let resume = &named(&events, "resume")[0];
    assert_eq!(resume["attempts"], 2);
    assert_eq!(resume["continues_attempt"], 2);
    assert!(resume["leftover"].as_str().is_some_and(|l| l.contains("was ended")), "{resume}");
    let attempts: Vec<u64> = named(&events, "attempt-start").iter().filter_map(|e| e["attempt"].as_u64()).collect();
    assert_eq!(attempts, [1, 2], "attempt numbers continue: attempt 2 goes on, no attempt is repeated");
    let sessions: Vec<(u64, u64)> = named(&events, "session-start").iter().map(|e| (e["attempt"].as_u64().unwrap_or(0), e["session"].as_u64().unwrap_or(0))).collect();
    assert_eq!(sessions, [(1, 1), (2, 1), (2, 2)]);
    let dead = named(&events, "session-end").into_iter().find(|e| e["attempt"] == 2 && e["session"] == 1).expect("the dead session is closed");
    assert_eq!(dead["reason"], "supervisor-died");
    let end = &named(&events, "run-end")[0];
    assert_eq!(end["outcome"], "success");
    assert_eq!(end["attempts"], 2);
    assert_eq!(end["commits"].as_array().map(Vec::len), Some(2));
    let duration = end["duration_ms"].as_u64().unwrap_or(0);
    assert!(duration >= before_kill.max(1000), "elapsed time counts on across the resume: {duration} ms, {before_kill} ms before the kill");
    let report = fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("resumed once"), "{report}");
    assert!(report.starts_with(&format!("# night run `{id}`: success")), "{report}");
}

#[test]
fn stop_from_another_process_interrupts_and_ends_the_agent() {
    let mut test = Test::new();
    let mark = marker("stop");
    let child = start_sleeping_run(&mut test, &mark, &[]);
    let stopped = night(&test, &["stop"]);
    assert_eq!(stopped.status.code(), Some(0), "{}", text(&stopped));
    assert!(stdout(&stopped).contains("ended: interrupted"), "{}", text(&stopped));
    let ran = test.finish(child);
    assert_eq!(ran.code, Some(130), "{}", ran.output());
    assert_eq!(ran.outcome(), "interrupted");
    assert_eq!(ran.events_named("checks").len(), 2, "the checks ran after the stop");
    assert!(processes_with(&mark).is_empty(), "the agent is gone: {:?}", processes_with(&mark));
    let again = night(&test, &["stop"]);
    assert_eq!(again.status.code(), Some(2), "nothing left to stop: {}", text(&again));
}

#[test]
fn a_second_supervisor_is_refused() {
    let mut test = Test::new();
    let mark = marker("twice");
    let child = start_sleeping_run(&mut test, &mark, &[]);
    let id = test.run_dir().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).expect("id");
    test.write("other.night", &Runbook { name: "other".into(), ..runbook() }.render());
    let second = night(&test, &["run", "other.night"]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains(&format!("run `{id}` is in progress")), "{}", text(&second));
    let resumed = night(&test, &["resume", &id]);
    assert_eq!(resumed.status.code(), Some(2), "{}", text(&resumed));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("a supervisor is already running this run"), "{}", text(&resumed));
    let status = night(&test, &["status"]);
    assert!(stdout(&status).contains("running (supervisor pid"), "{}", text(&status));
    assert!(stdout(&status).contains("the agent is working"), "{}", text(&status));
    fs::remove_file(test.path().join("other.night")).expect("tidy");
    let stopped = night(&test, &["stop", &id]);
    assert_eq!(stopped.status.code(), Some(0), "{}", text(&stopped));
    let _ = test.finish(child);
}

#[test]
fn detach_survives_its_shell_and_is_followed_to_the_end() {
    let test = Test::new();
    test.setup("echo agent: detached and working\nsleep 2\necho good > src/state\ngit commit -qam 'good, detached'\n", &runbook());
    let script = format!("'{}' run --detach t.night; exit", env!("CARGO_BIN_EXE_night"));
    let started = Instant::now();
    let shell = Command::new("sh").arg("-c").arg(&script).current_dir(test.path()).env("NO_COLOR", "1").stdin(Stdio::null()).output().expect("sh");
    assert!(started.elapsed() < Duration::from_secs(10), "--detach returns at once");
    assert_eq!(shell.status.code(), Some(0), "{}", text(&shell));
    let said = stdout(&shell);
    let id = said.split_whitespace().nth(2).expect("run id").to_string();
    assert!(said.contains(&format!("night log -f {id}")), "{said}");
    let dir = test.path().join(".night/runs").join(&id);
    let pid = fs::read_to_string(dir.join("supervisor.lock")).ok().and_then(|p| p.trim().parse::<u32>().ok()).expect("pid");
    let session = |pid: u32| fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| s.rfind(')').and_then(|i| s[i + 1..].split_whitespace().nth(3).map(str::to_string)));
    if pid_alive(pid) {
        assert_eq!(session(pid), Some(pid.to_string()), "the supervisor leads a session of its own");
    }

    let followed = night(&test, &["log", "-f", &id]);
    assert!(stdout(&followed).contains("agent: detached and working"), "{}", text(&followed));
    assert!(stdout(&followed).contains("──── night: attempt 1, session 1 (task prompt)"), "where each attempt begins:\n{}", text(&followed));
    wait_until(Duration::from_secs(60), "the detached run's end", || stdout(&night(&test, &["status", &id])).contains(&format!("{id}: success")));
    assert!(dir.join("report.md").is_file() && dir.join("report.json").is_file());
    assert!(fs::read_to_string(dir.join("night.out")).expect("night.out").contains("night: success"), "the supervisor's output is in the run folder");
}

#[test]
fn the_html_report_is_well_formed_with_the_night_on_a_timeline() {
    let test = Test::new();
    let agent = r#"if [ "$NIGHT_ATTEMPT" = 1 ]; then echo worse > src/state; else echo good > src/state; fi
git commit -qam "attempt $NIGHT_ATTEMPT"
"#;
    test.setup(agent, &runbook());
    let main = test.git(&["rev-parse", "main"]);
    let child = test.command(&["run", "t.night", "--html"]).spawn().expect("night");
    let output = child.wait_with_output().expect("output");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(test.git(&["rev-parse", "main"]), main);
    let dir = test.run_dir().expect("run folder");
    let html = fs::read_to_string(dir.join("report.html")).expect("--html writes report.html");
    assert!(!html.contains("<script") && !html.contains(" src=") && !html.contains("<link"), "self-contained: no script, no external asset");
    let document = roxmltree::Document::parse_with_options(&html, roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() }).expect("report.html is well-formed (XHTML-compatible)");
    let with_class = |tag: &str, class: &str| {
        document.descendants().filter(|n| n.tag_name().name() == tag && n.attribute("class").is_some_and(|c| c.split(' ').any(|w| w == class))).collect::<Vec<_>>()
    };
    assert_eq!(with_class("svg", "timeline").len(), 1);
    let attempts = with_class("rect", "attempt");
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].attribute("class").is_some_and(|c| c.contains("failed")));
    assert!(attempts[1].attribute("class").is_some_and(|c| c.contains("passed")));
    assert_eq!(with_class("rect", "session").len(), 2);
    assert_eq!(with_class("circle", "commit").len(), 2);
    let checks = with_class("polygon", "checks");
    assert_eq!(checks.len(), 2, "one diamond per attempt's checks");
    let title = |node: &roxmltree::Node| node.children().find(|c| c.tag_name().name() == "title").and_then(|t| t.text()).unwrap_or_default().to_string();
    assert!(title(&checks[0]).contains("0/1 hold") && title(&checks[0]).contains("(baseline 1)"), "checks against the baseline: {}", title(&checks[0]));
    assert_eq!(with_class("polygon", "baseline").len(), 1);
    assert!(!with_class("rect", "notification").is_empty(), "the end notification is on the axis");
    assert!(!with_class("circle", "end").is_empty());
    // What report.md says beyond the summary: the sandbox, the details, and a legend that
    // says what the session bars are.
    let text_of = |tag: &str| document.descendants().filter(|n| n.tag_name().name() == tag).map(|n| n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect::<String>()).collect::<Vec<_>>();
    let headings = text_of("h2");
    assert!(headings.iter().any(|h| h == "Details") && headings.iter().any(|h| h.starts_with("Permission violations")), "{headings:?}");
    let paragraphs = text_of("p").join("\n");
    assert!(paragraphs.contains("Sandbox (sandbox "), "the sandbox's layers, as in report.md:\n{paragraphs}");
    assert!(paragraphs.contains("Sessions: one bar per agent session") && paragraphs.contains("dark blue: the agent exited by itself"), "{paragraphs}");
    let details = text_of("th").join(" ");
    assert!(details.contains("runbook") && details.contains("limits") && details.contains("started"), "{details}");
    // `night report --format html` writes the same file for any run.
    fs::remove_file(dir.join("report.html")).expect("remove");
    let written = night(&test, &["report", "--format", "html"]);
    assert_eq!(stdout(&written).trim(), dir.join("report.html").display().to_string(), "{}", text(&written));
    assert!(dir.join("report.html").is_file());
}

#[test]
fn limits_and_violations_are_on_the_timeline() {
    let test = Test::new();
    test.setup("echo agent: trying\necho x > README.md\n", &runbook().limits(&["timeout 60s", "attempts 5", "stuck 2", "idle 60s"]));
    let ran = test.run();
    assert_eq!(ran.outcome(), "stuck", "{}", ran.output());
    let written = night(&test, &["report", "--format", "html", "--output", "-"]);
    let html = stdout(&written);
    let document = roxmltree::Document::parse_with_options(&html, roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() }).expect("well-formed");
    let count = |tag: &str, class: &str| document.descendants().filter(|n| n.tag_name().name() == tag && n.attribute("class").is_some_and(|c| c.split(' ').any(|w| w == class))).count();
    assert_eq!(count("polygon", "limit"), 1, "the stuck limit");
    assert_eq!(count("circle", "violation"), 2, "README.md written twice");
}

#[test]
fn a_torn_last_journal_line_is_tolerated_by_every_reader() {
    let test = Test::new();
    test.setup(GOOD, &runbook());
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let journal = ran.dir().join("journal.jsonl");
    let text_before = fs::read_to_string(&journal).expect("journal");
    // Cut the journal inside the `run-end` line, inside a multi-byte character: a supervisor
    // killed mid-write.
    let end_line = text_before.lines().position(|l| l.contains("\"run-end\"")).expect("run-end");
    let mut kept: Vec<u8> = text_before.lines().take(end_line).flat_map(|l| format!("{l}\n").into_bytes()).collect();
    kept.extend_from_slice(b"{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"run-end\",\"reason\":\"caf\xc3");
    fs::write(&journal, &kept).expect("tear");
    for args in [&["status"][..], &["list"], &["report"], &["report", "--format", "json"], &["report", "--format", "html"]] {
        let output = night(&test, args);
        assert_eq!(output.status.code(), Some(0), "night {args:?}: {}", text(&output));
        assert!(stdout(&output).contains("crashed") || args == ["report", "--format", "html"], "night {args:?}: {}", text(&output));
    }
    let report = fs::read_to_string(ran.dir().join("report.md")).expect("report");
    assert!(report.contains("the supervisor stopped without finishing"), "{report}");
    assert!(Path::new(&ran.dir().join("report.html")).is_file());
}
