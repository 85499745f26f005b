//! The sandbox of the commands night runs from the agent's work: the baseline and the success
//! checks run the agent's code (its tests, a `conftest.py`, a `build.rs`, an npm script), so
//! under `deny irreversible` they get the agent's credential, git and network layers, with
//! the whole work dir writable ([`SandboxSpec::for_checks`]).
//!
//! Use: [`ChecksSandbox::new`] once per round of checks, then [`ChecksSandbox::confine`] on each
//! command before it is spawned and [`Confined::started`] after; dropping the [`Confined`] ends
//! whatever the command left in its namespace.

use super::env::{agent_env, install_git_helper, AgentEnv};
use super::proxy::Proxy;
use super::{layers, prepare, ActiveLayers, Capabilities, Prepared, SandboxError, SandboxSpec};
use crate::ast::Sandbox;
use crate::plan::Plan;
use std::path::Path;
use std::sync::Arc;

/// What every check command of one round runs under.
#[derive(Debug)]
pub struct ChecksSandbox {
    spec: SandboxSpec,
    layers: ActiveLayers,
    env: AgentEnv,
}

/// Where the checks run and as whom.
#[derive(Debug, Clone, Copy)]
pub struct ChecksPlace<'a> {
    /// The work dir (checkout or worktree on the run branch).
    pub work_dir: &'a Path,
    /// The repository's common git dir.
    pub git_common_dir: &'a Path,
    /// The run folder.
    pub run_dir: &'a Path,
    /// The user's home folder.
    pub home: Option<&'a Path>,
}

impl ChecksSandbox {
    /// The sandbox for the plan's checks, with the layers the kernel offers under `mode`;
    /// `night` are the `NIGHT_*` variables the commands get. `None` without `deny
    /// irreversible`, where checks run as before, outside any sandbox.
    pub fn new(plan: &Plan, place: ChecksPlace<'_>, caps: &Capabilities, mode: Sandbox, night: &[(String, String)]) -> Result<Option<Self>, SandboxError> {
        if !plan.permissions.deny_irreversible {
            return Ok(None);
        }
        let spec = SandboxSpec::for_checks(plan, place.work_dir, place.git_common_dir, place.run_dir, place.home);
        let layers = layers(&spec, caps, mode)?;
        install_git_helper(place.run_dir).map_err(|source| SandboxError::Io { action: "write night's git helper into", path: place.run_dir.join("bin"), source })?;
        // Without a network namespace the proxy's port is known per command: 0 until then.
        let port = match (layers.network_namespace, layers.landlock_tcp && layers.proxy.is_some()) {
            (true, _) => Some(super::network::PROXY_PORT),
            (false, true) => Some(0),
            (false, false) => None,
        };
        let env = agent_env(plan, &spec, &layers, night, port);
        Ok(Some(ChecksSandbox { spec, layers, env }))
    }

    /// Put one command under the sandbox: its environment, and (where the kernel offers
    /// layers) the namespaces and Landlock applied between fork and exec.
    pub fn confine(&self, command: &mut tokio::process::Command) -> Result<Confined, SandboxError> {
        let prepared = if self.layers.any() {
            let prepared = Arc::new(prepare(&self.spec, &self.layers)?);
            prepared.install(command);
            Some(prepared)
        } else {
            None
        };
        let mut env = self.env.clone();
        if let Some(port) = prepared.as_ref().and_then(|p| p.proxy_port()) {
            // Without a network namespace the proxy's port is only known once prepared.
            for (name, value) in &mut env.set {
                if name.to_ascii_lowercase().ends_with("_proxy") {
                    *value = format!("http://127.0.0.1:{port}");
                }
            }
        }
        for name in &env.remove {
            command.env_remove(name);
        }
        for (name, value) in &env.set {
            command.env(name, value);
        }
        Ok(Confined { prepared, proxy: None, namespace: None, user_namespace: self.layers.user_namespace })
    }
}

/// One check command under the sandbox.
#[derive(Debug)]
pub struct Confined {
    prepared: Option<Arc<Prepared>>,
    proxy: Option<Proxy>,
    namespace: Option<String>,
    user_namespace: bool,
}

impl Confined {
    /// After the spawn of `pid`: serve its proxy, note its namespace.
    pub fn started(&mut self, pid: u32) {
        if self.user_namespace {
            self.namespace = super::user_namespace_of(pid);
        }
        if let Some(prepared) = &self.prepared {
            self.proxy = prepared.start_proxy().ok().flatten();
        }
    }

    /// Why the spawn failed, when the sandbox's setup in the child was the cause.
    pub fn failed_step(&self) -> Option<&'static str> {
        self.prepared.as_ref().and_then(|p| p.failed_step())
    }
}

impl Drop for Confined {
    fn drop(&mut self) {
        if let Some(namespace) = &self.namespace {
            super::end_namespace(namespace);
        }
    }
}
