//! Latency of `night hook PreToolUse` — it runs before every tool call the agent makes — on
//! realistic Claude Code payloads, against an equivalent Python hook script and `true`, in the
//! same run. Each iteration starts the process, writes the payload to its standard input and
//! waits for it to exit, as Claude Code does. Run: `cargo bench --bench hook`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn run(program: &str, args: &[&str], run_dir: &Path, payload: &[u8]) {
    let mut child = Command::new(program)
        .args(args)
        .env("NIGHT_RUN_DIR", run_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the hook");
    if let Some(mut stdin) = child.stdin.take() {
        // `true` may exit before reading: a broken pipe is part of the game.
        let _ = stdin.write_all(payload);
    }
    let status = child.wait().expect("wait for the hook");
    assert!(status.success(), "{program} failed");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let run_dir = repo.join(".night/runs/bench-20260101-000000");
    std::fs::create_dir_all(repo.join("src")).expect("mkdir");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let policy = night::hook::Policy {
        repo_root: repo.clone(),
        read: vec!["**".into()],
        write: vec!["src/**".into(), "tests/**".into(), "Cargo.toml".into(), "Cargo.lock".into()],
        deny: vec!["rm -rf *".into()],
        allow: vec!["git push origin night/*".into()],
        deny_irreversible: true,
        network: night::hook::PolicyNetwork::Off,
    };
    policy.write_to(&run_dir).expect("policy");
    let common = |tool: &str, input: serde_json::Value| {
        serde_json::json!({
            "session_id": "8e7d2079-eb39-4388-90f8-245b5607efc2",
            "transcript_path": "/home/user/.claude/projects/-work-repo/8e7d2079-eb39-4388-90f8-245b5607efc2.jsonl",
            "cwd": repo,
            "prompt_id": "95608585-f75f-4dd5-86dd-8f762a200689",
            "permission_mode": "dontAsk",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": input,
            "tool_use_id": "toolu_01ABCDEFGHIJKLMNOPQRSTUV",
        })
        .to_string()
        .into_bytes()
    };
    let bash = common(
        "Bash",
        serde_json::json!({ "command": "cargo test --all 2>&1 | tail -20 && git add -A && git commit -m 'parser: handle empty input' && git push origin main", "description": "Run the tests, commit and push" }),
    );
    let edit = common(
        "Edit",
        serde_json::json!({ "file_path": repo.join("src/parser.rs"), "old_string": "fn parse(input: &str) -> Result<Ast> {\n    todo!()\n}", "new_string": "fn parse(input: &str) -> Result<Ast> {\n    if input.is_empty() {\n        return Ok(Ast::default());\n    }\n    Parser::new(input).parse()\n}", "replace_all": false }),
    );
    let night = env!("CARGO_BIN_EXE_night");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/hook_equivalent.py");
    let python = python.to_str().expect("utf-8 path");
    let has_python = Command::new("python3").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());

    let mut group = c.benchmark_group("hook PreToolUse");
    group.sample_size(60).measurement_time(Duration::from_secs(8));
    for (name, payload) in [("Bash", &bash), ("Edit", &edit)] {
        group.bench_function(format!("night hook ({name})"), |b| b.iter(|| run(night, &["hook", "PreToolUse"], &run_dir, payload)));
        if has_python {
            group.bench_function(format!("python3 hook ({name})"), |b| b.iter(|| run("python3", &[python], &run_dir, payload)));
        } else {
            eprintln!("*** SKIPPED: python3 is missing, so the Python hook was not measured ***");
        }
    }
    group.bench_function("true", |b| b.iter(|| run("true", &[], &run_dir, &edit)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
