//! The user namespace's id maps and the mount layer: in the agent's private mount namespace,
//! read-only binds over what it must not change, masks over host sockets, and private tmpfs
//! temp folders. Everything is turned into C strings before fork; [`PreparedMounts::apply`]
//! and [`PreparedUser::write_maps`] only make system calls.
//!
//! Mounts made here live only in the agent's namespace: the rest of the system never sees them,
//! and they vanish with the agent's last process. Landlock forbids the agent to undo them
//! (a Landlock-restricted process cannot mount or unmount).

use super::{c_path, cvt, MountKind, MountPlan, SandboxError};
use std::ffi::CString;
use std::io;

/// The uid and gid maps of the new user namespace: the caller's own ids, mapped to themselves,
/// so files keep their owner and the agent gains no privilege over anything outside.
#[derive(Debug, Clone)]
pub struct PreparedUser {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl PreparedUser {
    /// The maps for the calling process's effective ids.
    pub fn current() -> Self {
        // SAFETY: geteuid and getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Self::for_ids(uid, gid)
    }

    /// The maps for a child that switches to `uid` and `gid` before the sandbox is applied.
    pub fn for_ids(uid: u32, gid: u32) -> Self {
        PreparedUser { uid_map: format!("{uid} {uid} 1\n").into_bytes(), gid_map: format!("{gid} {gid} 1\n").into_bytes() }
    }

    /// Write `/proc/self/{setgroups,uid_map,gid_map}`; just after `unshare(CLONE_NEWUSER)`.
    /// An unprivileged process must deny setgroups before it may write its gid map.
    pub fn write_maps(&self) -> io::Result<()> {
        // A process that switched user (Command::uid) is not dumpable, which makes its own
        // /proc files root's; it must own them to write its maps. exec resets this anyway.
        // SAFETY: a plain system call.
        cvt(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) })?;
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", &self.uid_map)?;
        write_file(c"/proc/self/gid_map", &self.gid_map)
    }
}

fn write_file(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a live buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        let error = io::Error::last_os_error();
        libc::close(fd);
        if usize::try_from(written).ok() != Some(data.len()) {
            return Err(error);
        }
    }
    Ok(())
}

/// One mount, ready for the child.
#[derive(Debug)]
struct PreparedMount {
    path: CString,
    /// What a bind binds (`None`: the path itself).
    source: Option<CString>,
    kind: MountKind,
    /// For a tmpfs: `size=…,mode=…`.
    options: CString,
    /// Whether the path is a folder (a mask is a tmpfs then, else a bind of /dev/null).
    is_dir: bool,
}

/// The mount layer, ready for the child.
#[derive(Debug)]
pub struct PreparedMounts {
    mounts: Vec<PreparedMount>,
}

impl PreparedMounts {
    /// Convert the plan; paths that vanished since it was made are skipped (a bind needs them).
    pub fn new(plans: &[MountPlan]) -> Result<Self, SandboxError> {
        let mut mounts = Vec::new();
        for plan in plans {
            let Ok(meta) = std::fs::metadata(&plan.path) else { continue };
            let options = match plan.kind {
                MountKind::Tmpfs { size, mode } => format!("size={size},mode={mode:o}"),
                MountKind::Mask => "size=4k,mode=755".to_string(),
                MountKind::Overlay => {
                    let Some(state) = &plan.from else { continue };
                    let (lower, upper, work) = (plan.path.display().to_string(), state.join("upper").display().to_string(), state.join("work").display().to_string());
                    // Commas and colons separate overlayfs's options and layers: such a
                    // folder keeps its plain Landlock rule instead.
                    if [&lower, &upper, &work].iter().any(|p| p.contains([',', ':', '\\'])) {
                        continue;
                    }
                    format!("lowerdir={lower},upperdir={upper},workdir={work}")
                }
                _ => String::new(),
            };
            if plan.kind != MountKind::Overlay && plan.from.as_deref().is_some_and(|from| !from.exists()) {
                continue;
            }
            mounts.push(PreparedMount {
                path: c_path(&plan.path)?,
                source: plan.from.as_deref().map(c_path).transpose()?,
                kind: plan.kind,
                options: CString::new(options).map_err(|_| SandboxError::BadPath(plan.path.clone()))?,
                is_dir: meta.is_dir(),
            });
        }
        Ok(PreparedMounts { mounts })
    }

    /// Make every mount, in order, after making the whole tree private so nothing propagates
    /// back to the host. Runs in the child, inside the new user and mount namespaces.
    pub fn apply(&self) -> io::Result<()> {
        let none = c"none";
        // SAFETY: mount(2) with NUL-terminated strings that outlive the calls.
        unsafe {
            cvt(libc::mount(none.as_ptr(), c"/".as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            for mount in &self.mounts {
                let path = mount.path.as_ptr();
                match mount.kind {
                    MountKind::ReadOnly | MountKind::ReadWrite => {
                        let source = mount.source.as_ref().map_or(path, |s| s.as_ptr());
                        cvt(libc::mount(source, path, std::ptr::null(), libc::MS_BIND | libc::MS_REC, std::ptr::null()))?;
                        // A remount in a user namespace must keep the flags the kernel locked
                        // (nosuid, nodev, noexec, atime): read them back and add or drop ro.
                        let mut flags = libc::MS_BIND | libc::MS_REMOUNT | locked_flags(path)?;
                        if mount.kind == MountKind::ReadOnly {
                            flags |= libc::MS_RDONLY;
                        }
                        cvt(libc::mount(none.as_ptr(), path, std::ptr::null(), flags, std::ptr::null()))?;
                    }
                    MountKind::Mask if mount.is_dir => {
                        let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                        cvt(libc::mount(c"tmpfs".as_ptr(), path, c"tmpfs".as_ptr(), flags, mount.options.as_ptr().cast()))?;
                    }
                    MountKind::Mask => {
                        cvt(libc::mount(c"/dev/null".as_ptr(), path, std::ptr::null(), libc::MS_BIND, std::ptr::null()))?;
                    }
                    MountKind::Overlay => {
                        let flags = libc::MS_NOSUID | libc::MS_NODEV;
                        cvt(libc::mount(c"overlay".as_ptr(), path, c"overlay".as_ptr(), flags, mount.options.as_ptr().cast()))?;
                    }
                    MountKind::Tmpfs { .. } => {
                        let flags = libc::MS_NOSUID | libc::MS_NODEV;
                        cvt(libc::mount(c"tmpfs".as_ptr(), path, c"tmpfs".as_ptr(), flags, mount.options.as_ptr().cast()))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The mount flags of the mount holding `path` that a remount must repeat.
///
/// # Safety
/// `path` must be a valid NUL-terminated string.
unsafe fn locked_flags(path: *const libc::c_char) -> io::Result<libc::c_ulong> {
    // SAFETY: statvfs fills the zeroed struct on the stack. glibc takes the flags from
    // statfs(2)'s f_flags (Linux 2.6.36 and later) without reading /proc/mounts.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::statvfs(path, &mut stat) })?;
    let from = stat.f_flag;
    // statfs's ST_* bits (linux/statfs.h), which libc does not export for every target.
    let pairs: [(u64, libc::c_ulong); 6] = [
        (2, libc::MS_NOSUID),
        (4, libc::MS_NODEV),
        (8, libc::MS_NOEXEC),
        (1024, libc::MS_NOATIME),
        (2048, libc::MS_NODIRATIME),
        (4096, libc::MS_RELATIME),
    ];
    Ok(pairs.iter().filter(|(st, _)| from & st != 0).fold(0, |acc, (_, ms)| acc | ms))
}
