//! The conformance corpus: real projects' own test suites, run by the real runners in passing,
//! failing and crashing states (tests/fixtures/corpus/capture, installed by .ci/testbeds-setup).
//! For every capture, night's reading of the text must equal the runner's own machine-readable
//! result of the same run (JUnit XML, libtest JSON, `go test -json`, mocha's JSON, tap-parser),
//! the names too where the text gives them; and the CI regenerates one capture per runner from
//! its pinned project, so that a runner's new output is noticed.



use night::test_counts::{read_tests, Outcome, PartialReason, TestCounts, TestFormat, TestRun};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the truth beside a capture is written.
#[derive(Clone, Copy, Debug)]
enum Truth {
    /// `STATE.junit.xml`.
    Junit,
    /// `STATE.libtest.json`: libtest's JSON events (`--format json`).
    Libtest,
    /// `STATE.go.json`: `go test -json` events.
    GoJson,
    /// `STATE.mocha.json`: mocha's JSON reporter.
    Mocha,
    /// `STATE.tap.json`: tap-parser's events for the same output.
    Tap,
}

/// What night must read from a capture.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The truth's counts, and its names where `names` says the text gives them.
    Counts { names: bool, partial: Option<PartialReason> },
    /// Plain `go test` lists packages, not tests: one per package that passed or failed.
    Packages,
    /// The runner died before printing a summary: night must say so, not count.
    NoSummary,
    /// The truth itself is wrong here, for the reason given: night must read these counts.
    Differs { counts: TestCounts, partial: Option<PartialReason>, why: &'static str },
}

struct Capture {
    runner: &'static str,
    state: &'static str,
    format: TestFormat,
    truth: Truth,
    expect: Expect,
}

const fn named() -> Expect {
    Expect::Counts { names: true, partial: None }
}
const fn unnamed() -> Expect {
    Expect::Counts { names: false, partial: None }
}
const fn partial(names: bool, reason: PartialReason) -> Expect {
    Expect::Counts { names, partial: Some(reason) }
}

/// Every capture of the corpus, as `capture all` writes them.
fn corpus() -> Vec<Capture> {
    use Expect::{NoSummary, Packages};
    use PartialReason::{CargoFailFast, NextestFailFast, PytestInterrupted, PytestMaxFail};
    use TestFormat::{Cargo, Go, Mocha, Nextest, Pytest, Tap, Unittest, Vitest};
    use Truth::{GoJson, Junit, Libtest};
    let c = |runner, state, format, truth, expect| Capture { runner, state, format, truth, expect };
    vec![
        c("pytest9", "pass", Pytest, Junit, named()),
        c("pytest9", "pass-quiet", Pytest, Junit, unnamed()),
        c("pytest9", "fail", Pytest, Junit, named()),
        c("pytest9", "fail-quiet", Pytest, Junit, unnamed()),
        c("pytest9", "exitfirst", Pytest, Junit, partial(true, PytestMaxFail)),
        c("pytest9", "collection-error", Pytest, Junit, partial(true, PytestInterrupted)),
        c("pytest8-xdist", "pass", Pytest, Junit, named()),
        c("pytest8-xdist", "fail", Pytest, Junit, named()),
        c("pytest8-xdist", "fail-rerun", Pytest, Junit, Expect::Differs {
            counts: TestCounts { passed: 196, failed: 1, skipped: 2 },
            partial: None,
            why: "pytest-rerunfailures under xdist writes the rerun attempt as one more passing <testcase>; pytest's own summary says 1 failed, 196 passed, 1 rerun",
        }),
        c("pytest8-xdist", "crash", Pytest, Junit, named()),
        c("pytest7", "fail-verbose", Pytest, Junit, named()),
        c("unittest", "pass", Unittest, Junit, named()),
        c("unittest", "fail", Unittest, Junit, named()),
        c("unittest", "import-error", Unittest, Junit, named()),
        c("cargo", "pass", Cargo, Libtest, named()),
        c("cargo", "fail", Cargo, Libtest, partial(true, CargoFailFast)),
        c("cargo", "fail-no-fail-fast", Cargo, Libtest, named()),
        c("cargo", "quiet", Cargo, Libtest, unnamed()),
        c("cargo", "crash-no-fail-fast", Cargo, Libtest, named()),
        c("nextest", "pass", Nextest, Junit, named()),
        c("nextest", "fail", Nextest, Junit, partial(true, NextestFailFast { not_run: 76 })),
        c("nextest", "fail-no-fail-fast", Nextest, Junit, named()),
        c("nextest", "crash-no-fail-fast", Nextest, Junit, named()),
        c("go", "pass", Go, GoJson, Packages),
        c("go", "pass-verbose", Go, GoJson, named()),
        c("go", "fail", Go, GoJson, Packages),
        c("go", "fail-verbose", Go, GoJson, named()),
        c("go", "fail-json", Go, GoJson, named()),
        c("go", "panic-verbose", Go, GoJson, named()),
        c("go", "build-failure", Go, GoJson, Packages),
        c("vitest", "pass", Vitest, Junit, unnamed()),
        c("vitest", "pass-verbose", Vitest, Junit, named()),
        c("vitest", "fail-verbose", Vitest, Junit, named()),
        c("vitest", "bail", Vitest, Junit, Expect::Differs {
            counts: TestCounts { passed: 0, failed: 1, skipped: 0 },
            partial: Some(PartialReason::Bail),
            why: "vitest's JUnit report calls passed the tests that `--bail` cancelled (shown `·`, never run)",
        }),
        c("vitest", "load-error", Vitest, Junit, named()),
        c("tape", "pass", Tap, Truth::Tap, named()),
        c("tape", "fail", Tap, Truth::Tap, named()),
        c("tape", "crash", Tap, Truth::Tap, NoSummary),
        c("node-test", "pass", Tap, Junit, named()),
        c("node-test", "pass-spec", Tap, Junit, named()),
        c("node-test", "fail", Tap, Junit, named()),
        c("node-test", "fail-spec", Tap, Junit, named()),
        c("node-test", "crash", Tap, Junit, named()),
        c("mocha", "pass", Mocha, Truth::Mocha, named()),
        c("mocha", "fail", Mocha, Truth::Mocha, named()),
    ]
}

/// The truth's tests: counts, and each test's short name (its last part, which the text and the
/// machine-readable result both spell the same way) with its outcome.
#[derive(Debug, Default)]
struct Truthful {
    counts: TestCounts,
    names: Vec<(String, Outcome)>,
    /// Per package (go only): passed, failed.
    packages: TestCounts,
}

impl Truthful {
    fn add(&mut self, name: String, outcome: Outcome) {
        self.counts.record(outcome);
        self.names.push((name, outcome));
    }
}

fn read_truth(kind: Truth, base: &Path) -> Result<Truthful, String> {
    let file = |ext: &str| {
        let path = base.with_file_name(format!("{}.{ext}", base.file_name().unwrap_or_default().to_string_lossy()));
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut truth = Truthful::default();
    match kind {
        Truth::Junit => {
            let xml = file("junit.xml")?;
            let doc = roxmltree::Document::parse(&xml).expect("junit truth parses");
            for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
                let has = |tag: &str| case.children().any(|c| c.has_tag_name(tag));
                let outcome = if has("failure") || has("error") {
                    Outcome::Failed
                } else if has("skipped") {
                    Outcome::Skipped
                } else {
                    Outcome::Passed
                };
                truth.add(case.attribute("name").unwrap_or_default().to_string(), outcome);
            }
        }
        Truth::Libtest => {
            let mut open_suites = 0u64;
            for line in file("libtest.json")?.lines() {
                let event: serde_json::Value = serde_json::from_str(line).expect("libtest json");
                match (event["type"].as_str(), event["event"].as_str()) {
                    (Some("suite"), Some("started")) => open_suites += 1,
                    (Some("suite"), Some(_)) => open_suites -= 1,
                    (Some("test"), Some(result @ ("ok" | "failed" | "ignored"))) => {
                        let outcome = match result {
                            "ok" => Outcome::Passed,
                            "failed" => Outcome::Failed,
                            _ => Outcome::Skipped,
                        };
                        let name = event["name"].as_str().unwrap_or_default();
                        truth.add(strip_doctest_line(name), outcome);
                    }
                    _ => {}
                }
            }
            // A test binary that crashed started its suite and never ended it: one failure.
            truth.counts.failed += open_suites;
        }
        Truth::GoJson => {
            let mut packages: BTreeMap<String, (bool, u64)> = BTreeMap::new();
            for line in file("go.json")?.lines() {
                // go 1.19 reports a build failure as text only: `FAIL\tpkg [build failed]`.
                if let Some(rest) = line.strip_prefix("FAIL\t").filter(|r| r.contains("[build failed]") || r.contains("[setup failed]")) {
                    let package = rest.split([' ', '\t']).next().unwrap_or_default().to_string();
                    packages.entry(package).or_default().0 = true;
                    continue;
                }
                if !line.starts_with('{') {
                    continue;
                }
                let event: serde_json::Value = serde_json::from_str(line).expect("go json");
                let package = event["Package"].as_str().unwrap_or_default().to_string();
                let action = event["Action"].as_str().unwrap_or_default();
                match event["Test"].as_str() {
                    Some(test) if !test.contains('/') => {
                        let outcome = match action {
                            "pass" => Outcome::Passed,
                            "fail" => Outcome::Failed,
                            "skip" => Outcome::Skipped,
                            _ => continue,
                        };
                        packages.entry(package.clone()).or_default().1 += 1;
                        truth.add(format!("{package} {test}"), outcome);
                    }
                    None if action == "fail" => packages.entry(package).or_default().0 = true,
                    None if action == "pass" => {
                        packages.entry(package).or_default();
                    }
                    _ => {}
                }
            }
            // A package that failed with no failing test (a panic, a build failure): one failure.
            for (package, (failed, _)) in &packages {
                let explained = truth.names.iter().any(|(n, o)| *o == Outcome::Failed && n.starts_with(&format!("{package} ")));
                if *failed && !explained {
                    truth.counts.failed += 1;
                }
            }
            for (failed, tests) in packages.values() {
                if *failed {
                    truth.packages.failed += 1;
                } else if *tests > 0 {
                    truth.packages.passed += 1;
                }
            }
        }
        Truth::Mocha => {
            let json: serde_json::Value = serde_json::from_str(&file("mocha.json")?).expect("mocha json");
            for (list, outcome) in [("passes", Outcome::Passed), ("failures", Outcome::Failed), ("pending", Outcome::Skipped)] {
                for test in json[list].as_array().into_iter().flatten() {
                    truth.add(test["title"].as_str().unwrap_or_default().to_string(), outcome);
                }
            }
        }
        Truth::Tap => {
            let events: serde_json::Value = serde_json::from_str(&file("tap.json")?).expect("tap-parser json");
            for event in events.as_array().into_iter().flatten() {
                if event[0] == "assert" {
                    let point = &event[1];
                    let outcome = if point["skip"] != false || point["todo"] != false {
                        Outcome::Skipped
                    } else if point["ok"] == true {
                        Outcome::Passed
                    } else {
                        Outcome::Failed
                    };
                    truth.add(point["name"].as_str().unwrap_or_default().to_string(), outcome);
                }
            }
        }
    }
    Ok(truth)
}

fn strip_doctest_line(name: &str) -> String {
    match name.rfind(" (line ") {
        Some(at) if name.ends_with(')') => name[..at].to_string(),
        _ => name.to_string(),
    }
}

/// A name as night spells it, cut to what the truth spells the same way.
fn short_name(runner: &str, name: &str) -> String {
    match runner {
        // `tests/test_more.py::ChunkedTests::test_even`; JUnit's name is `test_even`.
        // A module that failed to collect is `tests/test_recipes.py`; JUnit names it `tests.test_recipes`.
        "pytest9" | "pytest8-xdist" | "pytest7" if !name.contains("::") => name.trim_end_matches(".py").replace('/', "."),
        "pytest9" | "pytest8-xdist" | "pytest7" => name.rsplit("::").next().unwrap_or(name).to_string(),
        // `tests.test_more.ChunkedTests.test_even`.
        "unittest" => name.rsplit('.').next().unwrap_or(name).to_string(),
        // `strsim::tests::hamming_diff`, `strsim (doc)::src/lib.rs - hamming`: drop the binary.
        "cargo" => name.split_once("::").map_or(name, |(_, rest)| rest).to_string(),
        // `strsim tests::hamming_diff`: drop the binary id.
        "nextest" => name.split_once(' ').map_or(name, |(_, rest)| rest).to_string(),
        // `src/v3/tests/string.test.ts > trim`; JUnit's name drops the file.
        "vitest" => name.split_once(" > ").map_or(name, |(_, rest)| rest).to_string(),
        // `traverse > should …`: mocha's JSON title is the last part.
        "mocha" => name.rsplit(" > ").next().unwrap_or(name).to_string(),
        _ => name.to_string(),
    }
}

/// The passed and failed tests, as sorted (name, outcome) pairs.
fn ran(names: impl IntoIterator<Item = (String, Outcome)>) -> Vec<(String, Outcome)> {
    let mut ran: Vec<_> = names.into_iter().filter(|(_, o)| *o != Outcome::Skipped).collect();
    ran.sort_by(|a, b| (&a.0, a.1 as u8).cmp(&(&b.0, b.1 as u8)));
    ran
}

/// Checks one capture in `dir` (holding `RUNNER/STATE.*`); the message says what differs.
fn check(capture: &Capture, dir: &Path) -> Result<TestCounts, String> {
    let label = format!("{} {}", capture.runner, capture.state);
    let text_path = dir.join(capture.runner).join(format!("{}.txt", capture.state));
    let text = std::fs::read(&text_path).map_err(|e| format!("{label}: {}: {e}", text_path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let truth = read_truth(capture.truth, &dir.join(capture.runner).join(capture.state)).map_err(|e| format!("{label}: {e}"))?;
    let read = read_tests(&capture.format, &text, dir);
    // `auto` must agree: no other runner's parser may read this runner's real output.
    let auto = read_tests(&TestFormat::Auto, &text, dir).map(|run| run.counts).ok();
    if auto != read.as_ref().ok().map(|run| run.counts) {
        return Err(format!("{label}: `auto` read {auto:?}, `{}` read {:?}", capture.format.name(), read.map(|r| r.counts).ok()));
    }
    match capture.expect {
        Expect::NoSummary => match read {
            Err(_) => Ok(truth.counts),
            Ok(run) => Err(format!("{label}: expected no summary, read {:?}", run.counts)),
        },
        Expect::Differs { counts, partial, why } => {
            let run = read.map_err(|e| format!("{label}: {e}"))?;
            if run.counts != counts || run.partial != partial {
                return Err(format!("{label}: read {:?} {:?}, expected {counts:?} {partial:?}", run.counts, run.partial));
            }
            if truth.counts == counts {
                return Err(format!("{label}: the truth now agrees ({why} no longer holds): make it `Counts`"));
            }
            Ok(truth.counts)
        }
        Expect::Packages => {
            let run = read.map_err(|e| format!("{label}: {e}"))?;
            let want = TestCounts { skipped: 0, ..truth.packages };
            let got = TestCounts { skipped: 0, ..run.counts };
            (got == want).then_some(truth.counts).ok_or_else(|| format!("{label}: read {got:?}, per package the truth is {want:?}"))
        }
        Expect::Counts { names, partial } => {
            let run: TestRun = read.map_err(|e| format!("{label}: {e}"))?;
            if run.counts != truth.counts {
                return Err(format!("{label}: read {:?}, the truth is {:?}", run.counts, truth.counts));
            }
            // Exactly: nextest's `76/106 tests were not run` is read as 76 not run.
            if run.partial != partial {
                return Err(format!("{label}: partial {:?}, expected {partial:?}", run.partial));
            }
            match (&run.tests, names) {
                (Some(tests), true) => {
                    let got = ran(tests.iter().map(|t| (short_name(capture.runner, &t.name), t.outcome)));
                    let want = ran(truth.names.iter().cloned());
                    if got != want {
                        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
                        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(5).collect();
                        return Err(format!("{label}: names differ; not read {missing:?}; read but not true {extra:?}"));
                    }
                }
                (None, false) => {}
                (Some(_), false) => return Err(format!("{label}: read names from output that should give none")),
                (None, true) => return Err(format!("{label}: read no names")),
            }
            Ok(truth.counts)
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

#[test]
fn every_capture_reads_as_its_truth() {
    let failures: Vec<String> = corpus().iter().filter_map(|capture| check(capture, &fixtures()).err()).collect();
    assert!(failures.is_empty(), "{} of {} captures misread:\n{}", failures.len(), corpus().len(), failures.join("\n"));
}

#[test]
fn the_corpus_lists_every_committed_capture() {
    let listed: Vec<String> = corpus().iter().map(|c| format!("{}/{}.txt", c.runner, c.state)).collect();
    let mut committed = Vec::new();
    for runner in std::fs::read_dir(fixtures()).expect("corpus folder").flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(runner.path()).expect("runner folder").flatten() {
            let name = file.file_name().to_string_lossy().to_string();
            if name.ends_with(".txt") {
                committed.push(format!("{}/{name}", runner.file_name().to_string_lossy()));
            }
        }
    }
    committed.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(committed, sorted);
}

/// Runs the capture script for one state of one runner and checks it like a committed one, and
/// that the pinned project still gives the committed truth's counts.
fn regenerate(runner: &str, state: &str) {
    let stamp = Path::new(&std::env::var("NIGHT_TESTBEDS").unwrap_or_else(|_| "/opt/night-testbeds".into())).join("node.stamp");
    if !stamp.exists() {
        assert!(std::env::var_os("CI").is_none(), "the corpus testbeds are missing and CI is set: run .ci/testbeds-setup");
        eprintln!("\n*** SKIPPED: the corpus testbeds are missing (run .ci/testbeds-setup); regenerate {runner} {state} did not run ***\n");
        return;
    }
    let capture = corpus().into_iter().find(|c| c.runner == runner && c.state == state).expect("listed capture");
    let dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new(fixtures().join("capture"))
        .args([runner, state])
        .arg(dir.path())
        .status()
        .expect("run the capture script");
    assert!(status.success(), "capture {runner} {state} failed");
    let fresh = check(&capture, dir.path()).unwrap_or_else(|e| panic!("regenerated: {e}"));
    let committed = check(&capture, &fixtures()).unwrap_or_else(|e| panic!("committed: {e}"));
    assert_eq!(fresh, committed, "{runner} {state}: the pinned project's truth changed");
}

#[test]
fn regenerate_pytest9() {
    regenerate("pytest9", "fail-quiet");
}

#[test]
fn regenerate_pytest8_xdist() {
    regenerate("pytest8-xdist", "fail");
}

#[test]
fn regenerate_unittest() {
    regenerate("unittest", "import-error");
}

#[test]
fn regenerate_cargo() {
    regenerate("cargo", "fail");
}

#[test]
fn regenerate_nextest() {
    regenerate("nextest", "fail-no-fail-fast");
}

#[test]
fn regenerate_go() {
    regenerate("go", "fail-verbose");
}

#[test]
fn regenerate_vitest() {
    regenerate("vitest", "fail-verbose");
}

#[test]
fn regenerate_tape() {
    regenerate("tape", "fail");
}

#[test]
fn regenerate_node_test() {
    regenerate("node-test", "fail-spec");
}

#[test]
fn regenerate_mocha() {
    regenerate("mocha", "fail");
}
