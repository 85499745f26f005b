//! One supervisor per run: an exclusive `flock` on `supervisor.lock` in the run folder, held
//! for the supervisor's whole life and holding its pid. The kernel drops the lock when the
//! process dies however it dies (SIGKILL, a crash), so "locked" means "a supervisor is alive":
//! `night status`, `list`, `stop` and `resume` ask the lock, never a pid alone.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock's file name in the run folder.
pub const LOCK_FILE: &str = "supervisor.lock";

/// The lock, held while this value lives.
#[derive(Debug)]
pub struct RunLock {
    _file: Flock<File>,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another supervisor holds it.
    #[error("a supervisor is already running this run{}", .0.map(|pid| format!(" (pid {pid})")).unwrap_or_default())]
    Held(Option<u32>),
    /// The file cannot be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl RunLock {
    /// Take the run's lock and write this process's pid into it.
    pub fn acquire(run_dir: &Path) -> Result<RunLock, LockError> {
        let path = run_dir.join(LOCK_FILE);
        let io = |source: std::io::Error| LockError::Io { path: path.clone(), source };
        // A reader probing the lock holds it for an instant: try a few times before refusing.
        let mut tries = 0;
        let mut lock = loop {
            // The std library opens with O_CLOEXEC: the agent never inherits (and so never keeps) the lock.
            let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => break lock,
                Err((_, Errno::EWOULDBLOCK)) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err((_, Errno::EWOULDBLOCK)) => return Err(LockError::Held(read_pid(&path))),
                Err((_, errno)) => return Err(io(errno.into())),
            }
        };
        lock.set_len(0).map_err(io)?;
        lock.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(lock, "{}", std::process::id()).and_then(|()| lock.sync_data()).map_err(io)?;
        Ok(RunLock { _file: lock, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Held by a starting supervisor from its look for live runs until its own run is locked
/// (`night run` through preflight, `night resume` around its look): two starts at once take
/// turns, so the second sees the first's run lock and refuses instead of both passing the
/// look and fighting over the checkout. A `flock` on the repository's folder itself: nothing
/// is created in the repository, and the kernel drops it however the process ends.
#[derive(Debug)]
pub struct StartLock {
    _dir: Flock<File>,
}

/// The longest a start waits for another start's preflight in the same repository.
const START_WAIT: Duration = Duration::from_secs(60);

impl StartLock {
    /// Wait (bounded) for the repository's start lock.
    pub fn acquire(repo: &Path) -> Result<StartLock, LockError> {
        let io = |source: std::io::Error| LockError::Io { path: repo.to_path_buf(), source };
        let started = std::time::Instant::now();
        loop {
            let dir = File::open(repo).map_err(io)?;
            match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(StartLock { _dir: lock }),
                Err((_, Errno::EWOULDBLOCK)) if started.elapsed() < START_WAIT => std::thread::sleep(Duration::from_millis(50)),
                Err((_, Errno::EWOULDBLOCK)) => return Err(io(std::io::Error::other("another `night` has been starting a run here for a minute"))),
                Err((_, errno)) => return Err(io(errno.into())),
            }
        }
    }
}

/// The pid of the live supervisor of the run in `run_dir`, or `None` when none is alive.
pub fn holder(run_dir: &Path) -> Option<u32> {
    let path = run_dir.join(LOCK_FILE);
    let file = File::open(&path).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Free: no supervisor. Dropping the `Flock` releases the probe at once.
        Ok(_) => None,
        Err((_, Errno::EWOULDBLOCK)) => Some(read_pid(&path).unwrap_or(0)),
        Err(_) => None,
    }
}

/// Whether a supervisor holds the run's lock.
pub fn is_live(run_dir: &Path) -> bool {
    holder(run_dir).is_some()
}

fn read_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(holder(dir.path()), None);
        let lock = RunLock::acquire(dir.path()).expect("first");
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        match RunLock::acquire(dir.path()) {
            Err(LockError::Held(pid)) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(lock);
        assert_eq!(holder(dir.path()), None);
        let _again = RunLock::acquire(dir.path()).expect("free again");
    }
}
