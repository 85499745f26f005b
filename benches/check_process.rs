//! `night check FILE` as the user runs it — a whole process: start-up, parse, the checklist
//! (git status, PATH look-ups), the rendering — against `true`, against `night --version`
//! (start-up alone) and against `git status --porcelain` in the same repository (the target:
//! at most 1.5× it), interleaved in the same run. The runbooks are the examples of
//! `runbooks/`, copied into a throwaway committed repository so the git checks see a clean,
//! small tree whatever state this checkout is in.
//!
//! Run: `cargo bench --bench check_process` (`NIGHT_BENCH_ROUNDS`, default 200; `NIGHT_BENCH_BEFORE`,
//! an older build to time beside this one).

mod common;

use common::{interleaved, report, run_process, NIGHT};
use std::path::Path;

const RUNBOOKS: &[&str] = &["auth-jwt.night", "library-migration.night"];

fn main() {
    if common::listing() {
        return;
    }
    let rounds = usize::try_from(common::env_number("NIGHT_BENCH_ROUNDS", 200)).unwrap_or(200);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let texts: Vec<(String, String)> = RUNBOOKS
        .iter()
        .map(|name| (format!("runbooks/{name}"), std::fs::read_to_string(examples.join(name)).expect("an example runbook")))
        .collect();
    let files: Vec<(&str, &str)> = texts.iter().map(|(name, text)| (name.as_str(), text.as_str())).collect();
    let repo = common::repository(&files);
    let dir = repo.path();

    let check_with = |night: &str, file: &str| {
        let status = run_process(night, &["check", file], &[], Some(dir), b"");
        assert!(matches!(status.code(), Some(0 | 1)), "night check {file}: {status}");
    };
    let check = |file: &str| check_with(NIGHT, file);
    let before = common::before();
    let mut first = || check(&texts[0].0);
    let mut second = || check(&texts[1].0);
    let mut before_first = || check_with(before.as_deref().unwrap_or(NIGHT), &texts[0].0);
    let mut before_version = || assert!(run_process(before.as_deref().unwrap_or(NIGHT), &["--version"], &[], Some(dir), b"").success());
    let mut version = || assert!(run_process(NIGHT, &["--version"], &[], Some(dir), b"").success());
    let mut baseline = || assert!(run_process("true", &[], &[], Some(dir), b"").success());
    let mut git_status = || assert!(run_process("git", &["status", "--porcelain"], &[], Some(dir), b"").success());
    let first_name = format!("night check {}", texts[0].0);
    let second_name = format!("night check {}", texts[1].0);
    let before_name = format!("before: night check {}", texts[0].0);
    let mut contenders: Vec<(&str, &mut dyn FnMut())> =
        vec![(&first_name, &mut first), (&second_name, &mut second), ("night --version", &mut version)];
    if before.is_some() {
        contenders.push((&before_name, &mut before_first));
        contenders.push(("before: night --version", &mut before_version));
    }
    contenders.push(("git status --porcelain", &mut git_status));
    contenders.push(("true", &mut baseline));
    let timings = interleaved(rounds, 5, &mut contenders);
    report("night check as a process", &timings, "true");
    let median = |name: &str| timings.iter().find(|t| t.name == name).map(common::Timings::median).unwrap_or_default();
    let (base, git) = (median("true"), median("git status --porcelain"));
    println!("  git status --porcelain: {:.2}x `true`", git.as_secs_f64() / base.as_secs_f64());
    for timing in timings.iter().take(2) {
        let ratio = timing.median().as_secs_f64() / git.as_secs_f64();
        let to_true = timing.median().as_secs_f64() / base.as_secs_f64();
        println!("  {}: {ratio:.2}x `git status --porcelain` ({to_true:.2}x `true`); target ≤ 1.5x git status: {}", timing.name, if ratio <= 1.5 { "met" } else { "NOT met" });
    }
}
