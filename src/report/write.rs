//! Writing a run's reports into its folder: `report.md` and `report.json` always,
//! `report.html` where asked; each through the run's secrets, each whole or not at all.

use super::timeline::Timeline;
use super::{html, json, markdown, ReportData};
use crate::record::{History, ReportFile, RunDir};
use crate::secrets::Secrets;
use std::io;
use std::path::PathBuf;

/// Which reports to write besides `report.md` and `report.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Formats {
    /// Also `report.html`.
    pub html: bool,
}

/// Write the reports of `history` into `run_dir`; `died` shows a journal without an end whose
/// supervisor is gone as crashed. Every text goes through `secrets`. The paths written.
pub fn write_reports(run_dir: &RunDir, history: &History, died: bool, formats: Formats, secrets: &Secrets) -> io::Result<Vec<PathBuf>> {
    let data = ReportData::new(history, died);
    let mut written = Vec::new();
    let mut put = |file: ReportFile, text: String| -> io::Result<()> {
        // Write then rename: a reader (or a crash) never sees half a report.
        let partial = run_dir.partial(file);
        std::fs::write(&partial, secrets.scrub(&text).as_bytes())?;
        let path = run_dir.report(file);
        std::fs::rename(&partial, &path)?;
        written.push(path);
        Ok(())
    };
    put(ReportFile::Markdown, markdown(&data))?;
    put(ReportFile::Json, json::json(&data))?;
    if formats.html {
        put(ReportFile::Html, html::html(&data, &Timeline::new(history)))?;
    }
    Ok(written)
}
