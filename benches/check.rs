//! Parse + check speed in the library (no process): the example runbooks and two generated
//! 10 000-statement runbooks, each against a baseline measured in the same run and interleaved
//! with it (a plain scan of the same bytes: split into lines and words). Every sample is timed
//! by the wall clock and by the CPU time of the thread; the goal (≤ 20 ms) is judged on the CPU
//! time, which leaves out the time spent waiting for a core on a loaded machine.
//!
//! The second 10 000-statement runbook is checked in a repository, so the check's one git pass
//! (the work tree's status, whose cost grows with the repository, not the runbook) is part of
//! its figure; it is also timed alone, as the check does it, and the goal is judged on the rest.
//!
//! Run: `cargo bench --bench check` (`NIGHT_BENCH_ROUNDS`, default 30).
//! `NIGHT_BENCH_PROFILE=counts` (or `mixed`) only checks that runbook 40 times after a 2 s pause
//! (`counts-parse` and `mixed-parse` only parse it, 400 times), for a profiler:
//! `perf record -D 3000 --call-graph dwarf target/release/deps/check-…` with that variable set.

mod common;

use common::{report, Timings};
use night::source::Source;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

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

/// A committed repository of [`files`] whose files are older than its index, as in a checkout
/// that was not written in the last second: files written in the same second as the index are
/// "racily clean", and every status (git's or libgit2's) reads them whole again until the index
/// is written later than they are.
fn settled_repository() -> tempfile::TempDir {
    let files = files();
    let repository = common::repository(&files.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect::<Vec<_>>());
    let shell = "find . -path ./.git -prune -o -type f -exec touch -d '1 hour ago' {} + && git update-index -q --really-refresh";
    let status = std::process::Command::new("sh").args(["-c", shell]).current_dir(repository.path()).status().expect("sh");
    assert!(status.success(), "{shell}");
    repository
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

/// The work tree's status as `night check` reads it (`Context::worktree_status`): the
/// repository opened, untracked files one by one, ignored ones left out.
fn status_alone(dir: &Path) -> usize {
    let Ok(repository) = git2::Repository::discover(dir) else { return 0 };
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).exclude_submodules(false);
    repository.statuses(Some(&mut options)).map_or(0, |statuses| statuses.len())
}

/// The CPU time this thread has used: unlike the wall clock, it does not count the time the
/// thread waited for a core while other processes ran.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let failed = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0;
    if failed {
        return Duration::ZERO;
    }
    Duration::new(u64::try_from(now.tv_sec).unwrap_or(0), u32::try_from(now.tv_nsec).unwrap_or(0))
}

/// [`common::interleaved`], timing each sample both by the wall clock and by the thread's CPU time.
fn interleaved_with_cpu(rounds: usize, warmup: usize, contenders: &mut [(&str, &mut dyn FnMut())]) -> (Vec<Timings>, Vec<Timings>) {
    let empty = |contenders: &[(&str, &mut dyn FnMut())]| -> Vec<Timings> {
        contenders.iter().map(|(name, _)| Timings { name: (*name).to_string(), samples: Vec::new() }).collect()
    };
    let (mut wall, mut cpu) = (empty(contenders), empty(contenders));
    for round in 0..warmup + rounds {
        for (i, (_, run)) in contenders.iter_mut().enumerate() {
            let (started, started_cpu) = (Instant::now(), thread_cpu());
            run();
            if round >= warmup {
                wall[i].samples.push(started.elapsed());
                cpu[i].samples.push(thread_cpu().saturating_sub(started_cpu));
            }
        }
    }
    (wall, cpu)
}

/// Medians of parse + check and of the git pass alone, by the wall clock and in CPU time.
struct Figures {
    checked: Duration,
    status: Duration,
    checked_cpu: Duration,
    status_cpu: Duration,
}

/// Parse, parse + check and the baseline scan of `sources`, `repeat` times a sample, and the
/// git pass alone in `repository` when given.
fn compare(title: &str, sources: &[Source], rounds: usize, repeat: usize, repository: Option<&Path>) -> Figures {
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
    let mut status = || {
        if let Some(dir) = repository {
            black_box(status_alone(dir));
        }
    };
    let mut contenders: Vec<(&str, &mut dyn FnMut())> = vec![("baseline-scan", &mut scan), ("parse", &mut parse), ("parse+check", &mut check)];
    if repository.is_some() {
        contenders.push(("git status alone (libgit2)", &mut status));
    }
    let (wall, cpu) = interleaved_with_cpu(rounds, 2, &mut contenders);
    report(&format!("{title}, {repeat} time(s) a sample"), &wall, "baseline-scan");
    report("  the same samples in CPU time of the thread", &cpu, "baseline-scan");
    let median = |timings: &[Timings], name: &str| timings.iter().find(|t| t.name == name).map(Timings::median).unwrap_or_default();
    Figures {
        checked: median(&wall, "parse+check"),
        status: median(&wall, "git status alone (libgit2)"),
        checked_cpu: median(&cpu, "parse+check"),
        status_cpu: median(&cpu, "git status alone (libgit2)"),
    }
}

fn main() {
    if common::listing() {
        return;
    }
    if let Ok(which) = std::env::var("NIGHT_BENCH_PROFILE") {
        let repository = settled_repository();
        let text = if which.starts_with("mixed") { mixed(10_000) } else { counts_and_webhooks(10_000) };
        let large = Source::new(repository.path().join("large.night"), text);
        std::thread::sleep(std::time::Duration::from_secs(2));
        if which.ends_with("-parse") {
            for _ in 0..400 {
                black_box(night::syntax::parse(&large));
            }
        } else {
            for _ in 0..40 {
                black_box(night::checklist::check(&large, &no_env));
            }
        }
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
    compare(&format!("the {} example runbooks", examples.len()), &examples, rounds, 20, None);
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let large = Source::new(dir.path().join("large.night"), counts_and_webhooks(10_000));
    let figures = compare("a 10 000-statement runbook: count checks and webhooks (no repository)", std::slice::from_ref(&large), rounds, 1, None);
    println!("  reports: {}", summary(&large));
    println!(
        "  parse + check: {:.1} ms CPU ({:.1} ms wall); target ≤ 20 ms: {}",
        common::ms(figures.checked_cpu),
        common::ms(figures.checked),
        verdict(common::ms(figures.checked_cpu) <= 20.0)
    );
    let repository = settled_repository();
    let large = Source::new(repository.path().join("large.night"), mixed(10_000));
    let title = "a 10 000-statement runbook: every kind of statement, in a 1 500-file repository";
    let figures = compare(title, std::slice::from_ref(&large), rounds, 1, Some(repository.path()));
    println!("  reports: {}", summary(&large));
    let rest = figures.checked_cpu.saturating_sub(figures.status_cpu);
    println!(
        "  parse + check: {:.1} ms CPU ({:.1} ms wall), of which about {:.1} ms CPU ({:.1} ms wall) is the repository's status, which grows with the repository, not the runbook",
        common::ms(figures.checked_cpu),
        common::ms(figures.checked),
        common::ms(figures.status_cpu),
        common::ms(figures.status),
    );
    println!("  the rest, the runbook's own: {:.1} ms CPU; target ≤ 20 ms: {}", common::ms(rest), verdict(common::ms(rest) <= 20.0));
}
