//! File locks that the kernel drops when their holder dies, however it dies (SIGKILL, a
//! crash): "locked" means "the holder is alive", which a pid alone cannot say. A
//! [`PidLock`] holds a file exclusively with the holder's pid in it (night's supervisor lock);
//! a [`DirLock`] takes turns on a folder without writing anything into it.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A live process holds it.
    #[error("it is held{}", .0.map(|pid| format!(" by pid {pid}")).unwrap_or_default())]
    Held(Option<u32>),
    /// It stayed held for as long as the caller would wait.
    #[error("it stayed held for {}s", .0.as_secs())]
    Busy(Duration),
    /// The file cannot be opened or locked.
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// An exclusive lock on a file holding this process's pid, held while this value lives.
#[derive(Debug)]
pub struct PidLock {
    _file: Flock<File>,
    path: PathBuf,
}

impl PidLock {
    /// Take the lock on `path` (created if missing) and write this process's pid into it.
    pub fn acquire(path: &Path) -> Result<PidLock, LockError> {
        let io = |source: std::io::Error| LockError::Io { path: path.to_path_buf(), source };
        // A reader probing the lock holds it for an instant: try a few times before refusing.
        let mut tries = 0;
        let mut lock = loop {
            // The std library opens with O_CLOEXEC: a child never inherits (and so never keeps) the lock.
            let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => break lock,
                Err((_, Errno::EWOULDBLOCK)) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err((_, Errno::EWOULDBLOCK)) => return Err(LockError::Held(read_pid(path))),
                Err((_, errno)) => return Err(io(errno.into())),
            }
        };
        lock.set_len(0).map_err(io)?;
        lock.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(lock, "{}", std::process::id()).and_then(|()| lock.sync_data()).map_err(io)?;
        Ok(PidLock { _file: lock, path: path.to_path_buf() })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid of the live holder of the lock on `path`, `Some(0)` when it is held but names no
/// pid, `None` when nobody holds it.
pub fn holder(path: &Path) -> Option<u32> {
    let file = File::open(path).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Free: dropping the `Flock` releases the probe at once.
        Ok(_) => None,
        Err((_, Errno::EWOULDBLOCK)) => Some(read_pid(path).unwrap_or(0)),
        Err(_) => None,
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// An exclusive `flock` on a folder itself: nothing is created in it.
#[derive(Debug)]
pub struct DirLock {
    _dir: Flock<File>,
}

impl DirLock {
    /// Wait for the folder's lock, at most `wait`.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<DirLock, LockError> {
        let io = |source: std::io::Error| LockError::Io { path: dir.to_path_buf(), source };
        let started = std::time::Instant::now();
        loop {
            let file = File::open(dir).map_err(io)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(DirLock { _dir: lock }),
                Err((_, Errno::EWOULDBLOCK)) if started.elapsed() < wait => std::thread::sleep(Duration::from_millis(50)),
                Err((_, Errno::EWOULDBLOCK)) => return Err(LockError::Busy(wait)),
                Err((_, errno)) => return Err(io(errno.into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.lock");
        assert_eq!(holder(&path), None);
        let lock = PidLock::acquire(&path).expect("first");
        assert_eq!(holder(&path), Some(std::process::id()));
        match PidLock::acquire(&path) {
            Err(LockError::Held(pid)) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(lock);
        assert_eq!(holder(&path), None);
        let _again = PidLock::acquire(&path).expect("free again");
    }
}
