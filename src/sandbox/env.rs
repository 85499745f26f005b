//! The agent's environment: night's own secrets out, the sandbox's `TMPDIR` and proxy in, and
//! the `NIGHT_*` variables the hooks read.

use super::{ActiveLayers, SandboxSpec};
use crate::ast::Value;
use crate::plan::Plan;

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
/// Added after the configuration the environment already passes (`count`: its
/// `GIT_CONFIG_COUNT`).
fn foreground_maintenance(count: Option<&str>) -> Vec<(String, String)> {
    let first: usize = count.and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    let settings = [("maintenance.autoDetach", "false"), ("gc.autoDetach", "false")];
    let mut env = vec![("GIT_CONFIG_COUNT".to_string(), (first + settings.len()).to_string())];
    for (i, (key, value)) in settings.iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{}", first + i), (*key).to_string()));
        env.push((format!("GIT_CONFIG_VALUE_{}", first + i), (*value).to_string()));
    }
    env
}

/// Proxy variables, in both spellings programs read.
const PROXY_VARIABLES: &[&str] = &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"];

/// The agent's environment for one session: `night` holds the `NIGHT_*` variables of the
/// session (run id, run dir, prompt file, attempt …), passed through as they are; `proxy_port`
/// is where the agent reaches night's proxy ([`super::Prepared::proxy_port`]).
pub fn agent_env(plan: &Plan, spec: &SandboxSpec, layers: &ActiveLayers, night: &[(String, String)], proxy_port: Option<u16>) -> AgentEnv {
    let mut env = AgentEnv { set: night.to_vec(), remove: secret_names(plan) };
    env.set.push(("NIGHT_SANDBOX".to_string(), if layers.any() { layers.names().join(",") } else { "off".to_string() }));
    env.set.extend(foreground_maintenance(std::env::var("GIT_CONFIG_COUNT").ok().as_deref()));
    if !layers.any() {
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
    use super::foreground_maintenance;

    #[test]
    fn git_maintenance_stays_in_the_foreground_after_the_configuration_already_passed() {
        let env = foreground_maintenance(Some("1"));
        assert_eq!(env[0], ("GIT_CONFIG_COUNT".to_string(), "3".to_string()));
        assert_eq!(env[1], ("GIT_CONFIG_KEY_1".to_string(), "maintenance.autoDetach".to_string()));
        assert_eq!(env[4], ("GIT_CONFIG_VALUE_2".to_string(), "false".to_string()));
        assert_eq!(foreground_maintenance(None)[0].1, "2");
    }
}
