//! What one session's sandbox allows, computed from the plan and the run's paths: the writable
//! folders and files, the mounts of the mount layer, the network.

use super::{git, network, NetworkMode, DEFAULT_MAX_PROCESSES, DEFAULT_TMP_SIZE};
use crate::policy::credentials;
use crate::ast::{AgentKind, Network};
use crate::plan::Plan;
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

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
    /// Folders writable only when the mount layer protects what lies inside (the in-place git
    /// dir; a worktree's common dir, for git's lock files).
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
    /// The agent's state folder, which [`super::prepare`] creates (it is missing).
    pub state_dirs: Vec<PathBuf>,
    /// Why some of the above is as it is, for the report.
    pub notes: Vec<String>,
    /// The credential stores hidden from the agent (`deny irreversible`).
    #[serde(skip)]
    pub hidden: Vec<credentials::Store>,
    /// Git configuration files holding credentials (`deny irreversible`): with the mount layer
    /// the agent reads a copy without them ([`scrubbed_copy`]).
    #[serde(skip)]
    pub scrubbed: Vec<credentials::Store>,
    /// The remotes' explicit push URLs (`remote.<name>.pushurl`) under `deny irreversible`:
    /// git pushes to them without `pushInsteadOf`, so night's refusal names each one.
    #[serde(skip)]
    pub push_urls: Vec<String>,
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
                    // Deleting any ref, a pseudo-ref such as AUTO_MERGE on every commit
                    // included, locks `packed-refs` in the common dir: its root is writable
                    // only when the mount layer keeps every entry there read-only, so that git
                    // can create and remove its lock files and nothing else changes.
                    writable_with_mounts.push(git.common.clone());
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
        let mut state_dirs = Vec::new();
        if let Some(home) = &home {
            let (dirs, files) = state_paths(&plan.agent.kind, home);
            writable.extend(dirs);
            writable_files.extend(files);
            // The agent's main state folder is made if missing: the agent could not make it
            // in the read-only home folder.
            if let Some(main) = own_state(&plan.agent.kind).0.first().map(|d| home.join(d)) {
                if !main.exists() {
                    writable.push(main.clone());
                    state_dirs.push(main);
                }
            }
        }

        let api_host = network::api_host(&plan.agent.kind, &|name| std::env::var(name).ok());
        let network = match crate::policy::network::resolve(&plan.permissions.network, &plan.agent.kind) {
            Network::On | Network::Auto => NetworkMode::Open,
            Network::Off => match &api_host {
                Some(host) => NetworkMode::Proxy { hosts: vec![host.clone()] },
                None => NetworkMode::Loopback,
            },
            Network::Allow(hosts) => {
                let mut hosts = hosts;
                hosts.extend(api_host.clone());
                hosts.dedup();
                NetworkMode::Proxy { hosts }
            }
        };

        // Under `deny irreversible` the credential stores are hidden (policy/credentials.rs).
        let (hidden, push_urls) = if plan.permissions.deny_irreversible {
            let tracked = tracked_in(&work_dir);
            (credentials::stores(home.as_deref(), &work_dir, &tracked, &plan.permissions.reveal, &|name| std::env::var(name).ok()), explicit_push_urls(&work_dir))
        } else {
            (Vec::new(), Vec::new())
        };
        let mut mounts = mount_plan(&repo, &work_dir, &run_dir, &tmp_dir, git.as_ref(), home.as_deref(), network != NetworkMode::Open);
        hide_stores(&mut mounts, &hidden);
        if plan.permissions.deny_irreversible && Path::new(SYSTEM_GIT_CONFIG).is_file() {
            // `env -i git push` drops GIT_CONFIG_*: the system configuration it still reads refuses too.
            mounts.push(MountPlan { path: PathBuf::from(SYSTEM_GIT_CONFIG), kind: MountKind::ReadOnly, from: Some(run_dir.join(GIT_CONFIG_FILE)) });
        }
        // A token in a remote's URL or an `http.extraHeader` is a credential git's own files hold.
        let scrubbed = if plan.permissions.deny_irreversible {
            credentials::git_configs_with_credentials(&common, &work_dir, home.as_deref(), &plan.permissions.reveal)
        } else {
            Vec::new()
        };
        for (index, store) in scrubbed.iter().enumerate() {
            mounts.push(MountPlan { path: store.path.clone(), kind: MountKind::ReadOnly, from: Some(scrubbed_copy(&run_dir, index)) });
        }
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
            state_dirs,
            notes,
            hidden,
            scrubbed,
            push_urls,
            git,
        }
    }

    /// The sandbox of the commands night runs from the agent's work (the baseline and the
    /// success checks): the agent's credential, network and git layers, with the whole work
    /// dir writable (tests write build output and caches anywhere in it) and no model API.
    pub fn for_checks(plan: &Plan, work_dir: &Path, git_common_dir: &Path, run_dir: &Path, home: Option<&Path>) -> SandboxSpec {
        let mut spec = SandboxSpec::from_plan(plan, work_dir, git_common_dir, run_dir, home);
        spec.writable.push(spec.work_dir.clone());
        spec.writable = minimal_roots(std::mem::take(&mut spec.writable));
        if let NetworkMode::Proxy { hosts } = &mut spec.network {
            if let Some(api) = &spec.api_host {
                hosts.retain(|h| h != api);
            }
        }
        spec.api_host = None;
        spec
    }
}

/// The system git configuration git reads even with an empty environment.
pub const SYSTEM_GIT_CONFIG: &str = "/etc/gitconfig";
/// Its copy with night's refusal appended, in the run folder.
pub const GIT_CONFIG_FILE: &str = "gitconfig";

/// Where the copy of the `index`-th git configuration of [`SandboxSpec::scrubbed`] is written.
pub fn scrubbed_copy(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(format!("gitconfig-without-credentials-{index}"))
}

/// Whether git tracks a path of the work dir (read from its index).
fn tracked_in(work_dir: &Path) -> impl Fn(&str) -> bool {
    let index = git2::Repository::open(work_dir).ok().and_then(|repo| repo.index().ok());
    move |path: &str| index.as_ref().is_some_and(|index| index.get_path(Path::new(path), 0).is_some())
}

/// Every `remote.<name>.pushurl` of the work dir's git configuration (all scopes), sorted.
fn explicit_push_urls(work_dir: &Path) -> Vec<String> {
    let Ok(config) = git2::Repository::open(work_dir).and_then(|repo| repo.config()) else { return Vec::new() };
    let mut urls = Vec::new();
    if let Ok(entries) = config.entries(Some(r"^remote\..*\.pushurl$")) {
        let _ = entries.for_each(|entry| {
            if let Some(url) = entry.value().filter(|url| !url.is_empty()) {
                urls.push(url.to_string());
                // As the agent reads it from a configuration without credentials.
                urls.push(credentials::git_config_without_credentials(url));
            }
        });
    }
    urls.sort();
    urls.dedup();
    urls
}

/// Hide each store (a mask), after dropping planned mounts beneath one (a mask over
/// `~/.docker` makes `~/.docker/run` vanish: a mount there would fail).
fn hide_stores(mounts: &mut Vec<MountPlan>, hidden: &[credentials::Store]) {
    mounts.retain(|m| !hidden.iter().any(|h| m.path.starts_with(&h.path) && m.path != h.path));
    for store in hidden {
        mounts.retain(|m| m.path != store.path);
        mounts.push(MountPlan { path: store.path.clone(), kind: MountKind::Mask, from: None });
    }
}

/// The hooks' audit trail in the run folder.
pub use crate::policy::audit::AUDIT_FILE;

/// Devices every program expects to write to; `/dev/pts` for terminals the agent opens itself.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"];

/// The smallest existing real folder (no symlink on the way) under `root` that holds `prefix`.
/// A path that names a file, or does not exist yet, gives the folder it would be in.
pub(super) fn coarsen(root: &Path, prefix: &str) -> PathBuf {
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
pub(super) fn parse_size(text: &str) -> Option<u64> {
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
pub(super) fn minimal_roots(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
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
/// Only those that exist are listed (Landlock needs an existing path).
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

pub(super) fn mount_plan(repo: &Path, work_dir: &Path, run_dir: &Path, tmp_dir: &Path, git: Option<&git::GitPaths>, home: Option<&Path>, isolated: bool) -> Vec<MountPlan> {
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
            // The common dir's root is the user's checkout's git dir: every entry read-only
            // (HEAD, index, config, hooks, refs, logs, packed-refs, the other worktrees), so
            // that only new files such as git's `packed-refs.lock` can be made there; then
            // this worktree's git dir and the run branch's folders again.
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&git.common)
                .map(|e| e.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.sort();
            for entry in entries.into_iter().filter(|entry| !entry.ends_with("objects")) {
                push(entry, MountKind::ReadOnly);
            }
            push(git.git_dir.clone(), MountKind::ReadWrite);
            for name in ["commondir", "gitdir"] {
                push(git.git_dir.join(name), MountKind::ReadOnly);
            }
            for dir in git.ref_dir().iter().chain(&git.branch_log_dir) {
                push(dir.clone(), MountKind::ReadWrite);
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

