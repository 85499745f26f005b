//! GitHub and GitHub Enterprise, REST v3 (`/repos/{owner}/{repo}/pulls`). The draft state of an
//! open pull request can only change through GraphQL (`markPullRequestReadyForReview`,
//! `convertPullRequestToDraft`), at `/graphql` (GitHub Enterprise: `/api/graphql`).

use super::api::{encode, Api, Secret};
use super::{already_exists, bad_response, number, owner_repo, text, Found, Proposal};
use crate::ast::Forge;
use crate::deliver::error::{ApiFailure, DeliverError};
use crate::deliver::Settings;
use reqwest::Method;
use serde_json::{json, Value};

/// A GitHub repository's pull requests.
#[derive(Debug)]
pub struct Github {
    api: Api,
    repository: String,
    owner: String,
    repo: String,
}

impl Github {
    pub fn new(base: &str, token: &Secret, repository: String, settings: &Settings) -> Result<Self, DeliverError> {
        let api = Api::new(
            Forge::Github,
            base,
            token,
            ("authorization", "Bearer "),
            &[("accept", "application/vnd.github+json"), ("x-github-api-version", "2022-11-28")],
            settings,
        )?;
        let (owner, repo) = owner_repo(&repository);
        Ok(Self { api, repository, owner, repo })
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
        let query = [("state", "open".to_string()), ("head", format!("{}:{head}", self.owner)), ("per_page", "100".to_string())];
        let list = self.api.get(&self.path("/pulls"), &query).await?;
        let Some(items) = list.as_array() else { return Err(bad_response(Forge::Github, "the pull request list is not a list")) };
        // The filter is GitHub's; a server that ignores it still must not make night update
        // another branch's pull request.
        let mine = items.iter().find(|pr| pr.pointer("/head/ref").and_then(Value::as_str).is_none_or(|r| r == head));
        mine.map(found).transpose()
    }

    pub async fn create(&self, proposal: &Proposal) -> Result<Option<Found>, DeliverError> {
        let body = json!({
            "title": proposal.title,
            "head": proposal.head,
            "base": proposal.base,
            "body": proposal.body,
            "draft": proposal.draft,
        });
        match self.api.call(Method::POST, &self.path("/pulls"), &body).await {
            Ok(reply) => found(&reply.body).map(Some),
            Err(error) if already_exists(&error, "a pull request already exists") => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn update(&self, existing: &Found, proposal: &Proposal) -> Result<Found, DeliverError> {
        let body = json!({ "title": proposal.title, "body": proposal.body, "base": proposal.base });
        let reply = self.api.call(Method::PATCH, &self.path(&format!("/pulls/{}", existing.number)), &body).await?;
        let mut updated = found(&reply.body)?;
        if updated.draft != proposal.draft {
            updated.draft = self.set_draft(&updated, proposal.draft).await?;
        }
        Ok(updated)
    }

    /// Change the draft state through GraphQL; the state GitHub reports after.
    async fn set_draft(&self, pull: &Found, draft: bool) -> Result<bool, DeliverError> {
        let Some(id) = &pull.node_id else { return Err(bad_response(Forge::Github, "no `node_id` to change the draft state")) };
        let mutation = if draft { "convertPullRequestToDraft" } else { "markPullRequestReadyForReview" };
        let query = format!("mutation($id: ID!) {{ {mutation}(input: {{pullRequestId: $id}}) {{ pullRequest {{ isDraft }} }} }}");
        let reply = self.api.send(Method::POST, &self.graphql_url(), &[], Some(&json!({ "query": query, "variables": { "id": id } }))).await?;
        if let Some(errors) = reply.body.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let message = errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect::<Vec<_>>().join("; ");
            return Err(self.api.error(ApiFailure::Rejected, Some(reply.status), message));
        }
        Ok(reply.body.pointer(&format!("/data/{mutation}/pullRequest/isDraft")).and_then(Value::as_bool).unwrap_or(draft))
    }

    /// `https://api.github.com/graphql`, `https://HOST/api/graphql` for `https://HOST/api/v3`.
    fn graphql_url(&self) -> String {
        match self.api.base().strip_suffix("/v3") {
            Some(api) => format!("{api}/graphql"),
            None => self.api.url("/graphql"),
        }
    }

    pub async fn label(&self, pull: &Found, labels: &[String]) -> Result<Vec<String>, DeliverError> {
        self.api.call(Method::POST, &self.path(&format!("/issues/{}/labels", pull.number)), &json!({ "labels": labels })).await?;
        Ok(Vec::new())
    }

    pub async fn request_reviews(&self, pull: &Found, reviewers: &[String]) -> Result<Vec<String>, DeliverError> {
        let (teams, users): (Vec<&String>, Vec<&String>) = reviewers.iter().partition(|r| r.contains('/'));
        let team_slugs: Vec<&str> = teams.iter().filter_map(|t| t.split_once('/').map(|(_, slug)| slug)).collect();
        let body = json!({ "reviewers": users, "team_reviewers": team_slugs });
        self.api.call(Method::POST, &self.path(&format!("/pulls/{}/requested_reviewers", pull.number)), &body).await?;
        Ok(Vec::new())
    }

    pub async fn check(&self, base: &str) -> Result<(), DeliverError> {
        super::check(&self.api, &self.path(""), &self.path(&format!("/branches/{}", encode(base))), base, &self.repository).await
    }
}

/// A pull request of GitHub's answer.
fn found(body: &Value) -> Result<Found, DeliverError> {
    Ok(Found {
        number: number(Forge::Github, body, "number")?,
        url: text(Forge::Github, body, "html_url")?,
        draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false),
        node_id: body.get("node_id").and_then(Value::as_str).map(str::to_string),
    })
}
