//! `tests-without-names` and `tests-stop-early`: what a `tests` check's command lets night see.
//!
//! Lost tests are found by name where the output names them; without names only a drop in the
//! count shows, and a deleted test replaced by a trivial one keeps the count. A runner that stops
//! at the first failure gives partial counts, which hide how much is broken. Both are read from
//! the command as written, with what the project adds to it ([`test_config`]): pytest's
//! `addopts` and `PYTEST_ADDOPTS`, nextest's profile, jest's settings, and the package.json
//! script behind `npm test`, `yarn test` or `pnpm run NAME`. Any other wrapper (`make test`, a
//! shell script) hides the runner and is not judged.

use super::test_config::{self, Layer, Project};
use super::Context;
use crate::ast::{SuccessCheck, TestFormat};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// How deep package.json scripts that run other scripts are followed.
const SCRIPT_DEPTH: usize = 3;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(success) = &context.runbook.success else { return };
    let read = |path: &str| context.repo.as_ref().and_then(|root| context.host.read_to_string(&root.join(path)));
    let project = Project { read: &read, env: context.env };
    for check in &success.checks {
        let SuccessCheck::Tests { command, format, .. } = &check.value else { continue };
        for part in context.simple_commands(&command.value).iter() {
            for found in found(&project, part, None, 0) {
                if !matches!(format.value, TestFormat::Junit { .. }) {
                    if let Some(fix) = names_fix(found.runner, &found.layers) {
                        findings.push(without_names(command.span, part, fix, found.via.as_deref()));
                    }
                }
                if let Some((fix, origin)) = stop_fix(found.runner, &found.layers) {
                    findings.push(stops_early(command.span, part, fix, origin.as_deref(), found.via.as_deref()));
                }
            }
        }
    }
}

/// A test runner a command runs, with its arguments from every place they come from.
struct Found {
    runner: Runner,
    layers: Vec<Layer>,
    /// The package.json script it runs in, in words.
    via: Option<String>,
}

/// The runners `part` runs: itself, or the package.json script it names.
fn found(project: &Project<'_>, part: &str, via: Option<&str>, depth: usize) -> Vec<Found> {
    if let Some((runner, args)) = runner(part) {
        let mut layers = match runner {
            Runner::Pytest => test_config::pytest(project),
            Runner::Nextest => test_config::nextest(project, &own(&args)),
            Runner::Jest => test_config::jest(project),
            _ => Vec::new(),
        };
        layers.push(Layer::command(&args));
        return vec![Found { runner, layers, via: via.map(str::to_string) }];
    }
    if depth >= SCRIPT_DEPTH {
        return Vec::new();
    }
    let Some((name, text)) = test_config::script(project, part) else { return Vec::new() };
    let via = via.map_or_else(|| format!("`{}` runs package.json's `{name}` script, `{}`", shorten(part), shorten(&text)), str::to_string);
    crate::policy::shell::simple_commands(&text).iter().flat_map(|inner| found(project, inner, Some(&via), depth + 1)).collect()
}

fn without_names(span: Span, part: &str, fix: &str, via: Option<&str>) -> Diagnostic {
    Diagnostic::warning(Code::TestsWithoutNames, format!("`{}` names no tests", shorten(part)))
        .label(span, "only counts: a deleted test replaced by another keeps the count")
        .help(format!(
            "night finds tests that stop running by their names; {fix}, or write a JUnit report and use `format junit \"…\"`.{}",
            via.map(|v| format!(" {}.", capitalised(v))).unwrap_or_default()
        ))
}

fn stops_early(span: Span, part: &str, fix: &str, origin: Option<&str>, via: Option<&str>) -> Diagnostic {
    Diagnostic::warning(Code::TestsStopEarly, format!("`{}` stops at the first failure", shorten(part)))
        .label(span, "partial counts: tests after the failure do not run")
        .help(format!(
            "Partial counts hide how much is broken and cannot be compared with the baseline; {fix}{}.{}",
            origin.map(|o| format!(" (set by {o})")).unwrap_or_default(),
            via.map(|v| format!(" {}.", capitalised(v))).unwrap_or_default()
        ))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
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
        let module = |at: usize| match words.get(at).copied() {
            Some("pytest") => Some((Runner::Pytest, rest(at - i + 1))),
            Some("unittest") => Some((Runner::Unittest, rest(at - i + 1))),
            _ => None,
        };
        let found = match (name.as_str(), next) {
            ("pytest" | "py.test", _) => Some((Runner::Pytest, rest(1))),
            (python, Some("-m")) if python.starts_with("python") => module(i + 2),
            // `coverage run -m pytest`
            ("coverage", Some("run")) if words.get(i + 2) == Some(&"-m") => module(i + 3),
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
    test_config::value_of(args, &[flag])
}

/// The single-letter options of argparse-style arguments, bundles unfolded (`-vx` is `-v -x`;
/// in `-rA` the letters after `r`, an option that takes a value, are its value), with the value
/// of each option that takes one (attached, or the next argument).
fn short_options<'a>(args: &[&'a str], takes_value: &str) -> Vec<(char, Option<&'a str>)> {
    let mut options = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some(bundle) = arg.strip_prefix('-').filter(|b| !b.starts_with('-') && !b.is_empty()) else { continue };
        for (at, letter) in bundle.char_indices() {
            if takes_value.contains(letter) {
                let attached = &bundle[at + letter.len_utf8()..];
                let value = if attached.is_empty() { args.get(i + 1).copied() } else { Some(attached.trim_start_matches('=')) };
                options.push((letter, value));
                break;
            }
            options.push((letter, None));
        }
    }
    options
}

/// pytest's options that take a value (`-k EXPR`, `-rA`, `-n 4` from xdist …).
const PYTEST_VALUED: &str = "kmprcoWn";
/// unittest's.
const UNITTEST_VALUED: &str = "k";

/// Every layer's arguments in the order the runner reads them, with the layer each came from.
fn all(layers: &[Layer]) -> Vec<(&str, Option<&str>)> {
    layers.iter().flat_map(|l| l.args.iter().map(move |a| (a.as_str(), l.origin.as_deref()))).collect()
}

/// How to make the runner name its tests, when as written it names none.
fn names_fix(runner: Runner, layers: &[Layer]) -> Option<&'static str> {
    let tagged = all(layers);
    let args: Vec<&str> = tagged.iter().map(|(a, _)| *a).collect();
    match runner {
        Runner::Pytest => {
            let short = short_options(&args, PYTEST_VALUED);
            let count = |letter: char, long: &str| short.iter().filter(|(l, _)| *l == letter).count() + args.iter().filter(|a| **a == long).count();
            let verbosity = count('v', "--verbose") as i64 - count('q', "--quiet") as i64;
            let passes = |chars: &str| chars.contains(['A', 'P']);
            let report_passes = short.iter().any(|(l, v)| *l == 'r' && v.is_some_and(passes)) || value(&args, "--report-chars").is_some_and(passes);
            (verbosity < 1 && !report_passes).then_some("add `-rA` so pytest lists every test")
        }
        Runner::Unittest => {
            let verbose = has(&args, &["--verbose"]) || short_options(&args, UNITTEST_VALUED).iter().any(|(l, _)| *l == 'v');
            (!verbose).then_some("add `-v` so unittest lists every test")
        }
        Runner::Cargo => {
            let quiet = has(&args, &["-q", "--quiet"]) || value(&args, "--format").is_some_and(|f| f == "terse");
            quiet.then_some("drop `--quiet` so libtest lists every test")
        }
        Runner::Nextest => {
            // The last `--status-level` wins: the command's over the profile's.
            let level = args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| if *a == "--status-level" { args.get(i + 1).copied() } else { a.strip_prefix("--status-level=") })
                .next_back();
            level
                .is_some_and(|level| matches!(level, "none" | "fail" | "retry" | "slow" | "leak"))
                .then_some("use `--status-level pass` so nextest lists every test")
        }
        Runner::Go => (!has(&args, &["-v", "-json"])).then_some("add `-v` or `-json` so go lists every test"),
        Runner::Jest => (!has(&args, &["--verbose"])).then_some("add `--verbose` so jest lists every test"),
        Runner::Vitest => {
            let verbose = value(&args, "--reporter").is_some_and(|r| r == "verbose" || r == "tree");
            (!verbose).then_some("add `--reporter=verbose` so vitest lists every test")
        }
        // The default `spec` reporter names every test; another reporter is not mocha's format.
        Runner::Mocha => None,
    }
}

/// How to make the runner run every test, when as written it stops at the first failure, and
/// where the option that stops it comes from when not from the command itself.
fn stop_fix(runner: Runner, layers: &[Layer]) -> Option<(&'static str, Option<String>)> {
    // Only the runner's own arguments: cargo and nextest pass what follows `--` to the tests.
    let tagged: Vec<(&str, Option<&str>)> = match runner {
        Runner::Cargo | Runner::Nextest => layers
            .iter()
            .flat_map(|l| l.args.iter().take_while(|a| *a != "--").map(move |a| (a.as_str(), l.origin.as_deref())))
            .collect(),
        _ => all(layers),
    };
    // The last word on stopping wins: `(stops, where it was said)` after each argument.
    let decide = |default: bool, says: &dyn Fn(usize) -> Option<bool>| {
        let mut verdict = (default, None);
        for (i, (_, origin)) in tagged.iter().enumerate() {
            if let Some(stops) = says(i) {
                verdict = (stops, origin.map(str::to_string));
            }
        }
        verdict
    };
    let arg = |i: usize| tagged[i].0;
    let next = |i: usize| tagged.get(i + 1).map(|(a, _)| *a);
    // `--flag`, `--flag=VALUE` or `--flag VALUE`, its value when one of `values` says so.
    let flag_value = |i: usize, flag: &str| -> Option<Option<String>> {
        let word = arg(i);
        if word == flag {
            return Some(next(i).filter(|n| !n.starts_with('-')).map(str::to_string));
        }
        word.strip_prefix(flag).and_then(|r| r.strip_prefix('=')).map(|v| Some(v.to_string()))
    };
    let bail = |i: usize| -> Option<bool> {
        let word = arg(i);
        if word == "-b" {
            return Some(true);
        }
        // `--bail`, `--bail=N` (0 and `false` do not stop).
        let given = if word == "--bail" { Some(None) } else { word.strip_prefix("--bail=").map(|v| Some(v.to_string())) };
        given.map(|v| v.is_none_or(|v| v != "0" && v != "false"))
    };
    let (stops, origin) = match runner {
        Runner::Cargo => decide(true, &|i| (arg(i) == "--no-fail-fast").then_some(false)),
        Runner::Nextest => decide(true, &|i| match arg(i) {
            "--no-fail-fast" => Some(false),
            "--fail-fast" => Some(true),
            _ => flag_value(i, "--max-fail").map(|v| v.as_deref() != Some("all")),
        }),
        Runner::Pytest => {
            let args: Vec<&str> = tagged.iter().map(|(a, _)| *a).collect();
            decide(false, &|i| {
                let short = short_options(&args[i..=i], PYTEST_VALUED);
                let stepwise = matches!(arg(i), "--sw" | "--stepwise" | "--sw-skip" | "--stepwise-skip");
                let maxfail = flag_value(i, "--maxfail").map(|v| v.as_deref() != Some("0"));
                (short.iter().any(|(l, _)| *l == 'x') || arg(i) == "--exitfirst" || stepwise).then_some(true).or(maxfail)
            })
        }
        Runner::Unittest => {
            let args: Vec<&str> = tagged.iter().map(|(a, _)| *a).collect();
            decide(false, &|i| (arg(i) == "--failfast" || short_options(&args[i..=i], UNITTEST_VALUED).iter().any(|(l, _)| *l == 'f')).then_some(true))
        }
        Runner::Go => decide(false, &|i| match arg(i) {
            "-failfast" | "--failfast" | "-failfast=true" => Some(true),
            "-failfast=false" => Some(false),
            _ => None,
        }),
        Runner::Jest | Runner::Vitest | Runner::Mocha => decide(false, &bail),
    };
    if !stops {
        return None;
    }
    let fix = match runner {
        Runner::Cargo => "add `--no-fail-fast` so every test binary runs (cargo stops at the first failing one)",
        Runner::Nextest => "add `--no-fail-fast` so every test runs (nextest cancels the run at the first failure)",
        Runner::Pytest => "remove `-x`/`--maxfail` so every test runs",
        Runner::Unittest => "remove `-f`/`--failfast` so every test runs",
        Runner::Go => "remove `-failfast` so every test runs",
        Runner::Jest | Runner::Vitest => "remove `--bail` so every test file runs",
        Runner::Mocha => "remove `--bail` so every test runs",
    };
    Some((fix, origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(command: &str) -> Option<&'static str> {
        let (runner, args) = runner(command)?;
        names_fix(runner, &[Layer::command(&args)])
    }

    fn stops(command: &str) -> Option<&'static str> {
        let (runner, args) = runner(command)?;
        stop_fix(runner, &[Layer::command(&args)]).map(|(fix, _)| fix)
    }

    /// What `command` gives in a project with these files and this environment: the runners
    /// found, and for each whether it names no tests and where a stop comes from.
    fn in_project(files: &[(&str, &str)], env: &[(&str, &str)], command: &str) -> Vec<(bool, Option<Option<String>>, Option<String>)> {
        let read = |path: &str| files.iter().find(|(p, _)| *p == path).map(|(_, text)| (*text).to_string());
        let lookup = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_string());
        let project = Project { read: &read, env: &lookup };
        found(&project, command, None, 0)
            .into_iter()
            .map(|f| (names_fix(f.runner, &f.layers).is_some(), stop_fix(f.runner, &f.layers).map(|(_, origin)| origin), f.via))
            .collect()
    }

    #[test]
    fn bundled_short_options() {
        assert!(stops("pytest -vx").is_some());
        assert!(stops("pytest -sxv tests").is_some());
        assert!(stops("pytest -rAx").is_none(), "`x` is a report character here");
        assert!(stops("pytest -n4 -v").is_none());
        assert!(stops("pytest -x --maxfail=0").is_none(), "the last word wins: no limit");
        assert!(stops("pytest --maxfail 3").is_some());
        assert!(stops("pytest --sw-skip").is_some());
        assert!(stops("python -m unittest -vf").is_some());
        assert!(stops("coverage run -m pytest -x").is_some());
        assert!(names("pytest -sv").is_none(), "`-sv` is verbose");
        assert!(names("pytest -qrA").is_none());
        assert!(names("pytest -q -v").is_some(), "`-q -v` is the default verbosity");
        assert!(names("pytest -vv -q").is_none());
        assert!(names("python -m unittest -fv").is_none());
        assert!(stops("npx jest --bail=0").is_none());
        assert!(stops("npx vitest run --bail 2").is_some());
        assert!(stops("go test -failfast=false ./...").is_none());
        assert!(stops("cargo nextest run --max-fail 3").is_some());
        assert!(stops("cargo nextest run --no-fail-fast --fail-fast").is_some());
    }

    #[test]
    fn what_the_project_adds_to_the_command() {
        // pytest: `addopts` and `PYTEST_ADDOPTS`, before the command's own options.
        let ini = [("pytest.ini", "[pytest]\naddopts = -x -rA\n")];
        assert_eq!(in_project(&ini, &[], "pytest -q tests"), [(false, Some(Some("`addopts` in pytest.ini".into())), None)]);
        assert_eq!(in_project(&[], &[("PYTEST_ADDOPTS", "-v --maxfail=1")], "pytest"), [(false, Some(Some("`PYTEST_ADDOPTS`".into())), None)]);
        assert_eq!(in_project(&[("setup.cfg", "[tool:pytest]\naddopts = -x\n")], &[], "pytest -rA --maxfail=0"), [(false, None, None)], "the command's `--maxfail=0` wins");
        // nextest: the profile's `fail-fast` and `status-level`, the command's flags last.
        let nextest = [(".config/nextest.toml", "[profile.ci]\nfail-fast = false\nstatus-level = \"fail\"\n")];
        assert_eq!(in_project(&nextest, &[], "cargo nextest run --profile ci"), [(true, None, None)]);
        assert_eq!(in_project(&nextest, &[], "cargo nextest run --profile ci --fail-fast --status-level pass"), [(false, Some(None), None)]);
        assert_eq!(in_project(&nextest, &[], "cargo nextest run"), [(false, Some(None), None)]);
        // jest's settings in package.json, and the scripts behind `npm test` and friends.
        let package = [("package.json", r#"{"scripts": {"test": "npm run unit", "unit": "jest --ci"}, "jest": {"bail": 1}}"#)];
        let via = Some("`npm test -- --silent` runs package.json's `test` script, `npm run unit --silent`".to_string());
        assert_eq!(in_project(&package, &[], "npm test -- --silent"), [(true, Some(Some("the `jest` settings in package.json".into())), via)]);
        let scripts = [("package.json", r#"{"scripts": {"test": "tsc && vitest run --reporter=verbose && mocha -b"}}"#)];
        let found = in_project(&scripts, &[], "yarn test");
        assert_eq!(found.iter().map(|(names, stops, _)| (*names, stops.is_some())).collect::<Vec<_>>(), [(false, false), (false, true)]);
        assert!(in_project(&[], &[], "npm test").is_empty(), "no package.json: not judged");
        assert!(in_project(&scripts, &[], "make test").is_empty());
    }

    #[test]
    fn finds_the_runner_behind_wrappers() {
        assert_eq!(runner("python3 -m pytest -q tests").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner("uv run pytest").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner(".venv/bin/pytest -rA").map(|r| r.0), Some(Runner::Pytest));
        assert_eq!(runner("python -m unittest discover").map(|r| r.0), Some(Runner::Unittest));
        assert_eq!(runner("cargo nextest run --workspace").map(|r| r.0), Some(Runner::Nextest));
        assert_eq!(runner("npx vitest run").map(|r| r.0), Some(Runner::Vitest));
        assert_eq!(runner("coverage run -m pytest").map(|r| r.0), Some(Runner::Pytest));
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
