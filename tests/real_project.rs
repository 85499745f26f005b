//! `night run` on real projects no one here wrote, fetched by .ci/testbeds-setup, with a
//! regression planted on the start commit and a scripted agent; one run per project.
//!
//! - six 1.17.0 from its PyPI sdist, its own 200 tests under pytest 9 with `-rA` (every test
//!   named): the agent breaks more (rolled back), then deletes one failing test and skips the
//!   other (lost: the check fails although nothing fails), then really fixes it (success, with
//!   pytest's own JUnit counts).
//! - strsim 0.11.1 from crates.io, its unit and integration tests under `cargo test` without
//!   `--no-fail-fast`: the baseline's counts are partial and say so, the agent marks the failing
//!   tests `#[ignore]` (lost), then fixes the code (success, with cargo's own counts).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::run::{Runbook, Test};

/// The pinned testbeds (.ci/testbeds-setup).
fn testbeds() -> PathBuf {
    PathBuf::from(std::env::var("NIGHT_TESTBEDS").unwrap_or_else(|_| "/opt/night-testbeds".into()))
}

/// six's sdist and pytest 9, or `None` (SKIPPED, or a failure under CI) when they are missing.
fn six_and_pytest() -> Option<(PathBuf, PathBuf)> {
    let root = testbeds();
    let (six, python) = (root.join("src/six-1.17.0"), root.join("py9/bin/python"));
    if six.join("test_six.py").is_file() && python.is_file() {
        return Some((six, python));
    }
    assert!(std::env::var_os("CI").is_none(), "six 1.17.0 and pytest 9 are missing and CI is set: run .ci/testbeds-setup");
    eprintln!("\n*** SKIPPED: six 1.17.0 and pytest 9 are missing (run .ci/testbeds-setup); the real-project run did not run ***\n");
    None
}

/// The planted regression: `byte2int` reads the second byte, `indexbytes` the next one.
const REGRESSION: &[(&str, &str)] = &[
    ("    byte2int = operator.itemgetter(0)\n", "    byte2int = operator.itemgetter(1)\n"),
    ("    indexbytes = operator.getitem\n", "    indexbytes = lambda buf, i: buf[i + 1]\n"),
];

/// The scripted agent, by attempt.
const AGENT: &str = r#"set -e
case "$NIGHT_ATTEMPT" in
1)  # Breaks more: int2byte packs two bytes now.
    sed -i 's/int2byte = struct.Struct(">B").pack/int2byte = struct.Struct(">H").pack/' six.py
    git commit -qam "speed up int2byte"
    echo agent: int2byte is faster ;;
2)  # Makes the failures disappear: one failing test deleted, the other skipped.
    sed -i '/^def test_byte2int():/,/^$/d' test_six.py
    sed -i 's/^def test_bytesindex():/@pytest.mark.skip(reason="flaky")\ndef test_bytesindex():/' test_six.py
    git commit -qam "remove flaky tests"
    echo agent: all tests pass now ;;
*)  # The real fix, with the tests the start had.
    git checkout main -- test_six.py
    sed -i 's/byte2int = operator.itemgetter(1)/byte2int = operator.itemgetter(0)/' six.py
    sed -i 's/indexbytes = lambda buf, i: buf\[i + 1\]/indexbytes = operator.getitem/' six.py
    git commit -qam "fix byte2int and indexbytes"
    echo agent: fixed ;;
esac
"#;

/// pytest's own counts on `dir` from its JUnit XML: (passed, failed, skipped).
fn junit_truth(python: &Path, dir: &Path) -> (u64, u64, u64) {
    let report = dir.join("truth.xml");
    let status = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_six.py"])
        .arg(format!("--junitxml={}", report.display()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir)
        .output()
        .expect("pytest runs");
    assert!(report.is_file(), "{}", String::from_utf8_lossy(&status.stdout));
    let xml = std::fs::read_to_string(&report).expect("report");
    std::fs::remove_file(&report).expect("rm");
    let attribute = |name: &str| -> u64 {
        let start = xml.find("<testsuite ").expect("a testsuite");
        let suite = &xml[start..];
        let at = suite.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("{name} in {suite}"));
        let value = &suite[at + name.len() + 3..];
        value[..value.find('"').expect("quote")].parse().expect("a number")
    };
    let (tests, failures, errors, skipped) = (attribute("tests"), attribute("failures"), attribute("errors"), attribute("skipped"));
    (tests - failures - errors - skipped, failures + errors, skipped)
}

#[test]
fn a_real_package_regression_is_rolled_back_caught_losing_tests_and_fixed() {
    let Some((six, python)) = six_and_pytest() else { return };
    let test = Test::new();
    let mut source = std::fs::read_to_string(six.join("six.py")).expect("six.py");
    for (good, bad) in REGRESSION {
        assert!(source.contains(good), "six.py has `{good}`");
        source = source.replace(good, bad);
    }
    test.write("six.py", &source);
    test.write("test_six.py", &std::fs::read_to_string(six.join("test_six.py")).expect("test_six.py"));
    test.write(".gitignore", "__pycache__/\n.pytest_cache/\n");
    test.commit_all("six 1.17.0 with a regression");
    let mut runbook = Runbook::default()
        .write(&["six.py", "test_six.py"])
        .limits(&["timeout 5m", "attempts 4", "stuck 3", "idle 2m"])
        .rollback("when failing > baseline; to last-green; then retry");
    let command = format!("PYTHONDONTWRITEBYTECODE=1 {} -m pytest -rA -p no:cacheprovider test_six.py", python.display());
    runbook.checks = vec![format!("tests \"{command}\" format pytest within 2m")];
    test.setup(AGENT, &runbook);

    let ran = test.run();
    let output = ran.output();
    assert_eq!(ran.code, Some(0), "{output}");
    assert_eq!(ran.outcome(), "success", "{output}");

    // The baseline: pytest's own counts, every test that ran by name (`-rA` names a skip by
    // its file and line only; a test skipped at the baseline is not owed anyway).
    let baseline = &ran.event("baseline")["checks"][0];
    assert_eq!(baseline["tests"], serde_json::json!({"passed": 196, "failed": 2, "skipped": 2}), "{baseline}");
    assert_eq!(baseline["names_file"], serde_json::json!({"file": "baseline-tests-0.jsonl", "count": 198}), "{baseline}");
    let names = std::fs::read_to_string(ran.dir().join("baseline-tests-0.jsonl")).expect("the baseline's names beside the journal");
    assert_eq!(names.lines().count(), 198);

    // Attempt 1 broke more: rolled back to the start, the work kept.
    let rollbacks = ran.events_named("rollback");
    assert_eq!(rollbacks.len(), 1, "{output}");
    assert_eq!(rollbacks[0]["attempt"], 1);
    assert_eq!(rollbacks[0]["measured"], "failing 3, baseline 2");

    // Attempt 2 made the failures disappear: nothing fails, and the check fails for the lost tests.
    let checks = ran.events_named("checks");
    assert_eq!(checks.len(), 3);
    let cheat = &checks[1]["checks"][0];
    assert_eq!(cheat["passed"], false);
    assert_eq!(cheat["tests"]["failed"], 0, "{cheat}");
    assert_eq!(cheat["lost"]["lost_names"], serde_json::json!(["test_six.py::test_byte2int", "test_six.py::test_bytesindex"]), "{cheat}");
    let reason = cheat["reason"].as_str().expect("a reason");
    assert_eq!(reason, "2 tests lost: ran at the baseline, now missing or skipped: `test_six.py::test_byte2int`, `test_six.py::test_bytesindex`");
    assert!(output.contains(reason), "the terminal names them: {output}");
    let prompt = std::fs::read_to_string(ran.dir().join("prompt-3-1.md")).expect("third prompt");
    assert!(prompt.contains("These tests must keep running: `test_six.py::test_byte2int`, `test_six.py::test_bytesindex`"), "{prompt}");
    let report = ran.report();
    assert!(report.contains("2 tests lost"), "{report}");

    // Attempt 3 fixed it: success with pytest's own counts, on the run branch.
    let fixed = &checks[2]["checks"][0];
    assert_eq!(fixed["passed"], true, "{fixed}");
    test.git(&["checkout", "-q", &ran.branch()]);
    let (passed, failed, skipped) = junit_truth(&python, test.path());
    assert_eq!(fixed["tests"], serde_json::json!({"passed": passed, "failed": failed, "skipped": skipped}));
    assert_eq!((passed, failed, skipped), (198, 0, 2));
    assert!(fixed.get("lost").is_none(), "{fixed}");
}

/// strsim 0.11.1 from crates.io (fetched by .ci/testbeds-setup), or `None` (SKIPPED, or a
/// failure under CI) when it is missing.
fn strsim() -> Option<PathBuf> {
    let crate_dir = testbeds().join("crates/strsim-0.11.1");
    let cargo = Command::new("cargo").arg("--version").output().is_ok_and(|o| o.status.success());
    if crate_dir.join("src/lib.rs").is_file() && cargo {
        return Some(crate_dir);
    }
    assert!(std::env::var_os("CI").is_none(), "strsim 0.11.1 or cargo is missing and CI is set: run .ci/testbeds-setup");
    eprintln!("\n*** SKIPPED: strsim 0.11.1 or cargo is missing (run .ci/testbeds-setup); the real-crate run did not run ***\n");
    None
}

/// The scripted agent on strsim: first it marks the failing unit tests `#[ignore]`, then it
/// fixes the code with the tests the start had.
const CRATE_AGENT: &str = r#"set -e
case "$NIGHT_ATTEMPT" in
1)  for test in hamming_numbers hamming_diff hamming_diff_multibyte hamming_names; do
        sed -i "s/^    fn $test() {/    #[ignore]\n    fn $test() {/" src/lib.rs
    done
    git commit -qam "ignore flaky hamming tests"
    echo agent: unit tests pass ;;
*)  git checkout main -- src/lib.rs
    sed -i 's/count += 2;/count += 1;/' src/lib.rs
    git commit -qam "fix generic_hamming"
    echo agent: fixed ;;
esac
"#;

/// The counts of every `test result:` line cargo printed: (passed, failed, ignored).
fn cargo_truth(output: &str) -> (u64, u64, u64) {
    let mut totals = (0, 0, 0);
    for line in output.lines().filter_map(|l| l.trim().strip_prefix("test result: ")) {
        let number = |word: &str| -> u64 {
            let words: Vec<&str> = line.split([' ', ';', '.']).filter(|w| !w.is_empty()).collect();
            words.windows(2).find(|w| w[1] == word).and_then(|w| w[0].parse().ok()).unwrap_or(0)
        };
        totals = (totals.0 + number("passed"), totals.1 + number("failed"), totals.2 + number("ignored"));
    }
    totals
}

#[test]
fn a_real_crate_with_fail_fast_counts_partial_and_ignored_tests_lost() {
    let Some(strsim) = strsim() else { return };
    let mut test = Test::new();
    test.deadline = std::time::Duration::from_secs(240);
    for file in ["Cargo.toml", "src/lib.rs", "tests/lib.rs"] {
        test.write(file, &std::fs::read_to_string(strsim.join(file)).expect("strsim file"));
    }
    let source = std::fs::read_to_string(test.path().join("src/lib.rs")).expect("lib.rs");
    let planted = "                if x != y {\n                    count += 1;";
    assert!(source.contains(planted));
    test.write("src/lib.rs", &source.replacen(planted, &planted.replace("+= 1", "+= 2"), 1));
    test.write(".gitignore", "target/\n");
    test.commit_all("strsim 0.11.1 with a regression");
    let mut runbook = Runbook::default().write(&["src/**"]).limits(&["timeout 4m", "attempts 3", "stuck 3", "idle 2m"]);
    // Without `--no-fail-fast`: cargo stops at the failing unit-test binary, the integration
    // tests never run at the baseline, and night says the counts are partial.
    runbook.checks = vec!["tests \"cargo test --offline --lib --test lib\" format cargo within 3m".into()];
    test.setup(CRATE_AGENT, &runbook);

    let ran = test.run();
    let output = ran.output();
    assert_eq!(ran.outcome(), "success", "{output}");
    let baseline = &ran.event("baseline")["checks"][0];
    assert_eq!(baseline["partial"]["reason"], "cargo-fail-fast", "{baseline}");
    assert_eq!(baseline["tests"], serde_json::json!({"passed": 84, "failed": 4, "skipped": 0}), "{baseline}");
    assert!(baseline["reason"].as_str().is_some_and(|r| r.contains("the counts are partial: cargo test stopped at the first failing test binary")), "{baseline}");

    // The `#[ignore]`d tests are lost; the integration test now reached fails too.
    let checks = ran.events_named("checks");
    let ignored = &checks[0]["checks"][0];
    assert_eq!(ignored["passed"], false);
    assert_eq!(ignored["tests"], serde_json::json!({"passed": 91, "failed": 1, "skipped": 4}), "{ignored}");
    assert_eq!(ignored["lost"]["lost"], 4, "{ignored}");
    let reason = ignored["reason"].as_str().expect("a reason");
    assert!(reason.starts_with("1 test failed (baseline 4, of a partial run); 4 tests lost: ran at the baseline, now missing or skipped: "), "{reason}");
    assert!(reason.contains("hamming_diff_multibyte"), "{reason}");
    assert!(ran.report().contains("partial"), "the report marks the baseline's counts partial");

    // The fix: every test runs, the counts equal cargo's own.
    let fixed = &checks[1]["checks"][0];
    assert_eq!(fixed["passed"], true, "{fixed}");
    assert!(fixed.get("partial").is_none() && fixed.get("lost").is_none(), "{fixed}");
    test.git(&["checkout", "-q", &ran.branch()]);
    let cargo = Command::new("cargo").args(["test", "--offline", "--lib", "--test", "lib"]).current_dir(test.path()).output().expect("cargo");
    let (passed, failed, ignored) = cargo_truth(&String::from_utf8_lossy(&cargo.stdout));
    assert_eq!(fixed["tests"], serde_json::json!({"passed": passed, "failed": failed, "skipped": ignored}));
    assert_eq!((passed, failed, ignored), (96, 0, 0));
}
