//! Wake the supervisor when the run branch may have moved: inotify (or the platform's
//! equivalent) on the folder of the branch's loose ref and on the git folder (packed-refs),
//! so that `idle` and commit events need no polling.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// A watch on the run branch's ref.
pub struct RefWatch {
    _watcher: RecommendedWatcher,
    events: mpsc::Receiver<()>,
}

impl RefWatch {
    /// Watch the folder holding `ref_path` (git replaces the file on every update, so the
    /// file itself cannot be watched) and `git_dir`, the folder holding `packed-refs`.
    pub fn new(ref_path: &Path, git_dir: Option<&Path>) -> notify::Result<Self> {
        // Capacity 1 is enough: one pending wake-up covers any number of changes.
        let (sender, events) = mpsc::channel(1);
        let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
            if result.is_ok() {
                let _ = sender.try_send(());
            }
        })?;
        let mut folders: Vec<PathBuf> = ref_path.parent().map(Path::to_path_buf).into_iter().collect();
        folders.extend(git_dir.map(Path::to_path_buf));
        folders.dedup();
        let mut watched = 0;
        let mut last_error = None;
        for folder in &folders {
            match watcher.watch(folder, RecursiveMode::NonRecursive) {
                Ok(()) => watched += 1,
                Err(e) => last_error = Some(e),
            }
        }
        match last_error {
            Some(e) if watched == 0 => Err(e),
            _ => Ok(Self { _watcher: watcher, events }),
        }
    }

    /// Resolves when something changed in a watched folder.
    pub async fn changed(&mut self) -> Option<()> {
        self.events.recv().await
    }
}

/// The git folder holding `refs/` (the common one for worktrees), from the loose ref's path.
pub fn git_dir_of(ref_path: &Path, branch: &str) -> Option<PathBuf> {
    let depth = branch.split('/').count() + 2;
    let candidate = ref_path.ancestors().nth(depth)?;
    candidate.join("refs").is_dir().then(|| candidate.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replaced_ref_wakes_the_watch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let heads = dir.path().join("refs/heads/night/x");
        std::fs::create_dir_all(&heads).expect("mkdir");
        let ref_path = heads.join("20250101-0000");
        std::fs::write(&ref_path, "a\n").expect("write");
        assert_eq!(git_dir_of(&ref_path, "night/x/20250101-0000").as_deref(), Some(dir.path()));
        let mut watch = RefWatch::new(&ref_path, git_dir_of(&ref_path, "night/x/20250101-0000").as_deref()).expect("watch");
        let lock = heads.join("20250101-0000.lock");
        std::fs::write(&lock, "b\n").expect("write lock");
        std::fs::rename(&lock, &ref_path).expect("rename");
        let woke = tokio::time::timeout(std::time::Duration::from_secs(5), watch.changed()).await;
        assert_eq!(woke.ok().flatten(), Some(()));
    }
}
