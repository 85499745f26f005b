//! Parse + check speed in the library (no process): the example runbooks and a generated
//! 10 000-statement runbook, each against a baseline measured in the same run and interleaved
//! with it (a plain scan of the same bytes: split into lines and words).
//!
//! Run: `cargo bench --bench check` (`NIGHT_BENCH_ROUNDS`, default 30).

mod common;

use common::{interleaved, report};
use night::source::Source;
use std::hint::black_box;
use std::path::Path;

fn no_env(name: &str) -> Option<String> {
    (name == "PATH").then(|| "/usr/bin:/bin".to_string())
}

/// A runbook with `statements` success checks and notifiers (10 000 statements in all).
fn generated(statements: usize) -> String {
    let mut text = String::from(
        "task {\n  prompt \"Fix it.\"\n  agent command \"true\"\n}\npermissions {\n  write \"src/**\"\n  deny irreversible\n}\nlimits { timeout 6h; attempts 5; stuck 3; idle 45m; cost $5 }\n",
    );
    text.push_str("success {\n");
    for i in 0..statements / 2 {
        text.push_str(&format!("  count /warning {i}: [a-z]+/ in \"grep -r x src\" <= {i}  # check {i}\n"));
    }
    text.push_str("}\nnotify {\n");
    for i in 0..statements / 2 {
        text.push_str(&format!("  webhook \"http://127.0.0.1:9/{i}\" on end failure\n"));
    }
    text.push_str("}\n");
    text
}

fn baseline_scan(text: &str) -> usize {
    text.lines().filter(|line| !line.trim_start().starts_with('#')).map(|line| line.split_whitespace().count()).sum()
}

/// Parse, parse + check and the baseline scan of `sources`, `repeat` times a sample.
fn compare(title: &str, sources: &[Source], rounds: usize, repeat: usize) -> std::time::Duration {
    let mut scan = || {
        for _ in 0..repeat {
            black_box(sources.iter().map(|s| baseline_scan(black_box(&s.text))).sum::<usize>());
        }
    };
    let mut parse = || {
        for _ in 0..repeat {
            black_box(sources.iter().map(|s| night::syntax::parse(black_box(s)).diagnostics.len()).sum::<usize>());
        }
    };
    let mut check = || {
        for _ in 0..repeat {
            black_box(sources.iter().map(|s| night::checklist::check(black_box(s), &no_env).diagnostics.len()).sum::<usize>());
        }
    };
    let timings = interleaved(rounds, 2, &mut [("baseline-scan", &mut scan), ("parse", &mut parse), ("parse+check", &mut check)]);
    report(&format!("{title}, {repeat} time(s) a sample"), &timings, "baseline-scan");
    timings.iter().find(|t| t.name == "parse+check").map(common::Timings::median).unwrap_or_default()
}

fn main() {
    if common::listing() {
        return;
    }
    let rounds = usize::try_from(common::env_number("NIGHT_BENCH_ROUNDS", 30)).unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut examples: Vec<Source> = std::fs::read_dir(&runbooks)
        .expect("runbooks/")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "night"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            Source::new(dir.path().join(path.file_name().expect("name")), text)
        })
        .collect();
    examples.sort_by_key(Source::name);
    compare(&format!("the {} example runbooks", examples.len()), &examples, rounds, 20);
    let large = Source::new(dir.path().join("large.night"), generated(10_000));
    let checked = compare("a 10 000-statement runbook", &[large], rounds, 1);
    let met = if checked.as_millis() <= 20 { "met" } else { "NOT met" };
    println!("  parse + check of 10 000 statements: {:.1} ms; target ≤ 20 ms: {met}", common::ms(checked));
}
