//! `night run FILE`: check, then the supervised run in the foreground; exit with the outcome's status.

use super::RunArgs;
use crate::check::check;
use crate::diagnostic::RenderOptions;
use crate::run::{Outcome, RunOptions};
use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::time::Duration;

/// The default grace period between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

pub fn run(args: &RunArgs) -> u8 {
    let source = match super::check_command::read_source(&args.file) {
        Ok(source) => source,
        Err(message) => {
            eprintln!("error[unreadable]: {message}");
            return Outcome::Refused.exit_code();
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let outcome = check(&source, &env);
    let Some(plan) = outcome.plan.as_ref().filter(|_| !outcome.has_errors()) else {
        let mut text = String::new();
        let options = RenderOptions { width: super::width(), color: super::use_color() };
        super::check_command::render_text(&mut text, &source, &outcome, options);
        print!("{text}");
        eprintln!("night: the runbook has errors; nothing was run (fix them, or `waive` a rule with a reason)");
        return Outcome::Refused.exit_code();
    };

    let grace = std::env::var("NIGHT_GRACE_MS").ok().and_then(|ms| ms.parse().ok()).map_or(GRACE, Duration::from_millis);
    let echo: Option<crate::run::process::TextSink> = if std::io::stdout().is_terminal() {
        Some(Arc::new(|text: &str| {
            let mut shown = String::with_capacity(text.len() + 16);
            for line in text.lines() {
                shown.push_str("  │ ");
                shown.push_str(line);
                shown.push('\n');
            }
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(shown.as_bytes());
            let _ = stdout.flush();
        }))
    } else {
        None
    };
    let options = RunOptions {
        grace,
        echo,
        status: Arc::new(|line: &str| {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }),
        env: Arc::new(|name: &str| std::env::var(name).ok()),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("night: cannot start the runtime: {e}");
            return Outcome::Crashed.exit_code();
        }
    };
    match runtime.block_on(crate::run::run(plan, options)) {
        Err(refused) => {
            eprintln!("error: {refused}");
            if let Some(help) = &refused.help {
                eprintln!("  help: {help}");
            }
            Outcome::Refused.exit_code()
        }
        Ok(finished) => {
            let journal = crate::run::journal::read(&finished.run_dir.join("journal.jsonl")).unwrap_or_default();
            let data = crate::report::ReportData::from_journal(&journal);
            let shown = if journal.is_empty() {
                format!("\nnight: {} — {}\n  report    {}\n", finished.outcome, finished.reason, finished.report.display())
            } else {
                crate::report::summary(&data, &finished.report.display().to_string())
            };
            print!("{shown}");
            let _ = std::io::stdout().flush();
            finished.outcome.exit_code()
        }
    }
}
