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
