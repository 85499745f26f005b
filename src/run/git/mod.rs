//! Everything night does to git, through `git2`: preflight, the run branch or worktree,
//! attempt snapshots, permission reverts, checkpoints, resets and the report's history.
//!
//! The user's own branches, index and uncommitted files are never touched: every write goes
//! to the run branch, to `refs/night/…`, or to the run's work dir while HEAD is the run branch.

mod error;
mod preflight;
mod revert;

pub use error::GitError;
pub use preflight::PendingPreflight;

use error::{io_error, Context};
use git2::{
    BranchType, Commit, ErrorCode, Index, IndexAddOption, IndexEntry, IndexTime, ObjectType, Oid,
    Repository, RepositoryOpenFlags, RepositoryState, ResetType, Signature, StatusOptions, Tree,
};
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The folder night keeps its runs and worktrees in; never part of the agent's work.
const NIGHT_DIR: &str = ".night";
/// The message of the commit that takes a write outside `write` back out of the run branch.
const REVERT_MESSAGE: &str = "night: revert writes outside `write`";
/// At most this many files in a diffstat's `per_file`.
const DIFFSTAT_FILES: usize = 50;

/// The repository whose runs to look at, from a folder inside it or inside one of its
/// worktrees: the runs live in the main checkout's `.night/runs`.
pub fn repo_root(from: &Path) -> Result<PathBuf, GitError> {
    let repository = Repository::discover(from).map_err(|_| GitError::NotInside(from.to_path_buf()))?;
    let main = if repository.is_worktree() { Repository::open(repository.commondir()).ok() } else { None };
    main.as_ref().unwrap_or(&repository).workdir().map(Path::to_path_buf).ok_or_else(|| GitError::Bare(from.to_path_buf()))
}

/// One commit of the run branch, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The full hash.
    pub id: String,
    /// The abbreviated hash.
    pub short: String,
    /// The first line of the message.
    pub summary: String,
    /// Author time, RFC 3339.
    pub time: String,
    /// Files changed against the first parent.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
}

/// What changed between two commits.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DiffStat {
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Path, insertions, deletions; at most 50 files.
    pub per_file: Vec<(String, usize, usize)>,
}

/// The run's repository: where the agent works and on which branch.
///
/// Only paths are kept, so the value is `Send + Sync`; every operation opens the repository afresh.
#[derive(Debug, Clone)]
pub struct RunGit {
    work_dir: PathBuf,
    common_dir: PathBuf,
    branch: String,
    original_branch: Option<String>,
    /// The user's files inside the work dir that night never commits, resets or deletes
    /// (the runbook, when it lives uncommitted in an in-place run).
    protected: Vec<String>,
}

impl RunGit {
    /// Reopen an existing run (for `night resume`): its work dir and run branch.
    pub fn open(work_dir: &Path, branch: &str) -> Result<RunGit, GitError> {
        let repository = open_exact(work_dir)?;
        if repository.is_bare() {
            return Err(GitError::Bare(work_dir.to_path_buf()));
        }
        if repository.find_branch(branch, BranchType::Local).is_err() {
            return Err(GitError::NoRunBranch(branch.to_string()));
        }
        // In a worktree run the user's checkout is still on their branch; in place it is unknown
        // here (the journal has it: see `with_original_branch`).
        let original_branch = if repository.is_worktree() {
            Repository::open(repository.commondir())
                .ok()
                .and_then(|main| main.head().ok().and_then(|h| h.shorthand().map(str::to_string)))
                .filter(|name| name != branch)
        } else {
            None
        };
        let common_dir = repository.commondir().to_path_buf();
        let work_dir = repository.workdir().map_or_else(|| work_dir.to_path_buf(), Path::to_path_buf);
        Ok(RunGit { work_dir, common_dir, branch: branch.to_string(), original_branch, protected: Vec::new() })
    }

    /// Set the user's original branch (for a resumed run, from the journal).
    #[must_use]
    pub fn with_original_branch(mut self, branch: Option<String>) -> Self {
        self.original_branch = branch;
        self
    }

    /// Protect a repository-relative path of the user's (the runbook) from commits, resets and deletes.
    #[must_use]
    pub fn with_protected(mut self, path: &str) -> Self {
        self.protected.push(path.replace('\\', "/"));
        self
    }

    /// Where the agent works: the checkout or the worktree.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The repository's common git dir (`.git` of the main checkout).
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The run branch's short name.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The user's branch before preflight, for `git switch <it>` in the report.
    pub fn original_branch(&self) -> Option<&str> {
        self.original_branch.as_deref()
    }

    /// The branch the user's checkout `repo` is on now (`None`: detached, or unreadable).
    pub fn checkout_branch(repo: &Path) -> Option<String> {
        let repository = open_exact(repo).ok()?;
        let head = repository.head().ok()?;
        head.is_branch().then(|| head.shorthand().map(str::to_string)).flatten()
    }

    /// The run branch's tip.
    pub fn head(&self) -> Result<Oid, GitError> {
        let repository = self.repository()?;
        self.branch_oid(&repository)
    }

    /// The loose ref file of the run branch, for watching new commits. Git may pack refs
    /// (`git gc`, `git pack-refs`): watch the folder, and read the tip with [`RunGit::head`].
    pub fn ref_path(&self) -> PathBuf {
        let mut path = self.common_dir.join("refs").join("heads");
        for part in self.branch.split('/') {
            path.push(part);
        }
        path
    }

    /// Keep the complete current state (tracked changes, untracked non-ignored files, deletions)
    /// as a commit whose parent is HEAD, stored at `refname`. HEAD, the index, the work tree and
    /// every branch are left as they are.
    pub fn snapshot(&self, refname: &str, message: &str) -> Result<Oid, GitError> {
        let repository = self.repository()?;
        let tree_id = self.state_tree(&repository)?;
        let tree = repository.find_tree(tree_id).doing("read the snapshot tree")?;
        let parent = repository.head().and_then(|h| h.peel_to_commit()).doing("read the HEAD commit")?;
        let signature = signature(&repository)?;
        let id = repository
            .commit(None, &signature, &signature, message, &tree, &[&parent])
            .doing("write the snapshot commit")?;
        repository.reference(refname, id, true, message).doing("store the snapshot ref")?;
        Ok(id)
    }

    /// Repository-relative paths that differ between `since` and the current state of the work
    /// dir, committed or not, tracked or not; deletions and both sides of renames included,
    /// ignored files and `.night/` excluded. Sorted.
    pub fn changed_paths_since(&self, since: Oid) -> Result<Vec<String>, GitError> {
        let repository = self.repository()?;
        let since_tree = tree_of(&repository, since)?;
        let now_tree = repository.find_tree(self.state_tree(&repository)?).doing("read the work dir tree")?;
        let diff = repository
            .diff_tree_to_tree(Some(&since_tree), Some(&now_tree), None)
            .doing("compare the work dir")?;
        let mut paths: Vec<String> = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path() {
                    paths.push(path_string(path));
                }
            }
        }
        paths.retain(|path| !self.is_excluded(path));
        paths.sort();
        paths.dedup();
        Ok(paths)
    }
    /// Commit every leftover change (untracked non-ignored files and deletions included) on the
    /// run branch; `None` when there is nothing to commit.
    pub fn checkpoint(&self, message: &str) -> Result<Option<Oid>, GitError> {
        let repository = self.repository()?;
        self.ensure_on_branch(&repository)?;
        let parent = repository.head().and_then(|h| h.peel_to_commit()).doing("read the HEAD commit")?;
        let mut index = repository.index().doing("read the index")?;
        self.add_everything(&mut index)?;
        let tree_id = index.write_tree().doing("write the checkpoint tree")?;
        // Written even when nothing is committed: a change staged and then undone in the files
        // would otherwise stay staged.
        index.write().doing("write the index")?;
        if tree_id == parent.tree_id() {
            return Ok(None);
        }
        let tree = repository.find_tree(tree_id).doing("read the checkpoint tree")?;
        let signature = signature(&repository)?;
        let id = repository
            .commit(Some("HEAD"), &signature, &signature, message, &tree, &[&parent])
            .doing("commit the checkpoint")?;
        Ok(Some(id))
    }

    /// Hard-reset the run branch, the index and the work dir to `to`, untracked non-ignored files
    /// removed. Refuses unless HEAD is the run branch. Snapshot first: this discards work.
    pub fn reset_to(&self, to: Oid) -> Result<(), GitError> {
        let repository = self.repository()?;
        self.ensure_on_branch(&repository)?;
        let target = repository.find_object(to, Some(ObjectType::Commit)).doing("find the reset target")?;
        // The user's protected files survive the reset exactly as they are.
        let mut kept = Vec::new();
        for path in &self.protected {
            let full = self.work_dir.join(path);
            if fs::symlink_metadata(&full).is_ok_and(|m| m.is_file()) {
                kept.push((full.clone(), fs::read(&full).map_err(io_error("read", &full))?));
            }
        }
        repository.reset(&target, ResetType::Hard, None).doing("reset the run branch")?;
        // A hard reset in libgit2 replaces the checkout strategy with a plain force, so the
        // untracked files go in a second checkout.
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.force().remove_untracked(true);
        repository.checkout_head(Some(&mut checkout)).doing("remove untracked files")?;
        for (path, bytes) in kept {
            fs::write(&path, bytes).map_err(io_error("restore", &path))?;
        }
        Ok(())
    }

    /// Commits on the run branch after `start`, oldest first.
    pub fn commits_since(&self, start: Oid) -> Result<Vec<CommitInfo>, GitError> {
        let repository = self.repository()?;
        let tip = self.branch_oid(&repository)?;
        let mut walk = repository.revwalk().doing("walk the run branch")?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE).doing("walk the run branch")?;
        walk.push(tip).doing("walk the run branch")?;
        walk.hide(start).doing("walk the run branch")?;
        let mut commits = Vec::new();
        for id in walk {
            let id = id.doing("walk the run branch")?;
            let commit = repository.find_commit(id).doing("read a commit")?;
            let tree = commit.tree().doing("read a commit's tree")?;
            let parent_tree = commit.parent(0).ok().and_then(|p| p.tree().ok());
            let diff = repository
                .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
                .doing("compare a commit")?;
            let stats = diff.stats().doing("count a commit's changes")?;
            let short = commit.as_object().short_id().ok().and_then(|s| s.as_str().map(str::to_string));
            commits.push(CommitInfo {
                id: id.to_string(),
                short: short.unwrap_or_else(|| id.to_string().chars().take(7).collect()),
                summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
                time: rfc3339(&commit),
                files: stats.files_changed(),
                insertions: stats.insertions(),
                deletions: stats.deletions(),
            });
        }
        Ok(commits)
    }

    /// Files changed, lines added and removed between two commits, with at most 50 files listed.
    pub fn diffstat(&self, from: Oid, to: Oid) -> Result<DiffStat, GitError> {
        let repository = self.repository()?;
        let from_tree = tree_of(&repository, from)?;
        let to_tree = tree_of(&repository, to)?;
        let diff = repository
            .diff_tree_to_tree(Some(&from_tree), Some(&to_tree), None)
            .doing("compare the commits")?;
        let stats = diff.stats().doing("count the changes")?;
        let mut per_file = Vec::new();
        for (index, delta) in diff.deltas().enumerate().take(DIFFSTAT_FILES) {
            let path = delta.new_file().path().or_else(|| delta.old_file().path()).map(path_string).unwrap_or_default();
            let (insertions, deletions) = match git2::Patch::from_diff(&diff, index) {
                Ok(Some(patch)) => patch.line_stats().map_or((0, 0), |(_, added, removed)| (added, removed)),
                _ => (0, 0),
            };
            per_file.push((path, insertions, deletions));
        }
        Ok(DiffStat { files: stats.files_changed(), insertions: stats.insertions(), deletions: stats.deletions(), per_file })
    }

    /// Whether the work dir has nothing uncommitted or untracked (`.night/` and protected files aside).
    pub fn is_clean(&self) -> Result<bool, GitError> {
        Ok(self.uncommitted()?.is_empty())
    }

    /// The paths uncommitted or untracked in the work dir (`.night/` and protected files aside).
    pub fn uncommitted(&self) -> Result<Vec<String>, GitError> {
        let repository = self.repository()?;
        Ok(status_paths(&repository)?.into_iter().filter(|path| !self.is_excluded(path)).collect())
    }

    /// Store `id` at `refname` (under `refs/night/…`), so that the commit stays reachable.
    pub fn keep(&self, refname: &str, id: Oid, message: &str) -> Result<(), GitError> {
        self.repository()?.reference(refname, id, true, message).doing("store a ref")?;
        Ok(())
    }

    /// Delete the refs under `prefix` whose commit is not in the repository (a sandboxed agent
    /// can destroy objects of its own that a ref was kept for): a ref to a missing object would
    /// make `git fsck` and `git gc` fail. The names deleted.
    pub fn drop_broken_refs(&self, prefix: &str) -> Result<Vec<String>, GitError> {
        let repository = self.repository()?;
        let mut dropped = Vec::new();
        for reference in repository.references_glob(&format!("{prefix}*")).doing("list refs")? {
            let mut reference = reference.doing("read a ref")?;
            let missing = reference.target().is_some_and(|id| repository.find_commit(id).is_err());
            if missing {
                dropped.push(reference.name().unwrap_or_default().to_string());
                reference.delete().doing("delete a broken ref")?;
            }
        }
        Ok(dropped)
    }

    /// Whether `ancestor` is `of` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: Oid, of: Oid) -> bool {
        ancestor == of || self.repository().is_ok_and(|repository| repository.graph_descendant_of(of, ancestor).unwrap_or(false))
    }

    /// Remove the work dir's `index.lock` when no process holds it open: a git the agent ran
    /// crashed or was killed mid-write and left it, and every later index write (night's
    /// checkpoints, the agent's next commit) would fail on it. Called only once the agent's
    /// whole process group has ended, so no git of the agent's can be about to use it. `None`
    /// when there is no lock; otherwise what was found and done.
    pub fn remove_stale_index_lock(&self) -> Result<Option<String>, GitError> {
        let repository = self.repository()?;
        let lock = repository.path().join("index.lock");
        if fs::symlink_metadata(&lock).is_err() {
            return Ok(None);
        }
        match crate::os::proc::holder_of(&lock) {
            Some(None) => {}
            Some(Some(pid)) => return Ok(Some(format!("`{}` is held by a live process (pid {pid}); it was left alone", lock.display()))),
            None => return Ok(Some(format!("`{}` was left behind and without `/proc` night cannot tell whether a git holds it; it was left alone", lock.display()))),
        }
        fs::remove_file(&lock).map_err(io_error("remove the stale", &lock))?;
        Ok(Some(format!("removed a stale `{}` that no process held (a git of the agent's was killed mid-write)", lock.display())))
    }

    /// Where a local branch points, if it exists.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<Oid>, GitError> {
        let repository = self.repository()?;
        let tip = match repository.find_branch(branch, BranchType::Local) {
            Ok(found) => Ok(found.get().target()),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(source) => Err(GitError::Git { action: "read a branch", source }),
        };
        tip
    }

    // ------------------------------------------------------------------ helpers ----

    fn repository(&self) -> Result<Repository, GitError> {
        open_exact(&self.work_dir)
    }

    fn branch_oid(&self, repository: &Repository) -> Result<Oid, GitError> {
        repository
            .find_branch(&self.branch, BranchType::Local)
            .ok()
            .and_then(|b| b.get().target())
            .ok_or_else(|| GitError::NoRunBranch(self.branch.clone()))
    }

    fn ensure_on_branch(&self, repository: &Repository) -> Result<(), GitError> {
        let wanted = format!("refs/heads/{}", self.branch);
        let target = repository.find_reference("HEAD").ok().and_then(|head| head.symbolic_target().map(str::to_string));
        let found = match target {
            Some(target) if target == wanted => return Ok(()),
            Some(target) => target.trim_start_matches("refs/heads/").to_string(),
            None => "a detached HEAD".to_string(),
        };
        Err(GitError::NotOnRunBranch { branch: self.branch.clone(), found })
    }

    /// Whether night leaves this repository-relative path alone.
    fn is_excluded(&self, path: &str) -> bool {
        is_night_path(path) || self.protected.iter().any(|p| p == path)
    }

    /// Bring `index` to the work dir's state: every non-ignored file added, deleted ones removed,
    /// `.night/` and protected files left as the index had them.
    fn add_everything(&self, index: &mut Index) -> Result<(), GitError> {
        let mut skip = |path: &Path, _: &[u8]| -> i32 { i32::from(self.is_excluded(&path_string(path))) };
        index.add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip)).doing("add the work dir")?;
        index.update_all(["*"], Some(&mut skip)).doing("add the work dir's deletions")?;
        Ok(())
    }

    /// The tree of the work dir's complete state. The index is loaded into memory and changed
    /// there only: it is never written back, so the user-visible index stays as it is.
    fn state_tree(&self, repository: &Repository) -> Result<Oid, GitError> {
        let mut index = repository.index().doing("read the index")?;
        self.add_everything(&mut index)?;
        index.write_tree().doing("write the work dir tree")
    }
}

/// Open exactly this folder (no search upwards, so a repository around it is never used).
fn open_exact(path: &Path) -> Result<Repository, GitError> {
    Repository::open_ext(path, RepositoryOpenFlags::NO_SEARCH, &[] as &[&OsStr]).map_err(|e| match e.code() {
        ErrorCode::NotFound => GitError::NotARepository(path.to_path_buf()),
        _ => GitError::Git { action: "open the repository", source: e },
    })
}

/// Paths git reports as changed, untracked or conflicted (ignored files aside).
fn status_paths(repository: &Repository) -> Result<Vec<String>, GitError> {
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).exclude_submodules(false);
    let statuses = repository.statuses(Some(&mut options)).doing("read the status")?;
    Ok(statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT && !entry.status().is_ignored())
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .collect())
}

fn is_night_path(path: &str) -> bool {
    path == NIGHT_DIR || path.strip_prefix(NIGHT_DIR).is_some_and(|rest| rest.starts_with('/'))
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The repository's identity when it has one, else `night <night@localhost>`.
fn signature(repository: &Repository) -> Result<Signature<'static>, GitError> {
    let config = repository.config().and_then(|mut c| c.snapshot()).ok();
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    signature_from(get("user.name"), get("user.email"))
}

fn signature_from(name: Option<String>, email: Option<String>) -> Result<Signature<'static>, GitError> {
    match (name.filter(|n| !n.trim().is_empty()), email.filter(|e| !e.trim().is_empty())) {
        (Some(name), Some(email)) => Signature::now(&name, &email),
        _ => Signature::now("night", "night@localhost"),
    }
    .doing("make the commit signature")
}

fn rfc3339(commit: &Commit<'_>) -> String {
    let when = commit.author().when();
    let offset = chrono::FixedOffset::east_opt(when.offset_minutes() * 60)
        .or_else(|| chrono::FixedOffset::east_opt(0));
    match (chrono::DateTime::from_timestamp(when.seconds(), 0), offset) {
        (Some(time), Some(offset)) => time.with_timezone(&offset).to_rfc3339(),
        _ => String::new(),
    }
}

fn tree_of(repository: &Repository, id: Oid) -> Result<Tree<'_>, GitError> {
    repository.find_commit(id).and_then(|c| c.tree()).doing("read a commit's tree")
}

#[cfg(test)]
mod tests;
