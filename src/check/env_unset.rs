//! `env-unset`: every `env.X` is set now.

use super::Context;
use crate::ast::Value;
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(notify) = &context.runbook.notify else { return };
    for notifier in &notify.notifiers {
        for value in notifier.value.channel.values() {
            let Value::Env(name) = &value.value else { continue };
            if (context.env)(name).is_some_and(|v| !v.is_empty()) {
                continue;
            }
            findings.push(
                Diagnostic::error(Code::EnvUnset, format!("environment variable `{name}` is not set"))
                    .label(value.span, "read when the run starts")
                    .help(format!("Set it in the shell that starts night, e.g. `export {name}=…`.")),
            );
        }
    }
}
