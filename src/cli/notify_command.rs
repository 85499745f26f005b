//! `night notify --test FILE`: a test message through every notifier; exit 0 when all were
//! delivered, 1 when any failed, 2 when the runbook cannot be read or has no notifiers.
//!
//! The runbook need not pass `night check`: notifiers are worth testing before the rest is
//! finished. Only problems in the `notify` block itself are shown; the others are counted.

use super::error::{CliError, Done};
use super::out;
use super::NotifyArgs;
use crate::record::Exit;
use crate::checklist::{check, default_name};
use crate::diagnostic::{render, Code, Diagnostic, RenderOptions};
use crate::notify::{send_test_with, test_message, Delivery, Settings};
use crate::source::Span;
use crate::syntax;
use std::fmt::Write as _;

pub fn run(args: &NotifyArgs) -> Done {
    let source = super::check_command::read_source(&args.file)?;
    let env = |name: &str| std::env::var(name).ok();
    let options = RenderOptions { width: super::width(), color: super::use_color() };
    let parsed = syntax::parse(&source);
    let outcome = check(&source, &env);

    let Some(notify) = parsed.runbook.notify.as_ref() else {
        for diagnostic in outcome.diagnostics.iter().filter(|d| d.is_error() && matches!(d.code, Code::Syntax | Code::BadString)) {
            out::eprint(&render(diagnostic, &source, options));
        }
        return Err(CliError::NoNotifyBlock(source.name().to_string()));
    };
    let region = notify_region(&parsed.runbook, notify.span, source.text.len());
    let (inside, outside): (Vec<&Diagnostic>, Vec<&Diagnostic>) = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && !matches!(d.code, Code::EnvUnset | Code::NotifyMissing))
        .partition(|d| d.span().is_some_and(|span| span.start >= region.start && span.start < region.end));
    let mut notes = String::new();
    for diagnostic in inside {
        notes.push_str(&render(diagnostic, &source, options));
        notes.push('\n');
    }
    if !outside.is_empty() {
        let errors = if outside.len() == 1 { "1 error".to_string() } else { format!("{} errors", outside.len()) };
        let _ = writeln!(notes, "note: `{}` has {errors} outside `notify` (`night check` shows them); testing the notifiers anyway", source.name());
    }
    out::eprint(&notes);
    if notify.notifiers.is_empty() {
        return Err(CliError::NoNotifier(source.name().to_string()));
    }

    let runbook_path = source.path().canonicalize().unwrap_or_else(|_| source.path().to_path_buf());
    let name = parsed.runbook.name.as_ref().map_or_else(|| default_name(&runbook_path), |n| n.value.clone());
    let template = parsed.runbook.task.as_ref().and_then(|t| t.branch.as_ref()).map_or("night/{name}/{date}", |b| b.value.as_str());
    let branch = template.replace("{name}", &name).replace("{date}", &chrono::Utc::now().format("%Y%m%d-%H%M").to_string());
    let message = test_message(&name, &branch);
    let mut settings = Settings::from_env();
    if let Some(dir) = runbook_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        settings = settings.in_dir(dir);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|source| CliError::System { doing: "start the runtime", source })?;
    let count = notify.notifiers.len();
    out::print(&format!("sending a test message through {} of {}:\n", if count == 1 { "1 notifier".to_string() } else { format!("{count} notifiers") }, args.file.display()))?;
    // `send_test` with the runbook's folder for `command` notifiers, as in a run.
    let deliveries = runtime.block_on(send_test_with(&notify.notifiers, &env, message, settings));
    let mut text = String::new();
    for delivery in &deliveries {
        let _ = writeln!(text, "  {}", line(delivery));
    }
    let delivered = deliveries.iter().filter(|d| d.delivered).count();
    let _ = writeln!(text, "{delivered} of {} delivered", deliveries.len());
    out::print(&text)?;
    Ok(if delivered == deliveries.len() { Exit::Success } else { Exit::Failure })
}

/// `slack (hooks.slack.com): delivered` / `email (…): failed after 3 tries: reason`.
fn line(delivery: &Delivery) -> String {
    let tries = |n: u32| if n > 1 { format!(" after {n} tries") } else { String::new() };
    if delivery.delivered {
        format!("{}: delivered{}", delivery.notifier, tries(delivery.tries))
    } else {
        let error = delivery.error.as_deref().unwrap_or("not delivered");
        format!("{}: failed{}: {error}", delivery.notifier, tries(delivery.tries))
    }
}

/// The byte range of the `notify` block: from its keyword to the next top-level block.
fn notify_region(runbook: &crate::ast::Runbook, notify: Span, end: usize) -> Span {
    let starts = [
        runbook.name.as_ref().map(|n| n.span.start),
        runbook.task.as_ref().map(|t| t.span.start),
        runbook.success.as_ref().map(|s| s.span.start),
        runbook.permissions.as_ref().map(|p| p.span.start),
        runbook.limits.as_ref().map(|l| l.span.start),
        runbook.rollback.as_ref().map(|r| r.span.start),
    ];
    let waivers = runbook.waivers.iter().map(|w| w.code.span.start);
    let next = starts.into_iter().flatten().chain(waivers).filter(|s| *s > notify.start).min().unwrap_or(end);
    Span::new(notify.start, next)
}
