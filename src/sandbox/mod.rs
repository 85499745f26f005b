//! OS-level enforcement of `write`, `network` and the secret rules, for every agent kind.
//!
//! The agent and all its descendants run under up to three layers, each optional and reported:
//!
//! - **Landlock** ([`landlock`]): writes only beneath the `write` globs' folders (coarsened to
//!   folders), the git internals a commit needs, temp folders, devices and the agent's own state
//!   folders. Reads and execution are not restricted.
//! - **Namespaces** ([`mounts`], [`network`]): a new user namespace with a mount namespace in
//!   which night's files, git's config and hooks and the user's other refs are bound read-only,
//!   known host sockets are hidden and temp folders are private, size-capped tmpfs; and, for
//!   `network off` / `network allow`, a network namespace with only loopback, where the only way
//!   out is night's allow-listing proxy ([`proxy`]).
//! - **Environment** ([`env`]): night's own secrets removed, `NIGHT_*`, `TMPDIR` and the proxy set.
//!
//! Use: [`SandboxSpec::from_plan`] → [`layers`] (what the kernel offers, per `sandbox`) →
//! [`prepare`] (everything that allocates or opens files, before fork) →
//! [`Prepared::apply_in_child`] inside `pre_exec` (raw system calls only) → after spawn,
//! [`Prepared::start_proxy`].

pub mod env;
pub mod git;
pub mod landlock;
pub mod mounts;
pub mod network;
pub mod probe;
pub mod proxy;

pub use network::NetworkMode;
pub use probe::{probe, Capabilities};

use crate::ast::{AgentKind, Network, Sandbox};
use crate::plan::Plan;
use serde::Serialize;
use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The size of each private temp folder (`TMPDIR`, `/tmp`, `/dev/shm`) when the mount layer is on.
pub const DEFAULT_TMP_SIZE: u64 = 1 << 30;
/// The most processes (threads count too) the agent may have at once, where the kernel applies it.
pub const DEFAULT_MAX_PROCESSES: u64 = 4096;

/// Why the sandbox cannot be set up as the runbook asks.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `sandbox on`, and the kernel lacks a layer.
    #[error("`sandbox on` needs {layer}, which this system does not offer: {reason}; use `sandbox auto` to run with what is available")]
    Missing {
        /// The layer, e.g. `Landlock ABI 3 or later`.
        layer: &'static str,
        /// Why it is missing.
        reason: String,
    },
    /// Building the Landlock rules failed.
    #[error("cannot build the Landlock rules for `{}`: {reason}", .path.display())]
    Landlock {
        /// The path being added.
        path: PathBuf,
        /// The library's message.
        reason: String,
    },
    /// A path cannot be handed to the kernel (it holds a NUL byte).
    #[error("`{}` cannot be used by the sandbox: it contains a NUL byte", .0.display())]
    BadPath(PathBuf),
    /// A file operation while preparing failed.
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        /// What night was doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

/// One mount made in the agent's private mount namespace, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountPlan {
    /// Where.
    pub path: PathBuf,
    /// What.
    pub kind: MountKind,
    /// For a bind: what is bound there (`None`: the path itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<PathBuf>,
}

/// What a mount does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MountKind {
    /// Bind the path onto itself read-only: no write, rename or delete of it or beneath it.
    ReadOnly,
    /// Bind the path onto itself read-write, inside a read-only one.
    ReadWrite,
    /// Hide it: an empty read-only tmpfs over a folder, `/dev/null` over a file.
    Mask,
    /// A copy-on-write view of the folder: the agent sees and changes it, its changes land in
    /// `from` (`upper/`, with overlayfs's `work/`), the folder itself stays as it was.
    Overlay,
    /// A private, empty tmpfs of at most `size` bytes.
    Tmpfs {
        /// Bytes.
        size: u64,
        /// Permission bits of its root.
        mode: u32,
    },
}

/// Everything the sandbox of one agent session allows, computed from the plan and the run's paths.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxSpec {
    /// The agent kind's name.
    pub agent: String,
    /// Where the agent works.
    pub work_dir: PathBuf,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The agent's `TMPDIR` (inside the run folder).
    pub tmp_dir: PathBuf,
    /// Folders writable with everything beneath them (Landlock).
    pub writable: Vec<PathBuf>,
    /// Folders writable only when the mount layer protects what lies inside (the in-place git dir).
    pub writable_with_mounts: Vec<PathBuf>,
    /// Single files writable in place (no create, rename or delete next to them).
    pub writable_files: Vec<PathBuf>,
    /// Devices readable, writable and usable with `ioctl`.
    pub devices: Vec<PathBuf>,
    /// Mounts of the mount layer, in order.
    pub mounts: Vec<MountPlan>,
    /// Outbound network.
    pub network: NetworkMode,
    /// The agent's model API host, always let through the proxy (`None`: the agent needs none).
    pub api_host: Option<String>,
    /// Most processes, where the kernel applies the limit.
    pub max_processes: u64,
    /// Why some of the above is as it is, for the report.
    pub notes: Vec<String>,
    /// The work dir's git internals (`None`: not a git work dir night understands).
    #[serde(skip)]
    pub git: Option<git::GitPaths>,
}

impl SandboxSpec {
    /// The sandbox for the plan's agent working in `work_dir` (the checkout or worktree on the
    /// run branch), with the repository's common git dir, the run folder and the user's home.
    ///
    /// Reads the file system (which folders exist, HEAD's branch, the git dir layout) but changes
    /// nothing; [`prepare`] creates the temp folder.
    pub fn from_plan(plan: &Plan, work_dir: &Path, git_common_dir: &Path, run_dir: &Path, home: Option<&Path>) -> SandboxSpec {
        let work_dir = canonical(work_dir);
        let common = canonical(git_common_dir);
        let run_dir = canonical(run_dir);
        let repo = canonical(&plan.repo);
        let home = home.map(canonical);
        let tmp_dir = run_dir.join("tmp");
        let mut notes = Vec::new();

        let mut writable: Vec<PathBuf> = plan
            .permissions
            .write
            .iter()
            .map(|glob| coarsen(&work_dir, glob.literal_prefix()))
            .collect();
        writable.push(tmp_dir.clone());

        let git = git::GitPaths::find(&work_dir, &common);
        let mut writable_with_mounts = Vec::new();
        // The agent's new objects go to the run's own store (see `git.rs`).
        writable.push(git::run_objects(&run_dir));
        match &git {
            Some(git) => {
                writable.extend(git.ref_dir());
                writable.extend(git.branch_log_dir.clone());
                if git.in_place {
                    // HEAD.lock, the index and COMMIT_EDITMSG live in the git dir's root, next
                    // to config and hooks: writable only when the mount layer keeps the rest
                    // of the root read-only.
                    writable_with_mounts.push(git.git_dir.clone());
                } else {
                    writable.push(git.git_dir.clone());
                }
                if git.branch.is_none() {
                    notes.push("HEAD is not on a branch: the agent cannot commit".to_string());
                }
            }
            None => notes.push(format!("`{}` has no git dir night understands: the agent cannot commit", work_dir.display())),
        }

        // The agent's hooks (`night hook`) append to the run's audit trail: the agent's own
        // report of its tool calls, so it may write it; the journal stays night's alone.
        let mut writable_files = vec![run_dir.join(AUDIT_FILE)];
        if let Some(home) = &home {
            let (dirs, files) = state_paths(&plan.agent.kind, home);
            writable.extend(dirs);
            writable_files.extend(files);
        }

        let api_host = network::api_host(&plan.agent.kind, &|name| std::env::var(name).ok());
        let network = match &plan.permissions.network {
            Network::On => NetworkMode::Open,
            Network::Off => match &api_host {
                Some(host) => NetworkMode::Proxy { hosts: vec![host.clone()] },
                None => NetworkMode::Loopback,
            },
            Network::Allow(hosts) => {
                let mut hosts = hosts.clone();
                hosts.extend(api_host.clone());
                hosts.dedup();
                NetworkMode::Proxy { hosts }
            }
        };

        let mut mounts = mount_plan(&repo, &work_dir, &run_dir, &tmp_dir, git.as_ref(), home.as_deref(), network != NetworkMode::Open);
        if let Some(size) = std::env::var("NIGHT_SANDBOX_TMP_SIZE").ok().and_then(|v| parse_size(&v)) {
            for mount in &mut mounts {
                if let MountKind::Tmpfs { size: planned, .. } = &mut mount.kind {
                    *planned = size;
                }
            }
        }
        if !mounts.iter().any(|m| m.path == Path::new("/tmp")) && Path::new("/tmp").is_dir() {
            // The repository or the run folder lies under /tmp: a private /tmp would hide
            // them, and a writable one would make the whole repository writable.
            notes.push("the repository lies under /tmp: /tmp is read-only to the agent, which writes temp files to $TMPDIR".to_string());
        }

        SandboxSpec {
            agent: plan.agent.kind.name().to_string(),
            work_dir,
            run_dir,
            tmp_dir,
            writable: minimal_roots(writable),
            writable_with_mounts,
            writable_files,
            devices: DEVICES.iter().map(PathBuf::from).filter(|p| p.exists()).collect(),
            mounts,
            network,
            api_host,
            max_processes: DEFAULT_MAX_PROCESSES,
            notes,
            git,
        }
    }
}

/// The hooks' audit trail in the run folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// Devices every program expects to write to; `/dev/pts` for terminals the agent opens itself.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"];

/// The smallest existing real folder (no symlink on the way) under `root` that holds `prefix`.
/// A path that names a file, or does not exist yet, gives the folder it would be in.
fn coarsen(root: &Path, prefix: &str) -> PathBuf {
    let mut folder = root.to_path_buf();
    for component in Path::new(prefix).components() {
        match component {
            Component::Normal(part) => {
                let next = folder.join(part);
                match std::fs::symlink_metadata(&next) {
                    // A symlink is not followed: its target may lie outside the work dir.
                    Ok(meta) if meta.is_dir() => folder = next,
                    _ => break,
                }
            }
            // `..` could climb out of the work dir; the folder reached so far is the bound.
            Component::ParentDir => break,
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    folder
}

/// `NIGHT_SANDBOX_TMP_SIZE`: bytes, or a number with `k`, `m` or `g`.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text.as_str(), ""),
    };
    let factor: u64 = match unit.trim_end_matches(['b', 'i']) {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(factor).filter(|size| *size > 0)
}

/// Drop duplicates and paths beneath another path of the list.
fn minimal_roots(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    let all = paths.clone();
    paths.retain(|path| !all.iter().any(|other| other != path && path.starts_with(other)));
    paths
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The agent's own state: folders it writes beneath, and single files it rewrites in place.
/// Only those that exist are listed (Landlock needs an existing path); [`prepare`] creates the
/// agent kind's own folders first.
fn state_paths(kind: &AgentKind, home: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (own_dirs, own_files) = own_state(kind);
    let dirs = own_dirs
        .iter()
        .chain(SHARED_STATE)
        .map(|d| home.join(d))
        .filter(|p| is_real_dir(p))
        .collect();
    let files = own_files
        .iter()
        .chain(SHARED_STATE_FILES)
        .map(|f| home.join(f))
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    (dirs, files)
}

fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Tool caches agents' commands write while building and testing (never `~/.cargo/bin` and the
/// like: a program planted there would run outside the sandbox later). Their content is run
/// later by the user's own builds, so with the mount layer the agent gets copy-on-write views
/// ([`MountKind::Overlay`]) whose changes stay in the run folder.
const SHARED_STATE: &[&str] = &[
    ".cache",
    ".npm",
    ".cargo/registry",
    ".cargo/git",
    "go/pkg/mod",
    ".m2/repository",
    ".gradle/caches",
];

/// Lock files in folders that stay read-only.
const SHARED_STATE_FILES: &[&str] = &[".cargo/.package-cache", ".cargo/.package-cache-mutate"];

/// Each agent kind's own folders and files under the home folder.
pub fn own_state(kind: &AgentKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        AgentKind::Claude => (&[".claude", ".config/claude", ".local/share/claude", ".local/state/claude"], &[".claude.json"]),
        AgentKind::Codex => (&[".codex"], &[]),
        AgentKind::Gemini => (&[".gemini"], &[]),
        AgentKind::Aider => (&[".aider"], &[".aider.chat.history.md", ".aider.input.history"]),
        AgentKind::Goose => (&[".config/goose", ".local/share/goose", ".local/state/goose"], &[]),
        AgentKind::Command(_) => (&[], &[]),
    }
}

/// Unix sockets on the host that would let the agent act outside the sandbox (a container
/// engine runs anything as root; the session bus starts programs; an ssh agent signs pushes).
///
/// With `network off` or `allow`, all of `/run` is hidden instead: local services' sockets
/// (databases, caches, the session bus) are connections out of the sandbox too.
fn sockets_to_hide(home: Option<&Path>, isolated: bool) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = if isolated { vec![PathBuf::from("/run"), PathBuf::from("/var/run")] } else { Vec::new() };
    paths.extend([
        "/run/docker.sock",
        "/var/run/docker.sock",
        "/run/docker",
        "/run/containerd",
        "/run/podman",
        "/run/dbus",
        "/run/systemd/private",
        "/tmp/.X11-unix",
    ]
    .iter()
    .map(PathBuf::from));
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    paths.push(PathBuf::from(format!("/run/user/{uid}")));
    if let Some(sock) = std::env::var_os("SSH_AUTH_SOCK") {
        paths.push(PathBuf::from(sock));
    }
    if let Some(home) = home {
        paths.push(home.join(".docker/run"));
    }
    paths
}

fn mount_plan(repo: &Path, work_dir: &Path, run_dir: &Path, tmp_dir: &Path, git: Option<&git::GitPaths>, home: Option<&Path>, isolated: bool) -> Vec<MountPlan> {
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    // Overlays first: their upper folders lie in the run folder, which is bound read-only next.
    if let Some(home) = home {
        for (index, cache) in SHARED_STATE.iter().enumerate() {
            let lower = home.join(cache);
            let name = cache.replace(['/', '.'], "_");
            if is_real_dir(&lower) {
                mounts.push(MountPlan { path: lower, kind: MountKind::Overlay, from: Some(run_dir.join("state").join(format!("{index}{name}"))) });
            }
        }
    }
    let mut push = |path: PathBuf, kind: MountKind| mounts.push(MountPlan { path, kind, from: None });
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();

    // Night's folder (journal, reports, other runs, worktrees) is never the agent's to write;
    // a worktree inside it is opened again.
    let night_dir = repo.join(".night");
    if exists(&night_dir) {
        push(night_dir.clone(), MountKind::ReadOnly);
        if work_dir.starts_with(&night_dir) {
            push(work_dir.to_path_buf(), MountKind::ReadWrite);
        }
    }
    let run_objects = git::run_objects(run_dir);
    for path in [run_objects, run_dir.join(AUDIT_FILE)] {
        if path.starts_with(&night_dir) {
            push(path, MountKind::ReadWrite);
        }
    }
    if let Some(git) = git {
        if let Some(file) = &git.git_file {
            // `rm -rf .git` in a worktree would cut the work dir from its repository.
            push(file.clone(), MountKind::ReadOnly);
        }
        if git.in_place {
            // Every entry of the root but git's scratch files: config, hooks, HEAD, refs,
            // logs, objects, packed-refs, info …; then the run branch's folders again.
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&git.git_dir)
                .map(|e| e.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.sort();
            for entry in entries {
                let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if name == "objects" {
                    continue;
                }
                // `logs` itself stays writable for `logs/HEAD` and pseudo-refs' logs (git
                // touches `logs/AUTO_MERGE` on every commit); the branches' logs do not.
                if name == "logs" {
                    push(entry.join("refs"), MountKind::ReadOnly);
                } else if !git::SCRATCH.contains(&name.as_str()) {
                    push(entry, MountKind::ReadOnly);
                }
            }
            // A bind of its own keeps HEAD's reflog (the guard's way to the run branch's last
            // commit) from being removed; appending stays possible.
            push(git.head_log(), MountKind::ReadWrite);
            for dir in git.ref_dir().iter().chain(&git.branch_log_dir) {
                push(dir.clone(), MountKind::ReadWrite);
            }
        } else {
            for name in ["commondir", "gitdir"] {
                push(git.git_dir.join(name), MountKind::ReadOnly);
            }
        }
        // The user's other branches (and their reflogs) next to the run branch stay as they are.
        let branch_log = git.branch.as_deref().map(|b| {
            let mut path = git.common.join("logs/refs/heads");
            path.extend(b.split('/'));
            path
        });
        for (dir, own) in [(git.ref_dir(), git.branch_ref.clone()), (git.branch_log_dir.clone(), branch_log)] {
            let (Some(dir), Some(own)) = (dir, own) else { continue };
            let mut siblings: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|e| e.flatten().map(|e| e.path()).filter(|p| *p != own).collect())
                .unwrap_or_default();
            siblings.sort();
            for sibling in siblings {
                push(sibling, MountKind::ReadOnly);
            }
        }
    }
    if let Some(git) = git {
        // The agent's git sees the run's own store at `objects`, with the repository's store
        // bound read-only beside it as its alternate (git.rs).
        let objects = git.common.join("objects");
        binds.push(MountPlan { path: git::base_objects(run_dir), kind: MountKind::ReadOnly, from: Some(objects.clone()) });
        binds.push(MountPlan { path: objects, kind: MountKind::ReadWrite, from: Some(git::run_objects(run_dir)) });
    }
    mounts.extend(binds);
    let mut push = |path: PathBuf, kind: MountKind| mounts.push(MountPlan { path, kind, from: None });
    let mut hidden: Vec<PathBuf> = Vec::new();
    for socket in sockets_to_hide(home, isolated) {
        // `/var/run` is usually a symlink to `/run`: hide each real place once.
        let real = std::fs::canonicalize(&socket).unwrap_or_else(|_| socket.clone());
        let covered = hidden.iter().any(|h| real.starts_with(h));
        let ours = [repo, work_dir, run_dir].iter().any(|p| p.starts_with(&real)) || home.is_some_and(|h| h.starts_with(&real));
        if exists(&real) && !covered && !ours {
            push(real.clone(), MountKind::Mask);
            hidden.push(real);
        }
    }
    push(tmp_dir.to_path_buf(), MountKind::Tmpfs { size: DEFAULT_TMP_SIZE, mode: 0o700 });
    if Path::new("/dev/shm").is_dir() {
        push(PathBuf::from("/dev/shm"), MountKind::Tmpfs { size: DEFAULT_TMP_SIZE, mode: 0o1777 });
    }
    let tmp = Path::new("/tmp");
    let tmp_holds_ours = [repo, work_dir, run_dir].iter().any(|p| p.starts_with(tmp)) || home.is_some_and(|h| h.starts_with(tmp));
    if tmp.is_dir() && !tmp_holds_ours {
        push(tmp.to_path_buf(), MountKind::Tmpfs { size: DEFAULT_TMP_SIZE, mode: 0o1777 });
    }
    mounts
}

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
            proxy: None,
            max_processes: None,
            gaps: Vec::new(),
        }
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
        if self.proxy.is_some() {
            names.push("proxy".to_string());
        }
        if self.max_processes.is_some() {
            names.push("nproc".to_string());
        }
        names
    }
}

/// The lowest Landlock ABI night uses: 3 is the first that covers truncation, a write.
pub const LANDLOCK_MIN_ABI: i32 = 3;
/// The highest Landlock ABI whose rights night asks for (newer kernels keep these semantics).
pub const LANDLOCK_MAX_ABI: i32 = 7;

/// Which layers to use for `mode`, given what the kernel offers. `sandbox on` fails naming the
/// first missing layer; `sandbox auto` takes what there is and lists the gaps; `sandbox off` none.
pub fn layers(spec: &SandboxSpec, caps: &Capabilities, mode: Sandbox) -> Result<ActiveLayers, SandboxError> {
    let mut active = ActiveLayers::none();
    if mode == Sandbox::Off {
        active.gaps.push("`sandbox off`: writes and network are checked only after each session".to_string());
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
            active.gaps.push(format!("no Landlock ({reason}): writes outside `write` are only reverted after each session"));
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
        active.gaps.push(format!("no mount namespace ({reason}): git's config and the user's branches are not read-only to the agent, temp folders are not private"));
    }
    if wants_netns && !active.network_namespace {
        let reason = caps.namespace_error.clone().unwrap_or_else(|| "network namespaces are not available".to_string());
        if strict {
            return Err(SandboxError::Missing { layer: "a network namespace", reason });
        }
        active.gaps.push(format!("no network namespace ({reason}): `network` is not enforced"));
    }
    if active.network_namespace {
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
    if active.landlock.is_some() && !active.mounts && !spec.writable_with_mounts.is_empty() {
        active.gaps.push("without the mount layer the agent cannot write the git dir's root (the index): it cannot commit, night commits after each session".to_string());
    }
    Ok(active)
}

/// Everything the child needs, made before fork: the Landlock ruleset with its rules, paths as
/// C strings, mount plans, the uid/gid maps, and the socket the proxy's listener comes back on.
#[derive(Debug)]
pub struct Prepared {
    layers: ActiveLayers,
    landlock: Option<landlock::PreparedLandlock>,
    mounts: Option<mounts::PreparedMounts>,
    network: Option<network::PreparedNetwork>,
    user: Option<mounts::PreparedUser>,
    max_processes: Option<u64>,
    /// The parent's end of the channel the child reports the failing step on.
    step_read: Option<OwnedFd>,
    step_write: Option<OwnedFd>,
}

/// Build everything the child will need. Creates the temp folder and the agent kind's state
/// folders when missing.
pub fn prepare(spec: &SandboxSpec, layers: &ActiveLayers) -> Result<Prepared, SandboxError> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| SandboxError::Io { action, path, source }
    };
    // Rules and binds need their paths to exist: the temp folder, the run's object store, and
    // the reflogs a commit appends to.
    let mut folders = vec![spec.tmp_dir.clone(), git::run_objects(&spec.run_dir).join("pack")];
    if let Some(git) = &spec.git {
        folders.extend(git.branch_log_dir.clone());
        folders.extend(git.head_log().parent().map(Path::to_path_buf));
    }
    for folder in &folders {
        std::fs::create_dir_all(folder).map_err(io_error("create", folder))?;
    }
    if layers.mounts && spec.git.is_some() {
        git::link_run_objects(&spec.run_dir).map_err(io_error("link the run's object store in", &spec.run_dir))?;
    }
    if layers.mounts {
        for state in spec.mounts.iter().filter(|m| m.kind == MountKind::Overlay).filter_map(|m| m.from.as_ref()) {
            for part in ["upper", "work"] {
                let folder = state.join(part);
                std::fs::create_dir_all(&folder).map_err(io_error("create", &folder))?;
            }
        }
    }
    let mut files = vec![spec.run_dir.join(AUDIT_FILE)];
    files.extend(spec.git.as_ref().map(git::GitPaths::head_log));
    for file in &files {
        std::fs::OpenOptions::new().create(true).append(true).open(file).map_err(io_error("create", file))?;
    }
    let mut writable = spec.writable.clone();
    let mut writable_files = spec.writable_files.clone();
    if layers.mounts {
        writable.extend(spec.writable_with_mounts.iter().cloned());
    } else {
        // No read-only binds: a folder that holds the git dir or night's folder (the work dir,
        // when a glob coarsens to it) is opened entry by entry around them instead.
        let mut protected = vec![spec.run_dir.clone()];
        protected.extend(spec.run_dir.ancestors().find(|p| p.ends_with(".night")).map(Path::to_path_buf));
        protected.extend(spec.git.as_ref().filter(|g| g.in_place).map(|g| g.git_dir.clone()));
        let (dirs, files) = split_around(&writable, &protected);
        writable = dirs;
        writable_files.extend(files);
    }
    let planned_tmpfs = spec.mounts.iter().filter(|m| matches!(m.kind, MountKind::Tmpfs { .. })).map(|m| m.path.clone());
    let tmpfs_roots: Vec<PathBuf> = if layers.mounts {
        // Fresh mounts hide the rules of the folders beneath them: each needs its own.
        let overlays = spec.mounts.iter().filter(|m| m.kind == MountKind::Overlay).map(|m| m.path.clone());
        planned_tmpfs.chain(overlays).collect()
    } else {
        // No private temp folders: the host's /tmp and /dev/shm stay usable, uncapped.
        writable.extend(planned_tmpfs);
        Vec::new()
    };
    let landlock = match layers.landlock {
        Some(abi) => Some(landlock::prepare(abi, layers.landlock_scopes, &writable, &writable_files, &spec.devices, &tmpfs_roots)?),
        None => None,
    };
    let user = layers.user_namespace.then(mounts::PreparedUser::current);
    let mounts = if layers.mounts { Some(mounts::PreparedMounts::new(&spec.mounts)?) } else { None };
    let network = if layers.network_namespace { Some(network::PreparedNetwork::new(layers.proxy.is_some())?) } else { None };
    let (step_read, step_write) = if layers.any() {
        let (read, write) = pipe()?;
        (Some(read), Some(write))
    } else {
        (None, None)
    };
    Ok(Prepared {
        layers: layers.clone(),
        landlock,
        mounts,
        network,
        user,
        max_processes: layers.max_processes,
        step_read,
        step_write,
    })
}

/// Replace every folder of `writable` that holds a `protected` path by its entries, recursively,
/// leaving the protected paths out: (folders, files). Writable paths inside a protected one
/// (the run's temp folder in the run folder) are kept as they are.
fn split_around(writable: &[PathBuf], protected: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    let mut pending: Vec<PathBuf> = writable.to_vec();
    while let Some(path) = pending.pop() {
        if protected.contains(&path) {
            continue;
        }
        if !protected.iter().any(|p| p.starts_with(&path)) {
            dirs.push(path);
            continue;
        }
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let entry_path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry_path),
                Ok(kind) if kind.is_file() => files.push(entry_path),
                // Symlinks and sockets: writes through a symlink land on its target's rules.
                _ => {}
            }
        }
    }
    dirs.sort();
    files.sort();
    (dirs, files)
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(SandboxError::Io { action: "create a pipe for", path: PathBuf::from("the sandbox"), source: io::Error::last_os_error() });
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (std::os::fd::FromRawFd::from_raw_fd(fds[0]), std::os::fd::FromRawFd::from_raw_fd(fds[1])) })
}

/// The step of [`Prepared::apply_in_child`] that failed, as reported through the step pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    /// `unshare` of the user, mount and network namespaces.
    Unshare = 1,
    /// Writing the uid and gid maps.
    IdMaps = 2,
    /// Bringing loopback up.
    Loopback = 3,
    /// The proxy's listener.
    Listener = 4,
    /// A mount.
    Mount = 5,
    /// The process limit.
    ProcessLimit = 6,
    /// Landlock.
    Landlock = 7,
}

impl Step {
    fn describe(byte: u8) -> &'static str {
        match byte {
            1 => "create the user, mount and network namespaces",
            2 => "write the namespace's uid and gid maps",
            3 => "bring loopback up in the network namespace",
            4 => "open the proxy's port in the network namespace",
            5 => "mount the sandbox's read-only and private folders",
            6 => "set the process limit",
            7 => "apply the Landlock rules",
            _ => "set up the sandbox",
        }
    }
}

impl Prepared {
    /// The layers this was prepared for.
    pub fn layers(&self) -> &ActiveLayers {
        &self.layers
    }

    /// Apply the sandbox to the calling process. Meant for `pre_exec`, between fork and exec:
    /// it only makes raw system calls on what [`prepare`] built (no allocation, no lock), in
    /// this order: unshare the user (+ mount, + network) namespaces, write the id maps, bring
    /// loopback up and open the proxy's port, mount, set the process limit, then Landlock
    /// (`no_new_privs`, rules for the fresh tmpfs roots, `landlock_restrict_self`).
    ///
    /// # Safety
    /// Call only in a single-threaded child after fork (or a process that may be confined for
    /// good): it changes the namespaces and restrictions of the calling process irreversibly.
    pub unsafe fn apply_in_child(&self) -> io::Result<()> {
        let step = |step: Step, result: io::Result<()>| -> io::Result<()> {
            if result.is_err() {
                if let Some(fd) = &self.step_write {
                    let byte = step as u8;
                    // SAFETY: writing one byte from the stack to an open pipe.
                    unsafe { libc::write(std::os::fd::AsRawFd::as_raw_fd(fd), (&raw const byte).cast(), 1) };
                }
            }
            result
        };
        if let Some(user) = &self.user {
            let mut flags = libc::CLONE_NEWUSER;
            if self.mounts.is_some() {
                flags |= libc::CLONE_NEWNS;
            }
            if self.network.is_some() {
                flags |= libc::CLONE_NEWNET;
            }
            // SAFETY: a plain system call.
            step(Step::Unshare, cvt(unsafe { libc::unshare(flags) }))?;
            step(Step::IdMaps, user.write_maps())?;
        }
        if let Some(network) = &self.network {
            step(Step::Loopback, network.loopback_up())?;
            step(Step::Listener, network.send_listener())?;
        }
        if let Some(mounts) = &self.mounts {
            step(Step::Mount, mounts.apply())?;
        }
        if let Some(max) = self.max_processes {
            let limit = libc::rlimit { rlim_cur: max, rlim_max: max };
            // SAFETY: a plain system call with a limit on the stack.
            step(Step::ProcessLimit, cvt(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) }))?;
        }
        if let Some(landlock) = &self.landlock {
            step(Step::Landlock, landlock.restrict_self())?;
        }
        Ok(())
    }

    /// For a command that switches to another user before `pre_exec` runs (`Command::uid`):
    /// the namespace's id maps must name the ids the child has then.
    pub fn run_as(&mut self, uid: u32, gid: u32) {
        if self.user.is_some() {
            self.user = Some(mounts::PreparedUser::for_ids(uid, gid));
        }
    }

    /// Install [`Prepared::apply_in_child`] as the command's `pre_exec`.
    pub fn install(self: &std::sync::Arc<Self>, command: &mut tokio::process::Command) {
        let prepared = self.clone();
        // SAFETY: apply_in_child makes only async-signal-safe system calls on prepared data.
        unsafe {
            command.pre_exec(move || prepared.apply_in_child());
        }
    }

    /// Install [`Prepared::apply_in_child`] on a `std` command (tests, checks).
    pub fn install_std(self: &std::sync::Arc<Self>, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let prepared = self.clone();
        // SAFETY: as above.
        unsafe {
            command.pre_exec(move || prepared.apply_in_child());
        }
    }

    /// After a failed spawn: which step of the sandbox failed, as a phrase, if the child said.
    pub fn failed_step(&self) -> Option<&'static str> {
        let fd = self.step_read.as_ref()?;
        let mut byte = 0u8;
        // SAFETY: reading one byte into the stack from a non-blocking pipe.
        let read = unsafe { libc::read(std::os::fd::AsRawFd::as_raw_fd(fd), (&raw mut byte).cast(), 1) };
        (read == 1).then(|| Step::describe(byte))
    }

    /// After a successful spawn: take the proxy's listener the child opened in its network
    /// namespace and serve it. `None` when there is no proxy.
    pub fn start_proxy(&self) -> io::Result<Option<proxy::Proxy>> {
        let (Some(network), Some(hosts)) = (&self.network, &self.layers.proxy) else {
            return Ok(None);
        };
        let listener = network.receive_listener()?;
        Ok(Some(proxy::Proxy::serve(listener, hosts)?))
    }
}

/// A system call's -1 as the OS error.
fn cvt(result: libc::c_int) -> io::Result<()> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A path as a C string for the child.
fn c_path(path: &Path) -> Result<CString, SandboxError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SandboxError::BadPath(path.to_path_buf()))
}

#[cfg(test)]
mod tests;
