//! Delivery by `night run` end to end: the real binary, a fresh git repository, a scripted
//! stand-in agent, a real remote (a bare repository over `file://`, or over SSH to the shared
//! test sshd) and a scripted forge API on 127.0.0.1 (tests/support/forge_api.rs) that checks
//! what night sends. The library alone is tested in tests/deliver.rs.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::forge_api::{Fault, ForgeApi, Kind};
use support::run::{Runbook, Test};

/// An agent that makes the state good and commits, then tries to push and open a pull request
/// itself: night's delivery is the only one that may reach the remote.
const GOOD: &str = "echo good > src/state\ngit commit -qam 'make the state good'\ngit push origin HEAD:refs/heads/agent-pushed 2>&1 || echo agent: the push was refused\necho agent: done\n";
/// An agent that commits something that does not make the checks hold.
const WRONG: &str = "echo still-bad > src/state\ngit commit -qam 'try something'\necho agent: done\n";
const TOKEN: &str = "ghp-night-test-0b9e77";

/// A bare repository outside the work tree, added as `origin` over `file://`.
fn bare_origin(test: &Test) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("night-remote-").tempdir().expect("temp dir");
    let bare = dir.path().join("app.git");
    let output = Command::new("git").args(["init", "-q", "--bare"]).arg(&bare).output().expect("git");
    assert!(output.status.success());
    test.git(&["remote", "add", "origin", &format!("file://{}", bare.display())]);
    (dir, bare)
}

/// What `bare` has at `reference`.
fn remote_ref(bare: &Path, reference: &str) -> Option<String> {
    let output = Command::new("git").args(["rev-parse", "--verify", "--quiet", reference]).current_dir(bare).output().expect("git");
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The runbook: one attempt, the end notification's message captured as JSON, and `deliver`.
fn runbook(test: &Test, deliver: &str) -> Runbook {
    let capture = test.capture.path().join("end.json");
    Runbook::default()
        .limits(&["timeout 60s", "attempts 1", "idle 60s"])
        .notifier(&format!("command \"cat > '{}'\" on end", capture.display()))
        .top(&format!("deliver {{\n  {}\n}}", deliver.trim().replace('\n', "\n  ")))
}

/// `night` with the forge's token and quick tries.
fn with_forge_env(test: &mut Test) {
    test.env("GITHUB_TOKEN", TOKEN).env("NIGHT_DELIVER_BACKOFF_MS", "20").env("NIGHT_DELIVER_TIMEOUT_MS", "5000");
}

fn github_block(forge: &ForgeApi, on: &str) -> String {
    format!("push \"origin\"\npull-request github \"acme/app\" token env.GITHUB_TOKEN api \"{}\" base \"main\" labels \"night\"{on}", forge.api())
}

fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Nothing night wrote may hold the token.
fn assert_no_token(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("run folder").flatten() {
        if entry.path().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()).into_owned();
            assert!(!text.contains(TOKEN), "the token is in {}", entry.path().display());
        }
    }
}

#[test]
fn a_successful_run_is_pushed_and_its_pull_request_opened_with_the_report_as_body() {
    let mut test = Test::new();
    let (_remote, bare) = bare_origin(&test);
    let forge = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    with_forge_env(&mut test);
    test.setup(GOOD, &runbook(&test, &github_block(&forge, "")));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success");

    // The preflight came first, and said so; the push and the pull request after the end.
    let names: Vec<String> = ran.events().iter().map(|e| e["event"].as_str().unwrap_or_default().to_string()).collect();
    let at = |name: &str| names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no `{name}` in {names:?}"));
    assert!(at("run-start") < at("delivery-ready") && at("delivery-ready") < at("baseline"));
    assert!(at("run-end") < at("delivery-start") && at("delivery-start") < at("delivered"));
    assert!(ran.stderr.contains("delivery preflight") || ran.stdout.contains("delivery preflight"), "{}", ran.output());
    let ready = ran.event("delivery-ready");
    assert_eq!(ready["url"].as_str(), Some(format!("file://{}", bare.display()).as_str()));

    // The run branch is on the remote at its tip; the agent's own push never got there.
    let branch = ran.branch();
    let tip = test.git(&["rev-parse", &branch]);
    assert_eq!(remote_ref(&bare, &format!("refs/heads/{branch}")).as_deref(), Some(tip.as_str()));
    assert_eq!(remote_ref(&bare, "refs/heads/main"), None, "the start branch is never pushed");
    assert_eq!(remote_ref(&bare, "refs/heads/agent-pushed"), None, "the agent's own push was refused\n{}", ran.agent_log());

    // One pull request: the run branch into main, titled from the runbook, its body the
    // report's first screen.
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pull = &pulls[0];
    assert_eq!((pull.head.as_str(), pull.base.as_str(), pull.title.as_str()), (branch.as_str(), "main", "night: t (success)"));
    assert!(!pull.draft);
    assert_eq!(pull.labels, ["night"]);
    let report = ran.report();
    let first_screen = report.split("\n---\n").next().expect("the first screen");
    // The body is the first screen as it was before delivery: the same lines, but for the
    // rows delivery and the end notification filled in afterwards.
    let body_screen = pull.body.split("\n---\n").next().expect("the body's first screen");
    assert!(body_screen.starts_with(&format!("# night run `{}`: success", ran.event("run-start")["run_id"].as_str().unwrap_or_default())), "{}", pull.body);
    assert!(body_screen.contains("| attempts | 1 of 1") && body_screen.contains("| changes | 1 commit on"), "{}", pull.body);
    for line in body_screen.lines().filter(|l| !l.starts_with("| notifications |")) {
        assert!(first_screen.contains(line), "`{line}` of the body is not in the report's first screen:\n{first_screen}");
    }
    assert!(pull.body.contains(&format!("<!-- night-run: {} -->", ran.event("run-start")["run_id"].as_str().unwrap_or_default())));
    assert!(forge.requests().iter().all(|r| r.header("authorization").is_some_and(|a| a.contains(TOKEN))), "every request carries the token");

    // Where it went, everywhere the morning looks.
    let delivered = ran.event("delivered");
    let url = delivered["pull_request"]["url"].as_str().expect("the pull request's URL").to_string();
    assert_eq!(delivered["push"]["status"], "done");
    assert_eq!(delivered["push"]["commit"].as_str(), Some(tip.as_str()));
    assert_eq!(delivered["by"], "run");
    assert!(report.contains(&url), "{report}");
    assert!(report.contains("| delivered |"), "{report}");
    let json = json_file(&ran.dir().join("report.json"));
    assert_eq!(json["delivery"]["pull_request_url"].as_str(), Some(url.as_str()));
    assert_eq!(json["delivery"]["status"], "delivered");
    let end = json_file(&test.capture.path().join("end.json"));
    assert_eq!(end["pull_request"].as_str(), Some(url.as_str()), "the end notification says where the work went");
    let id = ran.event("run-start")["run_id"].as_str().unwrap_or_default().to_string();
    let status = test.night(&["status", &id]);
    assert!(status.stdout.contains(&format!("pull req  {url}")), "{}", status.output());
    let list = test.night(&["list"]);
    assert!(list.stdout.contains("DELIVERED") && list.stdout.contains(&url), "{}", list.output());
    let html = test.night(&["report", &id, "--format", "html"]);
    let html_text = std::fs::read_to_string(html.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{}", html.output()));
    assert!(html_text.contains(&format!("<a href=\"{url}\">")), "{html_text}");
    assert_no_token(ran.dir());
}

#[test]
fn an_outcome_not_in_on_pushes_nothing_and_says_how_to_deliver_by_hand() {
    let mut test = Test::new();
    let (_remote, bare) = bare_origin(&test);
    let forge = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    with_forge_env(&mut test);
    test.setup(WRONG, &runbook(&test, &github_block(&forge, "")));
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "{}", ran.output());
    assert_eq!(ran.outcome(), "failed");
    assert!(ran.events_named("delivery-start").is_empty(), "{:?}", ran.events());
    let branch = ran.branch();
    assert_eq!(remote_ref(&bare, &format!("refs/heads/{branch}")), None, "nothing pushed");
    assert!(forge.pulls().is_empty());
    assert!(forge.requests().iter().all(|r| r.method == "GET"), "only the preflight's reads: {:?}", forge.requests().iter().map(|r| r.line()).collect::<Vec<_>>());
    let note = ran.events_named("note").into_iter().find(|n| n["topic"] == "delivery").expect("a delivery note");
    assert!(note["message"].as_str().unwrap_or_default().contains("night deliver"), "{note}");
    let end = json_file(&test.capture.path().join("end.json"));
    assert!(end.get("pull_request").is_none(), "{end}");

    // By hand the user decides: the failed run is pushed, and its pull request is a draft.
    let id = ran.event("run-start")["run_id"].as_str().unwrap_or_default().to_string();
    let by_hand = test.night(&["deliver", &id]);
    assert_eq!(by_hand.code, Some(0), "{}", by_hand.output());
    assert_eq!(remote_ref(&bare, &format!("refs/heads/{branch}")).as_deref(), Some(test.git(&["rev-parse", &branch]).as_str()));
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert!(pulls[0].draft, "a run that did not succeed opens a draft");
    assert_eq!(pulls[0].title, "night: t (failed)");
}

#[test]
fn a_dead_forge_ends_the_run_cleanly_and_night_deliver_opens_the_pull_request_later() {
    let mut test = Test::new();
    let (_remote, bare) = bare_origin(&test);
    let forge = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    with_forge_env(&mut test);
    test.setup(GOOD, &runbook(&test, &github_block(&forge, "")));
    // Up for the preflight; down (502, three tries) when the pull request is looked for.
    for _ in 0..3 {
        forge.fault("GET", "/repos/acme/app/pulls", Fault::Status(502, Vec::new(), serde_json::json!({ "message": "Server Error" })));
    }
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "the outcome is what the work earned\n{}", ran.output());
    assert_eq!(ran.outcome(), "success");
    let failed = ran.event("delivery-failed");
    assert_eq!(failed["push"]["status"], "done", "{failed}");
    assert_eq!(failed["pull_request"]["status"], "failed", "{failed}");
    assert_eq!(failed["pull_request"]["tries"], 3, "{failed}");
    assert!(failed["pull_request"]["error"].as_str().unwrap_or_default().contains("502"), "{failed}");
    assert!(forge.pulls().is_empty());
    let branch = ran.branch();
    let tip = test.git(&["rev-parse", &branch]);
    assert_eq!(remote_ref(&bare, &format!("refs/heads/{branch}")).as_deref(), Some(tip.as_str()), "the push is kept");
    let id = ran.event("run-start")["run_id"].as_str().unwrap_or_default().to_string();
    let report = ran.report();
    assert!(report.contains("FAILED") && report.contains(&format!("night deliver {id}")), "the report says how to retry:\n{report}");
    let end = json_file(&test.capture.path().join("end.json"));
    assert!(end["detail"].as_str().unwrap_or_default().contains(&format!("night deliver {id}")), "{end}");
    let status = test.night(&["status", &id]);
    assert!(status.stdout.contains(&format!("deliver   night deliver {id}")), "{}", status.output());

    // By hand, once the forge is back.
    let again = test.night(&["deliver", &id]);
    assert_eq!(again.code, Some(0), "{}", again.output());
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0].head, branch);
    let events = support::run::read_events(&ran.dir().join("journal.jsonl"));
    let delivered: Vec<&Value> = events.iter().filter(|e| e["event"] == "delivered").collect();
    assert_eq!(delivered.len(), 1, "{events:?}");
    assert_eq!(delivered[0]["by"], "hand");
    let url = delivered[0]["pull_request"]["url"].as_str().expect("url");
    assert!(again.stdout.contains(url), "{}", again.output());
    let report = std::fs::read_to_string(ran.dir().join("report.md")).expect("report");
    assert!(report.contains(url) && !report.contains(&format!("night deliver {id}")), "the report is written again:\n{report}");
    assert_no_token(ran.dir());

    // A second time changes nothing on the remote and updates the same pull request.
    let third = test.night(&["deliver", &id]);
    assert_eq!(third.code, Some(0), "{}", third.output());
    assert_eq!(forge.pulls().len(), 1);
}

#[test]
fn a_wrong_token_refuses_the_run_before_anything_changes() {
    let mut test = Test::new();
    let (_remote, bare) = bare_origin(&test);
    let forge = ForgeApi::start(Kind::Github, "acme/app", "another-token");
    with_forge_env(&mut test);
    test.setup(GOOD, &runbook(&test, &github_block(&forge, "")));
    let ran = test.run();
    assert_eq!(ran.code, Some(2), "{}", ran.output());
    assert!(ran.stderr.contains("delivery's preflight failed") && ran.stderr.contains("401"), "{}", ran.output());
    assert!(ran.stderr.contains("Nothing was changed"), "{}", ran.output());
    assert!(ran.run_dir.is_none(), "no run folder");
    assert!(test.git(&["branch", "--list", "night/*"]).is_empty(), "no run branch");
    assert_eq!(remote_ref(&bare, "HEAD"), None);
}

#[test]
fn a_run_pushes_over_ssh_and_opens_a_gitea_pull_request() {
    let Some(sshd) = support::sshd::sshd() else { return };
    let mut test = Test::new();
    let path = PathBuf::from(format!("/home/{}/deliver-run-{}.git", support::sshd::USER, std::process::id()));
    sshd.remote(&format!("rm -rf {0} && git init -q --bare {0}", path.display()));
    test.git(&["remote", "add", "origin", &sshd.git_url(&path)]);
    let forge = ForgeApi::start(Kind::Gitea, "acme/app", TOKEN);
    test.env("GITEA_TOKEN", TOKEN).env("GIT_SSH_COMMAND", &sshd.ssh_command()).env("NIGHT_DELIVER_BACKOFF_MS", "20");
    let block = format!("push \"origin\"\npull-request gitea \"acme/app\" token env.GITEA_TOKEN api \"{}\" base \"main\" reviewers \"bob\"", forge.api());
    test.setup(GOOD, &runbook(&test, &block));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let branch = ran.branch();
    let tip = test.git(&["rev-parse", &branch]);
    let on_server = sshd.remote(&format!("git -C {} rev-parse refs/heads/{branch}", path.display()));
    assert_eq!(on_server.trim(), tip);
    let agent_push = sshd.remote(&format!("git -C {} rev-parse --verify --quiet refs/heads/agent-pushed || echo absent", path.display()));
    sshd.remote(&format!("rm -rf {}", path.display()));
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0].reviewers, ["bob"]);
    assert_eq!(ran.event("delivered")["pull_request"]["status"], "done");
    assert_eq!(agent_push.trim(), "absent", "the agent's own push was refused");
}

#[test]
fn a_failed_run_delivered_on_failure_leaves_a_draft_that_says_why_and_the_agent_opened_nothing() {
    let mut test = Test::new();
    let (_remote, bare) = bare_origin(&test);
    let forge = ForgeApi::start(Kind::Github, "acme/app", TOKEN);
    with_forge_env(&mut test);
    // The agent fails, and tries to deliver itself: the forge's token, a push, a pull request.
    let agent = format!(
        "{WRONG}echo \"agent: token=${{GITHUB_TOKEN:-absent}}\"\n\
         git push origin HEAD:refs/heads/agent-pushed >/dev/null 2>&1 || echo agent: the push was refused\n\
         curl -s -o /dev/null -w 'agent: api %{{http_code}}\\n' -X POST -H \"Authorization: Bearer $GITHUB_TOKEN\" --data '{{\"title\":\"by the agent\",\"head\":\"x\",\"base\":\"main\"}}' {}/repos/acme/app/pulls\n",
        forge.api()
    );
    test.setup(&agent, &runbook(&test, &github_block(&forge, " on success failed")));
    let ran = test.run();
    assert_eq!(ran.code, Some(1), "the exit status is what the work earned\n{}", ran.output());
    assert_eq!(ran.outcome(), "failed");
    let log = ran.agent_log();
    assert!(log.contains("agent: token=absent") && log.contains("agent: the push was refused"), "{log}");
    // Night pushed the run branch and opened one draft; the agent's request, without a token, got nothing.
    let branch = ran.branch();
    assert_eq!(remote_ref(&bare, &format!("refs/heads/{branch}")).as_deref(), Some(test.git(&["rev-parse", &branch]).as_str()));
    assert_eq!(remote_ref(&bare, "refs/heads/agent-pushed"), None);
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert!(pulls[0].draft, "a run that did not succeed opens a draft");
    assert_eq!((pulls[0].head.as_str(), pulls[0].title.as_str()), (branch.as_str(), "night: t (failed)"));
    assert!(pulls[0].body.contains(": failed"), "the body says why: {}", pulls[0].body);
    let delivered = ran.event("delivered");
    assert_eq!(delivered["pull_request"]["draft"], true, "{delivered}");
    let report = ran.report();
    assert!(report.contains(delivered["pull_request"]["url"].as_str().expect("url")), "{report}");
    assert_no_token(ran.dir());
}
