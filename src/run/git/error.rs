//! Why a git operation of the run failed; each message says what to do.

use std::io;
use std::path::{Path, PathBuf};

/// Why a git operation failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not the root of a git repository.
    #[error("`{}` is not a git repository; run `git init` and commit, or set `repo \"path\"` in `task`", .0.display())]
    NotARepository(PathBuf),
    /// The folder is not inside a git repository.
    #[error("`{}` is not inside a git repository", .0.display())]
    NotInside(PathBuf),
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
pub(super) trait Context<T> {
    fn doing(self, action: &'static str) -> Result<T, GitError>;
}

impl<T> Context<T> for Result<T, git2::Error> {
    fn doing(self, action: &'static str) -> Result<T, GitError> {
        self.map_err(|source| GitError::Git { action, source })
    }
}

pub(super) fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> GitError {
    let path = path.to_path_buf();
    move |source| GitError::Io { action, path, source }
}
