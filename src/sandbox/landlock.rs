//! The Landlock layer: the agent may write only beneath the folders the spec lists.
//!
//! Only write rights are handled, so reading and executing stay allowed everywhere (`read`
//! globs are not enforced by the OS; see `docs/sandbox.md`). The ruleset is built with the
//! `landlock` crate before fork, with every rule's path opened then; the child only calls
//! `prctl(PR_SET_NO_NEW_PRIVS)`, adds rules for the tmpfs folders it has just mounted (a mount
//! hides the rules of the folder beneath it), and `landlock_restrict_self`.
//!
//! What each ABI adds (night asks for the rights of the kernel's ABI, at most
//! [`super::LANDLOCK_MAX_ABI`], and needs at least [`super::LANDLOCK_MIN_ABI`]):
//! v1 create, write, remove, rename within a folder · v2 `refer` (rename and link across
//! folders) · v3 `truncate` · v4 TCP bind/connect (not used: the network namespace is
//! stronger) · v5 `ioctl` on devices · v6 scoping of signals and abstract unix sockets · v7
//! audit logging of denials.

use super::{c_path, cvt, SandboxError};
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The ruleset, ready to be applied in the child.
#[derive(Debug)]
pub struct PreparedLandlock {
    ruleset: OwnedFd,
    /// Folders mounted in the child that need their own rule.
    late_rules: Vec<CString>,
    /// The rights those rules give.
    late_access: u64,
}

/// The raw `struct landlock_path_beneath_attr` (packed in the kernel's ABI).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// The crate's ABI for a version number.
pub fn abi(version: i32) -> ABI {
    ABI::from(version)
}

/// Every write right of `abi`.
pub fn write_rights(abi: ABI) -> BitFlags<AccessFs> {
    AccessFs::from_write(abi)
}

fn landlock_error(path: &Path, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Landlock { path: path.to_path_buf(), reason: error.to_string() }
}

/// What the ruleset allows.
#[derive(Debug, Clone, Default)]
pub struct Rules<'a> {
    /// Folders writable with everything beneath.
    pub writable: &'a [PathBuf],
    /// Files writable in place.
    pub files: &'a [PathBuf],
    /// Devices writable and usable with ioctl.
    pub devices: &'a [PathBuf],
    /// Folders mounted in the child (tmpfs, overlays) that get their rule there.
    pub late: &'a [PathBuf],
    /// `Some(ports)`: TCP `connect` is denied but to these ports (ABI 4); `None`: not handled.
    pub tcp_connect: Option<&'a [u16]>,
    /// `Some(paths)`: reading files is denied but beneath these (and what is writable);
    /// `None`: reads are not handled. See [`read_roots`].
    pub readable: Option<&'a [PathBuf]>,
}

/// Every path a process may read except `hidden`: the entries of each folder on the way from
/// `/` to a hidden path, but the hidden one, the folders on the way being split the same way.
/// Landlock has no deny rule, so hiding `~/.ssh` means allowing every sibling of it, of
/// `~`, of `/home` … Symlinks get no rule: what they point to is checked where it lies.
pub fn read_roots(hidden: &[PathBuf]) -> Vec<PathBuf> {
    let hidden: Vec<PathBuf> = hidden.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())).collect();
    let mut roots = Vec::new();
    if hidden.is_empty() {
        return vec![PathBuf::from("/")];
    }
    let mut pending = vec![PathBuf::from("/")];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() || hidden.contains(&path) {
                continue;
            }
            if kind.is_dir() && hidden.iter().any(|h| h.starts_with(&path)) {
                pending.push(path);
            } else {
                roots.push(path);
            }
        }
    }
    roots.sort();
    roots
}

/// Build the ruleset: every write right of `version` handled (denied unless a rule allows it),
/// with the rules of `rules`.
pub fn prepare(version: i32, scopes: bool, rules: &Rules<'_>) -> Result<PreparedLandlock, SandboxError> {
    let Rules { writable, files, devices, late, tcp_connect, readable } = rules;
    let abi = abi(version);
    let read: BitFlags<AccessFs> = if readable.is_some() { AccessFs::ReadFile.into() } else { BitFlags::empty() };
    let rights = write_rights(abi) | read;
    let file_rights = rights & AccessFs::from_file(abi);
    let generic = Path::new("the ruleset");
    // A hard requirement: the rights asked for are those the kernel reported, so anything
    // less than full enforcement is an error rather than a silent downgrade.
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(rights)
        .map_err(|e| landlock_error(generic, e))?;
    if scopes {
        ruleset = ruleset.scope(Scope::from_all(ABI::V6)).map_err(|e| landlock_error(generic, e))?;
    }
    if tcp_connect.is_some() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp).map_err(|e| landlock_error(generic, e))?;
    }
    let mut created = ruleset.create().map_err(|e| landlock_error(generic, e))?;
    for port in tcp_connect.iter().copied().flatten() {
        created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp)).map_err(|e| landlock_error(generic, e))?;
    }
    for path in writable.iter() {
        // A folder that vanished cannot be written anyway.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access = if path.is_dir() { rights } else { file_rights };
        created = created.add_rule(PathBeneath::new(fd, access)).map_err(|e| landlock_error(path, e))?;
    }
    for path in files.iter().chain(devices.iter()) {
        let Ok(fd) = PathFd::new(path) else { continue };
        created = created.add_rule(PathBeneath::new(fd, file_rights)).map_err(|e| landlock_error(path, e))?;
    }
    for path in readable.iter().copied().flatten() {
        let Ok(fd) = PathFd::new(path) else { continue };
        created = created.add_rule(PathBeneath::new(fd, read)).map_err(|e| landlock_error(path, e))?;
    }
    let late_rules = late.iter().map(|p| c_path(p)).collect::<Result<Vec<_>, _>>()?;
    let ruleset: Option<OwnedFd> = created.into();
    let ruleset = ruleset.ok_or_else(|| landlock_error(generic, "the kernel gave no ruleset"))?;
    Ok(PreparedLandlock { ruleset, late_rules, late_access: rights.bits() })
}

impl PreparedLandlock {
    /// In the child: no new privileges, the late rules, then confine the process for good.
    pub fn restrict_self(&self) -> io::Result<()> {
        let ruleset = self.ruleset.as_raw_fd();
        // SAFETY: raw system calls on a live ruleset descriptor, NUL-terminated paths and an
        // attribute struct on the stack.
        unsafe {
            // Landlock requires it (or CAP_SYS_ADMIN); it also stops setuid programs from
            // regaining what the sandbox takes away.
            cvt(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            for path in &self.late_rules {
                let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let attr = PathBeneathAttr { allowed_access: self.late_access, parent_fd: fd };
                let added = libc::syscall(libc::SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &raw const attr, 0u32);
                let error = io::Error::last_os_error();
                libc::close(fd);
                if added != 0 {
                    return Err(error);
                }
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
