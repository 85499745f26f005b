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

pub mod checks;
pub mod env;
pub mod git;
pub mod landlock;
mod layers;
pub mod mounts;
pub mod network;
mod prepared;
pub mod probe;
pub mod proxy;
mod spec;

/// What the OS says when the sandbox refuses something: Landlock's EACCES, a read-only
/// mount's EROFS, a refused signal or operation's EPERM. Read in the agent's output and in its
/// tools' results, to report what the sandbox refused.
pub const OS_REFUSALS: &[&str] = &["Permission denied", "Read-only file system", "Operation not permitted"];

/// Whether a line of the agent's output says the sandbox refused something
/// ([`OS_REFUSALS`]). One line is left out: git 2.45 and later take `packed-refs.lock` on every
/// ref update, and when the lock cannot be made (the git folder's root is read-only in the
/// sandbox, so that no other branch can be rewritten through `packed-refs`) print
/// `error: Unable to create '…/packed-refs.lock': Permission denied` and make the commit all
/// the same. Counting it would report a refusal after every commit. An update that needs the
/// lock fails with its own line (`could not delete reference …: Unable to create …`), which counts.
pub fn is_os_refusal(line: &str) -> bool {
    let line = line.trim();
    let git_lock_attempt = line.starts_with("error: Unable to create '") && line.ends_with("packed-refs.lock': Permission denied");
    !git_lock_attempt && OS_REFUSALS.iter().any(|said| line.contains(said))
}

pub use layers::{layers, ActiveLayers, LANDLOCK_MAX_ABI, LANDLOCK_MIN_ABI};
pub use network::NetworkMode;
pub use prepared::{end_namespace, prepare, user_namespace_of, Leftover, Prepared, Step};
pub use probe::{probe, Capabilities};
pub use spec::{own_state, MountKind, MountPlan, SandboxSpec, AUDIT_FILE};

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
