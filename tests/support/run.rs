//! `night run` scenarios: a fresh git repository with a first commit, a runbook, a scripted
//! stand-in agent, the real `night` binary, and readers for the run folder.

#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A runbook with test-friendly defaults; each field is one statement's text.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub prompt: String,
    pub agent: String,
    pub task_extra: Vec<String>,
    pub checks: Vec<String>,
    pub write: Vec<String>,
    pub permissions_extra: Vec<String>,
    pub limits: Vec<String>,
    pub rollback: Option<String>,
    pub notify: Vec<String>,
    pub extra: Vec<String>,
}

impl Default for Runbook {
    fn default() -> Self {
        Self {
            name: "t".into(),
            prompt: "Make the state good and commit.".into(),
            agent: "sh agent.sh".into(),
            task_extra: Vec::new(),
            checks: vec!["tests \"sh test.sh\" format tap within 30s".into()],
            write: vec!["src/**".into()],
            permissions_extra: Vec::new(),
            limits: vec!["timeout 60s".into(), "attempts 3".into(), "stuck 3".into(), "idle 60s".into()],
            rollback: None,
            notify: vec!["command \"true\" on end".into()],
            extra: Vec::new(),
        }
    }
}

impl Runbook {
    /// Replace the limits.
    pub fn limits(mut self, limits: &[&str]) -> Self {
        self.limits = limits.iter().map(|s| (*s).to_string()).collect();
        self
    }

    /// Set `rollback { … }` (statements separated by `;`).
    pub fn rollback(mut self, statements: &str) -> Self {
        self.rollback = Some(statements.to_string());
        self
    }

    /// Add a statement to `permissions`.
    pub fn permission(mut self, statement: &str) -> Self {
        self.permissions_extra.push(statement.to_string());
        self
    }

    /// Add a statement to `task`.
    pub fn task(mut self, statement: &str) -> Self {
        self.task_extra.push(statement.to_string());
        self
    }

    /// Add a top-level statement (e.g. `waive`).
    pub fn top(mut self, statement: &str) -> Self {
        self.extra.push(statement.to_string());
        self
    }

    /// Add a notifier.
    pub fn notifier(mut self, statement: &str) -> Self {
        self.notify.push(statement.to_string());
        self
    }

    /// Replace the `write` globs.
    pub fn write(mut self, globs: &[&str]) -> Self {
        self.write = globs.iter().map(|s| (*s).to_string()).collect();
        self
    }

    /// The runbook's text.
    pub fn render(&self) -> String {
        let quoted = |items: &[String]| items.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" ");
        let mut out = format!("name \"{}\"\n\ntask {{\n  prompt \"{}\"\n  agent command \"{}\"\n", self.name, self.prompt, self.agent.replace('"', "\\\""));
        for line in &self.task_extra {
            out.push_str(&format!("  {line}\n"));
        }
        out.push_str("}\n\nsuccess {\n");
        for check in &self.checks {
            out.push_str(&format!("  {check}\n"));
        }
        out.push_str(&format!("}}\n\npermissions {{\n  write {}\n  deny irreversible\n", quoted(&self.write)));
        for line in &self.permissions_extra {
            out.push_str(&format!("  {line}\n"));
        }
        out.push_str("}\n\nlimits {\n");
        for limit in &self.limits {
            out.push_str(&format!("  {limit}\n"));
        }
        out.push_str("}\n");
        if let Some(rollback) = &self.rollback {
            out.push_str(&format!("\nrollback {{\n  {rollback}\n}}\n"));
        }
        out.push_str("\nnotify {\n");
        for notifier in &self.notify {
            out.push_str(&format!("  {notifier}\n"));
        }
        out.push_str("}\n");
        for line in &self.extra {
            out.push_str(&format!("{line}\n"));
        }
        out
    }
}

/// A temporary git repository to run night in.
pub struct Test {
    dir: tempfile::TempDir,
    /// Outside the repository: where agents save what they saw.
    pub capture: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// The longest the harness waits for night before killing it.
    pub deadline: Duration,
    /// The user's branch tip when night was started: every run must leave it there.
    main_tip: std::cell::RefCell<Option<String>>,
}

/// What a run left.
pub struct Ran {
    /// Exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The run folder, when one was made.
    pub run_dir: Option<PathBuf>,
}

/// The repository's test script: TAP, one test per line of `expected`, each comparing a file
/// under `src/` with its expected content.
pub fn tap_script(expected: &[(&str, &str)]) -> String {
    let mut script = String::from("#!/bin/sh\necho 'TAP version 13'\nn=0; failed=0\n");
    for (file, want) in expected {
        script.push_str(&format!(
            "n=$((n+1)); got=$(cat src/{file} 2>/dev/null); if [ \"$got\" = \"{want}\" ]; then echo \"ok $n - {file} is {want}\"; else echo \"not ok $n - {file} is {want}\"; echo \"#   got: '$got'\"; failed=$((failed+1)); fi\n"
        ));
    }
    script.push_str("echo \"1..$n\"\n[ \"$failed\" -eq 0 ]\n");
    script
}

impl Test {
    /// A repository on branch `main` with one commit: `README.md` and `src/state` = `bad`,
    /// and a test script checking that `src/state` is `good`.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("night-run-").tempdir().expect("temp dir");
        let capture = tempfile::Builder::new().prefix("night-capture-").tempdir().expect("temp dir");
        let test = Self { dir, capture, env: Vec::new(), deadline: Duration::from_secs(90), main_tip: std::cell::RefCell::new(None) };
        test.git(&["init", "-q", "-b", "main"]);
        test.git(&["config", "user.name", "night test"]);
        test.git(&["config", "user.email", "test@night.invalid"]);
        test.git(&["config", "commit.gpgsign", "false"]);
        test.write("README.md", "a test repository\n");
        test.write("src/state", "bad\n");
        test.script("test.sh", &tap_script(&[("state", "good")]));
        test.commit_all("first commit");
        test
    }

    /// Three tests: `src/a` and `src/b` good, `src/c` bad, and `test.sh` wanting all three
    /// good (one failing at the baseline), committed: breaking a and b regresses past it.
    pub fn three_tests(&self) {
        self.write("src/a", "good\n");
        self.write("src/b", "good\n");
        self.write("src/c", "bad\n");
        self.script("test.sh", &tap_script(&[("a", "good"), ("b", "good"), ("c", "good")]));
        self.commit_all("three tests");
    }

    /// The repository.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (folders created).
    pub fn write(&self, relative: &str, content: &str) -> &Self {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&path, content).expect("write");
        self
    }

    /// Write an executable script.
    pub fn script(&self, relative: &str, content: &str) -> &Self {
        self.write(relative, content);
        let path = self.path().join(relative);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// Write the agent script (`agent.sh`) and the runbook (`t.night`), and commit both.
    pub fn setup(&self, agent: &str, runbook: &Runbook) -> &Self {
        self.script("agent.sh", &format!("#!/bin/sh\nCAPTURE='{}'\n{agent}", self.capture.path().display()));
        self.write("t.night", &runbook.render());
        self.commit_all("agent and runbook");
        self
    }

    /// Set an environment variable for night.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Run git in the repository; its standard output, trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git").args(args).current_dir(self.path()).output().expect("git");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Run git; `None` when it fails.
    pub fn try_git(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("git").args(args).current_dir(self.path()).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Stage and commit everything.
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// The command that runs `night ARGS` here.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_night"));
        command.args(args).current_dir(self.path()).env("NIGHT_GRACE_MS", "300").env("NO_COLOR", "1");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    /// Start `night run t.night` without waiting.
    pub fn spawn(&self) -> Child {
        self.main_tip.replace(self.try_git(&["rev-parse", "main"]));
        self.command(&["run", "t.night"]).spawn().expect("start night")
    }

    /// Run `night run FILE` to its end (killed past the deadline).
    pub fn run_file(&self, file: &str) -> Ran {
        self.main_tip.replace(self.try_git(&["rev-parse", "main"]));
        let child = self.command(&["run", file]).spawn().expect("start night");
        self.finish(child)
    }

    /// Run `night run t.night` to its end.
    pub fn run(&self) -> Ran {
        self.run_file("t.night")
    }

    /// Wait for a started night, killing it past the deadline.
    pub fn finish(&self, mut child: Child) -> Ran {
        let started = Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if started.elapsed() > self.deadline {
                let _ = child.kill();
                let output = child.wait_with_output().expect("output");
                panic!(
                    "night did not finish within {:?}\nstdout:\n{}\nstderr:\n{}",
                    self.deadline,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("output");
        let tip = self.main_tip.borrow().clone();
        assert_eq!(self.try_git(&["rev-parse", "main"]), tip, "the user's branch `main` moved during the run");
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            run_dir: self.run_dir(),
        }
    }

    /// The newest run folder, if any.
    pub fn run_dir(&self) -> Option<PathBuf> {
        let runs = self.path().join(".night/runs");
        let mut dirs: Vec<PathBuf> = fs::read_dir(runs).ok()?.flatten().map(|e| e.path()).collect();
        dirs.sort();
        dirs.pop()
    }

    /// Run `night ARGS` here to its end (killed past the deadline).
    pub fn night(&self, args: &[&str]) -> Ran {
        if self.main_tip.borrow().is_none() {
            self.main_tip.replace(self.try_git(&["rev-parse", "main"]));
        }
        let child = self.command(args).spawn().expect("start night");
        self.finish(child)
    }

    /// Wait until the newest run's journal has an event named `name`.
    pub fn wait_for_event(&self, name: &str, within: Duration) -> Value {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(dir) = self.run_dir() {
                if let Some(event) = read_events(&dir.join("journal.jsonl")).into_iter().find(|e| e["event"] == name) {
                    return event;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{name}` event within {within:?}");
    }
}

/// Wait until `done` holds, polling; panic with `what` past `within`.
pub fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every event of a journal.
pub fn read_events(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("journal line is not JSON ({e}): {l}")))
        .collect()
}

impl Ran {
    /// The run folder, which must exist.
    pub fn dir(&self) -> &Path {
        self.run_dir.as_deref().unwrap_or_else(|| panic!("no run folder\n{}", self.output()))
    }

    /// Both output streams, for assertion messages.
    pub fn output(&self) -> String {
        format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr)
    }

    /// Every journal event.
    pub fn events(&self) -> Vec<Value> {
        read_events(&self.dir().join("journal.jsonl"))
    }

    /// The events named `name`.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == name).collect()
    }

    /// The single event named `name`.
    pub fn event(&self, name: &str) -> Value {
        let mut events = self.events_named(name);
        assert_eq!(events.len(), 1, "expected one `{name}` event, got {events:?}\n{}", self.output());
        events.remove(0)
    }

    /// The outcome in `run-end`.
    pub fn outcome(&self) -> String {
        self.event("run-end")["outcome"].as_str().unwrap_or_default().to_string()
    }

    /// `report.md`.
    pub fn report(&self) -> String {
        fs::read_to_string(self.dir().join("report.md")).unwrap_or_else(|e| panic!("report.md: {e}\n{}", self.output()))
    }

    /// `agent.log`.
    pub fn agent_log(&self) -> String {
        fs::read_to_string(self.dir().join("agent.log")).unwrap_or_default()
    }

    /// The run branch.
    pub fn branch(&self) -> String {
        self.event("run-start")["branch"].as_str().unwrap_or_default().to_string()
    }

    /// The run id.
    pub fn run_id(&self) -> String {
        self.event("run-start")["run_id"].as_str().unwrap_or_default().to_string()
    }
}

/// Processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else { continue };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(marker) {
            found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// A marker unique to this test process and call.
pub fn marker(name: &str) -> String {
    format!("night-marker-{name}-{}", std::process::id())
}
