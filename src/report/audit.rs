//! What the report takes from `audit.jsonl`, the trail `night hook` writes for agents with
//! hooks: how many calls were audited and which were denied. Read leniently: a line that does
//! not parse (torn, or from a newer night) is skipped.

use serde::Serialize;
use std::path::Path;

/// The audit trail's file name in the run folder.
pub use crate::hook::AUDIT_FILE;

/// One denied tool call or command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The tool (`Bash`, `Edit`, …).
    pub tool: String,
    /// The command, or the path a file tool named.
    pub what: String,
    /// Why it was denied.
    pub reason: Option<String>,
}

/// The calls audited before they ran (`None` without an `audit.jsonl`), and the denied ones.
pub fn read(run_dir: &Path) -> (Option<usize>, Vec<Denied>) {
    let Some(entries) = crate::hook::try_read_audit(run_dir) else {
        return (None, Vec::new());
    };
    // Each call is decided once, before it runs; later events (PostToolUse …) are its results.
    let decided = entries.into_iter().filter(|entry| entry.event == "PreToolUse" || entry.is_denial());
    let mut calls = 0;
    let mut denied = Vec::new();
    for entry in decided {
        calls += 1;
        if entry.is_denial() {
            denied.push(Denied {
                time: entry.time,
                tool: entry.tool.unwrap_or_else(|| "tool".into()),
                what: entry.command.or(entry.path).unwrap_or_default(),
                reason: entry.reason,
            });
        }
    }
    (Some(calls), denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_denials_are_counted_and_bad_lines_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read(dir.path()), (None, Vec::new()));
        let lines = [
            r#"{"time":"2025-01-01T00:00:01Z","event":"PreToolUse","tool":"Edit","path":"src/a.rs","decision":"allowed"}"#,
            r#"{"time":"2025-01-01T00:00:02Z","event":"PostToolUse","tool":"Edit","decision":"ok"}"#,
            r#"{"time":"2025-01-01T00:00:03Z","event":"PreToolUse","tool":"Bash","command":"git push origin main","decision":"denied","reason":"`deny \"git push*\"`"}"#,
            r#"{"time":"2025-01-01T00:00:04Z","event":"PreTo"#,
        ];
        std::fs::write(dir.path().join(AUDIT_FILE), lines.join("\n")).expect("write");
        let (calls, denied) = read(dir.path());
        assert_eq!(calls, Some(2));
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].tool, "Bash");
        assert_eq!(denied[0].what, "git push origin main");
    }
}
