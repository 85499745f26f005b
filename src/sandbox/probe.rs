//! What the kernel offers: the Landlock ABI and whether user, mount and network namespaces can
//! be created. Probed once per process: each answer is a real system call, the namespaces ones
//! in a short-lived child.

use serde::Serialize;
use std::sync::OnceLock;

/// The kernel's sandboxing features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Landlock's ABI version (`None`: not built in or not enabled).
    pub landlock_abi: Option<i32>,
    /// Why Landlock is missing.
    pub landlock_error: Option<String>,
    /// A user namespace can be created (and its id maps written).
    pub user_namespaces: bool,
    /// A mount namespace can be created inside it and a tmpfs mounted.
    pub mount_namespaces: bool,
    /// A network namespace can be created inside it.
    pub network_namespaces: bool,
    /// Why namespaces are missing.
    pub namespace_error: Option<String>,
    /// Night runs as root (the process limit does not apply to root).
    pub root: bool,
}

/// Probe once and remember.
pub fn probe() -> Capabilities {
    static CAPABILITIES: OnceLock<Capabilities> = OnceLock::new();
    CAPABILITIES.get_or_init(probe_now).clone()
}

fn probe_now() -> Capabilities {
    let (landlock_abi, landlock_error) = landlock_abi();
    let (user_namespaces, mount_namespaces, network_namespaces, namespace_error) = namespaces();
    Capabilities {
        landlock_abi,
        landlock_error,
        user_namespaces,
        mount_namespaces,
        network_namespaces,
        namespace_error,
        // SAFETY: geteuid cannot fail.
        root: unsafe { libc::geteuid() } == 0,
    }
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)` returns the ABI version.
fn landlock_abi() -> (Option<i32>, Option<String>) {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute and the VERSION flag the call only returns a number.
    let version = unsafe {
        libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, LANDLOCK_CREATE_RULESET_VERSION)
    };
    if version > 0 {
        // The crate's ABI enum names the version; it clamps versions newer than it knows.
        let abi = landlock::ABI::from(i32::try_from(version).unwrap_or(i32::MAX));
        let known = abi as i32;
        return (Some(i32::try_from(version).unwrap_or(known)), None);
    }
    let error = std::io::Error::last_os_error();
    let reason = match error.raw_os_error() {
        Some(libc::EOPNOTSUPP) => "Landlock is built into the kernel but not enabled (add `landlock` to the `lsm=` boot option)".to_string(),
        Some(libc::ENOSYS) => "the kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)".to_string(),
        _ => format!("Landlock cannot be queried: {error}"),
    };
    (None, Some(reason))
}

/// Try, in a forked child, what the sandbox will do: unshare user + mount + network
/// namespaces, write the id maps, mount a tmpfs. Each step's failure is reported by exit code.
fn namespaces() -> (bool, bool, bool, Option<String>) {
    // Work out everything before fork: the child only makes system calls.
    let user = super::mounts::PreparedUser::current();
    let none = c"none";
    let tmpfs = c"tmpfs";
    let target = c"/";
    // SAFETY: the child makes only async-signal-safe calls and always ends with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return (false, false, false, Some(format!("cannot fork to probe namespaces: {}", std::io::Error::last_os_error())));
    }
    if pid == 0 {
        // SAFETY: in the child; only system calls, then _exit.
        unsafe {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                libc::_exit(10);
            }
            if user.write_maps().is_err() {
                libc::_exit(11);
            }
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                libc::_exit(20);
            }
            if libc::mount(none.as_ptr(), target.as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
                libc::_exit(21);
            }
            // Mounting over / inside the private namespace is harmless and proves tmpfs works.
            if libc::mount(tmpfs.as_ptr(), target.as_ptr(), tmpfs.as_ptr(), 0, std::ptr::null()) != 0 {
                libc::_exit(22);
            }
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                libc::_exit(30);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    let reason = |what: &str| {
        let hint = match std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone") {
            Ok(value) if value.trim() == "0" => " (`kernel.unprivileged_userns_clone` is 0)",
            _ => match std::fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") {
                Ok(value) if value.trim() == "1" => " (AppArmor restricts unprivileged user namespaces)",
                _ => "",
            },
        };
        Some(format!("{what}{hint}"))
    };
    match code {
        0 => (true, true, true, None),
        10 => (false, false, false, reason("user namespaces cannot be created")),
        11 => (false, false, false, reason("a user namespace's id maps cannot be written")),
        20..=22 => (true, false, false, reason("mount namespaces or tmpfs cannot be used in a user namespace")),
        30 => (true, true, false, reason("network namespaces cannot be created in a user namespace")),
        _ => (false, false, false, Some("the namespace probe died".to_string())),
    }
}
