//! Placeholder until the test-count parsers land.
use serde::{Deserialize, Serialize};

/// How a `tests` check counts passed and failed tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestFormat {
    Auto, Cargo, Nextest, Pytest, Unittest, Go, Jest, Vitest, Mocha, Tap,
    Junit { glob: String },
}

impl TestFormat {
    pub const NAMES: &[&str] = &["auto", "cargo", "nextest", "pytest", "unittest", "go", "jest", "vitest", "mocha", "tap", "junit"];
    pub fn name(&self) -> &'static str {
        match self {
            TestFormat::Auto => "auto", TestFormat::Cargo => "cargo", TestFormat::Nextest => "nextest",
            TestFormat::Pytest => "pytest", TestFormat::Unittest => "unittest", TestFormat::Go => "go",
            TestFormat::Jest => "jest", TestFormat::Vitest => "vitest", TestFormat::Mocha => "mocha",
            TestFormat::Tap => "tap", TestFormat::Junit { .. } => "junit",
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" => TestFormat::Auto, "cargo" => TestFormat::Cargo, "nextest" => TestFormat::Nextest,
            "pytest" => TestFormat::Pytest, "unittest" => TestFormat::Unittest, "go" => TestFormat::Go,
            "jest" => TestFormat::Jest, "vitest" => TestFormat::Vitest, "mocha" => TestFormat::Mocha,
            "tap" => TestFormat::Tap, _ => return None,
        })
    }
}

/// Tests counted in one run of a test command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests skipped or ignored.
    pub skipped: u64,
}

/// Why no counts could be read.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    /// No summary line was recognised.
    #[error("no test summary recognised in the output")]
    NotRecognised,
}

/// Stub until the real parsers land: sums cargo's `test result:` lines only.
pub fn count_tests(_format: &TestFormat, output: &str, _repo_root: &std::path::Path) -> Result<TestCounts, CountError> {
    let mut counts = TestCounts::default();
    let mut found = false;
    for line in output.lines().filter_map(|line| line.trim().strip_prefix("test result: ")) {
        found = true;
        let number_before = |word: &str| {
            let end = line.find(word)?;
            line[..end].split_whitespace().last()?.parse::<u64>().ok()
        };
        counts.passed += number_before(" passed").unwrap_or(0);
        counts.failed += number_before(" failed").unwrap_or(0);
        counts.skipped += number_before(" ignored").unwrap_or(0);
    }
    if found { Ok(counts) } else { Err(CountError::NotRecognised) }
}
