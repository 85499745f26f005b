//! The checked, resolved runbook: the only thing `night run` accepts.

use crate::ast::{Agent, SuccessCheck, CommandPattern, Forge, Glob, Network, Notifier, OnViolation, Money, Outcome, Rollback, Sandbox, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Spanned};
use std::path::PathBuf;
use std::time::Duration;

/// A runbook that passed `night check`, with every default applied and every path resolved.
/// Outside this crate it can only be obtained from [`crate::checklist::check`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The runbook text as checked (copied into the run folder).
    pub source: Source,
    /// The runbook's absolute path.
    pub runbook_path: PathBuf,
    /// The run name.
    pub name: String,
    /// The repository's work tree root (absolute).
    pub repo: PathBuf,
    /// The task text.
    pub prompt: String,
    /// Which agent, with its settings.
    pub agent: Agent,
    /// The run branch, before `{name}` and `{date}` are expanded.
    pub branch_template: String,
    /// Work in a separate git worktree.
    pub worktree: bool,
    /// The success checks, in order.
    pub checks: Vec<Spanned<SuccessCheck>>,
    /// What the agent may do.
    pub permissions: PlanPermissions,
    /// When night stops the agent.
    pub limits: PlanLimits,
    /// What night undoes when work regresses.
    pub rollback: Option<Rollback>,
    /// Who is told.
    pub notifiers: Vec<Spanned<Notifier>>,
    /// What night pushes and opens once the run has ended (`deliver { … }`).
    pub delivery: Option<Delivery>,
    /// Silenced rules and why.
    pub waivers: Vec<(Code, String)>,
    /// Warnings found by the check (they never block a run).
    pub warnings: Vec<Diagnostic>,
}

/// Permissions with defaults applied.
#[derive(Debug, Clone)]
pub struct PlanPermissions {
    /// What the agent may read (default `"**"`).
    pub read: Vec<Glob>,
    /// What the agent may write.
    pub write: Vec<Glob>,
    /// Denied command patterns (the user's; the built-in set is separate).
    pub deny: Vec<CommandPattern>,
    /// Whether the built-in irreversible set is denied.
    pub deny_irreversible: bool,
    /// Exemptions from `deny`.
    pub allow: Vec<CommandPattern>,
    /// `pass env.NAME`: variables handed to the agent despite the environment allowlist.
    pub pass: Vec<String>,
    /// `reveal "path"`: credential stores left visible (`~/` for the home folder).
    pub reveal: Vec<String>,
    /// Outbound network (default `auto`, which `policy::network` resolves per agent kind).
    pub network: Network,
    /// OS-level enforcement (default `auto`).
    pub sandbox: Sandbox,
    /// What a write outside `write` causes (default `revert`).
    pub on_violation: OnViolation,
}

impl Plan {
    /// Compile every regex of the success checks (a check only reads their syntax): `night run`
    /// calls it before it changes anything. Why the first one cannot be compiled.
    pub fn compile_regexes(&self) -> Result<(), RegexError> {
        for check in &self.checks {
            let regex = match &check.value {
                SuccessCheck::Run { matches: Some(regex), .. } | SuccessCheck::Count { regex, .. } => regex,
                _ => continue,
            };
            if let Err(error) = regex.value.compile() {
                return Err(RegexError { regex: regex.value.source.clone(), check: check.value.keyword(), reason: error.clone() });
            }
        }
        Ok(())
    }
}

/// A success check's regex that cannot be compiled (too large: `night check` reads only its
/// syntax, `night run` compiles it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the regex {regex} of the `{check}` check cannot be compiled: {}", last_line(.reason))]
pub struct RegexError {
    /// As written, e.g. `/passed/i`.
    pub regex: String,
    /// The check's keyword, `run` or `count`.
    pub check: &'static str,
    /// The regex engine's reason.
    pub reason: regex::Error,
}

/// The regex engine's reason in one line, lower case: its last line that says something.
fn last_line(reason: &regex::Error) -> String {
    let text = reason.to_string();
    text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(&text).trim().to_lowercase()
}

impl PlanPermissions {
    /// Whether the agent may write this repository-relative path.
    pub fn may_write(&self, path: &str) -> bool {
        self.write.iter().any(|glob| glob.is_match(path))
    }
}

impl Plan {
    /// The run branch of a run started at `at`: the template with `{name}` and `{date}`
    /// expanded. `label` stands for the name when a batch holds several runbooks of one name
    /// (`<name>-2`), so that their branches differ.
    pub fn branch_at(&self, at: chrono::DateTime<chrono::Utc>, label: Option<&str>) -> String {
        self.branch_template.replace("{name}", label.unwrap_or(&self.name)).replace("{date}", &at.format("%Y%m%d-%H%M").to_string())
    }
}

/// Limits with defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Wall clock for the whole run.
    pub timeout: Duration,
    /// Longest single session.
    pub session: Option<Duration>,
    /// Most attempts (`None`: until the timeout).
    pub attempts: Option<u64>,
    /// Same failure this many times in a row → stuck.
    pub stuck: Option<u64>,
    /// No new commit for this long → the session ends as stuck.
    pub idle: Option<Duration>,
    /// No output for this long → hung.
    pub silence: Option<Duration>,
    /// Token budget.
    pub tokens: Option<u64>,
    /// Cost budget.
    pub cost: Option<Money>,
    /// Wait for a provider's usage-limit reset at most this long, once.
    pub quota_wait: Option<Duration>,
}

/// `deliver { … }` with its defaults applied: what night does once the run has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The push of the run branch.
    pub push: PlanPush,
    /// The pull request opened (or updated) for it.
    pub pull_request: Option<PlanPullRequest>,
}

/// `push "REMOTE"` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPush {
    /// The remote's name; its URL is recorded when the run starts.
    pub remote: String,
    /// The outcomes that push: the push's own `on` (default `success`) and the pull request's.
    pub on: Vec<Outcome>,
    /// Push the attempt refs too.
    pub attempts: bool,
}

/// `pull-request …` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPullRequest {
    /// Which forge's API.
    pub forge: Forge,
    /// `OWNER/REPO`, or GitLab's `GROUP/…/PROJECT`.
    pub repository: String,
    /// The environment variable holding the API token (its value is read when needed, a secret).
    pub token_env: String,
    /// The branch to merge into; `None`: the branch the run started from.
    pub base: Option<String>,
    /// The API's base URL (a literal or an env reference); `None`: the forge's public API.
    pub api: Option<Value>,
    /// The outcomes that open or update it (default `success`).
    pub on: Vec<Outcome>,
    /// Always a draft (otherwise a draft when the run did not succeed).
    pub draft: bool,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Reviewers to request (`org/team` for a GitHub team).
    pub reviewers: Vec<String>,
}

impl Delivery {
    /// The delivery of a lowered `deliver` block, with every default applied; `None` without a
    /// `push` (a schema error the checker reports).
    pub fn from_ast(deliver: &crate::ast::Deliver) -> Option<Self> {
        let push = &deliver.push.as_ref()?.value;
        let outcomes = |on: &[Spanned<Outcome>]| -> Vec<Outcome> {
            if on.is_empty() {
                vec![Outcome::Success]
            } else {
                let mut out: Vec<Outcome> = Vec::new();
                for outcome in on {
                    if !out.contains(&outcome.value) {
                        out.push(outcome.value);
                    }
                }
                out
            }
        };
        let pull_request = deliver.pull_request.as_ref().map(|pr| {
            let pr = &pr.value;
            PlanPullRequest {
                forge: pr.forge.value,
                repository: pr.repository.value.clone(),
                token_env: pr.token.value.clone(),
                base: pr.base.as_ref().map(|b| b.value.strip_prefix("refs/heads/").unwrap_or(&b.value).to_string()),
                api: pr.api.as_ref().map(|a| a.value.clone()),
                on: outcomes(&pr.on),
                draft: pr.draft.is_some(),
                labels: pr.labels.iter().map(|l| l.value.trim().to_string()).collect(),
                reviewers: pr.reviewers.iter().map(|r| r.value.trim().to_string()).collect(),
            }
        });
        // A pull request whose `on` is wider than the push's implies the push.
        let mut on = outcomes(&push.on);
        for outcome in pull_request.iter().flat_map(|pr| pr.on.iter()) {
            if !on.contains(outcome) {
                on.push(*outcome);
            }
        }
        on.sort_by_key(|outcome| Outcome::ALL.iter().position(|o| o == outcome));
        Some(Delivery { push: PlanPush { remote: push.remote.value.clone(), on, attempts: push.attempts.is_some() }, pull_request })
    }

    /// Whether a run that ended with `outcome` pushes.
    pub fn pushes_on(&self, outcome: Outcome) -> bool {
        self.push.on.contains(&outcome)
    }

    /// Whether a run that ended with `outcome` opens or updates the pull request.
    pub fn opens_on(&self, outcome: Outcome) -> bool {
        self.pull_request.as_ref().is_some_and(|pr| pr.on.contains(&outcome))
    }

    /// The names of the environment variables the delivery reads: secrets, never the agent's.
    pub fn env_names(&self) -> Vec<String> {
        let Some(pr) = &self.pull_request else { return Vec::new() };
        let mut names = vec![pr.token_env.clone()];
        if let Some(Value::Env(name)) = &pr.api {
            names.push(name.clone());
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(body: &str) -> Delivery {
        let source = Source::new("t.night", format!("deliver {{\n{body}\n}}\n"));
        let parsed = crate::syntax::parse(&source);
        let problems: Vec<_> = parsed.diagnostics.iter().filter(|d| d.code != Code::MissingBlock).collect();
        assert!(problems.is_empty(), "{problems:?}");
        Delivery::from_ast(parsed.runbook.deliver.as_ref().expect("deliver")).expect("a push")
    }

    #[test]
    fn defaults_and_a_wider_pull_request_widen_the_push() {
        let plain = delivery("push \"origin\"");
        assert_eq!(plain.push, PlanPush { remote: "origin".into(), on: vec![Outcome::Success], attempts: false });
        assert!(plain.pushes_on(Outcome::Success) && !plain.pushes_on(Outcome::Failed) && !plain.opens_on(Outcome::Success));
        assert!(plain.env_names().is_empty());

        let wide = delivery("push \"origin\" on stuck attempts\npull-request gitea \"a/b\" token env.T api env.API base \"refs/heads/dev\" on failed success stuck draft");
        assert_eq!(wide.push.on, [Outcome::Success, Outcome::Failed, Outcome::Stuck]);
        assert!(wide.push.attempts);
        let pr = wide.pull_request.as_ref().expect("a pull request");
        assert_eq!((pr.base.as_deref(), pr.draft, pr.on.clone()), (Some("dev"), true, vec![Outcome::Failed, Outcome::Success, Outcome::Stuck]));
        assert!(wide.opens_on(Outcome::Failed) && !wide.opens_on(Outcome::Timeout));
        assert_eq!(wide.env_names(), ["T", "API"], "secrets, kept from the agent's environment");
    }
}
