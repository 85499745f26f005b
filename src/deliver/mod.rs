//! Delivery (docs/deliver.md): once a run has ended, night itself pushes the run branch and opens
//! (or updates) the pull request; the agent never can. The run calls three functions:
//!
//! - [`record_remote`] when the run starts, before the agent: the URL pushed to at the end is
//!   this one, whatever the repository's config says by then (the journal keeps it);
//! - [`preflight`] before the agent starts: a dry-run push and an authenticated API call, so
//!   that a wrong remote or token refuses the run instead of surprising the morning;
//! - [`deliver`] after the run has ended, with its outcome and the report's first screen. It
//!   never fails as a whole and never panics: each step's result is in [`Delivered`], errors
//!   typed ([`DeliverError`]) with the forge's or git's own words, tokens scrubbed.
//!
//! The push runs the system `git` from a scratch repository (`push.rs`), non-interactively and
//! without hooks (`git.rs`); the forges are `forge/`. Nothing here prints.

mod error;
mod forge;
mod git;
mod push;
mod remote;
mod text;

pub use error::{forge_title, ApiFailure, DeliverError, PushFailure};
pub use forge::Opened;
pub use remote::{record_remote, strip_credentials, RecordedRemote};

use crate::ast::Outcome;
use crate::plan::Delivery;
use push::{Lease, RefStatus, RefUpdate};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads environment variables (the token, an `api env.X`); injectable for tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

// ------------------------------------------------------------- settings ----

/// Timeouts, tries and the few things tests and private setups override (docs/deliver.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Longest single API request (default 30 s; `NIGHT_DELIVER_TIMEOUT_MS`).
    pub api_timeout: Duration,
    /// Longest single push (default 10 min; `NIGHT_DELIVER_PUSH_TIMEOUT_MS`).
    pub push_timeout: Duration,
    /// The waits between tries; tries = waits + 1 (default 2 s, 8 s; `NIGHT_DELIVER_BACKOFF_MS`
    /// sets the first, the next is four times longer).
    pub backoff: Vec<Duration>,
    /// The longest rate-limit wait honoured; a forge asking for more fails the step at once
    /// (default 5 min; `NIGHT_DELIVER_MAX_WAIT_MS`).
    pub longest_wait: Duration,
    /// Extra trusted CA certificates, PEM, for a forge with a private CA (`NIGHT_DELIVER_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Variables set for every `git` delivery runs (before night's own safety settings, which
    /// win), e.g. `GIT_SSH_COMMAND` or `GIT_CONFIG_GLOBAL`.
    pub git_env: Vec<(OsString, OsString)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            api_timeout: Duration::from_secs(30),
            push_timeout: Duration::from_secs(600),
            backoff: vec![Duration::from_secs(2), Duration::from_secs(8)],
            longest_wait: Duration::from_secs(300),
            ca_file: None,
            git_env: Vec::new(),
        }
    }
}

impl Settings {
    /// The defaults with the `NIGHT_DELIVER_*` overrides of the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// The defaults with the `NIGHT_DELIVER_*` overrides read through `env`.
    pub fn from_lookup(env: EnvLookup<'_>) -> Self {
        let mut settings = Self::default();
        let millis = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_millis);
        if let Some(timeout) = millis("NIGHT_DELIVER_TIMEOUT_MS").filter(|t| !t.is_zero()) {
            settings.api_timeout = timeout;
        }
        if let Some(timeout) = millis("NIGHT_DELIVER_PUSH_TIMEOUT_MS").filter(|t| !t.is_zero()) {
            settings.push_timeout = timeout;
        }
        if let Some(first) = millis("NIGHT_DELIVER_BACKOFF_MS") {
            settings.backoff = vec![first, first * 4];
        }
        if let Some(wait) = millis("NIGHT_DELIVER_MAX_WAIT_MS") {
            settings.longest_wait = wait;
        }
        settings.ca_file = env("NIGHT_DELIVER_CA_FILE").filter(|f| !f.is_empty()).map(PathBuf::from);
        settings
    }

    /// How many tries a push or an API request gets.
    pub fn tries(&self) -> u32 {
        u32::try_from(self.backoff.len()).unwrap_or(u32::MAX - 1) + 1
    }
}

// ---------------------------------------------------------------- input ----

/// The ended run, as delivery needs it.
#[derive(Debug, Clone, Copy)]
pub struct EndedRun<'a> {
    /// The run's name (the runbook's `name`): the pull request's title.
    pub name: &'a str,
    /// The run id: names the attempt refs (`refs/night/<id>/…`) and the body's footer.
    pub id: &'a str,
    /// How the run ended.
    pub outcome: Outcome,
    /// The run's work dir (or any path git opens the repository from).
    pub repo: &'a Path,
    /// The run branch, pushed as it is now.
    pub branch: &'a str,
    /// The branch the run started from: never pushed to; the pull request's default base.
    pub start_branch: &'a str,
    /// The commit the run started from: a branch still there has nothing to deliver.
    pub start_commit: &'a str,
    /// The remote as recorded when the run started.
    pub remote: &'a RecordedRemote,
    /// The commit this run pushed to the branch before (a resumed run, a second delivery),
    /// from the journal: the only case where the branch may be replaced (`--force-with-lease`).
    pub pushed_before: Option<&'a str>,
    /// The pull request's body: the report's first screen, Markdown.
    pub report: &'a str,
}

/// A run about to start, for [`preflight`].
#[derive(Debug, Clone, Copy)]
pub struct UpcomingRun<'a> {
    /// The repository.
    pub repo: &'a Path,
    /// The run branch it will create.
    pub branch: &'a str,
    /// The branch it starts from.
    pub start_branch: &'a str,
    /// The commit it starts from (pushed in the dry run).
    pub start_commit: &'a str,
    /// The remote as just recorded.
    pub remote: &'a RecordedRemote,
}

// --------------------------------------------------------------- output ----

/// What delivery did, step by step: for the journal, the report, `night status` and the end
/// notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The outcome delivered for.
    pub outcome: Outcome,
    /// The push of the run branch.
    pub push: Step<Pushed>,
    /// The pull request.
    pub pull_request: Step<Opened>,
}

impl Delivered {
    /// Whether every step asked for this outcome succeeded.
    pub fn is_complete(&self) -> bool {
        !matches!(self.push, Step::Failed { .. } | Step::Skipped { .. }) && !matches!(self.pull_request, Step::Failed { .. } | Step::Skipped { .. })
    }

    /// The pull request's web page, when there is one.
    pub fn pull_request_url(&self) -> Option<&str> {
        match &self.pull_request {
            Step::Done(opened) => Some(&opened.url),
            _ => None,
        }
    }
}

/// One step of the delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Step<T> {
    /// The runbook does not ask for it.
    NotAsked,
    /// Not for this outcome (`on …`).
    NotDue,
    /// The run branch is still at the start commit: nothing to push or review.
    NothingToDeliver,
    /// Not tried, because an earlier step failed.
    Skipped {
        /// Which step, in a few words.
        because: String,
    },
    /// Done.
    Done(T),
    /// Failed after `tries` tries.
    Failed {
        /// Why.
        error: DeliverError,
        /// Tries made.
        tries: u32,
    },
}

/// The push that was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    /// The remote's name.
    pub remote: String,
    /// Its URL as recorded, without credentials.
    pub url: String,
    /// The run branch.
    pub branch: String,
    /// The commit pushed.
    pub commit: String,
    /// The branch replaced what this run pushed before (after a rollback).
    pub forced: bool,
    /// The remote already had this commit.
    pub up_to_date: bool,
    /// The attempt refs pushed too.
    pub attempt_refs: Vec<String>,
    /// What did not work without failing the push: an attempt ref the remote refused.
    pub notes: Vec<String>,
    /// Tries made.
    pub tries: u32,
}

/// What [`preflight`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preflight {
    /// The remote's URL, without credentials; the dry-run push was accepted.
    pub push_url: String,
    /// `OWNER/REPO` when the pull request's API answered for the token and has the base.
    pub repository: Option<String>,
    /// The base the pull request will merge into.
    pub base: Option<String>,
}

// ------------------------------------------------------------ the steps ----

/// Deliver an ended run: push the run branch (and its attempt refs) when the outcome asks for
/// it, then open or update the pull request. Never panics, never returns an error: every
/// step's result, with its typed error, is in the answer.
pub async fn deliver(delivery: &Delivery, run: &EndedRun<'_>, env: EnvLookup<'_>, settings: &Settings) -> Delivered {
    let outcome = run.outcome;
    let base = delivery.pull_request.as_ref().and_then(|pr| pr.base.clone()).unwrap_or_else(|| run.start_branch.to_string());
    let push = if delivery.pushes_on(outcome) {
        push_branch(delivery, run, &base, settings).await
    } else {
        Step::NotDue
    };
    let pull_request = match &delivery.pull_request {
        None => Step::NotAsked,
        Some(_) if !delivery.opens_on(outcome) => Step::NotDue,
        Some(plan) => match &push {
            Step::Done(_) => {
                let proposal = forge::Proposal {
                    head: run.branch.to_string(),
                    base,
                    title: text::title(run.name, outcome),
                    body: text::body(run.report, run.id, outcome),
                    draft: plan.draft || outcome != Outcome::Success,
                    labels: plan.labels.clone(),
                    reviewers: plan.reviewers.clone(),
                };
                match forge::Client::new(plan, env, settings) {
                    Ok(client) => match forge::open_or_update(&client, &proposal).await {
                        Ok(opened) => Step::Done(opened),
                        Err(error) => Step::Failed { error, tries: client.tries() },
                    },
                    Err(error) => Step::Failed { error, tries: 0 },
                }
            }
            Step::NothingToDeliver => Step::NothingToDeliver,
            Step::NotDue | Step::NotAsked => Step::Skipped { because: "the branch is not pushed for this outcome".into() },
            Step::Failed { .. } | Step::Skipped { .. } => Step::Skipped { because: "the push failed".into() },
        },
    };
    Delivered { outcome, push, pull_request }
}

async fn push_branch(delivery: &Delivery, run: &EndedRun<'_>, base: &str, settings: &Settings) -> Step<Pushed> {
    if let Err(error) = guard(run.branch, run.start_branch, base) {
        return Step::Failed { error, tries: 0 };
    }
    let (commit, attempts) = match read_refs(run, delivery.push.attempts) {
        Ok(refs) => refs,
        Err(error) => return Step::Failed { error, tries: 0 },
    };
    if commit == run.start_commit {
        return Step::NothingToDeliver;
    }
    let target = format!("refs/heads/{}", run.branch);
    let lease = run.pushed_before.map_or(Lease::Absent, |before| Lease::Expect(before.to_string()));
    let mut updates = vec![RefUpdate { commit: commit.clone(), target: target.clone(), lease }];
    updates.extend(attempts.iter().map(|(name, id)| RefUpdate { commit: id.clone(), target: name.clone(), lease: Lease::None }));
    let result = match push::push(run.repo, run.remote, &updates, false, settings).await {
        Ok(result) => result,
        Err((error, tries)) => return Step::Failed { error, tries },
    };
    let mut pushed = Pushed {
        remote: run.remote.name.clone(),
        url: run.remote.display_url(),
        branch: run.branch.to_string(),
        commit,
        forced: false,
        up_to_date: false,
        attempt_refs: Vec::new(),
        notes: Vec::new(),
        tries: result.tries,
    };
    for (name, status) in result.refs {
        let is_branch = name == target;
        match status {
            Some(RefStatus::Rejected(reason)) if is_branch => {
                let message = rejected_branch(run.branch, &reason, run.pushed_before.is_some());
                let error = DeliverError::Push { failure: PushFailure::Rejected, remote: run.remote.name.clone(), message };
                return Step::Failed { error, tries: result.tries };
            }
            None if is_branch => {
                let message = "git did not report the run branch".to_string();
                let error = DeliverError::Push { failure: PushFailure::Other, remote: run.remote.name.clone(), message };
                return Step::Failed { error, tries: result.tries };
            }
            Some(RefStatus::Rejected(reason)) => pushed.notes.push(format!("`{name}` not pushed: {reason}")),
            None => pushed.notes.push(format!("`{name}` not pushed")),
            Some(status) if is_branch => {
                pushed.forced = status == RefStatus::Forced;
                pushed.up_to_date = status == RefStatus::UpToDate;
            }
            Some(_) => pushed.attempt_refs.push(name),
        }
    }
    Step::Done(pushed)
}

/// Check a delivery before the run starts: the token is set and the API URL usable, the branch
/// is one night may push, the remote accepts a dry-run push of the start commit to the new
/// branch (which it must not have yet), and the forge answers for the token and has the base.
pub async fn preflight(delivery: &Delivery, run: &UpcomingRun<'_>, env: EnvLookup<'_>, settings: &Settings) -> Result<Preflight, DeliverError> {
    let base = delivery.pull_request.as_ref().and_then(|pr| pr.base.clone()).unwrap_or_else(|| run.start_branch.to_string());
    let client = delivery.pull_request.as_ref().map(|plan| forge::Client::new(plan, env, settings)).transpose()?;
    guard(run.branch, run.start_branch, &base)?;
    let target = format!("refs/heads/{}", run.branch);
    let update = RefUpdate { commit: run.start_commit.to_string(), target: target.clone(), lease: Lease::Absent };
    let result = push::push(run.repo, run.remote, &[update], true, settings).await.map_err(|(error, _)| error)?;
    if let Some((_, Some(RefStatus::Rejected(reason)))) = result.refs.iter().find(|(name, _)| *name == target) {
        let message = rejected_branch(run.branch, reason, false);
        return Err(DeliverError::Push { failure: PushFailure::Rejected, remote: run.remote.name.clone(), message });
    }
    if let Some(client) = &client {
        client.check(&base).await?;
    }
    Ok(Preflight {
        push_url: run.remote.display_url(),
        repository: delivery.pull_request.as_ref().map(|pr| pr.repository.clone()),
        base: delivery.pull_request.as_ref().map(|_| base),
    })
}

/// night never pushes to the branch the run started from, nor to the pull request's base, nor
/// to anything that is not a plain branch name.
fn guard(branch: &str, start_branch: &str, base: &str) -> Result<(), DeliverError> {
    let reason = if branch == start_branch {
        Some("it is the branch the run started from")
    } else if branch == base {
        Some("it is the pull request's base")
    } else if branch.is_empty() || branch.starts_with("refs/") || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        Some("it is not a valid branch name")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(DeliverError::UnsafeTarget { branch: branch.to_string(), reason: reason.to_string() }),
        None => Ok(()),
    }
}

/// The run branch's commit and, when asked, the run's attempt refs, read from the repository.
fn read_refs(run: &EndedRun<'_>, attempts: bool) -> Result<(String, Vec<(String, String)>), DeliverError> {
    let repository_error = |e: git2::Error| DeliverError::Repository { message: e.message().to_string() };
    let repository = git2::Repository::open(run.repo).map_err(repository_error)?;
    let commit = repository
        .refname_to_id(&format!("refs/heads/{}", run.branch))
        .map_err(|_| DeliverError::Repository { message: format!("the run branch `{}` is gone", run.branch) })?
        .to_string();
    let mut refs = Vec::new();
    if attempts {
        for reference in repository.references_glob(&format!("refs/night/{}/*", run.id)).map_err(repository_error)?.flatten() {
            if let (Some(name), Some(id)) = (reference.name(), reference.target()) {
                refs.push((name.to_string(), id.to_string()));
            }
        }
        refs.sort();
    }
    Ok((commit, refs))
}

/// Why the remote refused the run branch, in words a user can act on.
fn rejected_branch(branch: &str, reason: &str, pushed_before: bool) -> String {
    match reason {
        "stale info" | "fetch first" | "non-fast-forward" | "already exists" if !pushed_before => {
            format!("the remote already has a branch `{branch}` that this run did not push ({reason}); night never overwrites it")
        }
        "stale info" | "fetch first" | "non-fast-forward" => {
            format!("`{branch}` on the remote is no longer what this run pushed: someone else pushed to it ({reason}); night leaves it alone")
        }
        _ => format!("`{branch}`: {reason}"),
    }
}
