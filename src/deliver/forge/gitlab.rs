//! GitLab, REST v4 (`/projects/{path}/merge_requests`): a merge request is GitLab's pull request.
//! A draft is a title starting with `Draft: `; labels are a comma-separated list; reviewers are
//! user ids, looked up by user name.

use super::api::{encode, Api, Secret};
use super::{already_exists, bad_response, number, text, Found, Proposal};
use crate::ast::Forge;
use crate::deliver::error::DeliverError;
use crate::deliver::Settings;
use reqwest::Method;
use serde_json::{json, Value};

/// The title prefix that makes a merge request a draft.
const DRAFT: &str = "Draft: ";

/// A GitLab project's merge requests.
#[derive(Debug)]
pub struct Gitlab {
    api: Api,
    repository: String,
}

impl Gitlab {
    pub fn new(base: &str, token: &Secret, repository: String, settings: &Settings) -> Result<Self, DeliverError> {
        let api = Api::new(Forge::Gitlab, base, token, ("private-token", ""), &[], settings)?;
        Ok(Self { api, repository })
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    fn path(&self, rest: &str) -> String {
        format!("/projects/{}{rest}", encode(&self.repository))
    }

    pub async fn find(&self, head: &str) -> Result<Option<Found>, DeliverError> {
        let query = [("state", "opened".to_string()), ("source_branch", head.to_string())];
        let list = self.api.get(&self.path("/merge_requests"), &query).await?;
        let Some(items) = list.as_array() else { return Err(bad_response(Forge::Gitlab, "the merge request list is not a list")) };
        let mine = items.iter().find(|mr| mr.get("source_branch").and_then(Value::as_str).is_none_or(|b| b == head));
        mine.map(found).transpose()
    }

    pub async fn create(&self, proposal: &Proposal) -> Result<Option<Found>, DeliverError> {
        let body = json!({
            "source_branch": proposal.head,
            "target_branch": proposal.base,
            "title": proposal.title_with(DRAFT),
            "description": proposal.body,
            "labels": proposal.labels.join(","),
        });
        match self.api.call(Method::POST, &self.path("/merge_requests"), &body).await {
            Ok(reply) => found(&reply.body).map(Some),
            Err(error) if already_exists(&error, "already exists") => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn update(&self, existing: &Found, proposal: &Proposal) -> Result<Found, DeliverError> {
        let body = json!({ "title": proposal.title_with(DRAFT), "description": proposal.body, "target_branch": proposal.base });
        let reply = self.api.call(Method::PUT, &self.path(&format!("/merge_requests/{}", existing.number)), &body).await?;
        found(&reply.body)
    }

    pub async fn label(&self, pull: &Found, labels: &[String]) -> Result<Vec<String>, DeliverError> {
        let body = json!({ "add_labels": labels.join(",") });
        self.api.call(Method::PUT, &self.path(&format!("/merge_requests/{}", pull.number)), &body).await?;
        Ok(Vec::new())
    }

    pub async fn request_reviews(&self, pull: &Found, reviewers: &[String]) -> Result<Vec<String>, DeliverError> {
        let mut ids = Vec::new();
        let mut notes = Vec::new();
        for name in reviewers {
            let users = self.api.get("/users", &[("username", name.clone())]).await?;
            match users.as_array().and_then(|u| u.first()).and_then(|u| u.get("id")).and_then(Value::as_u64) {
                Some(id) => ids.push(id),
                None => notes.push(format!("reviewer `{name}` not requested: GitLab has no user of that name")),
            }
        }
        if !ids.is_empty() {
            self.api.call(Method::PUT, &self.path(&format!("/merge_requests/{}", pull.number)), &json!({ "reviewer_ids": ids })).await?;
        }
        Ok(notes)
    }

    pub async fn check(&self, base: &str) -> Result<(), DeliverError> {
        super::check(&self.api, &self.path(""), &self.path(&format!("/repository/branches/{}", encode(base))), base, &self.repository).await
    }
}


/// A merge request of GitLab's answer.
fn found(body: &Value) -> Result<Found, DeliverError> {
    let draft = body
        .get("draft")
        .or_else(|| body.get("work_in_progress"))
        .and_then(Value::as_bool)
        .unwrap_or_else(|| body.get("title").and_then(Value::as_str).is_some_and(|t| t.starts_with(DRAFT)));
    Ok(Found { number: number(Forge::Gitlab, body, "iid")?, url: text(Forge::Gitlab, body, "web_url")?, draft, node_id: None })
}
