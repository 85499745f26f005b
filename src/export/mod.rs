//! `night export`: the runbook as something engines teams already have can run, instead of a
//! scheduler of night's: a Kubernetes Job ([`k8s`]), a GitHub Actions workflow
//! ([`github_actions`]) and the Containerfile of the image both run ([`containerfile`]).
//! Each is plain text built from the runbook's facts ([`Facts`]); nothing here touches a
//! cluster, a registry or the network.

pub mod containerfile;
pub mod github_actions;
pub mod k8s;
mod yaml;

use crate::ast::{AgentKind, SuccessCheck};
use crate::source::Source;
use crate::syntax::Parsed;
use std::path::Path;
use std::time::Duration;

/// Time to start the container, clone and install before the run's clock starts.
const SETUP: Duration = Duration::from_secs(10 * 60);
/// The run's end: the report and the notifications (night gives them 30 s).
const END: Duration = Duration::from_secs(60);
/// Delivery: a push and a pull request, with their retries.
const DELIVERY: Duration = Duration::from_secs(5 * 60);
/// A success check's own limit when it has no `within` (as `night run` applies it).
const CHECK_DEFAULT_WITHIN: Duration = Duration::from_secs(30 * 60);

/// Why a runbook cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The runbook does not parse (its diagnostics were printed).
    #[error("the runbook has errors; nothing was written")]
    Invalid,
    /// A fact the export needs is missing.
    #[error("{message}")]
    Missing {
        /// What is missing.
        message: String,
        /// How to give it.
        help: String,
    },
    /// The run cannot fit the engine's limits.
    #[error("{message}")]
    TooLong {
        /// Why.
        message: String,
        /// The fix.
        help: String,
    },
}

impl ExportError {
    /// How to fix it.
    pub fn help(&self) -> Option<&str> {
        match self {
            ExportError::Invalid => None,
            ExportError::Missing { help, .. } | ExportError::TooLong { help, .. } => Some(help),
        }
    }
}

/// What an export needs to know about a runbook and its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The run's name.
    pub name: String,
    /// The runbook's path in the repository.
    pub runbook: String,
    /// The agent kind (`claude`, `command` …).
    pub agent: String,
    /// `timeout`.
    pub timeout: Duration,
    /// The success checks' own limits, added up: the final checks run after `timeout`.
    pub checks: Duration,
    /// Every `env.X` the runbook reads.
    pub env_names: Vec<String>,
    /// Whether the runbook has a `deliver` block (the run branch leaves the machine).
    pub deliver: bool,
    /// The repository's `origin` URL.
    pub repo_url: Option<String>,
    /// The branch checked out now.
    pub branch: Option<String>,
    /// `user.name` and `user.email`, for the commits made in the container.
    pub identity: Option<(String, String)>,
}

impl Facts {
    /// Read them from a parsed runbook at `path`.
    pub fn read(source: &Source, parsed: &Parsed) -> Result<Facts, ExportError> {
        let runbook = &parsed.runbook;
        let timeout = runbook.limits.as_ref().and_then(|l| l.timeout.as_ref()).map(|t| t.value).ok_or_else(|| ExportError::Missing {
            message: "the runbook has no `timeout`".into(),
            help: "Add `timeout 6h` (or less) to `limits`: the Job's deadline and the workflow's time limit come from it.".into(),
        })?;
        let checks = runbook
            .success
            .as_ref()
            .map(|s| {
                s.checks
                    .iter()
                    .map(|c| match &c.value {
                        SuccessCheck::Run { within, .. } | SuccessCheck::Tests { within, .. } => within.as_ref().map_or(CHECK_DEFAULT_WITHIN, |w| w.value),
                        SuccessCheck::Count { .. } => CHECK_DEFAULT_WITHIN,
                        _ => Duration::ZERO,
                    })
                    .sum()
            })
            .unwrap_or_default();
        let agent = runbook.task.as_ref().and_then(|t| t.agent.as_ref()).map_or(AgentKind::Claude, |a| a.value.kind.clone());
        let path = std::path::absolute(source.path()).map(|p| p.canonicalize().unwrap_or(p)).unwrap_or_else(|_| source.path().to_path_buf());
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let repository = git2::Repository::discover(&dir).ok();
        let root = repository.as_ref().and_then(|r| r.workdir()).map(|w| w.canonicalize().unwrap_or_else(|_| w.to_path_buf()));
        let relative = root.as_ref().and_then(|root| path.strip_prefix(root).ok()).map(|p| p.to_string_lossy().replace('\\', "/"));
        let mut env_names = Vec::new();
        crate::remote::travel::env_names(&parsed.statements, &mut env_names);
        env_names.sort();
        env_names.dedup();
        let config = repository.as_ref().and_then(|r| r.config().ok());
        Ok(Facts {
            name: runbook.name.as_ref().map_or_else(|| crate::checklist::default_name(&path), |n| n.value.clone()),
            runbook: relative.unwrap_or_else(|| source.path().to_string_lossy().into_owned()),
            agent: agent.name().to_string(),
            timeout,
            checks,
            env_names,
            deliver: parsed.statements.iter().any(|s| s.head.value == "deliver"),
            repo_url: repository.as_ref().and_then(|r| r.find_remote("origin").ok()).and_then(|remote| remote.url().map(str::to_string)),
            branch: repository.as_ref().and_then(|r| r.head().ok()).filter(git2::Reference::is_branch).and_then(|h| h.shorthand().map(str::to_string)),
            identity: config.and_then(|c| Some((c.get_string("user.name").ok()?, c.get_string("user.email").ok()?))),
        })
    }

    /// What the run may take beyond `timeout`: setup, the final checks, the end and delivery.
    pub fn margin(&self) -> Duration {
        SETUP + self.checks + END + DELIVERY
    }

    /// The longest the whole job may take.
    pub fn deadline(&self) -> Duration {
        self.timeout + self.margin()
    }

    /// A name for Kubernetes objects and artifacts: lower case, `-` for the rest, ≤ 52 chars.
    pub fn slug(&self) -> String {
        let slug: String = self.name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let slug = slug.trim_matches('-').chars().take(52).collect::<String>();
        let slug = slug.trim_end_matches('-').to_string();
        if slug.is_empty() { "run".to_string() } else { slug }
    }

    /// The image both engines run (`--image`, or the name `night export containerfile` suggests).
    pub fn image(&self, given: Option<&str>) -> String {
        given.map_or_else(|| format!("night-{}:{}", self.agent, env!("CARGO_PKG_VERSION")), str::to_string)
    }

    /// The variables the agent's own CLI reads its credentials from.
    pub fn agent_keys(&self) -> &'static [&'static str] {
        match self.agent.as_str() {
            "claude" => &["ANTHROPIC_API_KEY"],
            "codex" => &["OPENAI_API_KEY"],
            "gemini" => &["GEMINI_API_KEY"],
            "aider" => &["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
            _ => &[],
        }
    }

    /// The note said when the run branch would stay in the container.
    pub fn no_delivery_note(&self) -> Option<String> {
        (!self.deliver).then(|| {
            "the runbook has no `deliver` block: the run branch stays in the container and is lost with it (the report is kept); add `deliver { push \"origin\" }` to bring the work back".to_string()
        })
    }
}

/// `5h10m`, `45m`.
pub fn words(duration: Duration) -> String {
    let minutes = duration.as_secs().div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> Facts {
        let source = Source::new("/nonexistent-night/t.night", text);
        Facts::read(&source, &crate::syntax::parse(&source)).expect("facts")
    }

    const RUNBOOK: &str = "name \"Fix_Tests\"\ntask {\n  prompt \"x\"\n  agent codex\n}\nsuccess {\n  tests \"cargo test\" within 20m\n  run \"true\"\n}\nlimits {\n  timeout 2h\n}\nnotify {\n  slack env.HOOK\n}\n";

    #[test]
    fn facts_and_margin() {
        let facts = facts(RUNBOOK);
        assert_eq!(facts.slug(), "fix-tests");
        assert_eq!(facts.agent, "codex");
        assert_eq!(facts.env_names, ["HOOK"]);
        assert_eq!(facts.checks, Duration::from_secs(50 * 60));
        assert_eq!(words(facts.deadline()), "3h6m");
        assert!(!facts.deliver);
        assert_eq!(facts.agent_keys(), ["OPENAI_API_KEY"]);
    }

    #[test]
    fn no_timeout_is_an_error_with_the_fix() {
        let source = Source::new("t.night", "task {\n  prompt \"x\"\n}\n");
        let error = Facts::read(&source, &crate::syntax::parse(&source)).expect_err("no timeout");
        assert!(error.help().is_some_and(|h| h.contains("timeout")), "{error}");
    }
}
