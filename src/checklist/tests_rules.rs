//! `tests-without-names` and `tests-stop-early`: what a `tests` check's command lets night see.
//!
//! Lost tests are found by name where the output names them; without names only a drop in the
//! count shows, and a deleted test replaced by a trivial one keeps the count. A runner that stops
//! at the first failure gives partial counts, which hide how much is broken. Both are read from
//! the command as written; a wrapper (`npm test`, `make test`) hides the runner and is not judged.

use super::Context;
use crate::ast::{SuccessCheck, TestFormat};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(success) = &context.runbook.success else { return };
    for check in &success.checks {
        let SuccessCheck::Tests { command, format, .. } = &check.value else { continue };
        for part in context.simple_commands(&command.value).iter() {
            let Some((runner, args)) = runner(part) else { continue };
            if !matches!(format.value, TestFormat::Junit { .. }) {
                if let Some(fix) = names_fix(runner, &args) {
                    findings.push(without_names(command.span, part, fix));
                }
            }
            if let Some(fix) = stop_fix(runner, &args) {
                findings.push(stops_early(command.span, part, fix));
            }
        }
    }
}

fn without_names(span: Span, part: &str, fix: &str) -> Diagnostic {
    Diagnostic::warning(Code::TestsWithoutNames, format!("`{}` names no tests", shorten(part)))
        .label(span, "only counts: a deleted test replaced by another keeps the count")
        .help(format!(
            "night finds tests that stop running by their names; {fix}, or write a JUnit report and use `format junit \"…\"`."
        ))
}

fn stops_early(span: Span, part: &str, fix: &str) -> Diagnostic {
    Diagnostic::warning(Code::TestsStopEarly, format!("`{}` stops at the first failure", shorten(part)))
        .label(span, "partial counts: tests after the failure do not run")
        .help(format!("Partial counts hide how much is broken and cannot be compared with the baseline; {fix}."))
}

fn shorten(part: &str) -> String {
    let folded = part.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > 40 {
        format!("{}…", folded.chars().take(39).collect::<String>())
    } else {
        folded
    }
}

/// The test runners whose output night reads, as a command names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Pytest,
    Unittest,
    Cargo,
    Nextest,
    Go,
    Jest,
    Vitest,
    Mocha,
}

/// The runner a simple command runs, and its arguments after the runner's own words.
fn runner(part: &str) -> Option<(Runner, Vec<&str>)> {
    let words: Vec<&str> = part.split_whitespace().collect();
    let program = |word: &str| word.rsplit('/').next().unwrap_or(word).to_string();
    for (i, word) in words.iter().enumerate() {
        let rest = |n: usize| words.get(i + n..).map(<[&str]>::to_vec).unwrap_or_default();
        let name = program(word);
        let next = words.get(i + 1).copied();
        let found = match (name.as_str(), next) {
            ("pytest" | "py.test", _) => Some((Runner::Pytest, rest(1))),
            (python, Some("-m")) if python.starts_with("python") => match words.get(i + 2).copied() {
                Some("pytest") => Some((Runner::Pytest, rest(3))),
                Some("unittest") => Some((Runner::Unittest, rest(3))),
                _ => None,
            },
            ("cargo", Some("test" | "t")) => Some((Runner::Cargo, rest(2))),
            ("cargo", Some("nextest")) if words.get(i + 2) == Some(&"run") => Some((Runner::Nextest, rest(3))),
            ("go", Some("test")) => Some((Runner::Go, rest(2))),
            ("jest", _) => Some((Runner::Jest, rest(1))),
            ("vitest", _) => Some((Runner::Vitest, rest(1))),
            ("mocha" | "_mocha", _) => Some((Runner::Mocha, rest(1))),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The arguments for the runner itself: cargo's `--` passes the rest to the test binaries.
fn own<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().take_while(|a| *a != "--").collect()
}

fn has(args: &[&str], flags: &[&str]) -> bool {
    args.iter().any(|a| flags.iter().any(|f| a == f || a.strip_prefix(f).is_some_and(|r| r.starts_with('='))))
}

/// The value of `--flag value` or `--flag=value`.
fn value<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if *a == flag {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
        }
    })
}

/// How to make the runner name its tests, when as written it names none.
fn names_fix(runner: Runner, args: &[&str]) -> Option<&'static str> {
    match runner {
        Runner::Pytest => {
            let verbose = has(args, &["-v", "-vv", "-vvv", "--verbose"]);
            let passes = |chars: &str| chars.contains(['A', 'P']);
            let report_passes = args.iter().any(|a| a.strip_prefix("-r").is_some_and(passes))
                || value(args, "--report-chars").is_some_and(passes)
                || args.windows(2).any(|w| w[0] == "-r" && passes(w[1]));
            (!verbose && !report_passes).then_some("add `-rA` so pytest lists every test")
        }
        Runner::Unittest => (!has(args, &["-v", "--verbose"])).then_some("add `-v` so unittest lists every test"),
        Runner::Cargo => {
            let quiet = has(&own(args), &["-q", "--quiet"])
                || has(args, &["-q", "--quiet"])
                || value(args, "--format").is_some_and(|f| f == "terse");
            quiet.then_some("drop `--quiet` so libtest lists every test")
        }
        Runner::Nextest => value(args, "--status-level")
            .is_some_and(|level| matches!(level, "none" | "fail" | "retry" | "slow" | "leak"))
            .then_some("use `--status-level pass` so nextest lists every test"),
        Runner::Go => (!has(args, &["-v", "-json"])).then_some("add `-v` or `-json` so go lists every test"),
        Runner::Jest => (!has(args, &["--verbose"])).then_some("add `--verbose` so jest lists every test"),
        Runner::Vitest => {
            let verbose = value(args, "--reporter").is_some_and(|r| r == "verbose" || r == "tree");
            (!verbose).then_some("add `--reporter=verbose` so vitest lists every test")
        }
        // The default `spec` reporter names every test; another reporter is not mocha's format.
        Runner::Mocha => None,
    }
}

/// How to make the runner run every test, when as written it stops at the first failure.
fn stop_fix(runner: Runner, args: &[&str]) -> Option<&'static str> {
    let args = own(args);
    match runner {
        Runner::Cargo => (!has(&args, &["--no-fail-fast"]))
            .then_some("add `--no-fail-fast` so every test binary runs (cargo stops at the first failing one)"),
        Runner::Nextest => (!has(&args, &["--no-fail-fast"]) && value(&args, "--max-fail") != Some("all"))
            .then_some("add `--no-fail-fast` so every test runs (nextest cancels the run at the first failure)"),
        Runner::Pytest => (has(&args, &["-x", "--exitfirst", "--maxfail", "--sw", "--stepwise"])
            || args.iter().any(|a| a.starts_with("-x") && a.len() > 2 && !a.starts_with("-x=")))
            .then_some("remove `-x`/`--maxfail` so every test runs"),
        Runner::Unittest => has(&args, &["-f", "--failfast"]).then_some("remove `-f`/`--failfast` so every test runs"),
        Runner::Go => has(&args, &["-failfast"]).then_some("remove `-failfast` so every test runs"),
        Runner::Jest | Runner::Vitest => {
            has(&args, &["--bail", "-b"]).then_some("remove `--bail` so every test file runs")
        }
        Runner::Mocha => has(&args, &["--bail", "-b"]).then_some("remove `--bail` so every test runs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(command: &str) -> Option<&'static str> {
        let (runner, args) = runner(command)?;
        names_fix(runner, &args)
    }

    fn stops(command: &str) -> Option<&'static str> {
        let (runner, args) = runner(command)?;
        stop_fix(runner, &args)
    }

    #[test]
    fn finds_the_runner_behind_wrappers() {
        assert_eq!(runner("python3 -m pytest -q tests").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner("uv run pytest").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner(".venv/bin/pytest -rA").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner("python -m unittest discover").map(|r| r.0), Some(Runner::Unittest));
        assert_eq!(runner("cargo nextest run --workspace").map(|r| r.0), Some(Runner::Nextest));
        assert_eq!(runner("npx vitest run").map(|r| r.0), Some(Runner::Vitest));
        assert_eq!(runner("npm test"), None);
        assert_eq!(runner("make test"), None);
    }

    #[test]
    fn formats_that_name_no_tests() {
        assert!(names("pytest -q").is_some());
        assert!(names("pytest").is_some());
        assert!(names("pytest -ra").is_some(), "-ra lists failures, not passes");
        assert!(names("pytest -q -rA").is_none());
        assert!(names("pytest -r fEP").is_none());
        assert!(names("python -m pytest -v tests").is_none());
        assert!(names("cargo test").is_none());
        assert!(names("cargo test --quiet").is_some());
        assert!(names("cargo test -- -q").is_some());
        assert!(names("cargo test -- --format terse").is_some());
        assert!(names("cargo nextest run").is_none());
        assert!(names("cargo nextest run --status-level fail").is_some());
        assert!(names("go test ./...").is_some());
        assert!(names("go test -json ./...").is_none());
        assert!(names("npx jest").is_some());
        assert!(names("npx jest --verbose").is_none());
        assert!(names("npx vitest run").is_some());
        assert!(names("npx vitest run --reporter=verbose").is_none());
        assert!(names("python -m unittest").is_some());
        assert!(names("python -m unittest -v").is_none());
        assert!(names("npx mocha").is_none());
    }

    #[test]
    fn commands_that_stop_early() {
        assert!(stops("cargo test").is_some());
        assert!(stops("cargo test --no-fail-fast").is_none());
        assert!(stops("cargo test --workspace --no-fail-fast -- --quiet").is_none());
        assert!(stops("cargo nextest run").is_some());
        assert!(stops("cargo nextest run --no-fail-fast").is_none());
        assert!(stops("cargo nextest run --max-fail=all").is_none());
        assert!(stops("pytest -x").is_some());
        assert!(stops("pytest -xq").is_some());
        assert!(stops("pytest --maxfail=2").is_some());
        assert!(stops("pytest -q").is_none());
        assert!(stops("go test -failfast ./...").is_some());
        assert!(stops("npx jest --bail").is_some());
        assert!(stops("npx vitest run --bail=1").is_some());
        assert!(stops("npx mocha -b").is_some());
        assert!(stops("python -m unittest -f").is_some());
    }
}
