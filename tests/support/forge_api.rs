//! Scripted forge APIs on 127.0.0.1: GitHub (REST v3 + the two GraphQL draft mutations),
//! GitLab (REST v4 merge requests) and Gitea/Forgejo (API v1). Each keeps the pull requests it
//! was asked to open, checks the token the way its forge does, answers in its forge's
//! documented shapes and errors ("A pull request already exists for …", GitLab's 409, Gitea's
//! 409), and records every request so that tests can check what night sent. Faults (a status
//! with headers, or a stall) can be queued for the next request to a path.
//!
//! Only `std`: one thread accepts, one thread per connection, one request per connection
//! (read by `http_receiver::read_request`).

use super::http_receiver::{form_decode as decode, read_request};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which forge the server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Github,
    Gitlab,
    Gitea,
}

/// One request as received (path without the query; query decoded).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// `METHOD /path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// An answer queued ahead of the forge's own.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status, headers and JSON body.
    Status(u16, Vec<(String, String)>, Value),
    /// Say nothing for this long, then hang up.
    Stall(Duration),
}

/// A pull request (GitLab: merge request) the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub open: bool,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// (method, path prefix, fault): the first match answers the next such request.
    faults: VecDeque<(String, String, Fault)>,
    pulls: Vec<Pull>,
    /// Branches the repository has (for the base check).
    branches: Vec<String>,
    /// Gitea's labels (name, id); GitLab's users (name, id).
    labels: Vec<(String, u64)>,
    users: Vec<(String, u64)>,
    /// GitHub: collaborators who may be asked to review.
    collaborators: Vec<String>,
}

/// The running server; stops when dropped.
pub struct ForgeApi {
    kind: Kind,
    addr: SocketAddr,
    token: String,
    repository: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl ForgeApi {
    /// A server for `repository` (`owner/repo`) accepting `token`, with a `main` branch.
    pub fn start(kind: Kind, repository: &str, token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            branches: vec!["main".into()],
            labels: vec![("night".into(), 11), ("needs review".into(), 12)],
            users: vec![("alice".into(), 501), ("bob".into(), 502)],
            collaborators: vec!["alice".into(), "bob".into()],
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let server = Self { kind, addr, token: token.to_string(), repository: repository.to_string(), state, stop };
        let (state, stop, token, repository) = (Arc::clone(&server.state), Arc::clone(&server.stop), server.token.clone(), server.repository.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, token, repository) = (Arc::clone(&state), token.clone(), repository.clone());
                std::thread::spawn(move || serve(kind, stream, &state, &token, &repository));
            }
        });
        server
    }

    /// The API base night is given: `http://127.0.0.1:PORT` (GitHub), `…/api/v4`, `…/api/v1`.
    pub fn api(&self) -> String {
        match self.kind {
            Kind::Github => format!("http://{}", self.addr),
            Kind::Gitlab => format!("http://{}/api/v4", self.addr),
            Kind::Gitea => format!("http://{}/api/v1", self.addr),
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forget the requests so far.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The pull requests held.
    pub fn pulls(&self) -> Vec<Pull> {
        self.state.lock().unwrap().pulls.clone()
    }

    /// Answer the next `method` request whose path starts with `path` (after the API prefix)
    /// with `fault` instead.
    pub fn fault(&self, method: &str, path: &str, fault: Fault) -> &Self {
        self.state.lock().unwrap().faults.push_back((method.to_string(), path.to_string(), fault));
        self
    }

    /// Open a pull request as if someone (another delivery) had.
    pub fn add_pull(&self, head: &str, base: &str, title: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        let number = state.pulls.len() as u64 + 1;
        state.pulls.push(Pull { number, head: head.into(), base: base.into(), title: title.into(), body: String::new(), draft: false, labels: Vec::new(), reviewers: Vec::new(), open: true });
        number
    }
}

impl Drop for ForgeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

// ----------------------------------------------------------------- HTTP ----

fn serve(kind: Kind, stream: TcpStream, state: &Mutex<State>, token: &str, repository: &str) {
    let Some((raw, mut writer)) = read_request(stream) else { return };
    let (path, query) = raw.path.split_once('?').unwrap_or((raw.path.as_str(), ""));
    let query = query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode(k), decode(v))
    });
    let request = Request { method: raw.method.clone(), path: path.to_string(), query: query.collect(), headers: raw.headers, body: raw.body };
    let answer = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.clone());
        let prefix = match kind {
            Kind::Github => "",
            Kind::Gitlab => "/api/v4",
            Kind::Gitea => "/api/v1",
        };
        let relative = request.path.strip_prefix(prefix).unwrap_or(&request.path).to_string();
        let position = state.faults.iter().position(|(m, p, _)| *m == request.method && relative.starts_with(p.as_str()));
        match position.and_then(|i| state.faults.remove(i)) {
            Some((_, _, fault)) => fault,
            None => {
                let (status, body) = match kind {
                    Kind::Github => github(&mut state, &request, &relative, token, repository),
                    Kind::Gitlab => gitlab(&mut state, &request, &relative, token, repository),
                    Kind::Gitea => gitea(&mut state, &request, &relative, token, repository),
                };
                Fault::Status(status, Vec::new(), body)
            }
        }
    };
    match answer {
        Fault::Stall(duration) => std::thread::sleep(duration),
        Fault::Status(status, headers, body) => {
            let text = body.to_string();
            let mut answer = format!("HTTP/1.1 {status} {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n", reason(status), text.len());
            for (name, value) in headers {
                answer.push_str(&format!("{name}: {value}\r\n"));
            }
            answer.push_str("\r\n");
            answer.push_str(&text);
            let _ = writer.write_all(answer.as_bytes());
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// The path's segments, percent-decoded (GitLab's `acme%2Fapp` is one segment).
fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(decode).collect()
}

fn field(body: &Value, name: &str) -> String {
    body.get(name).and_then(Value::as_str).unwrap_or("").to_string()
}

// --------------------------------------------------------------- GitHub ----

fn github(state: &mut State, request: &Request, path: &str, token: &str, repository: &str) -> (u16, Value) {
    let docs = "https://docs.github.com/rest";
    if request.header("authorization") != Some(&format!("Bearer {token}")) {
        return (401, json!({ "message": "Bad credentials", "documentation_url": docs, "status": "401" }));
    }
    let not_found = (404, json!({ "message": "Not Found", "documentation_url": docs, "status": "404" }));
    let body = request.json();
    if path == "/graphql" && request.method == "POST" {
        let query = field(&body, "query");
        let id = body.pointer("/variables/id").and_then(Value::as_str).unwrap_or("");
        let Some(pull) = state.pulls.iter_mut().find(|p| format!("PR_node{}", p.number) == id) else {
            return (200, json!({ "data": null, "errors": [{ "type": "NOT_FOUND", "message": format!("Could not resolve to a node with the global id of '{id}'") }] }));
        };
        let (mutation, draft) = if query.contains("markPullRequestReadyForReview") { ("markPullRequestReadyForReview", false) } else { ("convertPullRequestToDraft", true) };
        pull.draft = draft;
        return (200, json!({ "data": { mutation: { "pullRequest": { "isDraft": draft } } } }));
    }
    let parts = segments(path);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let full = |parts: &[&str]| parts.get(1..3).map(|p| p.join("/"));
    if parts.first() != Some(&"repos") || full(&parts).as_deref() != Some(repository) {
        return not_found;
    }
    let owner = repository.split('/').next().unwrap_or("");
    let view = |p: &Pull| {
        json!({
            "id": 1000 + p.number, "node_id": format!("PR_node{}", p.number), "number": p.number,
            "html_url": format!("https://github.example/{repository}/pull/{}", p.number),
            "state": if p.open { "open" } else { "closed" }, "title": p.title, "body": p.body, "draft": p.draft,
            "head": { "ref": p.head, "label": format!("{owner}:{}", p.head) }, "base": { "ref": p.base },
            "labels": p.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        })
    };
    match (request.method.as_str(), &parts[3..]) {
        ("GET", []) => (200, json!({ "id": 1, "full_name": repository, "default_branch": "main", "permissions": { "admin": false, "push": true, "pull": true } })),
        ("GET", ["branches", branch]) => {
            if state.branches.iter().any(|b| b == branch) {
                (200, json!({ "name": branch, "protected": false }))
            } else {
                (404, json!({ "message": "Branch not found", "documentation_url": docs, "status": "404" }))
            }
        }
        ("GET", ["pulls"]) => {
            let head = request.param("head").map(|h| h.split_once(':').map_or(h, |(_, b)| b).to_string());
            let open_only = request.param("state").unwrap_or("open") == "open";
            let list: Vec<Value> = state.pulls.iter().filter(|p| (!open_only || p.open) && head.as_ref().is_none_or(|h| *h == p.head)).map(view).collect();
            (200, Value::Array(list))
        }
        ("POST", ["pulls"]) => {
            let (head, base, title) = (field(&body, "head"), field(&body, "base"), field(&body, "title"));
            if head.is_empty() || base.is_empty() || title.is_empty() {
                return (422, json!({ "message": "Invalid request.\n\n\"head\", \"base\" and \"title\" are required.", "documentation_url": docs, "status": "422" }));
            }
            if state.pulls.iter().any(|p| p.open && p.head == head) {
                return (422, json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {owner}:{head}.") }], "documentation_url": docs, "status": "422" }));
            }
            if !state.branches.contains(&base) {
                return (422, json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "field": "base", "code": "invalid" }], "documentation_url": docs, "status": "422" }));
            }
            let number = state.pulls.len() as u64 + 1;
            let pull = Pull { number, head, base, title, body: field(&body, "body"), draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false), labels: Vec::new(), reviewers: Vec::new(), open: true };
            state.pulls.push(pull.clone());
            (201, view(&pull))
        }
        ("PATCH", ["pulls", number]) => match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
            Some(pull) => {
                for (name, slot) in [("title", &mut pull.title), ("body", &mut pull.body), ("base", &mut pull.base)] {
                    if let Some(value) = body.get(name).and_then(Value::as_str) {
                        *slot = value.to_string();
                    }
                }
                let pull = pull.clone();
                (200, view(&pull))
            }
            None => not_found,
        },
        ("POST", ["issues", number, "labels"]) => match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
            Some(pull) => {
                for label in body.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    if !pull.labels.iter().any(|l| l == label) {
                        pull.labels.push(label.to_string());
                    }
                }
                (200, Value::Array(pull.labels.iter().map(|l| json!({ "name": l })).collect()))
            }
            None => not_found,
        },
        ("POST", ["pulls", number, "requested_reviewers"]) => {
            let users: Vec<String> = body.get("reviewers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
            let teams: Vec<String> = body.get("team_reviewers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(|t| format!("team:{t}")).collect();
            if users.iter().any(|u| !state.collaborators.contains(u)) {
                return (422, json!({ "message": format!("Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the {repository} repository."), "documentation_url": docs, "status": "422" }));
            }
            match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
                Some(pull) => {
                    pull.reviewers.extend(users.into_iter().chain(teams));
                    let pull = pull.clone();
                    (201, view(&pull))
                }
                None => not_found,
            }
        }
        _ => not_found,
    }
}

// --------------------------------------------------------------- GitLab ----

fn gitlab(state: &mut State, request: &Request, path: &str, token: &str, repository: &str) -> (u16, Value) {
    if request.header("private-token") != Some(token) {
        return (401, json!({ "message": "401 Unauthorized" }));
    }
    let body = request.json();
    let parts = segments(path);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    if parts == ["users"] {
        let name = request.param("username").unwrap_or("");
        let list: Vec<Value> = state.users.iter().filter(|(n, _)| n == name).map(|(n, id)| json!({ "id": id, "username": n, "state": "active" })).collect();
        return (200, Value::Array(list));
    }
    if parts.first() != Some(&"projects") || parts.get(1) != Some(&repository) {
        return (404, json!({ "message": "404 Project Not Found" }));
    }
    let view = |p: &Pull| {
        json!({
            "id": 9000 + p.number, "iid": p.number, "project_id": 7, "title": p.title, "description": p.body,
            "state": if p.open { "opened" } else { "closed" }, "draft": p.draft, "work_in_progress": p.draft,
            "source_branch": p.head, "target_branch": p.base, "labels": p.labels,
            "web_url": format!("https://gitlab.example/{repository}/-/merge_requests/{}", p.number),
        })
    };
    let apply = |pull: &mut Pull, body: &Value, users: &[(String, u64)]| {
        if let Some(title) = body.get("title").and_then(Value::as_str) {
            pull.title = title.to_string();
            pull.draft = title.starts_with("Draft:") || title.starts_with("[Draft]") || title.starts_with("(Draft)");
        }
        if let Some(text) = body.get("description").and_then(Value::as_str) {
            pull.body = text.to_string();
        }
        if let Some(base) = body.get("target_branch").and_then(Value::as_str) {
            pull.base = base.to_string();
        }
        for key in ["labels", "add_labels"] {
            for label in body.get(key).and_then(Value::as_str).unwrap_or("").split(',').map(str::trim).filter(|l| !l.is_empty()) {
                if !pull.labels.iter().any(|l| l == label) {
                    pull.labels.push(label.to_string());
                }
            }
        }
        if let Some(ids) = body.get("reviewer_ids").and_then(Value::as_array) {
            pull.reviewers = ids.iter().filter_map(Value::as_u64).filter_map(|id| users.iter().find(|(_, u)| *u == id).map(|(n, _)| n.clone())).collect();
        }
    };
    match (request.method.as_str(), &parts[2..]) {
        ("GET", []) => (200, json!({ "id": 7, "path_with_namespace": repository, "default_branch": "main" })),
        ("GET", ["repository", "branches", branch]) => {
            if state.branches.iter().any(|b| b == branch) {
                (200, json!({ "name": branch }))
            } else {
                (404, json!({ "message": "404 Branch Not Found" }))
            }
        }
        ("GET", ["merge_requests"]) => {
            let source = request.param("source_branch");
            let open_only = request.param("state") == Some("opened");
            let list: Vec<Value> = state.pulls.iter().filter(|p| (!open_only || p.open) && source.is_none_or(|s| s == p.head)).map(view).collect();
            (200, Value::Array(list))
        }
        ("POST", ["merge_requests"]) => {
            let head = field(&body, "source_branch");
            if let Some(existing) = state.pulls.iter().find(|p| p.open && p.head == head) {
                return (409, json!({ "message": [format!("Another open merge request already exists for this source branch: !{}", existing.number)] }));
            }
            if !state.branches.contains(&field(&body, "target_branch")) {
                return (400, json!({ "message": { "target_branch": ["is invalid"] } }));
            }
            let number = state.pulls.len() as u64 + 1;
            let mut pull = Pull { number, head, base: String::new(), title: String::new(), body: String::new(), draft: false, labels: Vec::new(), reviewers: Vec::new(), open: true };
            let users = state.users.clone();
            apply(&mut pull, &body, &users);
            state.pulls.push(pull.clone());
            (201, view(&pull))
        }
        ("PUT", ["merge_requests", iid]) => {
            let users = state.users.clone();
            match state.pulls.iter_mut().find(|p| p.number.to_string() == *iid) {
                Some(pull) => {
                    apply(pull, &body, &users);
                    let pull = pull.clone();
                    (200, view(&pull))
                }
                None => (404, json!({ "message": "404 Not found" })),
            }
        }
        _ => (404, json!({ "error": "404 Not Found" })),
    }
}

// ---------------------------------------------------------------- Gitea ----

fn gitea(state: &mut State, request: &Request, path: &str, token: &str, repository: &str) -> (u16, Value) {
    let docs = "https://gitea.example/api/swagger";
    if request.header("authorization") != Some(&format!("token {token}")) {
        return (401, json!({ "message": "user does not exist [uid: 0, name: ]", "url": docs }));
    }
    let not_found = (404, json!({ "errors": [], "message": "The target couldn't be found.", "url": docs }));
    let body = request.json();
    let parts = segments(path);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    if parts.first() != Some(&"repos") || parts.get(1..3).map(|p| p.join("/")).as_deref() != Some(repository) {
        return not_found;
    }
    let view = |p: &Pull, labels: &[(String, u64)]| {
        json!({
            "id": 500 + p.number, "number": p.number, "title": p.title, "body": p.body,
            "state": if p.open { "open" } else { "closed" },
            "html_url": format!("https://gitea.example/{repository}/pulls/{}", p.number),
            "head": { "ref": p.head, "label": p.head }, "base": { "ref": p.base, "label": p.base },
            "labels": p.labels.iter().map(|l| json!({ "name": l, "id": labels.iter().find(|(n, _)| n == l).map_or(0, |(_, id)| *id) })).collect::<Vec<_>>(),
        })
    };
    let set_title = |pull: &mut Pull, title: &str| {
        pull.title = title.to_string();
        pull.draft = title.starts_with("WIP:") || title.starts_with("[WIP]");
    };
    match (request.method.as_str(), &parts[3..]) {
        ("GET", []) => (200, json!({ "id": 3, "full_name": repository, "default_branch": "main", "permissions": { "admin": false, "push": true, "pull": true } })),
        ("GET", ["branches", branch]) => {
            if state.branches.iter().any(|b| b == branch) {
                (200, json!({ "name": branch }))
            } else {
                (404, json!({ "errors": [], "message": format!("branch does not exist [name: {branch}]"), "url": docs }))
            }
        }
        ("GET", ["pulls"]) => {
            let open_only = request.param("state") == Some("open");
            let limit: usize = request.param("limit").and_then(|l| l.parse().ok()).unwrap_or(30);
            let page: usize = request.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let labels = state.labels.clone();
            let list: Vec<Value> = state.pulls.iter().filter(|p| !open_only || p.open).skip((page - 1) * limit).take(limit).map(|p| view(p, &labels)).collect();
            (200, Value::Array(list))
        }
        ("POST", ["pulls"]) => {
            let (head, base) = (field(&body, "head"), field(&body, "base"));
            if let Some(existing) = state.pulls.iter().find(|p| p.open && p.head == head && p.base == base) {
                let message = format!("pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: 3, base_repo_id: 3, head_branch: {head}, base_branch: {base}]", 500 + existing.number, existing.number);
                return (409, json!({ "message": message, "url": docs }));
            }
            let number = state.pulls.len() as u64 + 1;
            let mut pull = Pull { number, head, base, title: String::new(), body: field(&body, "body"), draft: false, labels: Vec::new(), reviewers: Vec::new(), open: true };
            set_title(&mut pull, &field(&body, "title"));
            state.pulls.push(pull.clone());
            (201, view(&pull, &state.labels))
        }
        ("PATCH", ["pulls", number]) => {
            let labels = state.labels.clone();
            match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
                Some(pull) => {
                    if let Some(title) = body.get("title").and_then(Value::as_str) {
                        set_title(pull, title);
                    }
                    for (name, slot) in [("body", &mut pull.body), ("base", &mut pull.base)] {
                        if let Some(value) = body.get(name).and_then(Value::as_str) {
                            *slot = value.to_string();
                        }
                    }
                    let pull = pull.clone();
                    (201, view(&pull, &labels))
                }
                None => not_found,
            }
        }
        ("GET", ["labels"]) => (200, Value::Array(state.labels.iter().map(|(n, id)| json!({ "id": id, "name": n, "color": "00aabb" })).collect())),
        ("POST", ["issues", number, "labels"]) => {
            let labels = state.labels.clone();
            match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
                Some(pull) => {
                    for id in body.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64) {
                        match labels.iter().find(|(_, l)| *l == id) {
                            Some((name, _)) if !pull.labels.contains(name) => pull.labels.push(name.clone()),
                            Some(_) => {}
                            None => return (422, json!({ "message": format!("label does not exist [id: {id}]"), "url": docs })),
                        }
                    }
                    (200, Value::Array(pull.labels.iter().map(|l| json!({ "name": l })).collect()))
                }
                None => not_found,
            }
        }
        ("POST", ["pulls", number, "requested_reviewers"]) => match state.pulls.iter_mut().find(|p| p.number.to_string() == *number) {
            Some(pull) => {
                pull.reviewers.extend(body.get("reviewers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
                (201, json!([]))
            }
            None => not_found,
        },
        _ => not_found,
    }
}
