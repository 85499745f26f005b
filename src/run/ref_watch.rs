//! Wake the supervisor when the run branch has moved: a watch (inotify or the platform's
//! equivalent) on the folders of the branch's loose ref, and on `packed-refs` while the branch
//! has no loose ref, so that `idle` and commit events need no polling.
//!
//! The git folder is read all the time (every `git status` of the agent's, night's own look at
//! the branch), and the watcher library reports reads too (`notify` 8 asks inotify for `OPEN`):
//! a watch that woke the supervisor for them fed itself, since every look is a read (issue 19).
//! Three guards, each enough on its own for the loop:
//! 1. Only a change to the branch's ref file or to `packed-refs` counts: a file created,
//!    written, renamed or removed, never an access (open, read, close without writing).
//! 2. A wake-up reads the tip from those two small files, without opening the repository,
//!    and resolves [`RefWatch::changed`] only when it differs from the last one read.
//! 3. At most one look per [`MIN_GAP`], whatever the library reports.
//!
//! The git folder itself is not watched: every git command of every agent working in the
//! repository opens `config` there (and lists `refs`), and with a batch's eight agents in one
//! repository each run's watcher thread woke some 110 times a second for those opens alone, to
//! drop them. A branch's tip moves in its loose ref (git writes one on every update, even of a
//! packed branch); `packed-refs` alone holds it only after `git pack-refs --all` removed the
//! loose ref, and only then is that file watched (a file watch: opens of the file still reach
//! the watcher's thread, but git opens it far less often than `config`).
//!
//! `git pack-refs` (and `git gc`) removes the branch's folders along with its loose ref; the
//! next commit makes them again. A change to those folders, or the loose ref's removal, re-arms
//! the watch, then looks: arming before reading leaves no gap for a commit to slip through
//! unseen.

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The least time between two looks at the branch's files.
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// A watch on the run branch's tip.
pub struct RefWatch {
    files: Arc<BranchFiles>,
    watcher: RecommendedWatcher,
    /// Set by the watcher when the branch's folders changed: arm again before the next look.
    rearm: Arc<AtomicBool>,
    wakes: mpsc::Receiver<()>,
    /// Whether `packed-refs` is watched (only while the branch has no loose ref).
    packed_watched: bool,
    /// Every event the watcher delivered, wanted or not.
    heard: Arc<AtomicU64>,
    /// The tip last read (`None`: the branch has no ref).
    tip: Option<String>,
    /// A wake-up received and not yet looked into (kept across a cancelled [`RefWatch::changed`]).
    pending: bool,
    next_look: Option<Instant>,
    looks: u64,
}

impl RefWatch {
    /// Watch the branch `branch` (its short name, `night/x/…`) of the repository whose common
    /// git folder is `git_dir`.
    pub fn new(git_dir: &Path, branch: &str) -> notify::Result<Self> {
        // Events carry the paths as watched: canonical ones compare equal on every platform.
        let git_dir = git_dir.canonicalize().unwrap_or_else(|_| git_dir.to_path_buf());
        let files = Arc::new(BranchFiles::new(&git_dir, branch));
        let rearm = Arc::new(AtomicBool::new(false));
        let heard = Arc::new(AtomicU64::new(0));
        // Capacity 1 is enough: one pending wake-up covers any number of changes.
        let (sender, wakes) = mpsc::channel(1);
        let watcher = {
            let (files, rearm, heard) = (files.clone(), rearm.clone(), heard.clone());
            notify::recommended_watcher(move |result: notify::Result<Event>| {
                heard.fetch_add(1, Ordering::Relaxed);
                let Ok(event) = result else { return };
                match files.classify(&event) {
                    Some(Wake::Rearm) => {
                        rearm.store(true, Ordering::SeqCst);
                        let _ = sender.try_send(());
                    }
                    Some(Wake::Look) => {
                        let _ = sender.try_send(());
                    }
                    None => {}
                }
            })?
        };
        let mut watch = Self { files, watcher, rearm, wakes, packed_watched: false, heard, tip: None, pending: false, next_look: None, looks: 0 };
        watch.arm()?;
        watch.tip = watch.files.tip();
        Ok(watch)
    }

    /// Watch every folder of the branch's that exists, and `packed-refs` when the branch has no
    /// loose ref (and only then).
    fn arm(&mut self) -> notify::Result<()> {
        let mut last_error = None;
        let mut watched = 0;
        for folder in self.files.chain.iter().filter(|folder| folder.is_dir()) {
            match self.watcher.watch(folder, RecursiveMode::NonRecursive) {
                Ok(()) => watched += 1,
                Err(e) => last_error = Some(e),
            }
        }
        let packed_wanted = !self.files.loose.is_file() && self.files.packed.is_file();
        if packed_wanted {
            // Again after each change: git renames a new file over it, and the old one's watch ends with it.
            self.packed_watched = self.watcher.watch(&self.files.packed, RecursiveMode::NonRecursive).is_ok();
        } else if self.packed_watched {
            let _ = self.watcher.unwatch(&self.files.packed);
            self.packed_watched = false;
        }
        match last_error {
            Some(e) if watched == 0 => Err(e),
            _ => Ok(()),
        }
    }

    /// Resolves when the branch's tip differs from the one last seen. Cancel-safe: a wake-up
    /// received by a dropped call is looked into by the next one.
    pub async fn changed(&mut self) -> Option<()> {
        loop {
            if !self.pending {
                self.wakes.recv().await?;
                self.pending = true;
            }
            if let Some(at) = self.next_look {
                tokio::time::sleep_until(at).await;
            }
            self.pending = false;
            self.next_look = Some(Instant::now() + MIN_GAP);
            if self.rearm.swap(false, Ordering::SeqCst) {
                // Best effort: the git folder's watch stays, and `idle` still polls.
                let _ = self.arm();
            }
            self.looks += 1;
            let tip = self.files.tip();
            if tip != self.tip {
                self.tip = tip;
                return Some(());
            }
        }
    }

    /// How many times a change woke the watch to read the branch's tip.
    pub fn looks(&self) -> u64 {
        self.looks
    }

    /// How many events the watcher delivered, the ones dropped included.
    pub fn heard(&self) -> u64 {
        self.heard.load(Ordering::Relaxed)
    }
}

/// What a watcher's event calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// Read the tip again.
    Look,
    /// The branch's folders changed: watch them again, then read the tip.
    Rearm,
}

/// Where git keeps a branch's tip.
#[derive(Debug)]
struct BranchFiles {
    /// `refs/heads/<branch>`.
    refname: String,
    /// The loose ref: `<git>/refs/heads/<branch>`.
    loose: PathBuf,
    /// `<git>/packed-refs`.
    packed: PathBuf,
    /// `<git>/refs/heads` and its folders down to the loose ref's.
    chain: Vec<PathBuf>,
}

impl BranchFiles {
    fn new(git_dir: &Path, branch: &str) -> Self {
        let heads = git_dir.join("refs").join("heads");
        let mut chain = vec![heads.clone()];
        let mut loose = heads;
        let parts: Vec<&str> = branch.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            loose.push(part);
            if i + 1 < parts.len() {
                chain.push(loose.clone());
            }
        }
        Self { refname: format!("refs/heads/{branch}"), loose, packed: git_dir.join("packed-refs"), chain }
    }

    /// What `event` calls for: only changes (never accesses) to the loose ref, `packed-refs`
    /// or the branch's folders; a library's notice that it lost events re-arms. The loose ref's
    /// removal (packed, or the branch deleted) and any change to `packed-refs` (renamed over:
    /// a new file to watch) re-arm too.
    fn classify(&self, event: &Event) -> Option<Wake> {
        if event.need_rescan() {
            return Some(Wake::Rearm);
        }
        let changes = match event.kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(kind) => !matches!(kind, ModifyKind::Metadata(_)),
            EventKind::Access(kind) => kind == AccessKind::Close(AccessMode::Write),
            EventKind::Any | EventKind::Other => false,
        };
        // The file git renamed `packed-refs` over loses its last link: a metadata change first.
        let packed_changes = changes || matches!(event.kind, EventKind::Modify(ModifyKind::Metadata(_)));
        if packed_changes && event.paths.contains(&self.packed) {
            return Some(Wake::Rearm);
        }
        if !changes {
            return None;
        }
        // `refs/heads` itself is never removed; its events are other branches'.
        if event.paths.iter().any(|path| self.chain[1..].contains(path)) {
            return Some(Wake::Rearm);
        }
        if matches!(event.kind, EventKind::Remove(_)) && event.paths.contains(&self.loose) {
            return Some(Wake::Rearm);
        }
        event.paths.contains(&self.loose).then_some(Wake::Look)
    }

    /// The branch's tip as its files say: the loose ref's content, else its line in
    /// `packed-refs`; `None` when neither has it. Compared, never parsed: any change is a wake-up.
    fn tip(&self) -> Option<String> {
        match std::fs::read_to_string(&self.loose) {
            Ok(text) => Some(text.trim().to_string()),
            Err(_) => self.packed_tip(),
        }
    }

    fn packed_tip(&self) -> Option<String> {
        let text = std::fs::read(&self.packed).ok()?;
        text.split(|b| *b == b'\n').find_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (id, name) = line.trim_end_matches('\r').split_once(' ')?;
            (name == self.refname).then(|| id.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};
    use std::time::Duration;

    const BRANCH: &str = "night/x/20250101-0000";

    /// A git folder with the branch's loose ref at `a`.
    fn git_folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = dir.path().canonicalize().expect("canonical");
        let heads = git.join("refs/heads/night/x");
        std::fs::create_dir_all(&heads).expect("mkdir");
        std::fs::write(heads.join("20250101-0000"), "a\n").expect("write");
        (dir, git)
    }

    /// Update the ref the way git does: write a lock file, rename it into place.
    fn git_update(git: &Path, value: &str) {
        let folder = git.join("refs/heads/night/x");
        std::fs::create_dir_all(&folder).expect("mkdir");
        let lock = folder.join("20250101-0000.lock");
        std::fs::write(&lock, format!("{value}\n")).expect("write lock");
        std::fs::rename(&lock, folder.join("20250101-0000")).expect("rename");
    }

    async fn woke(watch: &mut RefWatch, within: Duration) -> bool {
        tokio::time::timeout(within, watch.changed()).await.is_ok()
    }

    #[tokio::test]
    async fn a_ref_renamed_into_place_wakes_the_watch_once() {
        let (_dir, git) = git_folder();
        let mut watch = RefWatch::new(&git, BRANCH).expect("watch");
        git_update(&git, "b");
        assert!(woke(&mut watch, Duration::from_secs(5)).await);
        assert!(!woke(&mut watch, Duration::from_millis(300)).await, "one change, one wake-up");
    }

    #[tokio::test]
    async fn reading_the_git_folder_never_wakes_the_watch() {
        let (_dir, git) = git_folder();
        let mut watch = RefWatch::new(&git, BRANCH).expect("watch");
        for _ in 0..50 {
            let _ = std::fs::read_to_string(git.join("refs/heads/night/x/20250101-0000"));
            let _ = std::fs::read_dir(&git).map(Iterator::count);
        }
        // The same value rewritten is no move either.
        git_update(&git, "a");
        assert!(!woke(&mut watch, Duration::from_millis(500)).await);
        assert!(watch.looks() <= 1, "{} looks", watch.looks());
    }

    #[tokio::test]
    async fn a_commit_after_pack_refs_removed_the_folders_is_seen() {
        let (_dir, git) = git_folder();
        let mut watch = RefWatch::new(&git, BRANCH).expect("watch");
        // `git pack-refs --all`: the tip moves into packed-refs, the loose ref and its folders go.
        std::fs::write(git.join("packed-refs.lock"), format!("# pack-refs with: peeled fully-peeled sorted\na refs/heads/{BRANCH}\n")).expect("write");
        std::fs::rename(git.join("packed-refs.lock"), git.join("packed-refs")).expect("rename");
        std::fs::remove_dir_all(git.join("refs/heads/night")).expect("prune");
        assert!(!woke(&mut watch, Duration::from_millis(500)).await, "the tip did not move");
        git_update(&git, "c");
        assert!(woke(&mut watch, Duration::from_secs(5)).await, "the next commit recreates the folders and is seen");
        git_update(&git, "d");
        assert!(woke(&mut watch, Duration::from_secs(5)).await, "and the one after it");
    }

    #[tokio::test]
    async fn the_git_folders_own_files_reach_no_watcher() {
        let (_dir, git) = git_folder();
        std::fs::write(git.join("config"), "[core]\n").expect("config");
        std::fs::write(git.join("packed-refs"), "# pack-refs with: peeled\n").expect("packed-refs");
        let mut watch = RefWatch::new(&git, BRANCH).expect("watch");
        // Its own first look at the branch opened the loose ref.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = watch.heard();
        // What every git command of every agent in the repository does there.
        for _ in 0..50 {
            let _ = std::fs::read_to_string(git.join("config"));
            let _ = std::fs::read_to_string(git.join("packed-refs"));
            let _ = std::fs::read_dir(&git).map(Iterator::count);
            let _ = std::fs::read_dir(git.join("refs")).map(Iterator::count);
        }
        std::fs::write(git.join("config"), "[core]\n\tbare = false\n").expect("config");
        assert!(!woke(&mut watch, Duration::from_millis(300)).await);
        assert_eq!(watch.heard() - before, 0, "the watcher's thread woke for the git folder's files");
    }

    #[tokio::test]
    async fn a_packed_branch_deleted_is_seen() {
        let (_dir, git) = git_folder();
        let mut watch = RefWatch::new(&git, BRANCH).expect("watch");
        let pack = |lines: &str| {
            std::fs::write(git.join("packed-refs.lock"), format!("# pack-refs with: peeled fully-peeled sorted\n{lines}")).expect("write");
            std::fs::rename(git.join("packed-refs.lock"), git.join("packed-refs")).expect("rename");
        };
        pack(&format!("a refs/heads/{BRANCH}\nb refs/heads/main\n"));
        std::fs::remove_dir_all(git.join("refs/heads/night")).expect("prune");
        assert!(!woke(&mut watch, Duration::from_millis(500)).await, "packed, the tip did not move");
        // Another branch's update rewrites the file: still the same tip.
        pack(&format!("a refs/heads/{BRANCH}\nc refs/heads/main\n"));
        assert!(!woke(&mut watch, Duration::from_millis(500)).await, "the tip did not move");
        pack("c refs/heads/main\n");
        assert!(woke(&mut watch, Duration::from_secs(5)).await, "the branch deleted from packed-refs");
    }

    #[test]
    fn only_changes_to_the_branch_files_count() {
        let files = BranchFiles::new(Path::new("/r/.git"), BRANCH);
        let event = |kind: EventKind, path: &str| Event::new(kind).add_path(PathBuf::from(path));
        let loose = "/r/.git/refs/heads/night/x/20250101-0000";
        assert_eq!(files.classify(&event(EventKind::Access(AccessKind::Open(AccessMode::Any)), loose)), None);
        assert_eq!(files.classify(&event(EventKind::Access(AccessKind::Close(AccessMode::Read)), loose)), None);
        assert_eq!(files.classify(&event(EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)), loose)), None);
        assert_eq!(files.classify(&event(EventKind::Other, loose)), None);
        assert_eq!(files.classify(&event(EventKind::Modify(ModifyKind::Name(RenameMode::To)), loose)), Some(Wake::Look));
        assert_eq!(files.classify(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/r/.git/packed-refs")), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)), "/r/.git/packed-refs")), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Remove(RemoveKind::File), "/r/.git/packed-refs")), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Access(AccessKind::Open(AccessMode::Any)), "/r/.git/packed-refs")), None);
        assert_eq!(files.classify(&event(EventKind::Access(AccessKind::Close(AccessMode::Write)), loose)), Some(Wake::Look));
        assert_eq!(files.classify(&event(EventKind::Remove(RemoveKind::File), loose)), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Modify(ModifyKind::Name(RenameMode::To)), "/r/.git/index")), None);
        assert_eq!(files.classify(&event(EventKind::Create(CreateKind::File), "/r/.git/refs/heads/night/x/20250101-0000.lock")), None);
        assert_eq!(files.classify(&event(EventKind::Create(CreateKind::Folder), "/r/.git/refs/heads/night")), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Remove(RemoveKind::Folder), "/r/.git/refs/heads/night/x")), Some(Wake::Rearm));
        assert_eq!(files.classify(&event(EventKind::Create(CreateKind::Folder), "/r/.git/refs/heads/other")), None);
        assert_eq!(files.classify(&Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)), Some(Wake::Rearm));
    }

    #[test]
    fn the_tip_is_read_from_the_loose_ref_or_packed_refs() {
        let (_dir, git) = git_folder();
        let files = BranchFiles::new(&git, BRANCH);
        assert_eq!(files.tip().as_deref(), Some("a"));
        std::fs::write(git.join("packed-refs"), format!("# pack-refs with: peeled\nb refs/heads/{BRANCH}-other\nc refs/heads/{BRANCH}\n^d\n")).expect("write");
        assert_eq!(files.tip().as_deref(), Some("a"), "the loose ref wins");
        std::fs::remove_file(git.join("refs/heads/night/x/20250101-0000")).expect("rm");
        assert_eq!(files.tip().as_deref(), Some("c"));
        std::fs::remove_file(git.join("packed-refs")).expect("rm");
        assert_eq!(files.tip(), None);
    }
}
