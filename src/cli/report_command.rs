//! `night report [RUN]`: the morning report from the run's history alone, as markdown
//! (printed), JSON (printed) or HTML (written to the run folder).

use super::error::{CliError, Done};
use super::{locate, out};
use super::{ReportArgs, ReportFormat};
use crate::record::{Exit, ReportFile, RunStatus};
use crate::report::{self, timeline::Timeline, Formats, ReportData};
use crate::secrets::Secrets;
use std::path::Path;

pub fn run(args: &ReportArgs) -> Done {
    if let Some(batch) = args.run.as_deref().map(super::batch_command::find).transpose()?.flatten() {
        return super::batch_command::report(&batch, args);
    }
    let dir = locate::run_dir(args.run.as_deref())?;
    let history = dir.load().map_err(|source| CliError::File { doing: "read the journal of", path: dir.path().to_path_buf(), source })?;
    // Plain `night report` when the newest run is one of a batch: the batch's report.
    if args.run.is_none() {
        if let Some(batch) = history.start.as_ref().and_then(|(start, _)| start.batch.as_deref()).and_then(|id| super::batch_command::find(id).ok().flatten()) {
            return super::batch_command::report(&batch, args);
        }
    }
    let status = dir.status(&history);
    let died = status == RunStatus::Died;
    if !matches!(status, RunStatus::Running { .. }) {
        // No supervisor will write the reports any more (it finished, or died): keep the run
        // folder's copies current, so that a crashed run has them too.
        let html = args.format == ReportFormat::Html;
        if let Err(e) = report::write_reports(&dir, &history, died, Formats { html }, &Secrets::default()) {
            out::eprint(&format!("warning: cannot write the reports in {}: {e}\n", dir.path().display()));
        }
    }
    let mut data = ReportData::new(&history, died);
    if args.format != ReportFormat::Json && dir.pulled().is_file() {
        // Brought here by `night pull --on` from the host it ran on: the next commands are for
        // this checkout, not the host's (the JSON keeps what the run recorded there).
        data.checkout = dir.path().ancestors().nth(3).and_then(crate::run::git::RunGit::checkout_branch);
    }
    let text = match args.format {
        ReportFormat::Md => report::markdown(&data),
        ReportFormat::Json => report::json::json(&data),
        ReportFormat::Html => report::html::html(&data, &Timeline::new(&history)),
    };
    match (&args.output, args.format) {
        (Some(path), _) if path.as_os_str() == "-" => out::print(&text)?,
        (Some(path), _) => write(path, &text)?,
        (None, ReportFormat::Html) => write(&dir.report(ReportFile::Html), &text)?,
        (None, _) => out::print(&text)?,
    }
    Ok(Exit::Success)
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::File { doing: "write", path: path.to_path_buf(), source })?;
    out::print(&format!("{}\n", path.display()))
}
