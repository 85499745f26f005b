//! Everything the child needs, built before fork ([`prepare`]), and the system calls it makes
//! between fork and exec ([`Prepared::apply_in_child`]).

use super::{cvt, git, landlock, mounts, network, proxy, ActiveLayers, MountKind, SandboxError, SandboxSpec, AUDIT_FILE};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Everything the child needs, made before fork: the Landlock ruleset with its rules, paths as
/// C strings, mount plans, the uid/gid maps, and the socket the proxy's listener comes back on.
#[derive(Debug)]
pub struct Prepared {
    layers: ActiveLayers,
    /// The proxy's listener on the host's loopback (Landlock TCP layer), until it is served.
    host_listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    host_port: Option<u16>,
    landlock: Option<landlock::PreparedLandlock>,
    mounts: Option<mounts::PreparedMounts>,
    network: Option<network::PreparedNetwork>,
    user: Option<mounts::PreparedUser>,
    max_processes: Option<u64>,
    /// The parent's end of the channel the child reports the failing step on.
    step_read: Option<OwnedFd>,
    step_write: Option<OwnedFd>,
}

/// Build everything the child will need. Creates the temp folder, the run's object store and
/// the agent kind's state folder when missing.
pub fn prepare(spec: &SandboxSpec, layers: &ActiveLayers) -> Result<Prepared, SandboxError> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| SandboxError::Io { action, path, source }
    };
    // Rules and binds need their paths to exist: the temp folder, the run's object store, and
    // the reflogs a commit appends to.
    let mut folders = vec![spec.tmp_dir.clone(), git::run_objects(&spec.run_dir).join("pack")];
    folders.extend(spec.state_dirs.iter().cloned());
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
    // Without a network namespace the proxy listens on the host's loopback, and Landlock lets
    // TCP reach only its port.
    let host_listener = if layers.landlock_tcp && layers.proxy.is_some() {
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(io_error("open the proxy's port for", &spec.run_dir))?;
        Some(listener)
    } else {
        None
    };
    let host_port = host_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port());
    let tcp_ports: Vec<u16> = host_port.into_iter().collect();
    // The credential stores: with Landlock, reads everywhere but beneath them (on top of the
    // mount layer's masks, or instead of them where there are no namespaces).
    let hidden: Vec<PathBuf> = spec.hidden.iter().map(|s| s.path.clone()).collect();
    let readable = (!hidden.is_empty()).then(|| {
        let mut roots = landlock::read_roots(&hidden);
        // A file bound over another is read through its own rule: Landlock skips the mount
        // point, whose folder (the home folder) may have rules only for its entries.
        roots.extend((0..spec.scrubbed.len()).map(|index| super::spec::scrubbed_copy(&spec.run_dir, index)).filter(|_| layers.mounts));
        roots
    });
    if layers.mounts {
        write_git_config(spec)?;
        write_scrubbed_git_configs(spec)?;
    }
    let rules = landlock::Rules {
        writable: &writable,
        files: &writable_files,
        devices: &spec.devices,
        late: &tmpfs_roots,
        tcp_connect: layers.landlock_tcp.then_some(tcp_ports.as_slice()),
        readable: readable.as_deref(),
    };
    let landlock = match layers.landlock {
        Some(abi) => Some(landlock::prepare(abi, layers.landlock_scopes, &rules)?),
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
        host_listener: std::sync::Mutex::new(host_listener),
        host_port,
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

/// The system git configuration with night's refusal appended, for the bind the spec plans
/// over `/etc/gitconfig`.
fn write_git_config(spec: &SandboxSpec) -> Result<(), SandboxError> {
    let Some(plan) = spec.mounts.iter().find(|m| m.path == Path::new(super::spec::SYSTEM_GIT_CONFIG)) else { return Ok(()) };
    let Some(copy) = &plan.from else { return Ok(()) };
    let original = std::fs::read_to_string(&plan.path).unwrap_or_default();
    let text = format!("{original}{}", crate::policy::credentials::git_refusal_file(&spec.push_urls));
    std::fs::write(copy, text).map_err(|source| SandboxError::Io { action: "write", path: copy.clone(), source })
}

/// The copies of the git configurations that hold credentials, without them, for the binds the
/// spec plans over each. A copy that cannot be written is an error: the bind would be skipped.
fn write_scrubbed_git_configs(spec: &SandboxSpec) -> Result<(), SandboxError> {
    for (index, store) in spec.scrubbed.iter().enumerate() {
        let copy = super::spec::scrubbed_copy(&spec.run_dir, index);
        let original = std::fs::read_to_string(&store.path).map_err(|source| SandboxError::Io { action: "read", path: store.path.clone(), source })?;
        let text = crate::policy::credentials::git_config_without_credentials(&original);
        std::fs::write(&copy, text).map_err(|source| SandboxError::Io { action: "write", path: copy.clone(), source })?;
    }
    Ok(())
}

/// Replace every folder of `writable` that holds a `protected` path by its entries, recursively,
/// leaving the protected paths out: (folders, files). Writable paths inside a protected one
/// (the run's temp folder in the run folder) are kept as they are.
pub(super) fn split_around(writable: &[PathBuf], protected: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
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
        let Some(hosts) = &self.layers.proxy else {
            return Ok(None);
        };
        let listener = match &self.network {
            Some(network) => network.receive_listener()?,
            None => match self.host_listener.lock().ok().and_then(|mut l| l.take()) {
                Some(listener) => listener,
                None => return Ok(None),
            },
        };
        Ok(Some(proxy::Proxy::serve(listener, hosts)?))
    }

    /// The port the agent reaches the proxy on (`None`: no proxy).
    pub fn proxy_port(&self) -> Option<u16> {
        self.layers.proxy.as_ref()?;
        if self.network.is_some() {
            Some(network::PROXY_PORT)
        } else {
            self.host_port
        }
    }
}


/// The user namespace of a process, as `/proc/<pid>/ns/user` names it (`user:[4026532…]`).
pub fn user_namespace_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/user")).ok().map(|p| p.to_string_lossy().into_owned())
}

/// A process found in the agent's user namespace after its session, as `night` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// Its pid.
    pub pid: i32,
    /// Its command line as `/proc` shows it, bounded; `None` when it has none left (it was
    /// already exiting: a process that was ending by itself, not one left running).
    pub command: Option<String>,
}

/// SIGKILL every process in the user namespace `namespace` (the agent's own: processes that
/// left its process group with `setsid` are still in it), until none is left or a few rounds
/// have passed. Returns the ones found alive. Night's own namespace is never a target.
pub fn end_namespace(namespace: &str) -> Vec<Leftover> {
    if user_namespace_of(std::process::id()).as_deref() == Some(namespace) {
        return Vec::new();
    }
    let mut ended: Vec<Leftover> = Vec::new();
    for _ in 0..20 {
        let mut found = false;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            if std::fs::read_link(entry.path().join("ns/user")).ok().is_some_and(|ns| ns.to_string_lossy() == namespace) {
                // Read before the signal: a killed process's command line is gone.
                let command = command_of(pid);
                // A zombie keeps its namespace link until reaped; signalling it is harmless.
                if is_alive(pid) && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).is_ok() {
                    found = true;
                    if !ended.iter().any(|l| l.pid == pid) {
                        ended.push(Leftover { pid, command });
                    }
                }
            }
        }
        if !found {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ended
}

/// A process's command line; `None` when it has none (a process already exiting has given
/// its memory back, and with it its arguments).
fn command_of(pid: i32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = cmdline.split(|b| *b == 0).filter(|w| !w.is_empty()).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
    let text = words.join(" ");
    (!text.is_empty()).then(|| text.chars().take(120).collect())
}

fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|i| stat[i + 1..].trim_start().starts_with(['Z', 'X'])))
        .is_some_and(|dead| !dead)
}
