//! The supervisor's use of [`crate::sandbox`]: decide the layers once per run (refusing
//! `sandbox on` before anything changes), wrap every agent session in them, and turn what the
//! session left (git guard findings, proxy destinations) into journal events.

use crate::ast::Sandbox;
use crate::plan::Plan;
use crate::run::git::RunGit;
use crate::sandbox::checks::{ChecksPlace, ChecksSandbox};
use crate::sandbox::env::{agent_env, AgentEnv};
use crate::sandbox::git::GitGuard;
use crate::sandbox::proxy::Proxy;
use crate::sandbox::{self, ActiveLayers, Capabilities, Prepared, SandboxSpec};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the sandbox cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionSandboxError {
    /// The layers cannot be set up (`sandbox on` on a kernel without them …).
    #[error("{0}")]
    Layers(#[from] sandbox::SandboxError),
    /// The child's side of the layers cannot be prepared.
    #[error("cannot prepare the sandbox: {0}")]
    Prepare(sandbox::SandboxError),
    /// The run's own object store for the agent cannot be made.
    #[error("cannot prepare the run's object store: {0}")]
    ObjectStore(std::io::Error),
    /// Night's git helper (the refusal of pushes under `deny irreversible`) cannot be written.
    #[error("cannot write night's git helper: {0}")]
    GitHelper(std::io::Error),
    /// The success checks' layers cannot be set up.
    #[error("cannot prepare the success checks' sandbox: {0}")]
    Checks(sandbox::SandboxError),
}

/// The run's sandbox settings: what the kernel offers and where the user's home is.
#[derive(Debug, Clone)]
pub struct RunSandbox {
    caps: Capabilities,
    mode: Sandbox,
    home: Option<PathBuf>,
    /// The branches of the other runs of this run's batch, which the git guard leaves alone.
    pub others: Vec<String>,
}

impl RunSandbox {
    /// Probe the kernel and check `sandbox on` against it. Called before preflight, so a
    /// refusal changes nothing.
    pub fn check(plan: &Plan, home: Option<PathBuf>) -> Result<RunSandbox, sandbox::SandboxError> {
        let caps = sandbox::probe();
        let mode = plan.permissions.sandbox;
        // The work dir does not exist yet; the layers depend only on the kernel, the mode and
        // `network`, which this spec already has.
        let spec = SandboxSpec::from_plan(plan, &plan.repo, &plan.repo.join(".git"), &plan.repo.join(".night"), home.as_deref());
        sandbox::layers(&spec, &caps, mode)?;
        Ok(RunSandbox { caps, mode, home, others: Vec::new() })
    }

    /// Everything one session needs: the spec for the run's work dir, the layers, the prepared
    /// child state, the agent's environment, and the git guard's record of the state before.
    pub fn session(&self, plan: &Plan, git: &RunGit, run_dir: &Path, night_env: &[(String, String)]) -> Result<SessionSandbox, SessionSandboxError> {
        let spec = SandboxSpec::from_plan(plan, git.work_dir(), git.common_dir(), run_dir, self.home.as_deref());
        let layers = sandbox::layers(&spec, &self.caps, self.mode)?;
        // The guard runs with or without OS layers: without them it is what puts the user's
        // branches and the worktree's `.git` back.
        let guard = match &spec.git {
            Some(paths) => Some(GitGuard::before(paths, run_dir).map_err(SessionSandboxError::ObjectStore)?.ignoring(&self.others)),
            None => None,
        };
        if plan.permissions.deny_irreversible {
            sandbox::env::install_git_helper(run_dir).map_err(SessionSandboxError::GitHelper)?;
        }
        let prepared = if layers.any() {
            Some(Arc::new(sandbox::prepare(&spec, &layers).map_err(SessionSandboxError::Prepare)?))
        } else {
            None
        };
        let env = agent_env(plan, &spec, &layers, night_env, prepared.as_ref().and_then(|p| p.proxy_port()));
        Ok(SessionSandbox { spec, layers, env, prepared, guard, proxy: None, namespace: None })
    }

    /// The sandbox of the baseline and the success checks (`None` without `deny irreversible`).
    pub fn checks(&self, plan: &Plan, git: &RunGit, run_dir: &Path, night_env: &[(String, String)]) -> Result<Option<ChecksSandbox>, SessionSandboxError> {
        let place = ChecksPlace { work_dir: git.work_dir(), git_common_dir: git.common_dir(), run_dir, home: self.home.as_deref() };
        ChecksSandbox::new(plan, place, &self.caps, self.mode, night_env).map_err(SessionSandboxError::Checks)
    }

    /// At the end of the run: the agent's last objects into the repository, the run's object
    /// store out of `alternates`.
    pub fn finish_run(git: &RunGit, run_dir: &Path) -> std::io::Result<()> {
        if sandbox::git::run_objects(run_dir).exists() {
            GitGuard::finish_run(git.common_dir(), run_dir)?;
        }
        Ok(())
    }
}

/// One session's sandbox.
pub struct SessionSandbox {
    /// What it allows.
    pub spec: SandboxSpec,
    /// The layers in force.
    pub layers: ActiveLayers,
    /// The agent's environment changes.
    pub env: AgentEnv,
    /// For the spawn's `pre_exec` (`None`: no OS layer).
    pub prepared: Option<Arc<Prepared>>,
    guard: Option<GitGuard>,
    proxy: Option<Proxy>,
    /// The agent's own user namespace, once it runs in one.
    namespace: Option<String>,
}

impl SessionSandbox {
    /// Why the spawn failed, when the sandbox's setup in the child was the cause.
    pub fn failed_step(&self) -> Option<&'static str> {
        self.prepared.as_ref().and_then(|p| p.failed_step())
    }

    /// After a successful spawn of `pid`: note its user namespace, serve the proxy.
    pub fn started(&mut self, pid: u32) -> std::io::Result<()> {
        if self.layers.user_namespace {
            self.namespace = sandbox::user_namespace_of(pid);
        }
        if let Some(prepared) = &self.prepared {
            self.proxy = prepared.start_proxy()?;
        }
        Ok(())
    }

    /// After the session: what the agent tried that the sandbox or the guard stopped or undid,
    /// one phrase each (git findings, destinations the proxy refused, the ones it let through).
    pub fn finish(self) -> (Vec<String>, Vec<String>) {
        // After the process group is gone: what left it (`setsid`) is still in the namespace.
        let escaped = self.namespace.as_deref().map(sandbox::end_namespace).unwrap_or_default();
        let mut tried = self.guard.map(|g| g.after()).unwrap_or_default();
        // One already exiting was ending by itself: it was not left running.
        let running: Vec<String> = escaped.iter().filter_map(|l| l.command.as_ref().map(|c| format!("`{c}` (pid {})", l.pid))).collect();
        if !running.is_empty() {
            let processes = if running.len() == 1 { "a process" } else { "processes" };
            tried.push(format!("left {processes} outside its process group running, ended with the session: {}", running.join(", ")));
        }
        let mut reached = Vec::new();
        if let Some(proxy) = &self.proxy {
            for destination in proxy.destinations() {
                if destination.allowed {
                    reached.push(format!("{} ({}×)", destination.target, destination.count));
                } else {
                    tried.push(format!("connected to `{}` through the proxy ({}×, refused: not in `network allow`)", destination.target, destination.count));
                }
            }
        }
        (tried, reached)
    }
}

/// The journal's `sandbox` event fields for these layers.
pub fn describe(layers: &ActiveLayers, spec: &SandboxSpec) -> (Vec<String>, Vec<String>, String) {
    let writable = spec.writable.iter().chain(&spec.writable_files).map(|p| p.display().to_string()).collect();
    let network = match (&spec.network, layers.network_namespace) {
        (sandbox::NetworkMode::Open, _) => "on".to_string(),
        (_, false) => "not enforced".to_string(),
        (sandbox::NetworkMode::Loopback, true) => "loopback only".to_string(),
        (sandbox::NetworkMode::Proxy { hosts }, true) => format!("only through night's proxy to {}", hosts.join(", ")),
    };
    (writable, layers.gaps.clone(), network)
}

/// The most refusal lines kept per session.
const REFUSALS_KEPT: usize = 10;

/// Lines of `agent.log` from byte `from` on where the OS refused something under the sandbox
/// ([`sandbox::is_os_refusal`]): the first [`REFUSALS_KEPT`] (each bounded), and how many in all.
/// Read line by line: the log is never held whole.
pub fn refusals_in_log(log: &Path, from: u64) -> (Vec<String>, u64) {
    use std::io::{BufRead as _, Seek as _};
    let Ok(mut file) = std::fs::File::open(log) else { return (Vec::new(), 0) };
    if file.seek(std::io::SeekFrom::Start(from)).is_err() {
        return (Vec::new(), 0);
    }
    let (mut kept, mut total) = (Vec::new(), 0u64);
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        let text = String::from_utf8_lossy(&line);
        if sandbox::is_os_refusal(&text) {
            total += 1;
            if kept.len() < REFUSALS_KEPT {
                kept.push(text.trim().chars().take(300).collect());
            }
        }
        line.clear();
    }
    (kept, total)
}
