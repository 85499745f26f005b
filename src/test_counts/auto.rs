//! `auto`: every text format's summary lines, summed.

use super::{cargo, go, jest, mocha, nextest, pytest, tap, unittest, vitest, Parser, TestCounts};

/// Every text parser. Each insists on its runner's own summary lines, so they do not read
/// each other's output, and one command running two runners (`cargo test && pytest`)
/// gets both counted.
const PARSERS: &[Parser] = &[
    cargo::parse,
    nextest::parse,
    pytest::parse,
    unittest::parse,
    go::parse,
    jest::parse,
    vitest::parse,
    mocha::parse,
    tap::parse,
];

/// Sums what every recognising parser counts; `None` when none recognises anything.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    PARSERS
        .iter()
        .filter_map(|parse| parse(text))
        .reduce(|mut sum, counts| {
            sum += counts;
            sum
        })
}
