//! Latency of `night hook PreToolUse` — it runs before every tool call the agent makes — on
//! realistic Claude Code payloads, against an equivalent Python hook script and `true`, in the
//! same run and interleaved. Each call starts the process, writes the payload to its standard
//! input and waits for it to exit, as Claude Code does.
//!
//! Run: `cargo bench --bench hook` (`NIGHT_BENCH_ROUNDS`, default 100; `NIGHT_BENCH_BEFORE`, an
//! older build to time beside this one).

mod common;

use common::{interleaved, ms, report, run_process, NIGHT};
use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    if common::listing() {
        return;
    }
    let rounds = usize::try_from(common::env_number("NIGHT_BENCH_ROUNDS", 100)).unwrap_or(100);
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
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/hook_equivalent.py");
    let python = python.to_str().expect("utf-8 path");
    let has_python = Command::new("python3").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    let env = [("NIGHT_RUN_DIR", run_dir.as_path())];
    let hook_of = |night: &str, payload: &[u8]| {
        let status = run_process(night, &["hook", "PreToolUse"], &env, None, payload);
        assert!(status.success(), "night hook failed");
    };
    let hook = |payload: &[u8]| hook_of(NIGHT, payload);
    let before = common::before();
    let script = |payload: &[u8]| {
        let status = run_process("python3", &[python], &env, None, payload);
        assert!(status.success(), "the Python hook failed");
    };

    let mut night_bash = || hook(&bash);
    let mut night_edit = || hook(&edit);
    let mut python_bash = || script(&bash);
    let mut python_edit = || script(&edit);
    let mut baseline = || {
        run_process("true", &[], &env, None, &edit);
    };
    let mut before_bash = || hook_of(before.as_deref().unwrap_or(NIGHT), &bash);
    let mut before_edit = || hook_of(before.as_deref().unwrap_or(NIGHT), &edit);
    let mut contenders: Vec<(&str, &mut dyn FnMut())> = vec![("night hook (Bash)", &mut night_bash), ("night hook (Edit)", &mut night_edit)];
    if before.is_some() {
        contenders.push(("before: night hook (Bash)", &mut before_bash));
        contenders.push(("before: night hook (Edit)", &mut before_edit));
    }
    if has_python {
        contenders.push(("python3 hook (Bash)", &mut python_bash));
        contenders.push(("python3 hook (Edit)", &mut python_edit));
    } else {
        eprintln!("*** SKIPPED: python3 is missing, so the Python hook was not measured ***");
    }
    contenders.push(("true", &mut baseline));
    let timings = interleaved(rounds, 3, &mut contenders);
    report("hook PreToolUse: start the process, write the payload, wait", &timings, "true");

    let median = |name: &str| timings.iter().find(|t| t.name == name).map(common::Timings::median);
    for tool in ["Bash", "Edit"] {
        let night = median(&format!("night hook ({tool})")).unwrap_or_default();
        let verdict = match median(&format!("python3 hook ({tool})")) {
            Some(python) => {
                let speedup = python.as_secs_f64() / night.as_secs_f64();
                let met = ms(night) <= 3.0 && speedup >= 10.0;
                format!("{speedup:.1}x faster than Python; target ≤ 3 ms and ≥ 10x: {}", if met { "met" } else { "NOT met" })
            }
            None => format!("target ≤ 3 ms: {}", if ms(night) <= 3.0 { "met" } else { "NOT met" }),
        };
        println!("  night hook ({tool}): median {:.3} ms, {verdict}", ms(night));
    }
}
