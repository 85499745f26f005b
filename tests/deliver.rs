//! Delivery against real remotes and scripted forges: the library the run calls after it has
//! ended (`night::deliver`). Real git repositories with a run branch and attempt refs; bare
//! remotes over `file://` and over SSH (the shared test sshd); GitHub, GitLab and Gitea/Forgejo
//! APIs scripted on 127.0.0.1 (tests/support/forge_api.rs) that check what night sends.

mod support;

use night::ast::Outcome;
use night::deliver::{self, ApiFailure, DeliverError, Delivered, EndedRun, PushFailure, RecordedRemote, Settings, Step, UpcomingRun};
use night::plan::Delivery;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::forge_api::{Fault, ForgeApi, Kind};

const RUN_ID: &str = "auth-jwt-20260101-020000";
const BRANCH: &str = "night/auth-jwt/20260101-0200";
const TOKEN: &str = "tok-7c1e9a-secret";
const REPORT: &str = "# auth-jwt: success\n\n2 commits, tests 41 → 48 passing, $3.20.\n";

// ---------------------------------------------------------------- helpers ----

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=night tests", "-c", "user.email=tests@night.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A repository as a run leaves it: `main` at the start commit, the run branch two commits
/// ahead (checked out), two attempt refs under `refs/night/<run-id>/`.
struct Workspace {
    dir: tempfile::TempDir,
    root: PathBuf,
    start: String,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repo");
        fs::create_dir_all(root.join("src")).unwrap();
        git(&root, &["init", "-q"]);
        fs::write(root.join("src/lib.rs"), "pub fn a() {}\n").unwrap();
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "start"]);
        let start = git(&root, &["rev-parse", "HEAD"]);
        git(&root, &["switch", "-q", "-c", BRANCH]);
        for (n, text) in [(1, "pub fn a() { b() }\n"), (2, "pub fn a() { b() }\npub fn b() {}\n")] {
            fs::write(root.join("src/lib.rs"), text).unwrap();
            git(&root, &["commit", "-q", "-am", &format!("agent: step {n}")]);
            git(&root, &["update-ref", &format!("refs/night/{RUN_ID}/attempt-{n}"), "HEAD"]);
        }
        Self { dir, root, start }
    }

    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    fn tip(&self) -> String {
        git(&self.root(), &["rev-parse", BRANCH])
    }

    /// A new bare repository next to the work tree.
    fn bare(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        git(self.dir.path(), &["init", "-q", "--bare", path.to_str().unwrap()]);
        path
    }

    fn add_remote(&self, name: &str, url: &str) {
        git(&self.root(), &["remote", "add", name, url]);
    }

    fn ended<'a>(&'a self, remote: &'a RecordedRemote, outcome: Outcome) -> EndedRun<'a> {
        EndedRun {
            name: "auth-jwt",
            id: RUN_ID,
            outcome,
            repo: &self.root,
            branch: BRANCH,
            start_branch: "main",
            start_commit: &self.start,
            remote,
            pushed_before: None,
            report: REPORT,
        }
    }
}

/// What a remote holds at `reference`, if anything.
fn remote_ref(bare: &Path, reference: &str) -> Option<String> {
    let output = Command::new("git").args(["rev-parse", "--verify", "--quiet", reference]).current_dir(bare).output().expect("git runs");
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn record(workspace: &Workspace, remote: &str) -> RecordedRemote {
    deliver::record_remote(&workspace.root, remote).expect("the remote is recorded")
}

/// Quick tries, a hermetic git config (no user or system settings), and `extra` for git.
fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut git_env: Vec<(OsString, OsString)> = vec![("GIT_CONFIG_NOSYSTEM".into(), "1".into()), ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into())];
    git_env.extend(extra.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
    Settings {
        api_timeout: Duration::from_secs(3),
        push_timeout: Duration::from_secs(60),
        backoff: vec![Duration::from_millis(50), Duration::from_millis(100)],
        longest_wait: Duration::from_secs(3),
        ca_file: None,
        git_env,
    }
}

/// The delivery of `deliver { <body> }`, through the parser and the plan.
fn delivery(body: &str) -> Delivery {
    let source = night::source::Source::new("t.night", format!("deliver {{\n{body}\n}}\n"));
    let parsed = night::syntax::parse(&source);
    let problems: Vec<_> = parsed.diagnostics.iter().filter(|d| d.code != night::diagnostic::Code::MissingBlock).collect();
    assert!(problems.is_empty(), "{problems:?}");
    Delivery::from_ast(parsed.runbook.deliver.as_ref().expect("a deliver block")).expect("a push")
}

fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

fn env_with_token(name: &str) -> Option<String> {
    (name == "FORGE_TOKEN").then(|| TOKEN.to_string())
}

fn pushed(delivered: &Delivered) -> &deliver::Pushed {
    match &delivered.push {
        Step::Done(pushed) => pushed,
        other => panic!("the push did not happen: {other:?}"),
    }
}

fn opened(delivered: &Delivered) -> &deliver::Opened {
    match &delivered.pull_request {
        Step::Done(opened) => opened,
        other => panic!("no pull request: {other:?}"),
    }
}

fn failed(step: &Step<impl std::fmt::Debug>) -> &DeliverError {
    match step {
        Step::Failed { error, .. } => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

// ------------------------------------------------------------ the push ----

#[test]
fn pushes_the_run_branch_to_the_recorded_url_and_nothing_the_agent_planted_runs() {
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    let decoy = workspace.bare("decoy.git");
    workspace.add_remote("origin", &format!("file://{}", origin.display()));
    let remote = record(&workspace, "origin");

    // What an agent could have written into the repository during the night.
    let root = workspace.root();
    let marker = workspace.dir.path().join("ran");
    let plant = format!("#!/bin/sh\necho \"$0 $*\" >> {}\nexit 0\n", marker.display());
    let hooks = root.join("agent-hooks");
    fs::create_dir_all(&hooks).unwrap();
    for script in [hooks.join("pre-push"), root.join(".git/hooks/pre-push"), root.join(".git/hooks/reference-transaction"), root.join("helper.sh")] {
        fs::write(&script, &plant).unwrap();
        Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    }
    let decoy_url = format!("file://{}", decoy.display());
    for (key, value) in [
        ("remote.origin.url", decoy_url.as_str()),
        ("core.hooksPath", hooks.to_str().unwrap()),
        ("credential.helper", &format!("!{}", root.join("helper.sh").display())),
        ("core.sshCommand", &root.join("helper.sh").display().to_string()),
        (&format!("url.{decoy_url}.insteadOf"), &format!("file://{}", origin.display())),
    ] {
        git(&root, &["config", key, value]);
    }
    let askpass = root.join("helper.sh").display().to_string();
    let settings = settings(&[("GIT_ASKPASS", &askpass)]);

    let plan = delivery("push \"origin\" attempts");
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &|_| None, &settings));
    let push = pushed(&delivered);
    assert_eq!(push.commit, workspace.tip());
    assert_eq!(push.url, format!("file://{}", origin.display()));
    assert!(!push.forced && !push.up_to_date, "{push:?}");
    assert_eq!(push.attempt_refs, [format!("refs/night/{RUN_ID}/attempt-1"), format!("refs/night/{RUN_ID}/attempt-2")]);
    assert_eq!(delivered.pull_request, Step::NotAsked);
    assert_eq!(remote_ref(&origin, &format!("refs/heads/{BRANCH}")), Some(workspace.tip()));
    assert!(remote_ref(&origin, &format!("refs/night/{RUN_ID}/attempt-1")).is_some());
    assert_eq!(remote_ref(&origin, "refs/heads/main"), None, "the start branch is never pushed");
    assert_eq!(remote_ref(&decoy, &format!("refs/heads/{BRANCH}")), None, "the URL in the config at the end is not used");
    assert!(!marker.exists(), "a hook, helper or askpass of the agent's ran: {}", fs::read_to_string(&marker).unwrap_or_default());

    // Delivered again (a resumed run): the same commit is up to date, under the lease.
    let first_tip = workspace.tip();
    let mut again = workspace.ended(&remote, Outcome::Success);
    again.pushed_before = Some(&first_tip);
    let delivered = block(deliver::deliver(&plan, &again, &|_| None, &settings));
    assert!(pushed(&delivered).up_to_date, "{delivered:?}");

    // A rollback rewrote the branch: only this run's own earlier push may be replaced.
    git(&root, &["reset", "-q", "--hard", "HEAD~1"]);
    fs::write(root.join("src/lib.rs"), "pub fn a() { c() }\npub fn c() {}\n").unwrap();
    git(&root, &["commit", "-q", "-am", "agent: another way"]);
    let delivered = block(deliver::deliver(&plan, &again, &|_| None, &settings));
    let push = pushed(&delivered);
    assert!(push.forced, "{push:?}");
    assert_eq!(remote_ref(&origin, &format!("refs/heads/{BRANCH}")), Some(workspace.tip()));

    // Without this run's earlier push on record the same branch is someone else's: refused.
    let fresh = workspace.ended(&remote, Outcome::Success);
    git(&root, &["commit", "-q", "--allow-empty", "-m", "agent: one more"]);
    let delivered = block(deliver::deliver(&plan, &fresh, &|_| None, &settings));
    let error = failed(&delivered.push);
    assert!(matches!(error, DeliverError::Push { failure: PushFailure::Rejected, .. }), "{error:?}");
    assert!(error.to_string().contains("that this run did not push"), "{error}");
    assert_ne!(remote_ref(&origin, &format!("refs/heads/{BRANCH}")), Some(workspace.tip()));
    assert!(!marker.exists());
}

#[test]
fn outcomes_decide_and_night_never_pushes_the_start_branch() {
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    workspace.add_remote("origin", origin.to_str().unwrap());
    let remote = record(&workspace, "origin");
    let settings = settings(&[]);
    let branch_ref = format!("refs/heads/{BRANCH}");

    // `on success` (the default) does nothing for a failed run.
    let plan = delivery("push \"origin\"");
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Failed), &|_| None, &settings));
    assert_eq!((delivered.push.clone(), delivered.pull_request.clone()), (Step::NotDue, Step::NotAsked));
    assert_eq!(remote_ref(&origin, &branch_ref), None);

    // A pull request on `failed` widens the push to `failed`, and the PR step is not skipped
    // silently when its token is missing.
    let plan = delivery("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"http://127.0.0.1:9\" on failed");
    assert_eq!(plan.push.on, [Outcome::Success, Outcome::Failed]);
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Failed), &|_| None, &settings));
    pushed(&delivered);
    assert!(matches!(failed(&delivered.pull_request), DeliverError::TokenUnset { name, .. } if name == "FORGE_TOKEN"));

    // The start branch is refused before git runs.
    let mut onto_start = workspace.ended(&remote, Outcome::Success);
    onto_start.branch = "main";
    let plan = delivery("push \"origin\"");
    let delivered = block(deliver::deliver(&plan, &onto_start, &|_| None, &settings));
    assert!(matches!(failed(&delivered.push), DeliverError::UnsafeTarget { branch, .. } if branch == "main"));
    assert_eq!(remote_ref(&origin, "refs/heads/main"), None);

    // A run branch still at the start commit has nothing to deliver.
    let mut nothing = workspace.ended(&remote, Outcome::Success);
    let tip = workspace.tip();
    nothing.start_commit = &tip;
    let delivered = block(deliver::deliver(&plan, &nothing, &|_| None, &settings));
    assert_eq!(delivered.push, Step::NothingToDeliver);

    // A remote that is not there: a typed error with git's words, after its tries.
    let gone = RecordedRemote::new("origin", "/nowhere/at/all.git").unwrap();
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&gone, Outcome::Success), &|_| None, &settings));
    let error = failed(&delivered.push);
    assert!(matches!(error, DeliverError::Push { failure: PushFailure::NotFound, .. }), "{error:?}");
    assert!(error.to_string().contains("does not appear to be a git repository"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!delivered.is_complete());
}

#[test]
fn pushes_over_ssh_and_a_prompting_remote_fails_at_once() {
    let Some(sshd) = support::sshd::sshd() else { return };
    let workspace = Workspace::new();
    let path = PathBuf::from(format!("/home/{}/deliver-{}-{}.git", support::sshd::USER, std::process::id(), workspace.start.get(..8).unwrap_or("x")));
    sshd.remote(&format!("rm -rf {0} && git init -q --bare {0}", path.display()));
    workspace.add_remote("origin", &sshd.git_url(&path));
    let remote = record(&workspace, "origin");
    let settings = settings(&[("GIT_SSH_COMMAND", &sshd.ssh_command())]);
    let plan = delivery("push \"origin\" on success attempts");
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &|_| None, &settings));
    let push = pushed(&delivered);
    assert_eq!(push.attempt_refs.len(), 2);
    let on_server = sshd.remote(&format!("git -C {} rev-parse refs/heads/{BRANCH}", path.display()));
    assert_eq!(on_server.trim(), workspace.tip());

    // The preflight's dry run: accepted for a new branch, refused for one the remote has.
    let upcoming = UpcomingRun { repo: &workspace.root, branch: "night/auth-jwt/next", start_branch: "main", start_commit: &workspace.start, remote: &remote };
    let check = block(deliver::preflight(&plan, &upcoming, &|_| None, &settings)).expect("the preflight passes");
    assert_eq!(check.push_url, sshd.git_url(&path));
    let taken = UpcomingRun { branch: BRANCH, ..upcoming };
    let error = block(deliver::preflight(&plan, &taken, &|_| None, &settings)).expect_err("the branch exists");
    assert!(error.to_string().contains("already has a branch"), "{error}");
    let next = sshd.remote(&format!("git -C {} rev-parse --verify --quiet refs/heads/night/auth-jwt/next || echo absent", path.display()));
    assert_eq!(next.trim(), "absent", "a dry run pushes nothing");

    // A key the server refuses, with an ssh config that would let ssh ask for a password:
    // night's push fails at once instead of waiting for someone to type it.
    let config = workspace.dir.path().join("ssh_config");
    fs::write(
        &config,
        format!(
            "Host night-ci\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}/known_hosts\n  PreferredAuthentications keyboard-interactive,password,publickey\n",
            support::sshd::PORT,
            support::sshd::USER,
            workspace.dir.path().join("no-such-key").display(),
            support::sshd::DIR
        ),
    )
    .unwrap();
    let prompting = settings_with_ssh(&format!("ssh -F {}", config.display()));
    git(&workspace.root(), &["commit", "-q", "--allow-empty", "-m", "agent: more"]);
    let mut resumed = workspace.ended(&remote, Outcome::Success);
    let before = on_server.trim().to_string();
    resumed.pushed_before = Some(&before);
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &resumed, &|_| None, &prompting));
    let error = failed(&delivered.push);
    assert!(matches!(error, DeliverError::Push { failure: PushFailure::Auth, .. }), "{error:?}");
    assert!(error.to_string().contains("Permission denied"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    sshd.remote(&format!("rm -rf {}", path.display()));
}

fn settings_with_ssh(ssh: &str) -> Settings {
    settings(&[("GIT_SSH_COMMAND", ssh)])
}

#[test]
fn an_https_remote_that_wants_a_password_fails_without_a_prompt() {
    // A git server that asks for HTTP basic credentials on every request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::{BufRead, Write};
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let workspace = Workspace::new();
    let remote = RecordedRemote::new("origin", &format!("http://127.0.0.1:{port}/acme/app.git")).unwrap();
    let marker = workspace.dir.path().join("asked");
    let askpass = workspace.dir.path().join("askpass.sh");
    fs::write(&askpass, format!("#!/bin/sh\ntouch {}\necho secret\n", marker.display())).unwrap();
    Command::new("chmod").arg("+x").arg(&askpass).status().unwrap();
    let settings = settings(&[("GIT_ASKPASS", askpass.to_str().unwrap()), ("SSH_ASKPASS", askpass.to_str().unwrap()), ("GIT_TERMINAL_PROMPT", "1")]);
    let started = Instant::now();
    let delivered = block(deliver::deliver(&delivery("push \"origin\""), &workspace.ended(&remote, Outcome::Success), &|_| None, &settings));
    let error = failed(&delivered.push);
    assert!(matches!(error, DeliverError::Push { failure: PushFailure::Auth, .. }), "{error:?}");
    assert!(error.to_string().contains("night never waits for one"), "{error}");
    assert!(!marker.exists(), "an askpass program was asked for a password");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(matches!(delivered.push, Step::Failed { tries: 1, .. }), "an auth failure is not retried: {:?}", delivered.push);
}

// -------------------------------------------------------------- GitHub ----

fn github_setup() -> (Workspace, PathBuf, RecordedRemote, ForgeApi) {
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    workspace.add_remote("origin", origin.to_str().unwrap());
    let remote = record(&workspace, "origin");
    let api = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    (workspace, origin, remote, api)
}

#[test]
fn github_opens_a_ready_pull_request_then_updates_the_same_one_when_a_resumed_run_delivers_again() {
    let (workspace, origin, remote, api) = github_setup();
    let plan = delivery(&format!(
        "push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\" on success failed labels \"night\" reviewers \"alice\" \"acme/backend\"",
        api.api()
    ));
    let settings = settings(&[]);
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &env_with_token, &settings));
    let pr = opened(&delivered);
    assert_eq!((pr.number, pr.created, pr.draft), (1, true, false));
    assert_eq!(pr.url, "https://github.example/acme/app/pull/1");
    assert!(pr.notes.is_empty(), "{:?}", pr.notes);
    assert_eq!(delivered.pull_request_url(), Some(pr.url.as_str()));
    assert!(remote_ref(&origin, &format!("refs/heads/{BRANCH}")).is_some(), "pushed before the pull request");

    let requests = api.requests();
    let lines: Vec<String> = requests.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "GET /repos/acme/app/pulls",
            "POST /repos/acme/app/pulls",
            "POST /repos/acme/app/issues/1/labels",
            "POST /repos/acme/app/pulls/1/requested_reviewers"
        ]
    );
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(request.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert!(request.header("user-agent").is_some_and(|a| a.starts_with("night/")));
    }
    assert_eq!(requests[0].param("head"), Some(format!("acme:{BRANCH}").as_str()));
    assert_eq!(requests[0].param("state"), Some("open"));
    let created = requests[1].json();
    assert_eq!(created["title"], "night: auth-jwt (success)");
    assert_eq!(created["head"], BRANCH);
    assert_eq!(created["base"], "main", "the base defaults to the branch the run started from");
    assert_eq!(created["draft"], false);
    let body = created["body"].as_str().unwrap();
    assert!(body.starts_with(REPORT.trim_end()), "{body}");
    assert!(body.contains(&format!("<!-- night-run: {RUN_ID} -->")), "{body}");
    assert_eq!(requests[2].json()["labels"], serde_json::json!(["night"]));
    assert_eq!(requests[3].json(), serde_json::json!({ "reviewers": ["alice"], "team_reviewers": ["backend"] }));

    // The run was resumed, and this time failed: the same pull request becomes a draft.
    api.clear_requests();
    let mut resumed = workspace.ended(&remote, Outcome::Failed);
    let tip = workspace.tip();
    resumed.pushed_before = Some(&tip);
    resumed.report = "# auth-jwt: failed\n";
    let delivered = block(deliver::deliver(&plan, &resumed, &env_with_token, &settings));
    let pr = opened(&delivered);
    assert_eq!((pr.number, pr.created, pr.draft), (1, false, true));
    let lines: Vec<String> = api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(lines[..3], ["GET /repos/acme/app/pulls", "PATCH /repos/acme/app/pulls/1", "POST /graphql"]);
    let patch = api.requests()[1].json();
    assert_eq!(patch["title"], "night: auth-jwt (failed)");
    assert!(patch["body"].as_str().unwrap().starts_with("# auth-jwt: failed"));
    assert!(api.requests()[2].json()["query"].as_str().unwrap().contains("convertPullRequestToDraft"));
    assert_eq!(api.pulls().len(), 1, "no second pull request");

    // Resumed again, and it succeeded: ready for review.
    resumed.outcome = Outcome::Success;
    let delivered = block(deliver::deliver(&plan, &resumed, &env_with_token, &settings));
    assert!(!opened(&delivered).draft);
    assert!(!api.pulls()[0].draft);
    assert_eq!(api.pulls()[0].labels, ["night"]);
}

#[test]
fn github_errors_are_typed_with_the_apis_own_words_and_never_the_token() {
    let (workspace, _origin, remote, api) = github_setup();
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\" reviewers \"mallory\"", api.api()));
    let settings = settings(&[]);

    // A wrong token: 401 with GitHub's message, no retry.
    let wrong = |name: &str| (name == "FORGE_TOKEN").then(|| "tok-wrong-1234".to_string());
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &wrong, &settings));
    let error = failed(&delivered.pull_request);
    assert!(matches!(error, DeliverError::Api { failure: ApiFailure::Unauthorized, status: Some(401), .. }), "{error:?}");
    assert_eq!(error.to_string(), "GitHub answered 401 Unauthorized: Bad credentials");
    assert!(matches!(delivered.pull_request, Step::Failed { tries: 1, .. }), "a wrong token is not retried");
    assert_eq!(api.requests().len(), 1);
    let everything = format!("{delivered:?} {}", serde_json::to_string(&delivered).unwrap());
    assert!(!everything.contains("tok-wrong-1234") && !everything.contains(TOKEN), "{everything}");

    // A rate limit with Retry-After is waited out; a server error is retried; a reviewer the
    // forge refuses is a note, not a failure. The push is already there: up to date.
    api.clear_requests();
    api.fault("GET", "/repos/acme/app/pulls", Fault::Status(403, vec![("Retry-After".into(), "1".into()), ("X-RateLimit-Remaining".into(), "0".into())], serde_json::json!({ "message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/rate-limit" })));
    api.fault("POST", "/repos/acme/app/pulls", Fault::Status(502, vec![], serde_json::json!({ "message": "Server Error" })));
    let mut again = workspace.ended(&remote, Outcome::Success);
    let tip = workspace.tip();
    again.pushed_before = Some(&tip);
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &again, &env_with_token, &settings));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    let pr = opened(&delivered);
    assert!(pr.created);
    assert_eq!(pr.notes.len(), 1, "{:?}", pr.notes);
    assert!(pr.notes[0].contains("Reviews may only be requested from collaborators"), "{:?}", pr.notes);
    let lines: Vec<String> = api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(lines[..4], ["GET /repos/acme/app/pulls", "GET /repos/acme/app/pulls", "POST /repos/acme/app/pulls", "POST /repos/acme/app/pulls"]);

    // Someone opened one between night's look and its create: GitHub's 422 "A pull request
    // already exists for …" turns into an update of that one.
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    workspace.add_remote("origin", origin.to_str().unwrap());
    let remote = record(&workspace, "origin");
    let api = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    api.add_pull(BRANCH, "main", "opened by hand");
    api.fault("GET", "/repos/acme/app/pulls", Fault::Status(200, vec![], serde_json::json!([])));
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\"", api.api()));
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &env_with_token, &settings));
    let pr = opened(&delivered);
    assert_eq!((pr.number, pr.created), (1, false));
    assert_eq!(api.pulls()[0].title, "night: auth-jwt (success)");
    let lines: Vec<String> = api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(lines, ["GET /repos/acme/app/pulls", "POST /repos/acme/app/pulls", "GET /repos/acme/app/pulls", "PATCH /repos/acme/app/pulls/1"]);

    // A rate limit longer than night waits fails at once, with the API's message; a server
    // that echoes the token in its error does not get it into night's.
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    workspace.add_remote("origin", origin.to_str().unwrap());
    let remote = record(&workspace, "origin");
    api.clear_requests();
    api.fault("GET", "/repos/acme/app/pulls", Fault::Status(429, vec![("Retry-After".into(), "3600".into())], serde_json::json!({ "message": format!("slow down, {TOKEN}") })));
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &env_with_token, &settings));
    assert!(started.elapsed() < Duration::from_secs(3));
    let error = failed(&delivered.pull_request);
    assert!(matches!(error, DeliverError::Api { failure: ApiFailure::RateLimited, .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("asks to wait 3600s") && !text.contains(TOKEN), "{text}");
}

#[test]
fn a_dead_api_is_harmless() {
    let (workspace, origin, remote, _) = github_setup();
    let settings = Settings { api_timeout: Duration::from_millis(400), ..settings(&[]) };

    // Nobody listens.
    let closed = support::closed_port();
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"http://127.0.0.1:{closed}\""));
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Success), &env_with_token, &settings));
    assert!(started.elapsed() < Duration::from_secs(10));
    pushed(&delivered);
    assert!(remote_ref(&origin, &format!("refs/heads/{BRANCH}")).is_some());
    let error = failed(&delivered.pull_request);
    assert!(matches!(error, DeliverError::Api { failure: ApiFailure::Unreachable, status: None, .. }), "{error:?}");
    assert!(error.to_string().starts_with("cannot reach the GitHub API: cannot connect"), "{error}");

    // It accepts and never answers: three tries of one timeout each, then a typed error.
    let stalling = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    for _ in 0..3 {
        stalling.fault("GET", "/", Fault::Stall(Duration::from_secs(5)));
    }
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\"", stalling.api()));
    let mut again = workspace.ended(&remote, Outcome::Success);
    let tip = workspace.tip();
    again.pushed_before = Some(&tip);
    let started = Instant::now();
    let delivered = block(deliver::deliver(&plan, &again, &env_with_token, &settings));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1200) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(stalling.requests().len(), 3);
    assert!(matches!(failed(&delivered.pull_request), DeliverError::Api { failure: ApiFailure::Unreachable, .. }));
    assert!(matches!(delivered.pull_request, Step::Failed { tries: 3, .. }));
    assert!(pushed(&delivered).up_to_date);
}

#[test]
fn the_preflight_tries_the_token_and_the_base_without_pushing() {
    let (workspace, origin, remote, api) = github_setup();
    let settings = settings(&[]);
    let upcoming = UpcomingRun { repo: &workspace.root, branch: "night/auth-jwt/next", start_branch: "main", start_commit: &workspace.start, remote: &remote };
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\"", api.api()));

    let check = block(deliver::preflight(&plan, &upcoming, &env_with_token, &settings)).expect("ready");
    assert_eq!((check.repository.as_deref(), check.base.as_deref()), (Some("acme/app"), Some("main")));
    let lines: Vec<String> = api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(lines, ["GET /repos/acme/app", "GET /repos/acme/app/branches/main"]);
    assert_eq!(remote_ref(&origin, "refs/heads/night/auth-jwt/next"), None, "a dry run");

    // No token: said before any network.
    api.clear_requests();
    let error = block(deliver::preflight(&plan, &upcoming, &|_| None, &settings)).expect_err("no token");
    assert_eq!(error.to_string(), "environment variable `FORGE_TOKEN` is not set: the GitHub API token");
    assert!(api.requests().is_empty());

    // A wrong token, and a base the repository does not have.
    let wrong = |name: &str| (name == "FORGE_TOKEN").then(|| "tok-wrong".to_string());
    let error = block(deliver::preflight(&plan, &upcoming, &wrong, &settings)).expect_err("bad token");
    assert!(matches!(error, DeliverError::Api { failure: ApiFailure::Unauthorized, .. }), "{error:?}");
    let plan = delivery(&format!("push \"origin\"\npull-request github \"acme/app\" token env.FORGE_TOKEN api \"{}\" base \"release\"", api.api()));
    let error = block(deliver::preflight(&plan, &upcoming, &env_with_token, &settings)).expect_err("no base");
    assert_eq!(error.to_string(), "GitHub answered 404 Not Found: Branch not found (the base branch `release` of acme/app)");

    // The run branch would be the start branch.
    let onto_start = UpcomingRun { branch: "main", ..upcoming };
    let error = block(deliver::preflight(&plan, &onto_start, &env_with_token, &settings)).expect_err("unsafe");
    assert!(matches!(error, DeliverError::UnsafeTarget { .. }), "{error:?}");
}

// -------------------------------------------------------------- GitLab ----

#[test]
fn gitlab_opens_a_draft_merge_request_for_a_failed_run_and_readies_it_later() {
    let workspace = Workspace::new();
    let origin = workspace.bare("origin.git");
    workspace.add_remote("origin", origin.to_str().unwrap());
    let remote = record(&workspace, "origin");
    let api = ForgeApi::start(Kind::Gitlab, "acme/backend/app", TOKEN);
    let plan = delivery(&format!(
        "push \"origin\"\npull-request gitlab \"acme/backend/app\" token env.FORGE_TOKEN api \"{}\" on success failed labels \"night\" \"needs review\" reviewers \"alice\" \"nobody\"",
        api.api()
    ));
    let settings = settings(&[]);
    let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Failed), &env_with_token, &settings));
    let mr = opened(&delivered);
    assert_eq!((mr.number, mr.created, mr.draft), (1, true, true));
    assert_eq!(mr.url, "https://gitlab.example/acme/backend/app/-/merge_requests/1");
    assert_eq!(mr.notes, ["reviewer `nobody` not requested: GitLab has no user of that name"]);
    let requests = api.requests();
    assert!(requests.iter().all(|r| r.header("private-token") == Some(TOKEN)));
    assert_eq!(requests[0].path, "/api/v4/projects/acme%2Fbackend%2Fapp/merge_requests");
    assert_eq!(requests[0].param("source_branch"), Some(BRANCH));
    let created = requests[1].json();
    assert_eq!(created["title"], "Draft: night: auth-jwt (failed)");
    assert_eq!(created["source_branch"], BRANCH);
    assert_eq!(created["target_branch"], "main");
    assert_eq!(created["labels"], "night,needs review");
    assert!(created["description"].as_str().unwrap().starts_with("# auth-jwt"));
    let pull = &api.pulls()[0];
    assert_eq!(pull.reviewers, ["alice"]);
    assert_eq!(pull.labels, ["night", "needs review"]);

    // Resumed and succeeded: the same merge request, no longer a draft. A 409 race is handled.
    api.fault("GET", "/projects/acme%2Fbackend%2Fapp/merge_requests", Fault::Status(200, vec![], serde_json::json!([])));
    let mut resumed = workspace.ended(&remote, Outcome::Success);
    let tip = workspace.tip();
    resumed.pushed_before = Some(&tip);
    let delivered = block(deliver::deliver(&plan, &resumed, &env_with_token, &settings));
    let mr = opened(&delivered);
    assert_eq!((mr.number, mr.created, mr.draft), (1, false, false));
    assert_eq!(api.pulls().len(), 1);
    assert_eq!(api.pulls()[0].title, "night: auth-jwt (success)");

    // A token GitLab refuses.
    let wrong = |name: &str| (name == "FORGE_TOKEN").then(|| "glpat-wrong".to_string());
    let delivered = block(deliver::deliver(&plan, &resumed, &wrong, &settings));
    assert_eq!(failed(&delivered.pull_request).to_string(), "GitLab answered 401 Unauthorized: 401 Unauthorized");
}

// ------------------------------------------------------ Gitea, Forgejo ----

#[test]
fn gitea_and_forgejo_open_work_in_progress_pull_requests_with_their_label_ids() {
    for forge in ["gitea", "forgejo"] {
        let workspace = Workspace::new();
        let origin = workspace.bare("origin.git");
        workspace.add_remote("origin", origin.to_str().unwrap());
        let remote = record(&workspace, "origin");
        let api = ForgeApi::start(Kind::Gitea, "acme/app", TOKEN);
        api.add_pull("someone-else", "main", "an older pull request");
        let plan = delivery(&format!(
            "push \"origin\"\npull-request {forge} \"acme/app\" token env.FORGE_TOKEN api \"{}\" on success stuck labels \"night\" \"missing\" reviewers \"bob\"",
            api.api()
        ));
        let settings = settings(&[]);
        let delivered = block(deliver::deliver(&plan, &workspace.ended(&remote, Outcome::Stuck), &env_with_token, &settings));
        let pr = opened(&delivered);
        assert_eq!((pr.number, pr.created, pr.draft), (2, true, true), "{forge}");
        assert_eq!(pr.url, "https://gitea.example/acme/app/pulls/2");
        assert_eq!(pr.notes, ["label `missing` not added: acme/app has no such label"]);
        let requests = api.requests();
        assert!(requests.iter().all(|r| r.header("authorization") == Some(format!("token {TOKEN}").as_str())));
        let create = requests.iter().find(|r| r.line() == "POST /api/v1/repos/acme/app/pulls").expect("a create");
        assert_eq!(create.json()["title"], "WIP: night: auth-jwt (stuck)");
        let label = requests.iter().find(|r| r.line() == "POST /api/v1/repos/acme/app/issues/2/labels").expect("labels");
        assert_eq!(label.json(), serde_json::json!({ "labels": [11] }));
        let pull = &api.pulls()[1];
        assert_eq!((pull.labels.clone(), pull.reviewers.clone()), (vec!["night".to_string()], vec!["bob".to_string()]));

        // Gitea's 409 "pull request already exists for these targets" after a stale list.
        api.fault("GET", "/repos/acme/app/pulls", Fault::Status(200, vec![], serde_json::json!([])));
        let mut resumed = workspace.ended(&remote, Outcome::Success);
        let tip = workspace.tip();
        resumed.pushed_before = Some(&tip);
        let delivered = block(deliver::deliver(&plan, &resumed, &env_with_token, &settings));
        let pr = opened(&delivered);
        assert_eq!((pr.number, pr.created, pr.draft), (2, false, false), "{forge}");
        assert_eq!(api.pulls()[1].title, "night: auth-jwt (success)");
        assert_eq!(api.pulls().len(), 2);
    }
}
