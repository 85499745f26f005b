//! The audit trail `audit.jsonl`: one line per hook event (tool calls decided, their results),
//! and the refusals night's other layers record there (a push git refused).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The audit trail in the run folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// One line of `audit.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The hook event, e.g. `PreToolUse`.
    pub event: String,
    /// The tool, for tool events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The file a file tool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The shell command a Bash call runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `allowed` or `denied` (PreToolUse); `ok` or `failed` (PostToolUse, PostToolUseFailure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Why it was denied, or the error of a failed tool or turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The agent's id for the tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

impl AuditEntry {
    /// Whether this entry records a denial.
    pub fn is_denial(&self) -> bool {
        self.decision.as_deref() == Some("denied")
    }
}

/// Read every entry of a run's `audit.jsonl`, if there is one. Lines that do not parse (torn by
/// a killed hook, or from a newer night) are skipped, not fatal.
pub fn try_read_audit(run_dir: &Path) -> Option<Vec<AuditEntry>> {
    let bytes = std::fs::read(run_dir.join(AUDIT_FILE)).ok()?;
    Some(bytes.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
}

/// Every entry of a run's `audit.jsonl`; none without one.
pub fn read_audit(run_dir: &Path) -> Vec<AuditEntry> {
    try_read_audit(run_dir).unwrap_or_default()
}

