//! The failure signature of the `stuck` rule: which success checks failed, and how, with what
//! changes from run to run of the same failure (times, durations, addresses, pids, temporary
//! paths, line numbers) taken out, hashed with a hash that is the same in every build.

use crate::record::SuccessRecord;
use std::sync::LazyLock;

/// A stable signature of a failure, for the `stuck` rule: which checks failed, with their
/// reasons and output tails normalised (timestamps, durations, hex addresses, PIDs, temp paths
/// and line:column numbers removed), hashed. `none` when every check held.
pub fn failure_signature(results: &[SuccessRecord]) -> String {
    let failed: Vec<&SuccessRecord> = results.iter().filter(|r| !r.passed).collect();
    if failed.is_empty() {
        return "none".to_string();
    }
    let mut hash = Fnv::new();
    for result in &failed {
        hash.write(result.index.to_string().as_bytes());
        hash.write(result.statement.as_bytes());
        hash.write(normalise(result.reason.as_deref().unwrap_or("")).as_bytes());
        // The last lines, as a set: a byte-bounded tail starts at a line that moves with the
        // length of what came before, and parallel test runners print in varying order.
        let normalised = normalise(&result.output_tail);
        let mut lines: Vec<&str> = normalised.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let mut lines = lines.split_off(lines.len().saturating_sub(SIGNATURE_LINES));
        lines.sort_unstable();
        for line in lines {
            hash.write(line.as_bytes());
            hash.write(b"\n");
        }
        hash.write(b"\0");
    }
    let indices: Vec<String> = failed.iter().map(|r| r.index.to_string()).collect();
    format!("{}:{:016x}", indices.join(","), hash.finish())
}

/// The number of last output lines in a failure signature.
const SIGNATURE_LINES: usize = 30;

/// FNV-1a: stable across builds and platforms, unlike `DefaultHasher`, so a signature in the
/// journal still compares after `night resume` with another binary.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Replace what changes from run to run of the same failure with placeholders.
pub(super) fn normalise(text: &str) -> String {
    static RULES: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            // Dates and times: 2024-05-01T12:00:00.123Z, 2024-05-01 12:00, 12:00:01.5
            (r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", "<time>"),
            (r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b", "<time>"),
            // Temp paths (before durations and numbers eat their digits).
            (r"(/private)?/(tmp|var/folders|var/tmp)/[^\s:'\x22)\]]*", "<tmp>"),
            (r"\.tmp[A-Za-z0-9]{4,}", "<tmp>"),
            // Addresses and long hex ids (hashes, object ids).
            (r"0x[0-9a-fA-F]+", "<hex>"),
            (r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b", "<hex?>"),
            // Durations: 1m2.5s, 0.53s, 12ms, 3 seconds, (4 ms).
            (r"\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|us|ms|s)\b", "<duration>"),
            (r"\b\d+(\.\d+)?\s*(ns|µs|us|ms|sec|secs|seconds?|mins?|minutes?|hours?)\b", "<duration>"),
            // Process ids: pid 123, pid=123, process 123, sh[123].
            (r"(?i)\b(pid|process|thread)\b[\s=:#]*\d+", "$1 <n>"),
            (r"\[\d{2,}\]", "[<n>]"),
            // Line and column numbers: file.rs:12:5, file.py:12, line 12, column 4.
            (r":\d+(:\d+)?\b", ":<line>"),
            (r"(?i)\b(line|col|column)\s+\d+", "$1 <n>"),
        ]
        .into_iter()
        .filter_map(|(pattern, replacement)| regex::Regex::new(pattern).ok().map(|re| (re, replacement)))
        .collect()
    });
    let mut text = text.to_string();
    for (regex, replacement) in RULES.iter() {
        if regex.is_match(&text) {
            text = regex
                .replace_all(&text, |caps: &regex::Captures<'_>| {
                    if *replacement == "<hex?>" {
                        // Only long runs are ids; short ones are words like `add` or `cafe1`.
                        let found = &caps[0];
                        if found.len() >= 8 { "<hex>".to_string() } else { found.to_string() }
                    } else {
                        let mut out = String::new();
                        caps.expand(replacement, &mut out);
                        out
                    }
                })
                .into_owned();
        }
    }
    text
}
