//! Why a delivery step failed: typed, serializable for the journal, and free of secrets (every
//! message is scrubbed before it is put in one).

use crate::ast::Forge;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a push or a pull request did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DeliverError {
    /// `token env.NAME` is unset or empty.
    #[error("environment variable `{name}` is not set: the {} API token", forge_title(*forge))]
    TokenUnset {
        /// The variable.
        name: String,
        /// The forge it is for.
        forge: Forge,
    },
    /// `api env.NAME` is unset, or the API URL is not one.
    #[error("the {} API URL {problem}", forge_title(*forge))]
    ApiUrl {
        /// The forge.
        forge: Forge,
        /// What is wrong, e.g. "(`env.GHE_API`) is not set".
        problem: String,
    },
    /// The remote is not configured in the repository.
    #[error("the remote `{remote}` is not configured in this repository")]
    RemoteMissing {
        /// Its name.
        remote: String,
    },
    /// The remote's URL is one night does not push to (`ext::`, an option, a control character).
    #[error("the remote `{remote}` has a URL night does not push to: {reason}")]
    RemoteUrl {
        /// Its name.
        remote: String,
        /// Why.
        reason: String,
    },
    /// The push would write a branch night never writes.
    #[error("night never pushes to `{branch}`: {reason}")]
    UnsafeTarget {
        /// The branch.
        branch: String,
        /// Why, e.g. "it is the branch the run started from".
        reason: String,
    },
    /// The repository could not be read (the run branch is gone, a ref is broken).
    #[error("cannot read the repository: {message}")]
    Repository {
        /// git's message.
        message: String,
    },
    /// `git` could not be started, or the push's scratch repository could not be made.
    #[error("cannot run git: {message}")]
    Git {
        /// Why.
        message: String,
    },
    /// `git push` failed.
    #[error("{}", push_message(*failure, remote, message))]
    Push {
        /// What kind of failure.
        failure: PushFailure,
        /// The remote's name.
        remote: String,
        /// git's own words (its last lines, without hints or credentials).
        message: String,
    },
    /// A forge API call failed.
    #[error("{}", api_message(*forge, *failure, *status, message))]
    Api {
        /// The forge.
        forge: Forge,
        /// What kind of failure.
        failure: ApiFailure,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The API's exact message (or the network's reason).
        message: String,
    },
}

/// What kind of push failure, for the report and for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushFailure {
    /// The remote did not accept the credentials, or would have needed a password typed in.
    Auth,
    /// The remote refused the update (the branch exists and is not this run's, a hook declined).
    Rejected,
    /// No repository at that URL.
    NotFound,
    /// The remote could not be reached.
    Network,
    /// The push took longer than its timeout and was ended.
    Timeout,
    /// Anything else git said.
    Other,
}

impl PushFailure {
    /// Whether another try may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, PushFailure::Network | PushFailure::Timeout | PushFailure::Other)
    }
}

/// What kind of API failure, for the report and for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiFailure {
    /// 401: the token is wrong or expired.
    Unauthorized,
    /// 403: the token may not do this.
    Forbidden,
    /// 404: no such repository or branch, or the token cannot see it.
    NotFound,
    /// 409, 422 and other 4xx: the forge refused the request.
    Rejected,
    /// Rate limited longer than night waits, or still limited after every try.
    RateLimited,
    /// 5xx on every try.
    Server,
    /// No answer: connection refused, DNS, TLS, or the timeout on every try.
    Unreachable,
    /// An answer night could not read.
    BadResponse,
}

impl ApiFailure {
    /// Whether another try may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, ApiFailure::Server | ApiFailure::Unreachable | ApiFailure::RateLimited)
    }
}

impl DeliverError {
    /// Whether another try (of the whole step, later) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            DeliverError::Push { failure, .. } => failure.is_transient(),
            DeliverError::Api { failure, .. } => failure.is_transient(),
            _ => false,
        }
    }
}

/// `GitHub`, `GitLab`, `Gitea`, `Forgejo`.
pub fn forge_title(forge: Forge) -> &'static str {
    match forge {
        Forge::Github => "GitHub",
        Forge::Gitlab => "GitLab",
        Forge::Gitea => "Gitea",
        Forge::Forgejo => "Forgejo",
    }
}

fn push_message(failure: PushFailure, remote: &str, message: &str) -> String {
    let what = match failure {
        PushFailure::Auth => format!("the push to `{remote}` was not authenticated"),
        PushFailure::Rejected => format!("`{remote}` rejected the push"),
        PushFailure::NotFound => format!("`{remote}` has no repository at its URL"),
        PushFailure::Network => format!("cannot reach `{remote}`"),
        PushFailure::Timeout => format!("the push to `{remote}` timed out"),
        PushFailure::Other => format!("the push to `{remote}` failed"),
    };
    if message.is_empty() {
        what
    } else {
        format!("{what}: {message}")
    }
}

fn api_message(forge: Forge, failure: ApiFailure, status: Option<u16>, message: &str) -> String {
    let name = forge_title(forge);
    let head = match (failure, status) {
        (ApiFailure::Unreachable, _) => format!("cannot reach the {name} API"),
        (ApiFailure::BadResponse, _) => format!("unexpected answer from the {name} API"),
        (ApiFailure::RateLimited, _) => format!("the {name} API rate limit"),
        (_, Some(status)) => format!("{name} answered {}", Status(status)),
        (_, None) => format!("the {name} API failed"),
    };
    if message.is_empty() {
        head
    } else {
        format!("{head}: {message}")
    }
}

/// `401 Unauthorized`.
struct Status(u16);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reqwest::StatusCode::from_u16(self.0).ok().and_then(|s| s.canonical_reason()) {
            Some(reason) => write!(f, "{} {reason}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_forge_status_and_api_words() {
        let error = DeliverError::Api {
            forge: Forge::Github,
            failure: ApiFailure::Unauthorized,
            status: Some(401),
            message: "Bad credentials".into(),
        };
        assert_eq!(error.to_string(), "GitHub answered 401 Unauthorized: Bad credentials");
        let push = DeliverError::Push { failure: PushFailure::Rejected, remote: "origin".into(), message: "x (stale info)".into() };
        assert_eq!(push.to_string(), "`origin` rejected the push: x (stale info)");
        let json = serde_json::to_string(&push).expect("serializes");
        assert_eq!(json, r#"{"kind":"push","failure":"rejected","remote":"origin","message":"x (stale info)"}"#);
        assert_eq!(serde_json::from_str::<DeliverError>(&json).expect("reads back"), push);
    }
}
