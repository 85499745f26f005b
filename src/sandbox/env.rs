//! The agent's environment: night's own secrets out, the sandbox's `TMPDIR` and proxy in, and
//! the `NIGHT_*` variables the hooks read.

use super::{ActiveLayers, SandboxSpec};
use crate::ast::Value;
use crate::plan::Plan;
use crate::policy::credentials;
use std::path::{Path, PathBuf};

/// Changes to the inherited environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentEnv {
    /// Variables set (or replaced).
    pub set: Vec<(String, String)>,
    /// Variables removed.
    pub remove: Vec<String>,
}

/// The names of every `env.X` in the runbook: night's secrets, never the agent's.
pub fn secret_names(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = plan
        .notifiers
        .iter()
        .flat_map(|n| n.value.channel.values())
        .filter_map(|value| match &value.value {
            Value::Env(name) => Some(name.clone()),
            Value::Literal(_) => None,
        })
        .collect();
    names.extend(plan.delivery.iter().flat_map(crate::plan::Delivery::env_names));
    names.sort();
    names.dedup();
    names
}

/// Git's automatic maintenance after a commit (`git maintenance run --auto --detach`, git ≥
/// 2.47; `git gc --auto` before) detaches with `setsid` by default: it would leave the
/// agent's process group, outlive the session, and be ended halfway by night's sweep of the
/// sandbox's namespace. In the foreground it belongs to the session like any other command.
/// Added after the configuration already given through `GIT_CONFIG_COUNT` (night's own in
/// `env`, else the inherited environment's).
fn foreground_maintenance(env: &mut AgentEnv) {
    let given = env.set.iter().rev().find(|(name, _)| name == "GIT_CONFIG_COUNT").map(|(_, count)| count.clone()).or_else(|| {
        // The inherited configuration, unless the environment's allowlist withholds it.
        let withheld = env.remove.iter().any(|name| name == "GIT_CONFIG_COUNT");
        std::env::var("GIT_CONFIG_COUNT").ok().filter(|_| !withheld)
    });
    let first: usize = given.and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    let settings = [("maintenance.autoDetach", "false"), ("gc.autoDetach", "false")];
    env.set.retain(|(name, _)| name != "GIT_CONFIG_COUNT");
    env.set.push(("GIT_CONFIG_COUNT".to_string(), (first + settings.len()).to_string()));
    for (i, (key, value)) in settings.iter().enumerate() {
        env.set.push((format!("GIT_CONFIG_KEY_{}", first + i), (*key).to_string()));
        env.set.push((format!("GIT_CONFIG_VALUE_{}", first + i), (*value).to_string()));
    }
}

/// `deny irreversible` in the environment, whatever the sandbox: only the allowlist and what
/// the runbook passes reach the agent, and git sends every push to night's helper (on PATH
/// from `<run dir>/bin`, written by [`install_git_helper`]).
fn withhold_credentials(env: &mut AgentEnv, plan: &Plan, spec: &SandboxSpec) {
    let names: Vec<String> = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()).collect();
    env.remove.extend(credentials::withheld(names.iter().map(String::as_str), &plan.agent.kind, &plan.permissions.pass));
    env.set.extend(credentials::git_refusal(&spec.push_urls));
    let run_dir = &spec.run_dir;
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string());
    env.set.push(("PATH".to_string(), format!("{}:{path}", helper_dir(run_dir).display())));
}

/// What the agent is not given, for the journal and the report: each hidden credential store
/// (`~/.ssh (SSH keys)`) when `layers` can hide it, then one entry naming the withheld
/// variables (names, never values).
pub fn hidden_summary(spec: &SandboxSpec, layers: &ActiveLayers, env: &AgentEnv) -> Vec<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    // Without Landlock or the mount layer nothing hides them: the gaps say so instead.
    let stores = if layers.hides_stores() { spec.hidden.as_slice() } else { &[] };
    let mut summary: Vec<String> = stores
        .iter()
        .map(|store| {
            let shown = match home.as_deref().and_then(|h| store.path.strip_prefix(h).ok()) {
                Some(rest) => format!("~/{}", rest.display()),
                None => store.path.display().to_string(),
            };
            format!("`{shown}` ({})", store.holds)
        })
        .collect();
    if layers.mounts {
        summary.extend(spec.scrubbed.iter().map(|store| format!("the credentials in `{}` (the agent reads a copy without them)", store.path.display())));
    }
    let mut withheld: Vec<&str> = env.remove.iter().map(String::as_str).filter(|name| !name.starts_with("NIGHT_")).collect();
    withheld.sort_unstable();
    withheld.dedup();
    if !withheld.is_empty() {
        summary.push(format!("variables {}", withheld.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")));
    }
    summary
}

/// Where night's git helper lives.
pub fn helper_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("bin")
}

/// Write `git-remote-night-refused` into `<run dir>/bin` (see [`credentials::refused_push_helper`]).
pub fn install_git_helper(run_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = helper_dir(run_dir);
    std::fs::create_dir_all(&dir)?;
    let night = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("night"));
    let path = dir.join(format!("git-remote-{}", credentials::REFUSED_TRANSPORT));
    std::fs::write(&path, credentials::refused_push_helper(&night))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
}

/// Proxy variables, in both spellings programs read.
const PROXY_VARIABLES: &[&str] = &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"];

/// The agent's environment for one session: `night` holds the `NIGHT_*` variables of the
/// session (run id, run dir, prompt file, attempt …), passed through as they are; `proxy_port`
/// is where the agent reaches night's proxy ([`super::Prepared::proxy_port`]).
pub fn agent_env(plan: &Plan, spec: &SandboxSpec, layers: &ActiveLayers, night: &[(String, String)], proxy_port: Option<u16>) -> AgentEnv {
    let mut env = AgentEnv { set: night.to_vec(), remove: secret_names(plan) };
    env.set.push(("NIGHT_SANDBOX".to_string(), if layers.any() { layers.names().join(",") } else { "off".to_string() }));
    if plan.permissions.deny_irreversible {
        withhold_credentials(&mut env, plan, spec);
    }
    foreground_maintenance(&mut env);
    if !layers.any() {
        env.remove.retain(|name| !env.set.iter().any(|(set, _)| set == name));
        return env;
    }
    if let (Some(git), false) = (&spec.git, layers.mounts) {
        // New objects go to the run's store; the repository's own stays read-only (git.rs).
        // With the mount layer a bind does this, without touching other repositories.
        env.set.push(("GIT_OBJECT_DIRECTORY".to_string(), super::git::run_objects(&spec.run_dir).display().to_string()));
        env.set.push(("GIT_ALTERNATE_OBJECT_DIRECTORIES".to_string(), git.common.join("objects").display().to_string()));
    }
    let tmp = spec.tmp_dir.display().to_string();
    for name in ["TMPDIR", "TMP", "TEMP"] {
        env.set.push((name.to_string(), tmp.clone()));
    }
    if layers.network_namespace || layers.landlock_tcp {
        // Only the proxy (if any) reaches out; a host proxy from the user's environment would
        // be unreachable, and NO_PROXY would send traffic nowhere.
        env.remove.extend(["NO_PROXY", "no_proxy"].map(String::from));
        match proxy_port {
            Some(port) => {
                let url = format!("http://127.0.0.1:{port}");
                env.set.extend(PROXY_VARIABLES.iter().map(|name| (name.to_string(), url.clone())));
            }
            None => env.remove.extend(PROXY_VARIABLES.iter().map(ToString::to_string)),
        }
    }
    if layers.mounts {
        // Their sockets are hidden in the sandbox; the variables would only point at nothing.
        env.remove.extend(["SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS"].map(String::from));
    }
    env.remove.retain(|name| !env.set.iter().any(|(set, _)| set == name));
    env
}

#[cfg(test)]
mod tests {
    use super::{foreground_maintenance, AgentEnv};

    #[test]
    fn git_maintenance_stays_in_the_foreground_after_the_configuration_already_given() {
        let mut env = AgentEnv { set: vec![("GIT_CONFIG_COUNT".into(), "1".into()), ("GIT_CONFIG_KEY_0".into(), "a.b".into())], remove: Vec::new() };
        foreground_maintenance(&mut env);
        let count: Vec<&(String, String)> = env.set.iter().filter(|(name, _)| name == "GIT_CONFIG_COUNT").collect();
        assert_eq!(count, [&("GIT_CONFIG_COUNT".to_string(), "3".to_string())]);
        assert!(env.set.contains(&("GIT_CONFIG_KEY_1".to_string(), "maintenance.autoDetach".to_string())));
        assert!(env.set.contains(&("GIT_CONFIG_VALUE_2".to_string(), "false".to_string())));
    }
}
