//! Gitea and Forgejo, API v1 (`/repos/{owner}/{repo}/pulls`). A draft is a title starting with
//! `WIP: `; labels are ids, looked up by name among the repository's labels.

use super::api::{encode, Api, Secret};
use super::{already_exists, bad_response, number, owner_repo, text, Found, Proposal};
use crate::ast::Forge;
use crate::deliver::error::DeliverError;
use crate::deliver::Settings;
use reqwest::Method;
use serde_json::{json, Value};

/// The title prefix Gitea and Forgejo read as "work in progress".
const DRAFT: &str = "WIP: ";
/// The most pages of open pull requests (50 each) read to find the branch's.
const PAGES: u32 = 20;

/// A Gitea or Forgejo repository's pull requests.
#[derive(Debug)]
pub struct Gitea {
    forge: Forge,
    api: Api,
    repository: String,
    owner: String,
    repo: String,
}

impl Gitea {
    pub fn new(forge: Forge, base: &str, token: &Secret, repository: String, settings: &Settings) -> Result<Self, DeliverError> {
        let api = Api::new(forge, base, token, ("authorization", "token "), &[("accept", "application/json")], settings)?;
        let (owner, repo) = owner_repo(&repository);
        Ok(Self { forge, api, repository, owner, repo })
    }

    pub fn forge(&self) -> Forge {
        self.forge
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", encode(&self.owner), encode(&self.repo))
    }

    pub async fn find(&self, head: &str) -> Result<Option<Found>, DeliverError> {
        for page in 1..=PAGES {
            let query = [("state", "open".to_string()), ("limit", "50".to_string()), ("page", page.to_string())];
            let list = self.api.get(&self.path("/pulls"), &query).await?;
            let Some(items) = list.as_array() else { return Err(bad_response(self.forge, "the pull request list is not a list")) };
            if let Some(pull) = items.iter().find(|pr| pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)) {
                return self.found(pull).map(Some);
            }
            if items.len() < 50 {
                break;
            }
        }
        Ok(None)
    }

    pub async fn create(&self, proposal: &Proposal) -> Result<Option<Found>, DeliverError> {
        let body = json!({ "head": proposal.head, "base": proposal.base, "title": proposal.title_with(DRAFT), "body": proposal.body });
        match self.api.call(Method::POST, &self.path("/pulls"), &body).await {
            Ok(reply) => self.found(&reply.body).map(Some),
            Err(error) if already_exists(&error, "already exists") => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn update(&self, existing: &Found, proposal: &Proposal) -> Result<Found, DeliverError> {
        let body = json!({ "title": proposal.title_with(DRAFT), "body": proposal.body, "base": proposal.base });
        let reply = self.api.call(Method::PATCH, &self.path(&format!("/pulls/{}", existing.number)), &body).await?;
        self.found(&reply.body)
    }

    pub async fn label(&self, pull: &Found, labels: &[String]) -> Result<Vec<String>, DeliverError> {
        let mut known: Vec<(String, u64)> = Vec::new();
        for page in 1..=PAGES {
            let list = self.api.get(&self.path("/labels"), &[("limit", "50".to_string()), ("page", page.to_string())]).await?;
            let items = list.as_array().cloned().unwrap_or_default();
            known.extend(items.iter().filter_map(|l| Some((l.get("name")?.as_str()?.to_string(), l.get("id")?.as_u64()?))));
            if items.len() < 50 {
                break;
            }
        }
        let mut ids = Vec::new();
        let mut notes = Vec::new();
        for label in labels {
            match known.iter().find(|(name, _)| name == label) {
                Some((_, id)) => ids.push(*id),
                None => notes.push(format!("label `{label}` not added: {} has no such label", self.repository)),
            }
        }
        if !ids.is_empty() {
            self.api.call(Method::POST, &self.path(&format!("/issues/{}/labels", pull.number)), &json!({ "labels": ids })).await?;
        }
        Ok(notes)
    }

    pub async fn request_reviews(&self, pull: &Found, reviewers: &[String]) -> Result<Vec<String>, DeliverError> {
        let body = json!({ "reviewers": reviewers });
        self.api.call(Method::POST, &self.path(&format!("/pulls/{}/requested_reviewers", pull.number)), &body).await?;
        Ok(Vec::new())
    }

    pub async fn check(&self, base: &str) -> Result<(), DeliverError> {
        super::check(&self.api, &self.path(""), &self.path(&format!("/branches/{}", encode(base))), base, &self.repository).await
    }

    /// A pull request of the answer.
    fn found(&self, body: &Value) -> Result<Found, DeliverError> {
        let draft = body
            .get("draft")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| body.get("title").and_then(Value::as_str).is_some_and(|t| t.starts_with("WIP:") || t.starts_with("[WIP]")));
        Ok(Found { number: number(self.forge, body, "number")?, url: text(self.forge, body, "html_url")?, draft, node_id: None })
    }
}

