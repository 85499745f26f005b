//! `notify-missing`: some notifier reports the end of the run.

use super::Context;
use crate::ast::Event;
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let notifiers = context.runbook.notify.as_ref().map(|n| n.notifiers.as_slice()).unwrap_or_default();
    let wants = |event: Event| notifiers.iter().any(|n| n.value.wants(event));
    // A notifier written but not understood has its own error.
    if wants(Event::End) || (wants(Event::Success) && wants(Event::Failure)) || context.runbook.is_unresolved_in("notify") {
        return;
    }
    let diagnostic = Diagnostic::error(Code::NotifyMissing, "nobody is told when the run ends");
    let diagnostic = match &context.runbook.notify {
        Some(notify) => diagnostic.label(notify.span, "no notifier has `on end`"),
        None => diagnostic,
    };
    findings.push(diagnostic.help(
        "Add a notifier that fires at the end, e.g. `notify { command \"notify-send night \\\"$NIGHT_OUTCOME\\\"\" on end }`, or `waive notify-missing \"…\"`.",
    ));
}
