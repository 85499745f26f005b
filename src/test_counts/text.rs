//! Helpers shared by the text parsers: cleaning output and reading numbers.

use regex::Regex;
use std::sync::LazyLock;

/// Compiles a constant pattern once; the unit tests touch every pattern, so a typo fails there.
macro_rules! regex {
    ($pattern:expr) => {{
        static RE: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($pattern).expect("valid constant regex"));
        &*RE
    }};
}
pub(super) use regex;

/// Terminal escape sequences: CSI (colours, cursor moves), OSC (titles, links), charset
/// selection like `ESC ( B` (which tput-based colours emit) and other two-byte escapes.
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+][ -~]|\x1b[@-_]",
    )
    .expect("valid constant regex")
});

/// The output as a terminal would show it: escape sequences removed, and of a line that
/// progress bars rewrote with `\r`, only the last version.
pub(super) fn clean(output: &str) -> String {
    let plain = ANSI.replace_all(output, "");
    let mut cleaned = String::with_capacity(plain.len());
    for line in plain.lines() {
        let line = line.trim_end_matches('\r');
        let shown = line.rsplit('\r').next().unwrap_or(line);
        cleaned.push_str(shown);
        cleaned.push('\n');
    }
    cleaned
}

/// The blocks open above a line of a tree that runners indent (describe blocks, subtests), so
/// that a test is named `block > block > test`.
#[derive(Default)]
pub(super) struct Nesting {
    /// Each open block's indentation and name, outermost first.
    open: Vec<(usize, String)>,
}

impl Nesting {
    /// Closes the blocks a line at `indent` is not inside of.
    pub(super) fn close(&mut self, indent: usize) {
        self.open.retain(|(level, _)| *level < indent);
    }

    /// Opens a block at `indent`, after closing those it is not inside of.
    pub(super) fn open(&mut self, indent: usize, name: &str) {
        self.close(indent);
        self.open.push((indent, name.to_string()));
    }

    /// Closes every block.
    pub(super) fn clear(&mut self) {
        self.open.clear();
    }

    /// The innermost open block, with its indentation.
    pub(super) fn innermost(&self) -> Option<(usize, &str)> {
        self.open
            .last()
            .map(|(level, name)| (*level, name.as_str()))
    }

    /// `block > block > leaf`.
    pub(super) fn name(&self, leaf: &str) -> String {
        let mut parts: Vec<&str> = self.open.iter().map(|(_, name)| name.as_str()).collect();
        parts.push(leaf);
        parts.join(" > ")
    }
}

/// A run of ASCII digits as a number; one too big for `u64` saturates instead of failing.
pub(super) fn number(digits: &str) -> u64 {
    digits.trim().parse().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_and_charset_escapes() {
        let line = "test result: \x1b[31mFAILED\x1b(B\x1b[m. 2 passed;\x1b]8;;http://x\x07 link\n";
        assert_eq!(clean(line), "test result: FAILED. 2 passed; link\n");
    }

    #[test]
    fn keeps_the_last_rewrite_of_a_line() {
        assert_eq!(
            clean("running 1/3\rrunning 3/3\r\ndone\r\n"),
            "running 3/3\ndone\n"
        );
    }

    #[test]
    fn huge_numbers_saturate() {
        assert_eq!(number("99999999999999999999999"), u64::MAX);
        assert_eq!(number("42"), 42);
    }
}
