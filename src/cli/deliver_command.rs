//! `night deliver RUN`: push an ended run's branch and open (or update) its pull request by
//! hand, as the runbook's `deliver` block says (the run folder's copy, as it ran), whatever
//! its `on`: a run whose outcome was not delivered, or whose delivery failed.

use super::error::{CliError, Done};
use super::{locate, out};
use super::DeliverArgs;
use crate::plan::Delivery;
use crate::record::Exit;
use crate::run::Refused;
use crate::secrets::Secrets;
use crate::source::Source;
use std::sync::Arc;

pub fn run(args: &DeliverArgs) -> Done {
    let dir = locate::run_dir(Some(&args.run))?;
    let history = dir.load().map_err(|source| CliError::Refused(Refused::Journal { doing: "read", source }))?;
    let Some((start, _)) = history.start else { return Err(Refused::NeverStarted.into()) };
    let path = dir.runbook();
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::File { doing: "read the run's runbook copy", path, source })?;
    // Only the `deliver` block is read: the rest of the checklist is about starting a run,
    // and the run has ended (its branch may well be on the remote by now).
    let parsed = crate::syntax::parse(&Source::new(&start.runbook, text));
    let Some(delivery) = parsed.runbook.deliver.as_ref().and_then(Delivery::from_ast) else {
        return Err(Refused::NoDelivery(start.run_id).into());
    };
    let env: crate::run::EnvReader = Arc::new(|name: &str| crate::remote::secrets::var(name));
    let secrets = Secrets::new(&delivery.env_names().iter().filter_map(|name| env(name)).collect::<Vec<_>>());
    let status: crate::run::TextSink = Arc::new(|line: &str| {
        out::eprint(&format!("{line}\n"));
    });
    let runtime = super::foreground::runtime()?;
    let record = runtime.block_on(crate::run::deliver_ended(&dir, &delivery, env, status, secrets))?;
    let mut text = String::new();
    if let Some(url) = record.pull_request_url() {
        text.push_str(&format!("{url}\n"));
    }
    out::print(&text)?;
    Ok(if record.is_complete() { Exit::Success } else { Exit::Failure })
}
