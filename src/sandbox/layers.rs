//! Which layers a session gets: what the kernel offers, against `sandbox auto|on|off`.

use super::{Capabilities, NetworkMode, SandboxError, SandboxSpec};
use crate::ast::Sandbox;
use serde::Serialize;

/// The layers in force for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveLayers {
    /// Landlock's ABI version in use (`None`: no Landlock).
    pub landlock: Option<i32>,
    /// Landlock also scopes signals and abstract unix sockets (ABI 6).
    pub landlock_scopes: bool,
    /// A new user namespace (needed by the two below).
    pub user_namespace: bool,
    /// The mount layer: read-only binds, hidden sockets, private temp folders.
    pub mounts: bool,
    /// A network namespace with only loopback.
    pub network_namespace: bool,
    /// Without a network namespace: Landlock (ABI 4) denies every TCP connection but to night's
    /// proxy on the host's loopback.
    pub landlock_tcp: bool,
    /// Hosts the proxy lets through (`None`: no proxy).
    pub proxy: Option<Vec<String>>,
    /// The process limit, where the kernel applies it (not for root).
    pub max_processes: Option<u64>,
    /// What is not enforced and why, one sentence each.
    pub gaps: Vec<String>,
}

impl ActiveLayers {
    /// No sandbox.
    pub fn none() -> Self {
        ActiveLayers {
            landlock: None,
            landlock_scopes: false,
            user_namespace: false,
            mounts: false,
            network_namespace: false,
            landlock_tcp: false,
            proxy: None,
            max_processes: None,
            gaps: Vec::new(),
        }
    }

    /// Whether the credential stores of `deny irreversible` are hidden: by the mount layer,
    /// or by Landlock's read rules.
    pub fn hides_stores(&self) -> bool {
        self.landlock.is_some() || self.mounts
    }

    /// Whether anything is applied in the child.
    pub fn any(&self) -> bool {
        self.landlock.is_some() || self.user_namespace
    }

    /// The layers as short names, e.g. `["landlock-v7", "mounts", "netns", "proxy"]`.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(abi) = self.landlock {
            names.push(format!("landlock-v{abi}"));
        }
        if self.landlock_scopes {
            names.push("landlock-scopes".to_string());
        }
        if self.mounts {
            names.push("mounts".to_string());
        }
        if self.network_namespace {
            names.push("netns".to_string());
        }
        if self.landlock_tcp {
            names.push("landlock-tcp".to_string());
        }
        if self.proxy.is_some() {
            names.push("proxy".to_string());
        }
        if self.max_processes.is_some() {
            names.push("nproc".to_string());
        }
        names
    }
}

/// The first Landlock ABI that restricts TCP `connect`.
pub const LANDLOCK_TCP_ABI: i32 = 4;

/// The lowest Landlock ABI night uses: 3 is the first that covers truncation, a write.
pub const LANDLOCK_MIN_ABI: i32 = 3;
/// The highest Landlock ABI whose rights night asks for (newer kernels keep these semantics).
pub const LANDLOCK_MAX_ABI: i32 = 7;

/// How to get the layers this machine lacks, for the gaps' sentences.
const ENABLE_NAMESPACES: &str = "allow unprivileged user namespaces (`sysctl kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 23.10+, `kernel.unprivileged_userns_clone=1` on older Debian; in a container, run it with `--security-opt seccomp=unconfined` or privileges to create namespaces)";
const ENABLE_LANDLOCK: &str = "use Linux 6.2 or later with Landlock enabled (`lsm=landlock,…` on the kernel command line)";

/// What `deny irreversible`'s credential layers cannot do with the layers found.
fn credential_gaps(spec: &SandboxSpec, active: &mut ActiveLayers) {
    if spec.hidden.is_empty() && spec.scrubbed.is_empty() && active.landlock.is_some() {
        return;
    }
    let stores = spec.hidden.iter().map(|s| s.path.display().to_string()).collect::<Vec<_>>().join(", ");
    if !spec.hidden.is_empty() && active.landlock.is_none() && !active.mounts {
        active.gaps.push(format!("the credential stores are readable by the agent ({stores}): nothing on this machine can hide them; {ENABLE_LANDLOCK} or {ENABLE_NAMESPACES}"));
    }
    if active.landlock.is_none() {
        active.gaps.push(format!("without Landlock the agent can read the environment of night and of the user's other processes in /proc (tokens included); {ENABLE_LANDLOCK}"));
    }
    if !active.mounts && !spec.scrubbed.is_empty() {
        let configs = spec.scrubbed.iter().map(|s| s.path.display().to_string()).collect::<Vec<_>>().join(", ");
        active.gaps.push(format!("without the mount layer the credentials in git's configuration ({configs}: a token in a URL, an `http.extraHeader`) stay readable to the agent, which can push with them; remove them (use a credential helper, which night hides) or {ENABLE_NAMESPACES}"));
    }
    if !active.mounts && !spec.hidden.is_empty() {
        active.gaps.push(format!("without the mount layer the SSH agent's and other host sockets stay reachable to a process that finds them, and `env -i git push` is refused by the hidden credentials only, not by git's configuration; {ENABLE_NAMESPACES}"));
    }
}

/// Which layers to use for `mode`, given what the kernel offers. `sandbox on` fails naming the
/// first missing layer; `sandbox auto` takes what there is and lists the gaps; `sandbox off` none.
pub fn layers(spec: &SandboxSpec, caps: &Capabilities, mode: Sandbox) -> Result<ActiveLayers, SandboxError> {
    let mut active = ActiveLayers::none();
    if mode == Sandbox::Off {
        active.gaps.push("`sandbox off`: writes and network are checked only after each session".to_string());
        if !spec.hidden.is_empty() || !spec.scrubbed.is_empty() {
            let stores = spec.hidden.iter().chain(&spec.scrubbed).map(|s| s.path.display().to_string()).collect::<Vec<_>>().join(", ");
            active.gaps.push(format!(
                "`sandbox off`: the credential stores are readable by the agent and the success checks ({stores}), and so is night's environment in /proc: `deny irreversible` only withholds variables and makes git refuse pushes; use `sandbox auto`"
            ));
        }
        return Ok(active);
    }
    let strict = mode == Sandbox::On;
    let wants_netns = spec.network != NetworkMode::Open;

    match caps.landlock_abi {
        Some(abi) if abi >= LANDLOCK_MIN_ABI => {
            active.landlock = Some(abi.min(LANDLOCK_MAX_ABI));
            active.landlock_scopes = abi >= 6;
        }
        found => {
            let reason = match found {
                Some(abi) => format!("the kernel offers Landlock ABI {abi}, which cannot deny truncation"),
                None => caps.landlock_error.clone().unwrap_or_else(|| "Landlock is not available".to_string()),
            };
            if strict {
                return Err(SandboxError::Missing { layer: "Landlock ABI 3 or later", reason });
            }
            active.gaps.push(format!("no Landlock ({reason}): writes outside `write` are only reverted after each session; {ENABLE_LANDLOCK}"));
        }
    }
    if caps.user_namespaces {
        active.user_namespace = true;
        active.mounts = caps.mount_namespaces;
        active.network_namespace = wants_netns && caps.network_namespaces;
    }
    if !active.mounts {
        let reason = caps.namespace_error.clone().unwrap_or_else(|| "mount namespaces are not available".to_string());
        if strict {
            return Err(SandboxError::Missing { layer: "user and mount namespaces", reason });
        }
        active.gaps.push(format!("no mount namespace ({reason}): git's config and the user's branches are not read-only to the agent, temp folders are not private; {ENABLE_NAMESPACES}"));
    }
    if wants_netns && !active.network_namespace {
        let reason = caps.namespace_error.clone().unwrap_or_else(|| "network namespaces are not available".to_string());
        if strict {
            return Err(SandboxError::Missing { layer: "a network namespace", reason });
        }
        if active.landlock.is_some_and(|abi| abi >= LANDLOCK_TCP_ABI) {
            active.landlock_tcp = true;
            active.gaps.push(format!(
                "no network namespace ({reason}): Landlock allows TCP connections only to night's proxy, loopback included; UDP (DNS included) is not restricted; {ENABLE_NAMESPACES}"
            ));
        } else {
            active.gaps.push(format!("no network namespace ({reason}): `network` is not enforced; {ENABLE_NAMESPACES}"));
        }
    }
    if active.network_namespace || active.landlock_tcp {
        if let NetworkMode::Proxy { hosts } = &spec.network {
            active.proxy = Some(hosts.clone());
        }
    }
    if active.user_namespace {
        if caps.root {
            active.gaps.push("night runs as root, which the kernel exempts from the process limit".to_string());
        } else {
            active.max_processes = Some(spec.max_processes);
        }
    }
    credential_gaps(spec, &mut active);
    if active.landlock.is_some() && !active.mounts && spec.git.as_ref().is_some_and(|git| git.in_place) {
        active.gaps.push("without the mount layer the agent cannot write the git dir's root (the index): it cannot commit, night commits after each session".to_string());
    }
    Ok(active)
}

