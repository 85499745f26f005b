//! `night export k8s`: a Kubernetes Job that runs the runbook once in a pod. The container
//! clones the repository at the branch, runs `night run`, prints the report into the pod's
//! log and exits with night's status; a `deliver` block, when the runbook has one, pushes the
//! run branch from inside the run. Each `env.X` comes from one Secret; the pod's deadline is
//! `timeout` plus a margin for setup, the final checks, the report and delivery.

use super::yaml::{block, quoted};
use super::{ExportError, Facts};
use std::fmt::Write as _;

/// A git credential helper (a shell word) that answers with `NIGHT_GIT_TOKEN`, when it is set.
pub const HELPER: &str = r#"'!f() { test "$1" = get && test -n "${NIGHT_GIT_TOKEN:-}" && echo username=x-access-token && echo "password=$NIGHT_GIT_TOKEN"; }; f'"#;

/// The Job's settings beyond the runbook.
#[derive(Debug, Clone)]
pub struct K8sOptions {
    /// The image (night, git, the agent).
    pub image: String,
    /// The repository to clone.
    pub repo: String,
    /// The branch to run from.
    pub git_ref: String,
    /// The Secret holding the `env.X` values and the agent's key.
    pub secret: String,
    /// CPU requested.
    pub cpu: String,
    /// Memory requested and limited to.
    pub memory: String,
}

impl K8sOptions {
    /// The options, with the repository's `origin` and branch unless given.
    pub fn new(facts: &Facts, image: Option<&str>, repo: Option<&str>, git_ref: Option<&str>, secret: Option<&str>, cpu: &str, memory: &str) -> Result<K8sOptions, ExportError> {
        let repo = repo.map(str::to_string).or_else(|| facts.repo_url.clone()).ok_or_else(|| ExportError::Missing {
            message: "the repository has no `origin` remote to clone in the pod".into(),
            help: "Give the URL the cluster clones with `--repo https://…`.".into(),
        })?;
        let git_ref = git_ref.map(str::to_string).or_else(|| facts.branch.clone()).ok_or_else(|| ExportError::Missing {
            message: "HEAD is not on a branch, so there is no branch to run from".into(),
            help: "Name it with `--ref main`.".into(),
        })?;
        Ok(K8sOptions {
            image: facts.image(image),
            repo,
            git_ref,
            secret: secret.map_or_else(|| format!("night-{}", facts.slug()), str::to_string),
            cpu: cpu.to_string(),
            memory: memory.to_string(),
        })
    }
}

/// The container's script: clone, run, show the report, exit with night's status.
pub fn script(facts: &Facts) -> String {
    let (name, email) = facts.identity.clone().unwrap_or_else(|| ("night".to_string(), "night@localhost".to_string()));
    let clone = if facts.deliver {
        // The `deliver` block's push needs the token too, after the run: night keeps it from the
        // agent and the checks (`deny irreversible` gives them an allowlisted environment).
        format!(
            r#"# git's credential helper answers with NIGHT_GIT_TOKEN from the Secret: for the clone, and for the
# `deliver` block's push at the end of the run (night keeps it from the agent and the checks).
git config --global credential.helper {HELPER}
git clone --branch "$NIGHT_GIT_REF" -- "$NIGHT_GIT_URL" repo
"#
        )
    } else {
        format!(
            r#"# A token for a private repository is read by git's credential helper at clone time only.
git -c credential.helper={HELPER} \
  clone --branch "$NIGHT_GIT_REF" -- "$NIGHT_GIT_URL" repo
unset NIGHT_GIT_TOKEN
"#
        )
    };
    format!(
        r#"set -eu
git config --global user.name {name}
git config --global user.email {email}
{clone}cd repo
status=0
night run "$NIGHT_RUNBOOK" || status=$?
for report in .night/runs/*/report.md; do [ -f "$report" ] && cat "$report"; done
exit "$status"
"#,
        name = crate::remote::ssh::quote(&name),
        email = crate::remote::ssh::quote(&email),
    )
}

/// The Job, as YAML.
pub fn job(facts: &Facts, options: &K8sOptions) -> String {
    let slug = facts.slug();
    let mut out = String::new();
    let _ = writeln!(out, "# night export k8s {}: the runbook `{}` as a Kubernetes Job, run once.", facts.runbook, facts.name);
    let _ = writeln!(out, "# Before `kubectl apply -f` this file:");
    let mut keys: Vec<String> = facts.env_names.iter().map(|name| format!("--from-literal={name}=…")).collect();
    keys.extend(facts.agent_keys().iter().map(|name| format!("--from-literal={name}=…")));
    if facts.deliver {
        keys.push("--from-literal=NIGHT_GIT_TOKEN=…".to_string());
    }
    let _ = writeln!(out, "#   kubectl create secret generic {} {}", options.secret, keys.join(" "));
    if facts.deliver {
        let _ = writeln!(out, "#   (NIGHT_GIT_TOKEN: a token that may push to the repository, for the clone and the `deliver` block's push)");
    } else {
        let _ = writeln!(out, "#   (add --from-literal=NIGHT_GIT_TOKEN=… when the repository is private)");
    }
    let _ = writeln!(out, "#   build the image with `night export containerfile {}` and push it as {}", facts.runbook, options.image);
    let _ = writeln!(out, "# The deadline is `timeout` {} plus {} for setup, the final checks, the report and delivery.", super::words(facts.timeout), super::words(facts.margin()));
    if let Some(note) = facts.no_delivery_note() {
        let _ = writeln!(out, "# Note: {note}.");
    }
    let _ = writeln!(out, "apiVersion: batch/v1");
    let _ = writeln!(out, "kind: Job");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {}", quoted(&format!("night-{slug}")));
    labels(&mut out, "    ", &slug);
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  # A failed night is not started again blindly: its report says why it stopped.");
    let _ = writeln!(out, "  backoffLimit: 0");
    let _ = writeln!(out, "  activeDeadlineSeconds: {}", facts.deadline().as_secs());
    let _ = writeln!(out, "  ttlSecondsAfterFinished: 604800");
    let _ = writeln!(out, "  template:");
    let _ = writeln!(out, "    metadata:");
    labels(&mut out, "        ", &slug);
    let _ = writeln!(out, "    spec:");
    let _ = writeln!(out, "      restartPolicy: Never");
    let _ = writeln!(out, "      securityContext:");
    let _ = writeln!(out, "        runAsNonRoot: true");
    let _ = writeln!(out, "        runAsUser: 1001");
    let _ = writeln!(out, "        fsGroup: 1001");
    let _ = writeln!(out, "      containers:");
    let _ = writeln!(out, "        - name: night");
    let _ = writeln!(out, "          image: {}", quoted(&options.image));
    let _ = writeln!(out, "          workingDir: /work");
    let _ = writeln!(out, "          command: [\"/bin/sh\", \"-c\"]");
    let _ = writeln!(out, "          args:");
    let _ = write!(out, "            - {}", block(&script(facts), 14));
    let _ = writeln!(out, "          env:");
    for (name, value) in [("NIGHT_GIT_URL", options.repo.as_str()), ("NIGHT_GIT_REF", options.git_ref.as_str()), ("NIGHT_RUNBOOK", facts.runbook.as_str())] {
        let _ = writeln!(out, "            - name: {name}");
        let _ = writeln!(out, "              value: {}", quoted(value));
    }
    let secrets = facts.env_names.iter().map(|n| (n.as_str(), false)).chain(facts.agent_keys().iter().map(|n| (*n, true))).chain([("NIGHT_GIT_TOKEN", true)]);
    for (name, optional) in secrets {
        let _ = writeln!(out, "            - name: {name}");
        let _ = writeln!(out, "              valueFrom:");
        let _ = writeln!(out, "                secretKeyRef:");
        let _ = writeln!(out, "                  name: {}", quoted(&options.secret));
        let _ = writeln!(out, "                  key: {name}");
        if optional {
            let _ = writeln!(out, "                  optional: true");
        }
    }
    let _ = writeln!(out, "          resources:");
    let _ = writeln!(out, "            requests:");
    let _ = writeln!(out, "              cpu: {}", quoted(&options.cpu));
    let _ = writeln!(out, "              memory: {}", quoted(&options.memory));
    let _ = writeln!(out, "            limits:");
    let _ = writeln!(out, "              memory: {}", quoted(&options.memory));
    let _ = writeln!(out, "          volumeMounts:");
    let _ = writeln!(out, "            - name: work");
    let _ = writeln!(out, "              mountPath: /work");
    let _ = writeln!(out, "      volumes:");
    let _ = writeln!(out, "        - name: work");
    let _ = writeln!(out, "          emptyDir: {{}}");
    out
}

fn labels(out: &mut String, indent: &str, slug: &str) {
    let _ = writeln!(out, "{}labels:", &indent[2..]);
    let _ = writeln!(out, "{indent}app.kubernetes.io/name: night");
    let _ = writeln!(out, "{indent}app.kubernetes.io/instance: {}", quoted(slug));
}
