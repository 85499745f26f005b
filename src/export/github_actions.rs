//! `night export github-actions`: a workflow that runs the runbook on a schedule or by hand,
//! in the image `night export containerfile` builds. The checkout keeps no credentials
//! (`persist-credentials: false`), so neither the agent nor the checks can push with the
//! workflow's token; each `env.X` comes from a repository secret of the same name; the run
//! folder is kept as an artifact. A GitHub-hosted runner ends a job after 6 hours: a runbook
//! whose `timeout` and margin do not fit is refused with the fix.

use super::yaml::{block, quoted};
use super::{words, ExportError, Facts};
use std::fmt::Write as _;
use std::time::Duration;

/// A GitHub-hosted runner's limit for one job.
const HOSTED_LIMIT: Duration = Duration::from_secs(6 * 3600);
/// The repository secret the `deliver` block's push authenticates with (git's credential
/// helper reads it, as in the Kubernetes Job).
const PUSH_TOKEN: &str = "NIGHT_GIT_TOKEN";
/// A self-hosted runner's limit for one job.
const SELF_HOSTED_LIMIT: Duration = Duration::from_secs(5 * 24 * 3600);

/// The workflow's settings beyond the runbook.
#[derive(Debug, Clone)]
pub struct ActionsOptions {
    /// The image (night, git, the agent).
    pub image: String,
    /// Cron, in UTC.
    pub schedule: String,
    /// The runner label.
    pub runs_on: String,
}

/// The prefix GitHub reserves: no repository secret may start with it.
const RESERVED: &str = "GITHUB_";

/// The repository secret a variable of the run is read from: its own name, but for a name
/// GitHub reserves (`GITHUB_TOKEN` is the workflow's own token, never handed to the run),
/// which is read from `NIGHT_<name>`.
fn secret_for(variable: &str) -> String {
    if variable.to_ascii_uppercase().starts_with(RESERVED) { format!("NIGHT_{variable}") } else { variable.to_string() }
}

/// What the workflow's reader should know beyond the file: the variables read from a secret
/// of another name.
pub fn notes(facts: &Facts) -> Vec<String> {
    facts
        .env_names
        .iter()
        .filter(|name| secret_for(name) != **name)
        .map(|name| {
            format!(
                "`env.{name}` comes from the repository secret `{}`: GitHub reserves the `{RESERVED}` prefix, and `secrets.{name}` would be the workflow's own, which is never handed to the run",
                secret_for(name)
            )
        })
        .collect()
}

/// Whether a `runs-on` label is a GitHub-hosted runner.
fn hosted(label: &str) -> bool {
    ["ubuntu-", "windows-", "macos-"].iter().any(|prefix| label.starts_with(prefix))
}

/// The workflow, as YAML; an error when the run cannot fit the runner's job limit.
pub fn workflow(facts: &Facts, options: &ActionsOptions) -> Result<String, ExportError> {
    let (limit, kind) = if hosted(&options.runs_on) { (HOSTED_LIMIT, "a GitHub-hosted runner") } else { (SELF_HOSTED_LIMIT, "a self-hosted runner") };
    if facts.deadline() > limit {
        let room = limit.saturating_sub(facts.margin());
        let fix = if hosted(&options.runs_on) {
            format!("Lower `timeout` to {} or less (the checks' `within` count too), or run it on a self-hosted runner (`--runs-on self-hosted`), whose jobs may last 5 days.", words(room))
        } else {
            format!("Lower `timeout` to {} or less.", words(room))
        };
        return Err(ExportError::TooLong {
            message: format!(
                "`timeout {}` plus {} for setup, the final checks, the report and delivery is {}: over {kind}'s {} limit for a job",
                words(facts.timeout),
                words(facts.margin()),
                words(facts.deadline()),
                words(limit)
            ),
            help: fix,
        });
    }
    let slug = facts.slug();
    let mut out = String::new();
    let _ = writeln!(out, "# night export github-actions {}: the runbook `{}`, nightly or by hand.", facts.runbook, facts.name);
    let mut secrets: Vec<&str> = facts.env_names.iter().map(String::as_str).collect();
    secrets.extend(facts.agent_keys());
    if facts.deliver {
        // The `deliver` block's push: the checkout keeps no token, and the workflow's own is
        // never handed to the run.
        secrets.push(PUSH_TOKEN);
    }
    if !secrets.is_empty() {
        let named: Vec<String> = secrets.iter().map(|name| if secret_for(name) == *name { (*name).to_string() } else { format!("{} (as {name})", secret_for(name)) }).collect();
        let _ = writeln!(out, "# Repository secrets it reads: {}.", named.join(", "));
    }
    let _ = writeln!(out, "# The image is built with `night export containerfile {}` and pushed as {}.", facts.runbook, options.image);
    if let Some(note) = facts.no_delivery_note() {
        let _ = writeln!(out, "# Note: {note}.");
    }
    let _ = writeln!(out, "name: {}", quoted(&format!("night: {}", facts.name)));
    let _ = writeln!(out, "on:");
    let _ = writeln!(out, "  schedule:");
    let _ = writeln!(out, "    - cron: {}", quoted(&options.schedule));
    let _ = writeln!(out, "  workflow_dispatch: {{}}");
    let _ = writeln!(out, "permissions:");
    let _ = writeln!(out, "  contents: read");
    let _ = writeln!(out, "concurrency:");
    let _ = writeln!(out, "  group: {}", quoted(&format!("night-{slug}")));
    let _ = writeln!(out, "  cancel-in-progress: false");
    let _ = writeln!(out, "jobs:");
    let _ = writeln!(out, "  night:");
    let _ = writeln!(out, "    runs-on: {}", quoted(&options.runs_on));
    let _ = writeln!(out, "    # `timeout` {} plus {} for setup, the final checks, the report and delivery.", words(facts.timeout), words(facts.margin()));
    let _ = writeln!(out, "    timeout-minutes: {}", facts.deadline().as_secs().div_ceil(60));
    let _ = writeln!(out, "    container:");
    let _ = writeln!(out, "      image: {}", quoted(&options.image));
    let _ = writeln!(out, "    steps:");
    let _ = writeln!(out, "      - uses: actions/checkout@v4");
    let _ = writeln!(out, "        with:");
    let _ = writeln!(out, "          # No token left in .git/config: the agent cannot push with it.");
    let _ = writeln!(out, "          persist-credentials: false");
    let _ = writeln!(out, "          fetch-depth: 0");
    let _ = writeln!(out, "      - name: Run the runbook");
    let (name, email) = facts.identity.clone().unwrap_or_else(|| ("night".to_string(), "night@localhost".to_string()));
    let helper = if facts.deliver {
        format!("# The `deliver` block pushes with {PUSH_TOKEN} (night keeps it from the agent and the checks).\ngit config --global credential.helper {}\n", super::k8s::HELPER)
    } else {
        String::new()
    };
    let script = format!(
        "git config --global --add safe.directory \"$GITHUB_WORKSPACE\"\ngit config --global user.name {}\ngit config --global user.email {}\n{helper}night run {}\n",
        crate::remote::ssh::quote(&name),
        crate::remote::ssh::quote(&email),
        crate::remote::ssh::quote(&facts.runbook)
    );
    if !secrets.is_empty() {
        // Only the step that runs night sees the secrets (night keeps `env.X` from the agent).
        let _ = writeln!(out, "        env:");
        for name in &secrets {
            let _ = writeln!(out, "          {name}: ${{{{ secrets.{} }}}}", secret_for(name));
        }
    }
    let _ = write!(out, "        run: {}", block(&script, 10));
    let _ = writeln!(out, "      - name: Keep the run folder");
    let _ = writeln!(out, "        if: always()");
    let _ = writeln!(out, "        uses: actions/upload-artifact@v4");
    let _ = writeln!(out, "        with:");
    let _ = writeln!(out, "          name: {}", quoted(&format!("night-{slug}")));
    let _ = writeln!(out, "          path: .night/runs/");
    let _ = writeln!(out, "          include-hidden-files: true");
    let _ = writeln!(out, "          if-no-files-found: ignore");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(timeout_hours: u64) -> Facts {
        Facts {
            name: "t".into(),
            runbook: "t.night".into(),
            agent: "claude".into(),
            timeout: Duration::from_secs(timeout_hours * 3600),
            checks: Duration::from_secs(30 * 60),
            env_names: vec!["HOOK".into()],
            deliver: false,
            repo_url: None,
            branch: None,
            identity: None,
        }
    }

    fn options(runs_on: &str) -> ActionsOptions {
        ActionsOptions { image: "night-claude:1".into(), schedule: "0 1 * * *".into(), runs_on: runs_on.into() }
    }

    #[test]
    fn a_timeout_over_six_hours_is_refused_with_the_fix() {
        let error = workflow(&facts(6), &options("ubuntu-latest")).expect_err("6h + margin > 6h");
        assert!(error.to_string().contains("over a GitHub-hosted runner's 6h limit"), "{error}");
        assert!(error.help().is_some_and(|h| h.contains("5h14m or less") && h.contains("self-hosted")), "{:?}", error.help());
        assert!(workflow(&facts(6), &options("self-hosted")).is_ok());
        assert!(workflow(&facts(4), &options("ubuntu-latest")).is_ok());
    }

    #[test]
    fn a_reserved_name_is_read_from_a_secret_of_its_own() {
        assert_eq!(secret_for("GITHUB_TOKEN"), "NIGHT_GITHUB_TOKEN");
        assert_eq!(secret_for("github_pat"), "NIGHT_github_pat");
        assert_eq!(secret_for("GH_TOKEN"), "GH_TOKEN");
        let mut with_token = facts(2);
        with_token.env_names.push("GITHUB_TOKEN".into());
        let text = workflow(&with_token, &options("ubuntu-latest")).expect("fits");
        assert!(text.contains("GITHUB_TOKEN: ${{ secrets.NIGHT_GITHUB_TOKEN }}") && !text.contains("secrets.GITHUB_TOKEN"), "{text}");
        assert_eq!(notes(&with_token).len(), 1);
        assert!(notes(&facts(2)).is_empty());
    }

    #[test]
    fn secrets_come_from_repository_secrets_and_the_checkout_keeps_no_token() {
        let text = workflow(&facts(2), &options("ubuntu-latest")).expect("fits");
        assert!(text.contains("HOOK: ${{ secrets.HOOK }}"), "{text}");
        assert!(text.contains("ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}"), "{text}");
        assert!(text.contains("persist-credentials: false"), "{text}");
        assert!(text.contains("timeout-minutes: 166"), "{text}");
    }
}
