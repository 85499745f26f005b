//! Preflight: the run branch (and the run's worktree) made from the user's branch, after
//! checking that the repository can take a run; and, for a supervisor killed halfway, undoing
//! what it had made ([`PendingPreflight`]).

use super::error::{io_error, Context};
use super::*;

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

/// The most suffixes tried for a run branch whose name is taken (`-2` … `-99`).
const MOST_SUFFIXES: u32 = 99;

impl RunGit {
    /// The run branch to create: `wanted`, or when a branch of that name exists already (an
    /// earlier run of the same runbook in the same minute, or a fixed `branch` in `task`)
    /// `wanted-2`, `wanted-3` … — every run gets a branch of its own, and no run's work is
    /// ever in the way of the next. A repository that cannot be read answers `wanted`: the
    /// preflight says what is wrong with it.
    pub fn free_branch(repo: &Path, wanted: &str) -> Result<String, GitError> {
        let Ok(repository) = open_exact(repo) else { return Ok(wanted.to_string()) };
        let taken = |name: &str| repository.find_branch(name, BranchType::Local).is_ok();
        if !taken(wanted) {
            return Ok(wanted.to_string());
        }
        (2..=MOST_SUFFIXES).map(|n| format!("{wanted}-{n}")).find(|name| !taken(name)).ok_or_else(|| GitError::BranchExists(wanted.to_string()))
    }

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
        from: Option<Oid>,
    ) -> Result<(RunGit, Oid), GitError> {
        Self::preflight_checkout(repo, branch, worktree, run_id, runbook_relative, false, from)
    }

    /// [`RunGit::preflight`] into a worktree, over a checkout with uncommitted changes (`waive
    /// git-dirty` with `worktree on`): the worktree is made from HEAD's commit, and the
    /// uncommitted files stay untouched in the user's checkout.
    pub fn preflight_beside_uncommitted(repo: &Path, branch: &str, run_id: &str, runbook_relative: Option<&str>) -> Result<(RunGit, Oid), GitError> {
        Self::preflight_checkout(repo, branch, true, run_id, runbook_relative, true, None)
    }

    fn preflight_checkout(
        repo: &Path,
        branch: &str,
        worktree: bool,
        run_id: &str,
        runbook_relative: Option<&str>,
        beside_uncommitted: bool,
        from: Option<Oid>,
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
        // A batch's run starts from the commit checked at the batch's start, in a worktree of
        // its own: what the user's checkout holds since then is none of its business.
        let start = match from {
            Some(from) => repository.find_commit(from).doing("find the batch's start commit")?,
            None => head.peel_to_commit().doing("read the HEAD commit")?,
        };
        if from.is_none() {
            if repository.state() != RepositoryState::Clean {
                return Err(GitError::InProgress(format!("{:?}", repository.state()).to_lowercase()));
            }
            let runbook_relative = runbook_relative.map(|p| p.replace('\\', "/"));
            let dirty: Vec<String> = status_paths(&repository)?
                .into_iter()
                .filter(|path| !is_night_path(path) && Some(path) != runbook_relative.as_ref())
                .collect();
            if !(dirty.is_empty() || (worktree && beside_uncommitted)) {
                return Err(GitError::Dirty(dirty));
            }
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
        let protected = if worktree { Vec::new() } else { runbook_relative.map(|p| p.replace('\\', "/")).into_iter().collect() };
        let run = RunGit { work_dir, common_dir, branch: branch.to_string(), original_branch, protected };
        Ok((run, start.id()))
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
