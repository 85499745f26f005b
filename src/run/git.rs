//! Everything night does to git, through `git2`: preflight, the run branch or worktree,
//! attempt snapshots, permission reverts, checkpoints, resets and the report's history.
//!
//! The user's own branches, index and uncommitted files are never touched: every write goes
//! to the run branch, to `refs/night/…`, or to the run's work dir while HEAD is the run branch.

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

/// Why a git operation failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not the root of a git repository.
    #[error("`{}` is not a git repository; run `git init` and commit, or set `repo \"path\"` in `task`", .0.display())]
    NotARepository(PathBuf),
    /// The repository has no work tree.
    #[error("`{}` is a bare repository; point `repo` at a checkout with a work tree", .0.display())]
    Bare(PathBuf),
    /// HEAD points at a branch with no commit.
    #[error("the repository has no commits yet; make a first commit, the run branch starts from it")]
    Unborn,
    /// HEAD is not on a branch.
    #[error("HEAD is detached; switch to a branch first (e.g. `git switch main`), the run branch is created from it")]
    Detached,
    /// A merge, rebase, cherry-pick … is in progress.
    #[error("a git operation is in progress ({0}); finish or abort it before the run")]
    InProgress(String),
    /// Uncommitted or untracked files.
    #[error("the repository has uncommitted changes: {}; commit or stash them first (`git stash -u`), night never runs over your uncommitted work", list_paths(.0))]
    Dirty(Vec<String>),
    /// The run branch exists already.
    #[error("branch `{0}` already exists; delete it (`git branch -D {0}`) or set another `branch` in `task`")]
    BranchExists(String),
    /// The run branch name is not a valid git branch name.
    #[error("`{0}` is not a valid branch name; set `branch` in `task` to a name git accepts")]
    InvalidBranch(String),
    /// The run id cannot name a worktree or a ref.
    #[error("`{0}` cannot name a run; use letters, digits, `-` and `_`")]
    InvalidRunId(String),
    /// The worktree's folder or name is taken.
    #[error("a worktree for this run exists already at `{}`; remove it with `git worktree remove`", .0.display())]
    WorktreeExists(PathBuf),
    /// The run branch is missing (for `open`).
    #[error("the run branch `{0}` does not exist; the run cannot continue without it")]
    NoRunBranch(String),
    /// HEAD of the work dir is not the run branch.
    #[error("the work dir is on `{found}`, not on the run branch `{branch}`; switch back with `git switch {branch}`")]
    NotOnRunBranch {
        /// The run branch.
        branch: String,
        /// What HEAD is instead.
        found: String,
    },
    /// A path given to night is not a plain repository-relative path.
    #[error("`{0}` is not a path inside the repository")]
    BadPath(String),
    /// A git2 call failed.
    #[error("cannot {action}: {}", .source.message().to_lowercase())]
    Git {
        /// What night was doing.
        action: &'static str,
        /// The library's error.
        source: git2::Error,
    },
    /// A file operation failed.
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

fn list_paths(paths: &[String]) -> String {
    let shown: Vec<String> = paths.iter().take(5).map(|p| format!("`{p}`")).collect();
    let more = if paths.len() > 5 { format!(" and {} more", paths.len() - 5) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Attach what night was doing to a git2 error.
trait Context<T> {
    fn doing(self, action: &'static str) -> Result<T, GitError>;
}

impl<T> Context<T> for Result<T, git2::Error> {
    fn doing(self, action: &'static str) -> Result<T, GitError> {
        self.map_err(|source| GitError::Git { action, source })
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> GitError {
    let path = path.to_path_buf();
    move |source| GitError::Io { action, path, source }
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

/// What preflight is about to change, kept as `preflight.json` in the run folder from before
/// preflight until the journal holds `run-start`. A supervisor killed in between leaves the
/// file behind, and the next `night run` undoes the half-made start with it
/// ([`RunGit::undo_preflight`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingPreflight {
    /// The run id.
    pub run_id: String,
    /// The run branch about to be created.
    pub branch: String,
    /// The user's HEAD (`refs/heads/main`) before preflight.
    pub original_ref: Option<String>,
    /// The commit the run branch is created at.
    pub start: Option<String>,
    /// The run's worktree, for a worktree run.
    pub worktree: Option<PathBuf>,
}

impl PendingPreflight {
    /// What preflight of `run_id` in `repo` will change, read before it does.
    pub fn before(repo: &Path, branch: &str, worktree: bool, run_id: &str) -> Self {
        let repository = open_exact(repo).ok();
        let head = repository.as_ref().and_then(|r| r.head().ok());
        let root = repository.as_ref().and_then(|r| r.workdir().map(Path::to_path_buf));
        PendingPreflight {
            run_id: run_id.to_string(),
            branch: branch.to_string(),
            original_ref: head.as_ref().filter(|h| h.is_branch()).and_then(|h| h.name().map(str::to_string)),
            start: head.as_ref().and_then(|h| h.target()).map(|id| id.to_string()),
            worktree: root.filter(|_| worktree).map(|root| root.join(NIGHT_DIR).join("worktrees").join(run_id)),
        }
    }
}

impl RunGit {
    /// Undo what a preflight killed before `run-start` made: HEAD back on the user's branch
    /// when it is still on the run branch, the run's worktree removed, and the run branch
    /// deleted when it holds nothing but the start commit (else it is kept: never lose a
    /// commit). What was done, in words.
    pub fn undo_preflight(repo: &Path, pending: &PendingPreflight) -> Result<Vec<String>, GitError> {
        let repository = open_exact(repo)?;
        let mut done = Vec::new();
        let branch_ref = format!("refs/heads/{}", pending.branch);
        let head = repository.find_reference("HEAD").ok().and_then(|h| h.symbolic_target().map(str::to_string));
        let tip = repository.find_branch(&pending.branch, BranchType::Local).ok().and_then(|b| b.get().target());
        let at_start = tip.is_some() && tip.map(|id| id.to_string()) == pending.start;
        if let (Some(original), true) = (&pending.original_ref, head.as_deref() == Some(branch_ref.as_str())) {
            if at_start {
                // The run branch is the user's commit, made from a clean tree: switching back
                // needs no checkout, and anything in the files stays as it is.
                repository.set_head(original).doing("switch back to the user's branch")?;
                done.push(format!("the checkout is back on `{}`", original.trim_start_matches("refs/heads/")));
            } else {
                done.push(format!("the checkout stays on `{}`, which has commits of its own", pending.branch));
            }
        }
        if let Some(path) = pending.worktree.as_ref().filter(|path| path.exists()) {
            fs::remove_dir_all(path).map_err(io_error("remove", path))?;
            let _ = fs::remove_dir_all(repository.commondir().join("worktrees").join(&pending.run_id));
            done.push(format!("its worktree `{}` was removed", path.display()));
        }
        if let Ok(mut branch) = repository.find_branch(&pending.branch, BranchType::Local) {
            if at_start && !branch.is_head() {
                branch.delete().doing("delete the run branch")?;
                done.push(format!("the branch `{}` was deleted", pending.branch));
            } else {
                done.push(format!("the branch `{}` was kept", pending.branch));
            }
        }
        Ok(done)
    }

    /// Check that `repo` is a clean checkout on a branch, then create the run branch from HEAD
    /// (checked out in place, or in a worktree at `<repo>/.night/worktrees/<run_id>`) and exclude
    /// `.night/`. Returns the run and the start commit. Nothing is changed when it fails.
    pub fn preflight(
        repo: &Path,
        branch: &str,
        worktree: bool,
        run_id: &str,
        runbook_relative: Option<&str>,
    ) -> Result<(RunGit, Oid), GitError> {
        Self::preflight_checkout(repo, branch, worktree, run_id, runbook_relative, false)
    }

    /// [`RunGit::preflight`] into a worktree, over a checkout with uncommitted changes (`waive
    /// git-dirty` with `worktree on`): the worktree is made from HEAD's commit, and the
    /// uncommitted files stay untouched in the user's checkout.
    pub fn preflight_beside_uncommitted(repo: &Path, branch: &str, run_id: &str, runbook_relative: Option<&str>) -> Result<(RunGit, Oid), GitError> {
        Self::preflight_checkout(repo, branch, true, run_id, runbook_relative, true)
    }

    fn preflight_checkout(
        repo: &Path,
        branch: &str,
        worktree: bool,
        run_id: &str,
        runbook_relative: Option<&str>,
        beside_uncommitted: bool,
    ) -> Result<(RunGit, Oid), GitError> {
        let repository = open_exact(repo)?;
        if repository.is_bare() {
            return Err(GitError::Bare(repo.to_path_buf()));
        }
        let head = match repository.head() {
            Ok(head) => head,
            Err(e) if e.code() == ErrorCode::UnbornBranch => return Err(GitError::Unborn),
            Err(e) => return Err(GitError::Git { action: "read HEAD", source: e }),
        };
        if !head.is_branch() {
            return Err(GitError::Detached);
        }
        let original_ref = head.name().map(str::to_string).ok_or_else(|| GitError::BadPath("HEAD".into()))?;
        let original_branch = head.shorthand().map(str::to_string);
        let start = head.peel_to_commit().doing("read the HEAD commit")?;
        if repository.state() != RepositoryState::Clean {
            return Err(GitError::InProgress(format!("{:?}", repository.state()).to_lowercase()));
        }
        let runbook_relative = runbook_relative.map(|p| p.replace('\\', "/"));
        let dirty: Vec<String> = status_paths(&repository)?
            .into_iter()
            .filter(|path| !is_night_path(path) && Some(path) != runbook_relative.as_ref())
            .collect();
        if !dirty.is_empty() && !(worktree && beside_uncommitted) {
            return Err(GitError::Dirty(dirty));
        }
        if !git2::Branch::name_is_valid(branch).doing("validate the branch name")? {
            return Err(GitError::InvalidBranch(branch.to_string()));
        }
        if repository.find_branch(branch, BranchType::Local).is_ok() {
            return Err(GitError::BranchExists(branch.to_string()));
        }
        let run_id_valid = !run_id.is_empty()
            && run_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && git2::Reference::is_valid_name(&format!("refs/night/{run_id}/attempt-1"));
        if !run_id_valid {
            return Err(GitError::InvalidRunId(run_id.to_string()));
        }
        let root = repository.workdir().ok_or_else(|| GitError::Bare(repo.to_path_buf()))?.to_path_buf();
        let worktree_path = root.join(NIGHT_DIR).join("worktrees").join(run_id);
        if worktree && (worktree_path.exists() || repository.find_worktree(run_id).is_ok()) {
            return Err(GitError::WorktreeExists(worktree_path));
        }
        let common_dir = repository.commondir().to_path_buf();

        // Everything is checked; from here on each change is undone if a later one fails.
        let mut undo = Undo::default();
        let result = (|| -> Result<PathBuf, GitError> {
            exclude_night_dir(&common_dir, &mut undo)?;
            repository
                .branch(branch, &start, false)
                .map_err(|source| GitError::Git { action: "create the run branch", source })?;
            undo.branch = Some(branch.to_string());
            let branch_ref = format!("refs/heads/{branch}");
            if worktree {
                create_dirs(worktree_path.parent().unwrap_or(&root), &mut undo)?;
                let reference = repository.find_reference(&branch_ref).doing("find the run branch")?;
                let mut options = git2::WorktreeAddOptions::new();
                options.reference(Some(&reference));
                undo.worktree = Some((run_id.to_string(), worktree_path.clone()));
                repository.worktree(run_id, &worktree_path, Some(&options)).doing("create the run worktree")?;
                Ok(worktree_path.clone())
            } else {
                // The tree is clean and the new branch points at HEAD's commit, so moving HEAD
                // needs no checkout: the index and the files already match.
                repository.set_head(&branch_ref).doing("switch to the run branch")?;
                undo.head = Some(original_ref.clone());
                Ok(root.clone())
            }
        })();
        let work_dir = match result {
            Ok(work_dir) => work_dir,
            Err(error) => {
                undo.run(&repository);
                return Err(error);
            }
        };
        let protected = if worktree { Vec::new() } else { runbook_relative.into_iter().collect() };
        let run = RunGit { work_dir, common_dir, branch: branch.to_string(), original_branch, protected };
        Ok((run, start.id()))
    }

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

    /// Restore `paths` in the work dir to their state in `base` (delete those absent there).
    /// When the run branch's tip holds other content for any of them than `base` or its parent
    /// (the agent committed it), commit the restoration of those paths on the run branch, so the
    /// bad content stays only in the attempt ref. The index entries of `paths` are reset to the
    /// tip's. Returns the new commit if one was made.
    pub fn revert_paths(&self, base: Oid, paths: &[String]) -> Result<Option<Oid>, GitError> {
        for path in paths {
            check_relative(path)?;
        }
        let paths: Vec<&String> = paths.iter().filter(|path| !self.is_excluded(path)).collect();
        if paths.is_empty() {
            return Ok(None);
        }
        let repository = self.repository()?;
        self.ensure_on_branch(&repository)?;
        let base_commit = repository.find_commit(base).doing("read the base commit")?;
        let base_tree = base_commit.tree().doing("read the base tree")?;
        let base_parent_tree = base_commit.parent(0).ok().and_then(|parent| parent.tree().ok());
        let head_commit = repository.head().and_then(|h| h.peel_to_commit()).doing("read the HEAD commit")?;
        let head_tree = head_commit.tree().doing("read the HEAD tree")?;

        // Deletions first: a path the agent turned into a folder or symlink must go before
        // anything is written beneath it.
        let (present, absent): (Vec<&String>, Vec<&String>) =
            paths.iter().copied().partition(|path| entry(&base_tree, path).is_some());
        for path in &absent {
            remove_work_path(&self.work_dir, path)?;
        }
        for path in &present {
            if let Some((id, mode)) = entry(&base_tree, path) {
                write_work_path(&repository, &self.work_dir, path, id, mode)?;
            }
        }

        let bad_in_tip: Vec<&String> = paths
            .iter()
            .copied()
            .filter(|path| {
                let tip = entry(&head_tree, path);
                tip != entry(&base_tree, path) && base_parent_tree.as_ref().is_none_or(|parent| tip != entry(parent, path))
            })
            .collect();
        let mut new_commit = None;
        let mut tip_tree = head_tree;
        if !bad_in_tip.is_empty() {
            let mut index = Index::new().doing("create an index")?;
            index.read_tree(&tip_tree).doing("read the HEAD tree")?;
            for path in &bad_in_tip {
                match entry(&base_tree, path) {
                    Some((id, mode)) => index.add(&index_entry(path, id, mode)).doing("stage a restored path")?,
                    None => index.remove_path(Path::new(path.as_str())).doing("unstage a removed path")?,
                }
            }
            let tree_id = index.write_tree_to(&repository).doing("write the restored tree")?;
            let tree = repository.find_tree(tree_id).doing("read the restored tree")?;
            let signature = signature(&repository)?;
            let id = repository
                .commit(Some("HEAD"), &signature, &signature, REVERT_MESSAGE, &tree, &[&head_commit])
                .doing("commit the revert")?;
            new_commit = Some(id);
            tip_tree = tree;
        }

        // The agent may have staged the bad content: the index of these paths follows the tip.
        let mut index = repository.index().doing("read the index")?;
        let mut index_changed = false;
        for path in &paths {
            let staged = index.get_path(Path::new(path.as_str()), 0).map(|e| (e.id, e.mode));
            let wanted = entry(&tip_tree, path);
            if staged == wanted {
                continue;
            }
            index_changed = true;
            match wanted {
                Some((id, mode)) => {
                    // Reading the restored file fills the stat cache when it matches the tip.
                    if entry(&base_tree, path) == wanted {
                        index.add_path(Path::new(path.as_str())).doing("stage a restored path")?;
                    } else {
                        index.add(&index_entry(path, id, mode)).doing("stage a restored path")?;
                    }
                }
                None => index.remove_path(Path::new(path.as_str())).doing("unstage a removed path")?,
            }
        }
        if index_changed {
            index.write().doing("write the index")?;
        }
        Ok(new_commit)
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
        let repository = self.repository()?;
        Ok(status_paths(&repository)?.iter().all(|path| self.is_excluded(path)))
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
        match held_open_by(&lock) {
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

/// A process that has `path` open (git keeps its lock file open until it renames it), from
/// `/proc/*/fd`: `Some(None)` when none has; `None` without `/proc`, where night cannot tell.
/// Another user's processes stay unseen, but the run's own agent and gits are night's user.
fn held_open_by(path: &Path) -> Option<Option<u32>> {
    let entries = fs::read_dir("/proc").ok()?;
    Some(entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten().any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == path)).then_some(pid)
    }))
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

/// A path night may write: relative, without `..`, outside `.git`.
fn check_relative(path: &str) -> Result<(), GitError> {
    let plain = !path.is_empty()
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(part) if part != ".git"));
    if plain {
        Ok(())
    } else {
        Err(GitError::BadPath(path.to_string()))
    }
}

fn tree_of(repository: &Repository, id: Oid) -> Result<Tree<'_>, GitError> {
    repository.find_commit(id).and_then(|c| c.tree()).doing("read a commit's tree")
}

/// The blob id and mode of `path` in `tree`, if it holds a file there.
fn entry(tree: &Tree<'_>, path: &str) -> Option<(Oid, u32)> {
    let found = tree.get_path(Path::new(path)).ok()?;
    (found.kind() != Some(ObjectType::Tree)).then(|| (found.id(), u32::try_from(found.filemode()).unwrap_or(0o100_644)))
}

fn index_entry(path: &str, id: Oid, mode: u32) -> IndexEntry {
    let zero = IndexTime::new(0, 0);
    IndexEntry {
        ctime: zero,
        mtime: zero,
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: u16::try_from(path.len().min(0xfff)).unwrap_or(0xfff),
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Remove a file the base does not have. Never follows a symlinked parent out of the work dir.
fn remove_work_path(root: &Path, path: &str) -> Result<(), GitError> {
    if !parents_are_dirs(root, path) {
        // A parent is a symlink or a file: the path is not really inside the work dir, and the
        // parent itself is in the changed set and handled on its own.
        return Ok(());
    }
    let full = root.join(path);
    match fs::symlink_metadata(&full) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&full).map_err(io_error("remove", &full))?,
        Ok(_) => fs::remove_file(&full).map_err(io_error("remove", &full))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("read", &full)(e)),
    }
    // Folders the agent created for the file go with it.
    let mut parent = full.parent();
    while let Some(dir) = parent {
        if dir == root || fs::remove_dir(dir).is_err() {
            break;
        }
        parent = dir.parent();
    }
    Ok(())
}

/// Write a blob of `base` to the work dir, replacing whatever the agent put there.
fn write_work_path(repository: &Repository, root: &Path, path: &str, id: Oid, mode: u32) -> Result<(), GitError> {
    if mode == 0o160_000 {
        // A submodule's commit: nothing to write in this repository.
        return Ok(());
    }
    // Make every parent a real folder, so nothing is written through a symlink.
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                fs::remove_file(&dir).map_err(io_error("remove", &dir))?;
                fs::create_dir(&dir).map_err(io_error("create", &dir))?;
            }
            Err(_) => fs::create_dir(&dir).map_err(io_error("create", &dir))?,
        }
    }
    let full = root.join(path);
    match fs::symlink_metadata(&full) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&full).map_err(io_error("remove", &full))?,
        Ok(_) => fs::remove_file(&full).map_err(io_error("remove", &full))?,
        Err(_) => {}
    }
    let blob = repository.find_blob(id).doing("read a file from the base")?;
    if mode == 0o120_000 {
        let target = PathBuf::from(String::from_utf8_lossy(blob.content()).into_owned());
        std::os::unix::fs::symlink(&target, &full).map_err(io_error("restore the symlink", &full))?;
    } else {
        fs::write(&full, blob.content()).map_err(io_error("restore", &full))?;
        if mode == 0o100_755 {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&full, fs::Permissions::from_mode(0o755)).map_err(io_error("restore the mode of", &full))?;
        }
    }
    Ok(())
}

fn parents_are_dirs(root: &Path, path: &str) -> bool {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').collect();
    parts[..parts.len().saturating_sub(1)].iter().all(|part| {
        dir.push(part);
        fs::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir())
    })
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

/// Changes preflight made so far, undone in reverse when a later step fails.
#[derive(Default)]
struct Undo {
    /// The exclude file and its content before (`None`: it did not exist).
    exclude: Option<(PathBuf, Option<Vec<u8>>)>,
    /// Folders created, outermost first.
    dirs: Vec<PathBuf>,
    branch: Option<String>,
    head: Option<String>,
    worktree: Option<(String, PathBuf)>,
}

impl Undo {
    fn run(self, repository: &Repository) {
        // Best effort: each step is independent, and the original error is what gets reported.
        if let Some(head) = &self.head {
            let _ = repository.set_head(head);
        }
        if let Some((name, path)) = &self.worktree {
            let _ = fs::remove_dir_all(path);
            let _ = fs::remove_dir_all(repository.commondir().join("worktrees").join(name));
        }
        if let Some(branch) = &self.branch {
            if let Ok(mut found) = repository.find_branch(branch, BranchType::Local) {
                let _ = found.delete();
            }
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        if let Some((path, before)) = self.exclude {
            let _ = match before {
                Some(bytes) => fs::write(&path, bytes),
                None => fs::remove_file(&path),
            };
        }
    }
}

fn create_dirs(dir: &Path, undo: &mut Undo) -> Result<(), GitError> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        if path.exists() {
            break;
        }
        missing.push(path.to_path_buf());
        current = path.parent();
    }
    for path in missing.into_iter().rev() {
        fs::create_dir(&path).map_err(io_error("create", &path))?;
        undo.dirs.push(path);
    }
    Ok(())
}

/// Add `.night/` to `<common dir>/info/exclude` unless a line there already excludes it.
fn exclude_night_dir(common_dir: &Path, undo: &mut Undo) -> Result<(), GitError> {
    let info = common_dir.join("info");
    let path = info.join("exclude");
    let before = match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error("read", &path)(e)),
    };
    let text = before.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    if text.lines().any(|line| matches!(line.trim(), ".night/" | "/.night/" | ".night" | "/.night")) {
        return Ok(());
    }
    create_dirs(&info, undo)?;
    let mut after = text.clone().into_owned();
    if !after.is_empty() && !after.ends_with('\n') {
        after.push('\n');
    }
    after.push_str(".night/\n");
    undo.exclude = Some((path.clone(), before.clone()));
    fs::write(&path, after).map_err(io_error("write", &path))
}

#[cfg(test)]
mod tests;
