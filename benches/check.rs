//! Parse + check speed: the example runbooks and a generated 10 000-statement runbook, each
//! against a baseline measured in the same run (a plain scan of the same bytes).
//! Run: `cargo bench --bench check`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use night::source::Source;
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

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let examples: Vec<Source> = std::fs::read_dir(&runbooks)
        .expect("runbooks/")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "night"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            Source::new(dir.path().join(path.file_name().expect("name")), text)
        })
        .collect();

    let mut group = c.benchmark_group("examples");
    group.bench_function("baseline-scan", |b| b.iter(|| examples.iter().map(|s| baseline_scan(black_box(&s.text))).sum::<usize>()));
    group.bench_function("parse", |b| b.iter(|| examples.iter().map(|s| night::syntax::parse(black_box(s)).diagnostics.len()).sum::<usize>()));
    group.bench_function("parse+check", |b| b.iter(|| examples.iter().map(|s| night::check::check(black_box(s), &no_env).diagnostics.len()).sum::<usize>()));
    group.finish();

    let large = Source::new(dir.path().join("large.night"), generated(10_000));
    let mut group = c.benchmark_group("10k-statements");
    group.sample_size(20);
    group.bench_function("baseline-scan", |b| b.iter(|| baseline_scan(black_box(&large.text))));
    group.bench_function("parse", |b| b.iter(|| night::syntax::parse(black_box(&large)).diagnostics.len()));
    group.bench_function("parse+check", |b| b.iter(|| night::check::check(black_box(&large), &no_env).diagnostics.len()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
