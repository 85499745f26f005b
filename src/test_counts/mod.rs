//! Reading a test command's output: passed, failed and skipped counts, whether the runner
//! stopped early, and the tests by name where the output names them.
//!
//! Each format has its own file with a `parse` function that returns `None` when the
//! output holds none of that runner's summary lines, so `auto` can ask every one of them.
//! A summary's words are read openly: known outcomes are counted, words a runner or plugin
//! adds (`subtests passed`, `rerun`, `flaky`) are ignored. A test counts as failed when the
//! runner counts it against the run (pytest errors, unittest unexpected successes, go build
//! failures); expected failures count as skipped. [`lost_tests`] compares two runs.
//!
//! Just over 600 lines: the shared counting and the lost-tests comparison every format uses;
//! the formats themselves are one file each.

mod auto;
mod cargo;
mod go;
mod jest;
mod junit;
mod lost;
mod mocha;
mod nextest;
mod pytest;
mod result;
mod tap;
mod text;
mod unittest;
mod vitest;

pub use junit::ReportProblem;
pub use lost::{lost_tests, Evidence, LostTests};
pub use result::{Outcome, PartialReason, TestCase, TestRun};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a `tests` statement's output is read (LANGUAGE.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestFormat {
    /// Recognise the summary lines of every other text format.
    Auto,
    /// `cargo test` (libtest `test result:` lines).
    Cargo,
    /// `cargo nextest run`.
    Nextest,
    /// pytest.
    Pytest,
    /// Python's `unittest` runner.
    Unittest,
    /// `go test`, plain, `-v` or `-json`.
    Go,
    /// Jest.
    Jest,
    /// Vitest.
    Vitest,
    /// Mocha's default `spec` reporter.
    Mocha,
    /// Test Anything Protocol, including `node --test`.
    Tap,
    /// XML reports in the `JUnit` format written by the command, found by a glob relative to the repository root.
    Junit {
        /// Where the reports are, e.g. `target/nextest/ci/*.xml`.
        glob: String,
    },
}

impl TestFormat {
    /// Every format name, as written after `format` in a runbook.
    pub const NAMES: &[&str] = &[
        "auto", "cargo", "nextest", "pytest", "unittest", "go", "jest", "vitest", "mocha", "tap",
        "junit",
    ];

    /// The name written after `format` in a runbook.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TestFormat::Auto => "auto",
            TestFormat::Cargo => "cargo",
            TestFormat::Nextest => "nextest",
            TestFormat::Pytest => "pytest",
            TestFormat::Unittest => "unittest",
            TestFormat::Go => "go",
            TestFormat::Jest => "jest",
            TestFormat::Vitest => "vitest",
            TestFormat::Mocha => "mocha",
            TestFormat::Tap => "tap",
            TestFormat::Junit { .. } => "junit",
        }
    }

    /// The format with this name; `None` for unknown names and for `junit`, which needs its glob.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" => TestFormat::Auto,
            "cargo" => TestFormat::Cargo,
            "nextest" => TestFormat::Nextest,
            "pytest" => TestFormat::Pytest,
            "unittest" => TestFormat::Unittest,
            "go" => TestFormat::Go,
            "jest" => TestFormat::Jest,
            "vitest" => TestFormat::Vitest,
            "mocha" => TestFormat::Mocha,
            "tap" => TestFormat::Tap,
            _ => return None,
        })
    }
}

/// Tests counted in one run of a test command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed, errored, crashed or could not be built.
    pub failed: u64,
    /// Tests skipped, ignored, pending, todo or expected to fail.
    pub skipped: u64,
}

impl std::ops::AddAssign for TestCounts {
    /// Saturates, so absurd numbers in the output cannot overflow.
    fn add_assign(&mut self, other: Self) {
        self.passed = self.passed.saturating_add(other.passed);
        self.failed = self.failed.saturating_add(other.failed);
        self.skipped = self.skipped.saturating_add(other.skipped);
    }
}

/// Why no counts could be read.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    /// The named format found none of its summary lines.
    #[error(
        "no `{format}` test summary in the output (looked for {looked_for}); check that the \
         tests built and ran, or name the right format with `format …`"
    )]
    NoSummary {
        /// The format's name.
        format: &'static str,
        /// The lines that were looked for.
        looked_for: &'static str,
    },
    /// `auto` recognised no runner's summary.
    #[error(
        "no test summary recognised in the output; check that the tests built and ran, or name \
         the format, e.g. `format pytest` or `format junit \"reports/*.xml\"`"
    )]
    NotRecognised,
    /// The `junit` glob does not parse.
    #[error("invalid junit glob `{glob}`: {kind}; write a glob like `reports/**/*.xml`")]
    BadGlob {
        /// The glob as written.
        glob: String,
        /// What is wrong with it.
        kind: globset::ErrorKind,
    },
    /// No file matches the `junit` glob.
    #[error(
        "no junit report matches `{glob}` under the repository root; make the test command \
         write its XML reports there, or fix the glob"
    )]
    NoReports {
        /// The glob as written.
        glob: String,
    },
    /// A report could not be read.
    #[error("cannot read junit report `{}`: {source}", path.display())]
    ReadReport {
        /// The report's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A report is not `JUnit` XML.
    #[error("`{}` is not a junit xml report: {problem}; point the glob at the XML reports only", path.display())]
    BadReport {
        /// The report's path.
        path: PathBuf,
        /// What is wrong with it.
        problem: ReportProblem,
    },
}

/// Counts the tests in `output` (stdout and stderr combined); `junit` reads its reports under `repo_root`.
///
/// # Errors
///
/// As [`read_tests`].
pub fn count_tests(
    format: &TestFormat,
    output: &str,
    repo_root: &Path,
) -> Result<TestCounts, CountError> {
    read_tests(format, output, repo_root).map(|run| run.counts)
}

/// Reads the tests of `output` (stdout and stderr combined): counts, whether the runner
/// stopped early, and names where the format gives them; `junit` reads its reports under
/// `repo_root`.
///
/// # Errors
///
/// When the output holds no summary of the format (or, for `auto`, of any format), or the
/// `junit` glob is invalid, matches nothing, or matches a file that is not a readable report.
pub fn read_tests(
    format: &TestFormat,
    output: &str,
    repo_root: &Path,
) -> Result<TestRun, CountError> {
    let (parse, looked_for): (Parser, &'static str) = match format {
        TestFormat::Junit { glob } => return junit::count(glob, repo_root).map(TestRun::checked),
        TestFormat::Auto => {
            return auto::parse(&text::clean(output))
                .map(TestRun::checked)
                .ok_or(CountError::NotRecognised)
        }
        TestFormat::Cargo => (cargo::parse, cargo::LOOKED_FOR),
        TestFormat::Nextest => (nextest::parse, nextest::LOOKED_FOR),
        TestFormat::Pytest => (pytest::parse, pytest::LOOKED_FOR),
        TestFormat::Unittest => (unittest::parse, unittest::LOOKED_FOR),
        TestFormat::Go => (go::parse, go::LOOKED_FOR),
        TestFormat::Jest => (jest::parse, jest::LOOKED_FOR),
        TestFormat::Vitest => (vitest::parse, vitest::LOOKED_FOR),
        TestFormat::Mocha => (mocha::parse, mocha::LOOKED_FOR),
        TestFormat::Tap => (tap::parse, tap::LOOKED_FOR),
    };
    parse(&text::clean(output))
        .map(TestRun::checked)
        .ok_or(CountError::NoSummary {
            format: format.name(),
            looked_for,
        })
}

/// A text format's parser over cleaned output: `None` when none of its summary lines are there.
type Parser = fn(&str) -> Option<TestRun>;

/// Helpers for the parsers' unit tests.
#[cfg(test)]
mod test_support {
    use super::{Outcome, Parser, TestRun};

    /// Asserts that `parse` reads `text`'s tests as `expected`, names checked as [`super::read_tests`] checks them.
    pub(super) fn assert_names(parse: Parser, text: &str, expected: &[(&str, Outcome)]) {
        let tests = parse(text).map(TestRun::checked).and_then(|run| run.tests);
        let read: Vec<(&str, Outcome)> = tests
            .iter()
            .flatten()
            .map(|t| (t.name.as_str(), t.outcome))
            .collect();
        assert_eq!(read, expected, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(TestFormat::NAMES.len(), 11);
        for name in TestFormat::NAMES {
            match TestFormat::from_name(name) {
                Some(format) => assert_eq!(format.name(), *name),
                None => assert_eq!(*name, "junit"),
            }
        }
        assert_eq!(TestFormat::from_name("jnuit"), None);
    }

    #[test]
    fn serde_is_kebab_case() {
        let json = serde_json::to_string(&TestFormat::Unittest).unwrap_or_default();
        assert_eq!(json, "\"unittest\"");
        let junit = TestFormat::Junit {
            glob: "r/*.xml".into(),
        };
        let json = serde_json::to_string(&junit).unwrap_or_default();
        assert_eq!(json, r#"{"junit":{"glob":"r/*.xml"}}"#);
    }

    #[test]
    fn no_summary_error_names_the_format() {
        let err = count_tests(&TestFormat::Pytest, "hello\n", Path::new("."));
        let message = err.map_or_else(|e| e.to_string(), |_| String::new());
        assert!(message.starts_with("no `pytest` test summary"), "{message}");
    }

    #[test]
    fn auto_without_summary_fails_clearly() {
        let output = include_str!("../../tests/fixtures/test-output/auto/no-summary.txt");
        let err = count_tests(&TestFormat::Auto, output, Path::new("."));
        assert!(matches!(err, Err(CountError::NotRecognised)), "{err:?}");
        let compile_error =
            include_str!("../../tests/fixtures/test-output/cargo/compile-error.txt");
        let err = count_tests(&TestFormat::Auto, compile_error, Path::new("."));
        assert!(matches!(err, Err(CountError::NotRecognised)), "{err:?}");
        let err = count_tests(&TestFormat::Cargo, compile_error, Path::new("."));
        assert!(
            matches!(
                err,
                Err(CountError::NoSummary {
                    format: "cargo",
                    ..
                })
            ),
            "{err:?}"
        );
    }
}

/// Every captured or documented fixture, read by its own format and by `auto`.
#[cfg(test)]
mod fixture_tests {
    use super::*;

    macro_rules! fixture {
        ($format:ident, $file:literal, $passed:expr, $failed:expr, $skipped:expr) => {
            (
                TestFormat::$format,
                $file,
                include_str!(concat!("../../tests/fixtures/test-output/", $file)),
                TestCounts {
                    passed: $passed,
                    failed: $failed,
                    skipped: $skipped,
                },
            )
        };
    }

    /// (format, name, output, expected counts); files are relative to the fixture folder.
    fn fixtures() -> Vec<(TestFormat, &'static str, &'static str, TestCounts)> {
        vec![
            fixture!(Cargo, "cargo/pass.txt", 10, 0, 1),
            fixture!(Cargo, "cargo/fail-fast.txt", 2, 1, 1),
            fixture!(Cargo, "cargo/fail-no-fail-fast.txt", 7, 3, 1),
            fixture!(Cargo, "cargo/color.txt", 2, 1, 1),
            // The crashed binary's `fine` test finished before the crash.
            fixture!(Cargo, "cargo/crash.txt", 11, 1, 1),
            fixture!(Nextest, "nextest/pass.txt", 9, 0, 1),
            fixture!(Nextest, "nextest/fail.txt", 6, 3, 1),
            fixture!(Nextest, "nextest/fail-fast.txt", 4, 2, 1),
            fixture!(Pytest, "pytest/pass.txt", 8, 0, 2),
            fixture!(Pytest, "pytest/fail.txt", 5, 3, 2),
            fixture!(Pytest, "pytest/fail-quiet.txt", 5, 3, 2),
            fixture!(Pytest, "pytest/color.txt", 5, 3, 2),
            fixture!(Pytest, "pytest/no-tests.txt", 0, 0, 0),
            fixture!(Pytest, "pytest/collection-error.txt", 0, 1, 0),
            fixture!(Unittest, "unittest/pass.txt", 6, 0, 2),
            fixture!(Unittest, "unittest/fail.txt", 3, 3, 2),
            fixture!(Unittest, "unittest/fail-verbose.txt", 3, 3, 2),
            fixture!(Unittest, "unittest/no-tests-py311.txt", 0, 0, 0),
            fixture!(Unittest, "unittest/no-tests-py313.txt", 0, 0, 0),
            fixture!(Unittest, "unittest/unexpected-success.txt", 1, 1, 0),
            fixture!(Go, "go/pass.txt", 2, 0, 0),
            fixture!(Go, "go/fail.txt", 1, 2, 0),
            fixture!(Go, "go/pass-verbose.txt", 5, 0, 1),
            fixture!(Go, "go/fail-verbose.txt", 3, 2, 1),
            fixture!(Go, "go/fail-json.txt", 3, 2, 1),
            fixture!(Go, "go/build-failure-and-panic.txt", 2, 2, 0),
            fixture!(Go, "go/build-failure-and-panic-json.txt", 1, 2, 0),
            fixture!(Jest, "jest/pass.txt", 4, 0, 2),
            fixture!(Jest, "jest/fail.txt", 2, 2, 2),
            fixture!(Jest, "jest/color.txt", 2, 2, 2),
            fixture!(Jest, "jest/suite-error.txt", 4, 1, 2),
            fixture!(Jest, "jest/all-suites-fail.txt", 0, 1, 0),
            fixture!(Vitest, "vitest/pass-color.txt", 4, 0, 2),
            fixture!(Vitest, "vitest/fail-color.txt", 2, 2, 2),
            fixture!(Vitest, "vitest/fail.txt", 2, 2, 2),
            fixture!(Vitest, "vitest/suite-error.txt", 4, 1, 2),
            fixture!(Vitest, "vitest/unhandled-error.txt", 5, 1, 2),
            fixture!(Vitest, "vitest/all-files-fail.txt", 0, 1, 0),
            fixture!(Mocha, "mocha/pass.txt", 4, 0, 2),
            fixture!(Mocha, "mocha/fail.txt", 2, 2, 2),
            fixture!(Tap, "tap/node-pass.txt", 7, 0, 2),
            fixture!(Tap, "tap/node-fail.txt", 5, 2, 2),
            fixture!(Tap, "tap/node-spec-fail.txt", 5, 2, 2),
            fixture!(Tap, "tap/plain-tap14.txt", 2, 2, 2),
            fixture!(Tap, "tap/tape.txt", 3, 1, 0),
            fixture!(Tap, "tap/bail-out.txt", 1, 3, 0),
        ]
    }

    fn count(format: &TestFormat, output: &str) -> Result<TestCounts, String> {
        count_tests(format, output, Path::new(".")).map_err(|e| e.to_string())
    }

    #[test]
    fn each_format_counts_its_fixtures_exactly() {
        for (format, name, output, expected) in fixtures() {
            assert_eq!(count(&format, output), Ok(expected), "{name}");
        }
    }

    #[test]
    fn auto_agrees_with_the_named_format() {
        for (_, name, output, expected) in fixtures() {
            assert_eq!(count(&TestFormat::Auto, output), Ok(expected), "{name}");
        }
    }

    #[test]
    fn auto_sums_two_runners_in_one_output() {
        let output = include_str!("../../tests/fixtures/test-output/auto/cargo-then-pytest.txt");
        let expected = TestCounts {
            passed: 15,
            failed: 3,
            skipped: 3,
        };
        assert_eq!(count(&TestFormat::Auto, output), Ok(expected));
    }

    #[test]
    fn other_formats_do_not_read_a_fixture() {
        let text_formats: Vec<TestFormat> = TestFormat::NAMES
            .iter()
            .filter_map(|n| TestFormat::from_name(n))
            .collect();
        for (format, name, output, _) in fixtures() {
            for other in text_formats
                .iter()
                .filter(|f| **f != format && **f != TestFormat::Auto)
            {
                assert!(
                    count(other, output).is_err(),
                    "{} read {name}",
                    other.name()
                );
            }
        }
    }

    #[test]
    fn junit_fixtures_each_and_together() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = "tests/fixtures/test-output/junit";
        let cases = [
            (
                "pytest.xml",
                TestCounts {
                    passed: 5,
                    failed: 3,
                    skipped: 2,
                },
            ),
            (
                "vitest.xml",
                TestCounts {
                    passed: 2,
                    failed: 2,
                    skipped: 2,
                },
            ),
            (
                "nextest.xml",
                TestCounts {
                    passed: 6,
                    failed: 3,
                    skipped: 0,
                },
            ),
            (
                "surefire-TEST-*.xml",
                TestCounts {
                    passed: 3,
                    failed: 2,
                    skipped: 1,
                },
            ),
            (
                "*.xml",
                TestCounts {
                    passed: 16,
                    failed: 10,
                    skipped: 5,
                },
            ),
        ];
        for (file, expected) in cases {
            let format = TestFormat::Junit {
                glob: format!("{dir}/{file}"),
            };
            let counts = count_tests(&format, "", root).map_err(|e| e.to_string());
            assert_eq!(counts, Ok(expected), "{file}");
        }
        let missing = TestFormat::Junit {
            glob: "no/such/*.xml".into(),
        };
        assert!(matches!(
            count_tests(&missing, "", root),
            Err(CountError::NoReports { .. })
        ));
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    /// Messages follow the style guide: lower case; `--nocapture` shows them for reading.
    #[test]
    fn messages_are_lower_case() {
        let errors = [
            CountError::NoSummary {
                format: "cargo",
                looked_for: cargo::LOOKED_FOR,
            },
            CountError::NotRecognised,
            CountError::BadGlob {
                glob: "r/[.xml".into(),
                kind: globset::ErrorKind::UnclosedClass,
            },
            CountError::NoReports {
                glob: "r/*.xml".into(),
            },
            CountError::ReadReport {
                path: "r/a.xml".into(),
                source: std::io::ErrorKind::PermissionDenied.into(),
            },
            CountError::BadReport {
                path: "r/a.xml".into(),
                problem: ReportProblem::WrongRoot("html".into()),
            },
        ];
        for error in errors {
            let message = error.to_string();
            println!("{message}");
            assert!(
                message.starts_with(|c: char| !c.is_uppercase()),
                "{message}"
            );
        }
    }
}

#[cfg(test)]
mod robustness_tests {
    use super::*;
    use proptest::prelude::*;

    /// Fragments of real summaries, so random output gets deep into the parsers.
    const PIECES: &[&str] = &[
        "test result: FAILED. ",
        "passed; ",
        "failed; ",
        "Summary [ 1s] ",
        "tests run: ",
        "Ran ",
        "tests in 0.1s",
        "OK",
        "FAILED (",
        "failures=",
        ")",
        "Tests: ",
        "Tests  ",
        "Test Suites: ",
        "Test Files  ",
        " | ",
        ", ",
        " total",
        "(",
        "passing",
        "failing",
        "ok ",
        "not ok ",
        "1..",
        "# pass ",
        "# SKIP",
        "TAP version 13",
        "--- FAIL: ",
        "ok  \t",
        "FAIL\t",
        "{\"Action\":\"fail\",\"Package\":\"p\"}",
        " in 0.1s",
        "no tests ran",
        "\x1b[31m",
        "\x1b(B",
        "\r",
        "\n",
        "=== ",
        "PASSED tests/a.py::t[0x7f00aa11bb22]",
        " - ",
        "tests/a.py::t PASSED [ 50%]",
        "!!!! stopping after 1 failures !!!!",
        "     Running unittests src/lib.rs (target/debug/deps/a-0123456789abcdef)",
        "   Doc-tests a",
        "test t ... ok",
        "test t ... ",
        " (line 3)",
        "error: 2 targets failed:",
        "        PASS [   0.004s] (  1/9) a t",
        "Summary [ 1s] 3/9 tests run: ",
        "--- PASS: TestA (0.00s)",
        "Test Suites: 1 failed, 2 of 9 total",
        "PASS src/a.test.js",
        "  ✓ adds (2 ms)",
        " ✓ a.test.ts > adds 1ms",
        " FAIL  a.test.ts [ a.test.ts ]",
        "✔ adds (0.3ms)",
        "Bail out!",
        "test_a (m.C.test_a) ... ok",
        "Results (0.1s):",
        "99999999999999999999999",
        "3",
        "0",
        " ",
    ];

    proptest! {
        #[test]
        fn never_panics(indexes in proptest::collection::vec(0..PIECES.len(), 0..60)) {
            let output: String = indexes.iter().map(|&i| PIECES[i]).collect();
            for name in TestFormat::NAMES {
                if let Some(format) = TestFormat::from_name(name) {
                    let _ = count_tests(&format, &output, Path::new("."));
                }
            }
        }
    }
}
