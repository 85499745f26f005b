//! `env-unset`: every `env.X` is set now: the notifiers' values, the delivery's token and API.

use super::Context;
use crate::ast::Value;
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    delivery(context, findings);
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

/// The pull request's `token env.X` and `api env.Y`.
fn delivery(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(pr) = context.runbook.deliver.as_ref().and_then(|d| d.pull_request.as_ref()) else { return };
    let pr = &pr.value;
    let set = |name: &str| (context.env)(name).is_some_and(|v| !v.is_empty());
    if !set(&pr.token.value) {
        let name = &pr.token.value;
        findings.push(
            Diagnostic::error(Code::EnvUnset, format!("environment variable `{name}` is not set"))
                .label(pr.token.span, "the API token, read when the run starts")
                .help(format!(
                    "Create a token allowed to open pull requests on `{}` and export it in the shell that starts night: `export {name}=…`.",
                    pr.repository.value
                )),
        );
    }
    if let Some(api) = &pr.api {
        if let Value::Env(name) = &api.value {
            if !set(name) {
                findings.push(
                    Diagnostic::error(Code::EnvUnset, format!("environment variable `{name}` is not set"))
                        .label(api.span, "read when the run starts")
                        .help(format!("Set it in the shell that starts night, e.g. `export {name}=https://…`.")),
                );
            }
        }
    }
}
