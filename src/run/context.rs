//! What a supervisor runs with, for a new run and a resume alike, set up before anything
//! changes: the agent (found and new enough), the notifiers, the secrets, the sandbox, the
//! signals; and the rule of one run per repository.

use crate::notify::{Dispatcher, Settings};
use crate::plan::Plan;
use crate::record::{Event, Journal, RunDir, RunsDir};
use crate::run::agent::{adapter_for, Adapter, AgentError};
use crate::run::error::Refused;
use crate::run::sandboxing::RunSandbox;
use crate::run::signals::Interrupts;
use crate::run::RunOptions;
use crate::secrets::Secrets;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// What a supervisor runs with, the same for a new run and a resume: the plan and the
/// caller's options, the agent, the notifiers, the secrets and the sandbox.
pub(super) struct Context<'a> {
    pub plan: &'a Plan,
    pub options: RunOptions,
    pub adapter: Arc<dyn Adapter>,
    pub dispatcher: Dispatcher,
    /// Scrubbed from everything written.
    pub secrets: Secrets,
    /// Environment variables neither the agent nor the checks get.
    pub secret_names: Vec<String>,
    pub sandbox: RunSandbox,
    /// The signals received since the run (or the resume) began.
    pub interrupts: Interrupts,
}

/// What a supervisor needs before it changes anything, for a new run and a resume alike: the
/// agent (found and new enough), the notifiers (journaling their deliveries once the journal
/// exists, through the returned cell), the secrets and the sandbox.
pub(super) fn setup(plan: &Plan, options: RunOptions, interrupts: Interrupts) -> Result<(Context<'_>, Arc<OnceLock<Journal>>), Refused> {
    plan.compile_regexes().map_err(Refused::Regex)?;
    let adapter: Arc<dyn Adapter> = Arc::from(adapter_for(&plan.agent).map_err(AgentError::from)?);
    adapter.preflight()?;

    let mut secret_names = crate::sandbox::env::secret_names(plan);
    let env = options.env.clone();
    let mut secret_values: Vec<String> = secret_names.iter().filter_map(|name| env(name)).collect();
    let journal_cell: Arc<OnceLock<Journal>> = Arc::new(OnceLock::new());
    let deliveries = journal_cell.clone();
    let lookup = |name: &str| env(name);
    // `command` notifiers run in the repository, where a runbook's `./notify.sh` lives.
    let settings = Settings::from_lookup(&lookup).in_dir(&plan.repo);
    let dispatcher = Dispatcher::with_settings(
        &plan.notifiers,
        &lookup,
        Box::new(move |delivery| {
            if let Some(journal) = deliveries.get() {
                journal.record(Event::Notification { notifier: delivery.notifier.clone(), on: delivery.event, delivered: delivery.delivered, tries: delivery.tries, error: delivery.error.clone() });
            }
        }),
        settings,
    )
    .map_err(Refused::Notifiers)?;
    secret_values.extend(dispatcher.secrets());
    secret_names.extend(dispatcher.env_names());
    secret_names.sort();
    secret_names.dedup();
    // `sandbox on` refuses here, before preflight (or a resume) changes anything.
    let mut sandbox = RunSandbox::check(plan, (options.env)("HOME").map(PathBuf::from))?;
    sandbox.others = options.batch.as_ref().map(|member| member.other_branches.clone()).unwrap_or_default();
    let cx = Context { plan, options, adapter, dispatcher, secrets: Secrets::new(&secret_values), secret_names, sandbox, interrupts };
    Ok((cx, journal_cell))
}

/// One supervisor per repository: a second run while one is live is refused before anything
/// changes (an in-place run has the checkout on its branch; two agents would fight). `except`:
/// the run being resumed. The runs of one batch go side by side, each in its own worktree: the
/// live runs the batch's journal names (even before their `run-start`) are let be.
pub(super) fn refuse_a_second_run(runs: &RunsDir, except: Option<&RunDir>, batch: Option<&std::path::Path>) -> Result<(), Refused> {
    let batch_runs: Vec<String> = batch
        .and_then(|dir| crate::record::BatchDir::new(dir).load().ok())
        .map(|history| history.members.into_iter().filter_map(|member| member.run_id).collect())
        .unwrap_or_default();
    match runs.live().into_iter().find(|(run, _)| except.is_none_or(|except| except.id() != run.id()) && !batch_runs.contains(&run.id())) {
        Some((run, pid)) => Err(Refused::AnotherRun { id: run.id(), pid }),
        None => Ok(()),
    }
}
