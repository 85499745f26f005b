//! What the report takes from `audit.jsonl`, the trail `night hook` writes for agents with
//! hooks: how many calls were audited and which were denied. Read leniently: a line that does
//! not parse (torn, or from a newer night) is skipped.

use serde::{Deserialize, Serialize};
use std::io::BufRead as _;
use std::path::Path;

/// The audit trail's file name in the run folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

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

/// The fields of an audit line the report needs.
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    time: String,
    #[serde(default)]
    event: String,
    tool: Option<String>,
    path: Option<String>,
    command: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
}

/// The calls audited before they ran (`None` without an `audit.jsonl`), and the denied ones.
pub fn read(run_dir: &Path) -> (Option<usize>, Vec<Denied>) {
    let Ok(file) = std::fs::File::open(run_dir.join(AUDIT_FILE)) else {
        return (None, Vec::new());
    };
    let mut calls = 0;
    let mut denied = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(line) = serde_json::from_slice::<Line>(&bytes) else { continue };
        // Each call is decided once, before it runs; later events (PostToolUse …) are its results.
        if line.event != "PreToolUse" && line.decision.as_deref() != Some("denied") {
            continue;
        }
        calls += 1;
        if line.decision.as_deref() == Some("denied") {
            denied.push(Denied {
                time: line.time,
                tool: line.tool.unwrap_or_else(|| "tool".into()),
                what: line.command.or(line.path).unwrap_or_default(),
                reason: line.reason,
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
