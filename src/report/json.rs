//! `report.json`: the same data as `report.md`, for tools. The schema is documented in
//! docs/report-json.md; `version` changes only when a field changes meaning or goes away.

use super::{continue_commands, ReportData};
use serde::Serialize;

/// The version of the `report.json` schema.
pub const REPORT_JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    /// `running`, `finished` or `died`.
    state: &'static str,
    #[serde(flatten)]
    report: &'a ReportData,
    next: Vec<Next>,
}

#[derive(Serialize)]
struct Next {
    command: String,
    why: String,
}

/// `report.json`, pretty-printed.
pub fn json(data: &ReportData) -> String {
    let state = if data.died {
        "died"
    } else if data.outcome.is_some() {
        "finished"
    } else {
        "running"
    };
    let next = continue_commands(data).into_iter().map(|(command, why)| Next { command, why }).collect();
    let document = Document { version: REPORT_JSON_VERSION, state, report: data, next };
    // Every field is a string, number, bool or list of them: encoding cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"version\":{REPORT_JSON_VERSION},\"error\":\"{e}\"}}"))
}
