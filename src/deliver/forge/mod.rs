//! The forges' pull-request APIs behind one shape: find the open pull request of a branch,
//! create one, update one, label it, request reviews, and check access before the run.
//! [`open_or_update`] is the one flow all forges share, idempotent for a resumed run: it
//! finds the pull request the run opened before and updates it instead of opening another.

pub mod api;
mod gitea;
mod github;
mod gitlab;

use crate::ast::{Forge, Value};
use crate::deliver::error::{ApiFailure, DeliverError};
use crate::deliver::Settings;
use crate::plan::PlanPullRequest;
use api::Secret;
use serde::{Deserialize, Serialize};

/// What the pull request should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The pushed branch.
    pub head: String,
    /// The branch it merges into.
    pub base: String,
    /// Its title (without a forge's draft prefix).
    pub title: String,
    /// Its body, Markdown.
    pub body: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Reviewers to request.
    pub reviewers: Vec<String>,
}

impl Proposal {
    /// The title, after `prefix` when a draft (GitLab's `Draft: `, Gitea's `WIP: `).
    pub fn title_with(&self, prefix: &str) -> String {
        if self.draft {
            format!("{prefix}{}", self.title)
        } else {
            self.title.clone()
        }
    }
}

/// A pull request as the forge describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its number (GitLab: the project-scoped `iid`).
    pub number: u64,
    /// Its web page.
    pub url: String,
    /// Whether it is a draft now.
    pub draft: bool,
    /// GitHub's GraphQL node id (to change the draft state).
    pub node_id: Option<String>,
}

/// The pull request night opened or updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// The forge.
    pub forge: Forge,
    /// `OWNER/REPO`.
    pub repository: String,
    /// Its number.
    pub number: u64,
    /// Its web page.
    pub url: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// `true` when opened now, `false` when an open one was updated.
    pub created: bool,
    /// What did not work but does not undo it: a label or reviewer the forge refused.
    pub notes: Vec<String>,
}

/// One forge's client.
#[derive(Debug)]
pub enum Client {
    /// GitHub and GitHub Enterprise.
    Github(github::Github),
    /// GitLab.
    Gitlab(gitlab::Gitlab),
    /// Gitea and Forgejo.
    Gitea(gitea::Gitea),
}

impl Client {
    /// A client for the runbook's `pull-request`, with its token and API URL read through `env`.
    pub fn new(plan: &PlanPullRequest, env: &dyn Fn(&str) -> Option<String>, settings: &Settings) -> Result<Self, DeliverError> {
        let forge = plan.forge;
        let token = env(&plan.token_env)
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret::new(t.trim().to_string()))
            .ok_or_else(|| DeliverError::TokenUnset { name: plan.token_env.clone(), forge })?;
        let base = match &plan.api {
            Some(Value::Literal(url)) => url.clone(),
            Some(Value::Env(name)) => env(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| DeliverError::ApiUrl { forge, problem: format!("(`env.{name}`) is not set") })?,
            None => forge
                .default_api()
                .ok_or_else(|| DeliverError::ApiUrl { forge, problem: "is required for this forge".into() })?
                .to_string(),
        };
        let repository = plan.repository.clone();
        Ok(match forge {
            Forge::Github => Client::Github(github::Github::new(&base, &token, repository, settings)?),
            Forge::Gitlab => Client::Gitlab(gitlab::Gitlab::new(&base, &token, repository, settings)?),
            Forge::Gitea | Forge::Forgejo => Client::Gitea(gitea::Gitea::new(forge, &base, &token, repository, settings)?),
        })
    }

    async fn find(&self, head: &str) -> Result<Option<Found>, DeliverError> {
        match self {
            Client::Github(c) => c.find(head).await,
            Client::Gitlab(c) => c.find(head).await,
            Client::Gitea(c) => c.find(head).await,
        }
    }

    /// `Ok(None)`: the forge says one already exists.
    async fn create(&self, proposal: &Proposal) -> Result<Option<Found>, DeliverError> {
        match self {
            Client::Github(c) => c.create(proposal).await,
            Client::Gitlab(c) => c.create(proposal).await,
            Client::Gitea(c) => c.create(proposal).await,
        }
    }

    async fn update(&self, found: &Found, proposal: &Proposal) -> Result<Found, DeliverError> {
        match self {
            Client::Github(c) => c.update(found, proposal).await,
            Client::Gitlab(c) => c.update(found, proposal).await,
            Client::Gitea(c) => c.update(found, proposal).await,
        }
    }

    async fn label(&self, found: &Found, labels: &[String]) -> Result<Vec<String>, DeliverError> {
        match self {
            Client::Github(c) => c.label(found, labels).await,
            Client::Gitlab(c) => c.label(found, labels).await,
            Client::Gitea(c) => c.label(found, labels).await,
        }
    }

    async fn request_reviews(&self, found: &Found, reviewers: &[String]) -> Result<Vec<String>, DeliverError> {
        match self {
            Client::Github(c) => c.request_reviews(found, reviewers).await,
            Client::Gitlab(c) => c.request_reviews(found, reviewers).await,
            Client::Gitea(c) => c.request_reviews(found, reviewers).await,
        }
    }

    /// The preflight's authenticated call: the repository is there for this token, and so is
    /// the base branch.
    pub async fn check(&self, base: &str) -> Result<(), DeliverError> {
        match self {
            Client::Github(c) => c.check(base).await,
            Client::Gitlab(c) => c.check(base).await,
            Client::Gitea(c) => c.check(base).await,
        }
    }

    /// How many tries the latest request made.
    pub fn tries(&self) -> u32 {
        match self {
            Client::Github(c) => c.api().tries(),
            Client::Gitlab(c) => c.api().tries(),
            Client::Gitea(c) => c.api().tries(),
        }
    }

    fn forge(&self) -> Forge {
        match self {
            Client::Github(_) => Forge::Github,
            Client::Gitlab(_) => Forge::Gitlab,
            Client::Gitea(c) => c.forge(),
        }
    }

    fn repository(&self) -> &str {
        match self {
            Client::Github(c) => c.repository(),
            Client::Gitlab(c) => c.repository(),
            Client::Gitea(c) => c.repository(),
        }
    }
}

/// Open the pull request, or update the open one of the same branch (a resumed run, a second
/// delivery, or a race the forge answers with "already exists"); then labels and reviewers,
/// whose failures are notes, not errors.
pub async fn open_or_update(client: &Client, proposal: &Proposal) -> Result<Opened, DeliverError> {
    let (found, created) = match client.find(&proposal.head).await? {
        Some(existing) => (client.update(&existing, proposal).await?, false),
        None => match client.create(proposal).await? {
            Some(found) => (found, true),
            None => {
                let existing = client.find(&proposal.head).await?.ok_or_else(|| DeliverError::Api {
                    forge: client.forge(),
                    failure: ApiFailure::BadResponse,
                    status: None,
                    message: format!("the forge says a pull request for `{}` exists, but lists none open", proposal.head),
                })?;
                (client.update(&existing, proposal).await?, false)
            }
        },
    };
    let mut notes = Vec::new();
    if !proposal.labels.is_empty() {
        match client.label(&found, &proposal.labels).await {
            Ok(more) => notes.extend(more),
            Err(error) => notes.push(format!("labels not added: {error}")),
        }
    }
    if !proposal.reviewers.is_empty() {
        match client.request_reviews(&found, &proposal.reviewers).await {
            Ok(more) => notes.extend(more),
            Err(error) => notes.push(format!("reviews not requested: {error}")),
        }
    }
    Ok(Opened {
        forge: client.forge(),
        repository: client.repository().to_string(),
        number: found.number,
        url: found.url,
        draft: found.draft,
        created,
        notes,
    })
}

/// The preflight's calls, the same on every forge: the repository, then its base branch.
async fn check(api: &api::Api, repository_path: &str, branch_path: &str, base: &str, repository: &str) -> Result<(), DeliverError> {
    api.get(repository_path, &[]).await?;
    match api.get(branch_path, &[]).await {
        Err(DeliverError::Api { failure: ApiFailure::NotFound, status, message, .. }) => {
            Err(api.error(ApiFailure::NotFound, status, format!("{message} (the base branch `{base}` of {repository})")))
        }
        other => other.map(|_| ()),
    }
}

/// `(owner, repo)` of `OWNER/REPO`.
fn owner_repo(repository: &str) -> (String, String) {
    match repository.split_once('/') {
        Some((owner, repo)) => (owner.to_string(), repo.to_string()),
        None => (String::new(), repository.to_string()),
    }
}

/// A number field of an answer, or a `BadResponse` error naming it.
fn number(forge: Forge, body: &serde_json::Value, field: &str) -> Result<u64, DeliverError> {
    body.get(field).and_then(serde_json::Value::as_u64).ok_or_else(|| bad_response(forge, &format!("no `{field}` in the answer")))
}

/// A string field of an answer, or a `BadResponse` error naming it.
fn text(forge: Forge, body: &serde_json::Value, field: &str) -> Result<String, DeliverError> {
    body.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad_response(forge, &format!("no `{field}` in the answer")))
}

fn bad_response(forge: Forge, message: &str) -> DeliverError {
    DeliverError::Api { forge, failure: ApiFailure::BadResponse, status: None, message: message.to_string() }
}

/// Whether an error is the forge's "a pull request already exists" answer.
fn already_exists(error: &DeliverError, needle: &str) -> bool {
    matches!(error, DeliverError::Api { failure: ApiFailure::Rejected, message, .. } if message.to_lowercase().contains(needle))
}
