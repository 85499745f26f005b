//! Reading a run folder and writing its reports: `report.md` and `report.json` always,
//! `report.html` where asked.

use super::timeline::Timeline;
use super::{audit, html, json, markdown, ReportData};
use crate::run::journal::{self, Entry};
use std::io;
use std::path::{Path, PathBuf};

/// Which reports to write besides `report.md` and `report.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Formats {
    /// Also `report.html`.
    pub html: bool,
}

/// The journal's entries and the report gathered from them and the audit trail.
pub fn load(run_dir: &Path) -> io::Result<(Vec<Entry>, ReportData)> {
    let entries = journal::read(&run_dir.join("journal.jsonl"))?;
    let mut data = ReportData::from_journal(&entries);
    let (calls, denied) = audit::read(run_dir);
    // The sandbox makes an empty `audit.jsonl` for any agent; only agents with hooks fill it.
    let hookless = data.agent == "command" || data.agent.starts_with("command `");
    data.audited_calls = if hookless && calls == Some(0) { None } else { calls };
    data.denied = denied;
    Ok((entries, data))
}

/// Write the reports of the run in `run_dir` from its journal; `died` marks a journal without
/// an end whose supervisor is gone as crashed. Every text goes through `secrets` redaction.
/// The paths written.
pub fn write_reports(run_dir: &Path, formats: Formats, died: bool, secrets: &[String]) -> io::Result<Vec<PathBuf>> {
    let (entries, mut data) = load(run_dir)?;
    if died {
        data.mark_died();
    }
    let mut written = Vec::new();
    let mut put = |name: &str, text: String| -> io::Result<()> {
        let path = run_dir.join(name);
        // Write then rename: a reader (or a crash) never sees half a report.
        let partial = run_dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, journal::redact(&text, secrets))?;
        std::fs::rename(&partial, &path)?;
        written.push(path);
        Ok(())
    };
    put("report.md", markdown(&data))?;
    put("report.json", json::json(&data))?;
    if formats.html {
        put("report.html", html::html(&data, &Timeline::from_journal(&entries)))?;
    }
    Ok(written)
}
