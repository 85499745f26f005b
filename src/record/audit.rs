//! What a run's record takes from `audit.jsonl`, the trail `night hook` writes for agents with
//! hooks: how many calls were decided, and which were denied. Read leniently, by its own view
//! of the trail's lines: a line that does not parse (torn, or from a newer night) is skipped.

use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// The audit trail in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSummary {
    /// Calls decided before they ran.
    pub calls: usize,
    /// The denied ones.
    pub denied: Vec<Denied>,
}

/// The fields of a trail line the record needs.
#[derive(Deserialize)]
struct Line {
    time: String,
    event: String,
    tool: Option<String>,
    path: Option<String>,
    command: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
}

/// The summary of the trail at `path`; `None` when there is none.
pub fn read(path: &Path) -> Option<AuditSummary> {
    let bytes = std::fs::read(path).ok()?;
    let mut summary = AuditSummary::default();
    for line in bytes.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice::<Line>(line).ok()) {
        let denied = line.decision.as_deref() == Some("denied");
        // Each call is decided once, before it runs; later events (PostToolUse …) are its results.
        if line.event != "PreToolUse" && !denied {
            continue;
        }
        summary.calls += 1;
        if denied {
            summary.denied.push(Denied {
                time: line.time,
                tool: line.tool.unwrap_or_else(|| "tool".into()),
                what: line.command.or(line.path).unwrap_or_default(),
                reason: line.reason,
            });
        }
    }
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_denials_are_counted_and_bad_lines_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.jsonl");
        assert_eq!(read(&path), None);
        let lines = [
            r#"{"time":"2025-01-01T00:00:01Z","event":"PreToolUse","tool":"Edit","path":"src/a.rs","decision":"allowed"}"#,
            r#"{"time":"2025-01-01T00:00:02Z","event":"PostToolUse","tool":"Edit","decision":"ok"}"#,
            r#"{"time":"2025-01-01T00:00:03Z","event":"PreToolUse","tool":"Bash","command":"git push origin main","decision":"denied","reason":"`deny \"git push*\"`"}"#,
            r#"{"time":"2025-01-01T00:00:04Z","event":"PreTo"#,
        ];
        std::fs::write(&path, lines.join("\n")).expect("write");
        let summary = read(&path).expect("a trail");
        assert_eq!(summary.calls, 2);
        assert_eq!(summary.denied.len(), 1);
        assert_eq!(summary.denied[0].tool, "Bash");
        assert_eq!(summary.denied[0].what, "git push origin main");
    }
}
