//! No command panics on a closed pipe (`night list | true`, `night check x.night | head`):
//! standard output's reader is gone before night writes a byte, and night ends as it would
//! have, without "failed printing to stdout".

mod support;

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use support::{runbook, Repo};

/// A pipe whose reading end is already closed: every write to the other end fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    drop(reader);
    writer
}

/// A finished run's folder, as `night run` leaves it.
fn finished_run(repo: &Repo) {
    let dir = repo.dir.path().join(".night/runs/nightly-auth-20250101-000000");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let start = r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"run-start","schema":1,"night_version":"0","run_id":"nightly-auth-20250101-000000","name":"nightly-auth","runbook":"t.night","repo":"/r","work_dir":"/r","branch":"night/auth-test","original_branch":"main","start_commit":"0123456789","worktree":false,"agent":"command","agent_command":"true","limits":[["timeout","6h"]],"checks":[],"waivers":[],"pid":1}"#;
    let end = r#"{"v":1,"at":"2025-01-01T00:01:00Z","event":"run-end","outcome":"failed","reason":"3 attempts used up without success","exit_code":1,"attempts":3,"head":"0123456789","commits":[],"diffstat":{"files":0,"insertions":0,"deletions":0,"per_file":[]},"duration_ms":60000,"tokens":0,"cost_usd":0.0}"#;
    std::fs::write(dir.join("journal.jsonl"), format!("{start}\n{end}\n")).expect("journal");
    std::fs::write(dir.join("agent.log"), "the agent's output\n".repeat(1000)).expect("log");
}

#[test]
fn no_command_panics_when_its_reader_has_gone() {
    let repo = Repo::with_runbook(&runbook("  command \"true\" on end"));
    finished_run(&repo);
    let commands: &[&[&str]] = &[
        &["list"],
        &["status"],
        &["check", "t.night"],
        &["check", "--format", "json", "t.night"],
        &["report"],
        &["report", "--format", "json"],
        &["log"],
        &["fmt", "-"],
        &["init", "--output", "-"],
        &["completions", "bash"],
        &["man"],
        &["notify", "--test", "t.night"],
    ];
    for args in commands {
        let output = Command::new(env!("CARGO_BIN_EXE_night"))
            .args(*args)
            .current_dir(repo.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .expect("night runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "night {args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "night {args:?} panicked: {stderr}");
        assert!(output.status.code().is_some(), "night {args:?} was killed by a signal: {:?}", output.status);
    }
}
