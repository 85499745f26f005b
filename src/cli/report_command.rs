//! `night report [RUN]`: the morning report from the journal alone, as markdown (printed),
//! JSON (printed) or HTML (written to the run folder).

use super::locate;
use super::{ReportArgs, ReportFormat};
use crate::report::{self, timeline::Timeline, Formats};
use crate::run::lock;
use std::io::Write as _;
use std::path::Path;

pub fn run(args: &ReportArgs) -> u8 {
    let dir = match locate::run_dir(args.run.as_deref()) {
        Ok(dir) => dir,
        Err(message) => return locate::fail(&message),
    };
    let (entries, mut data) = match report::load(&dir) {
        Ok(loaded) => loaded,
        Err(e) => return locate::fail(&format!("cannot read the journal of `{}`: {e}", dir.display())),
    };
    let live = lock::is_live(&dir);
    if !live {
        data.mark_died();
        // No supervisor will write the reports any more (it finished, or died): keep the run
        // folder's copies current, so that a crashed run has them too.
        let html = args.format == ReportFormat::Html;
        let died = data.died;
        if let Err(e) = report::write_reports(&dir, Formats { html }, died, &[]) {
            eprintln!("night: cannot write the reports in {}: {e}", dir.display());
        }
    }
    let text = match args.format {
        ReportFormat::Md => report::markdown(&data),
        ReportFormat::Json => report::json::json(&data),
        ReportFormat::Html => report::html::html(&data, &Timeline::from_journal(&entries)),
    };
    match (&args.output, args.format) {
        (Some(path), _) if path.as_os_str() == "-" => print(&text),
        (Some(path), _) => write(path, &text),
        (None, ReportFormat::Html) => write(&dir.join("report.html"), &text),
        (None, _) => print(&text),
    }
}

fn print(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => 2,
        _ => 0,
    }
}

fn write(path: &Path, text: &str) -> u8 {
    match std::fs::write(path, text) {
        Ok(()) => {
            println!("{}", path.display());
            0
        }
        Err(e) => locate::fail(&format!("cannot write `{}`: {e}", path.display())),
    }
}
