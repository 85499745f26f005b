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

/// The runbook of the first measurement (125 ms): `statements` statements, half `count`
/// checks with a regex each, half webhooks.
fn counts_and_webhooks(statements: usize) -> String {
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

/// A runbook of every kind of statement, `statements` of them inside the blocks: 40 % success
/// checks (`tests`, `run`, `count`, `exists`, `absent`, `changed`, their commands repeating as a
/// monorepo's would), 35 % permissions (`read` and `write` globs, `deny` and `allow` patterns),
/// 20 % notifiers of four kinds, and `waive`s; checked in a repository holding `files(…)`.
fn mixed(statements: usize) -> String {
    let share = |percent: usize| statements * percent / 100;
    let mut text = String::from(
        "name \"large\"\ntask {\n  prompt \"Migrate every module.\"\n  agent command \"true\"\n}\nlimits { timeout 6h; attempts 5; stuck 3; idle 45m; cost $5 }\nrollback { when failing > baseline }\n",
    );
    let mut written = 0;
    text.push_str("success {\n");
    for i in 0..share(40) {
        let module = i % 500;
        text.push_str(&match i % 6 {
            0 => format!("  tests \"python3 -m pytest -rA tests/m{module}\" format pytest within 20m\n"),
            1 => format!("  run \"grep -q done src/m{module}/lib.rs && test -f src/m{module}/mod.rs\" within 1m  # step {i}\n"),
            2 => format!("  count /warning\\[m{module}\\]: \\w+ \\d+/ in \"make -C src/m{module} lint\" <= baseline\n"),
            3 => format!("  exists \"src/m{module}/new_{i}.rs\"\n"),
            4 => format!("  absent \"src/m{module}/old_{i}.rs\"\n"),
            _ => format!("  changed \"src/m{module}/**\"\n"),
        });
        written += 1;
    }
    text.push_str("}\npermissions {\n  deny irreversible\n  network off\n");
    written += 2;
    for i in 0..share(35) {
        text.push_str(&match i % 4 {
            0 => format!("  read \"docs/d{i}/**\" \"src/m{}/**\"\n", i % 500),
            1 => format!("  write \"src/m{}/**\" \"tests/m{}/*.py\"\n", i % 500, i % 500),
            2 => format!("  deny \"tool{i} deploy*\" \"rm -rf /srv/s{i}*\"\n"),
            _ => format!("  allow \"tool{i} plan*\"\n"),
        });
        written += 1;
    }
    text.push_str("}\nnotify {\n");
    for i in 0..share(20) {
        text.push_str(&match i % 4 {
            0 => format!("  webhook \"http://127.0.0.1:9/{i}\" on end failure\n"),
            1 => format!("  ntfy \"night-{i}\" server \"http://127.0.0.1:9\" on start end\n"),
            2 => format!("  slack \"http://127.0.0.1:9/slack/{i}\" on stuck\n"),
            _ => format!("  command \"echo night {i} $NIGHT_OUTCOME\" on end\n"),
        });
        written += 1;
    }
    text.push_str("}\n");
    let codes = ["no-budget", "long-session", "open-ended-task", "tests-without-names", "success-already-holds"];
    for i in written..statements {
        text.push_str(&format!("waive {} \"reason {i}\"\n", codes[i % codes.len()]));
    }
    text
}

/// The files of the repository [`mixed`] is checked in: two source files and a test for each
/// of its 500 modules.
fn files() -> Vec<(String, String)> {
    (0..500)
        .flat_map(|m| {
            [
                (format!("src/m{m}/lib.rs"), format!("// m{m}\n")),
                (format!("src/m{m}/mod.rs"), String::new()),
                (format!("tests/m{m}/test_m{m}.py"), "def test_it():\n    pass\n".to_string()),
            ]
        })
        .collect()
}

/// What the check of `source` reports, so that the bench shows what it exercises.
fn summary(source: &Source) -> String {
    let outcome = night::checklist::check(source, &no_env);
    let mut codes: Vec<String> = outcome.diagnostics.iter().map(|d| d.code.to_string()).collect();
    codes.sort();
    codes.dedup();
    let errors = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = outcome.diagnostics.len() - errors;
    format!("{errors} error(s), {warnings} warning(s) ({})", if codes.is_empty() { "none".to_string() } else { codes.join(", ") })
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
    let mut met = true;
    let large = Source::new(dir.path().join("large.night"), counts_and_webhooks(10_000));
    let checked = compare("a 10 000-statement runbook: count checks and webhooks (no repository)", std::slice::from_ref(&large), rounds, 1);
    println!("  reports: {}", summary(&large));
    met &= common::ms(checked) <= 20.0;
    println!("  parse + check: {:.1} ms; target ≤ 20 ms", common::ms(checked));
    let files = files();
    let repository = common::repository(&files.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect::<Vec<_>>());
    let large = Source::new(repository.path().join("large.night"), mixed(10_000));
    let checked = compare("a 10 000-statement runbook: every kind of statement, in a 1 500-file repository", std::slice::from_ref(&large), rounds, 1);
    println!("  reports: {}", summary(&large));
    met &= common::ms(checked) <= 20.0;
    println!("  parse + check: {:.1} ms; target ≤ 20 ms", common::ms(checked));
    println!("parse + check of 10 000 statements, target ≤ 20 ms: {}", if met { "met" } else { "NOT met" });
}
