//! `auto`: every text format's summary lines, summed.

use super::{cargo, go, jest, mocha, nextest, pytest, tap, unittest, vitest, Parser, TestRun};

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

/// Sums what every recognising parser reads; `None` when none recognises anything.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    PARSERS
        .iter()
        .filter_map(|parse| parse(text).map(TestRun::checked))
        .reduce(|mut sum, run| {
            sum.merge(run);
            sum
        })
}
