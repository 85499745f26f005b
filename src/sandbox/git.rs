//! The git internals of a sandboxed session: what the agent may write so that `git commit`
//! works, what stays read-only, and the guard that puts back what the agent should not have
//! changed once the session is over.
//!
//! New objects never go into the repository's object store. In the agent's mount namespace,
//! `<run dir>/objects` is bound over `.git/objects` and the real store is bound read-only at
//! `<run dir>/base-objects`, which the run's store lists as its alternate: the agent's git
//! writes to the run's store and reads everything, and the store with the user's history stays
//! read-only, `rm -rf .git/objects` included. Without the mount layer the same is done with
//! `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES`, which also reach any other
//! repository the agent's commands create. Night lists the run's store in `objects/info/alternates`
//! while the run lasts, so night, the checks and the user see the agent's commits at once, and
//! copies its objects into the real store after every session ([`GitGuard::after`]).
//!
//! A commit also needs: the run branch's loose ref (its folder: git writes `<ref>.lock` and
//! renames it), the branch's reflog folder, `logs/HEAD`, the index, `COMMIT_EDITMSG` and
//! `HEAD.lock`. In a worktree those last ones live in the worktree's own git dir; in place
//! they live in the git dir's root, next to `config` and `hooks`, so the root is writable
//! only when the mount layer binds every existing entry there read-only except the scratch
//! files git rewrites; a new file the agent creates there that redirects git (`commondir` would
//! send it to a config of the agent's) is removed by the guard, other new ones are reported.

use git2::{Oid, Repository};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Entries of a git dir's root that git itself rewrites during ordinary work.
pub const SCRATCH: &[&str] = &[
    "index",
    "COMMIT_EDITMSG",
    "ORIG_HEAD",
    "FETCH_HEAD",
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "MERGE_RR",
    "AUTO_MERGE",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "SQUASH_MSG",
    "BISECT_LOG",
    "BISECT_START",
    "BISECT_TERMS",
    "BISECT_NAMES",
    "BISECT_EXPECTED_REV",
    "BISECT_ANCESTORS_OK",
    "sequencer",
    "rebase-merge",
    "rebase-apply",
    "gc.pid",
    "gc.log",
];

/// Whether a new entry of the git dir's root is ordinary git work (not even reported).
fn ordinary_new_entry(name: &str) -> bool {
    SCRATCH.contains(&name) || name.ends_with(".lock") || name == "packed-refs"
}

/// New entries of a git dir's root that redirect git to files of the agent's choosing (a
/// config with `core.fsmonitor` or hooks would run outside the sandbox): removed.
const REDIRECTS: &[&str] = &["commondir", "gitdir", "config.worktree"];

/// Where the run's own object store lives.
pub fn run_objects(run_dir: &Path) -> PathBuf {
    run_dir.join("objects")
}

/// Where the repository's object store is bound, read-only, in the agent's mount namespace
/// (an empty folder outside it).
pub fn base_objects(run_dir: &Path) -> PathBuf {
    run_dir.join("base-objects")
}

/// Point the run's store at the repository's, as the agent's git sees it: its own
/// `info/alternates` names the read-only bind.
pub fn link_run_objects(run_dir: &Path) -> std::io::Result<()> {
    let run = run_objects(run_dir);
    std::fs::create_dir_all(run.join("info"))?;
    std::fs::create_dir_all(base_objects(run_dir))?;
    std::fs::write(run.join("info").join("alternates"), format!("{}\n", base_objects(run_dir).display()))
}

/// The git internals of the work dir.
#[derive(Debug, Clone)]
pub struct GitPaths {
    /// The work dir's own git dir: `.git` in place, `<common>/worktrees/<id>` in a worktree.
    pub git_dir: PathBuf,
    /// The common dir.
    pub common: PathBuf,
    /// Whether the git dir is the common dir (no worktree).
    pub in_place: bool,
    /// The worktree's `.git` file, in a worktree.
    pub git_file: Option<PathBuf>,
    /// The run branch's name, e.g. `night/fix/20260101-010101`.
    pub branch: Option<String>,
    /// The run branch's loose ref.
    pub branch_ref: Option<PathBuf>,
    /// The folder of the run branch's reflog.
    pub branch_log_dir: Option<PathBuf>,
}

impl GitPaths {
    /// Find them from the work dir (HEAD must be the run branch).
    pub fn find(work_dir: &Path, common: &Path) -> Option<GitPaths> {
        let dot_git = work_dir.join(".git");
        let meta = std::fs::symlink_metadata(&dot_git).ok()?;
        let (git_dir, git_file) = if meta.is_dir() {
            (dot_git, None)
        } else {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = text.lines().find_map(|line| line.strip_prefix("gitdir:"))?.trim();
            let target = Path::new(target);
            let target = if target.is_absolute() { target.to_path_buf() } else { work_dir.join(target) };
            (std::fs::canonicalize(&target).unwrap_or(target), Some(dot_git))
        };
        let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
        let branch = head.trim().strip_prefix("ref: refs/heads/").map(str::to_string);
        let under = |root: PathBuf, name: &str| {
            let mut path = root;
            path.extend(name.split('/'));
            path
        };
        let branch_ref = branch.as_deref().map(|b| under(common.join("refs/heads"), b));
        let branch_log_dir = branch.as_deref().and_then(|b| under(common.join("logs/refs/heads"), b).parent().map(Path::to_path_buf));
        Some(GitPaths { in_place: git_dir == common, git_dir, common: common.to_path_buf(), git_file, branch, branch_ref, branch_log_dir })
    }

    /// The folder of the run branch's loose ref.
    pub fn ref_dir(&self) -> Option<PathBuf> {
        self.branch_ref.as_deref().and_then(Path::parent).map(Path::to_path_buf)
    }

    /// `logs/HEAD` of the work dir's git dir.
    pub fn head_log(&self) -> PathBuf {
        self.git_dir.join("logs").join("HEAD")
    }
}

/// What night records before a session to put things back after it.
#[derive(Debug, Clone)]
pub struct GitGuard {
    paths: GitPaths,
    run_objects: PathBuf,
    /// Entries of the git dir's root before the session.
    root_entries: Vec<String>,
    /// Entries of the common dir's root before the session, in a worktree.
    common_entries: Vec<String>,
    /// Pointer files and their content: the worktree's `.git`, `commondir`, `gitdir`.
    pointers: Vec<(PathBuf, Vec<u8>)>,
    /// Every branch and tag but the run branch, with its target.
    refs: BTreeMap<String, Oid>,
    /// The run branch's tip.
    run_tip: Option<Oid>,
    /// Branches other runs of the same batch own, moved by their own agents at any time: not
    /// this session's doing, left alone.
    others: Vec<String>,
}

impl GitGuard {
    /// Record the state to guard, and list the run's object store in `objects/info/alternates`.
    pub fn before(paths: &GitPaths, run_dir: &Path) -> std::io::Result<GitGuard> {
        let run_objects = run_objects(run_dir);
        std::fs::create_dir_all(run_objects.join("pack"))?;
        add_alternate(&paths.common, &run_objects)?;
        let root_entries = list(&paths.git_dir);
        let common_entries = if paths.in_place { Vec::new() } else { list(&paths.common) };
        let mut pointers = Vec::new();
        let mut candidates: Vec<PathBuf> = paths.git_file.iter().cloned().collect();
        if !paths.in_place {
            candidates.extend([paths.git_dir.join("commondir"), paths.git_dir.join("gitdir")]);
        }
        for file in candidates {
            if let Ok(bytes) = std::fs::read(&file) {
                pointers.push((file, bytes));
            }
        }
        let (refs, run_tip) = read_refs(&paths.common, paths.branch.as_deref());
        Ok(GitGuard { paths: paths.clone(), run_objects, root_entries, common_entries, pointers, refs, run_tip, others: Vec::new() })
    }

    /// Leave these branches (`night/fix/…`, of other runs of a batch) alone.
    #[must_use]
    pub fn ignoring(mut self, branches: &[String]) -> Self {
        self.others = branches.iter().map(|b| format!("refs/heads/{b}")).collect();
        self
    }

    /// After the session: copy the agent's objects into the repository, then put back pointer
    /// files, branches and tags the agent changed, recreate a deleted run branch at its last
    /// tip, and remove new files from the git dir's root that would redirect git (`commondir`).
    /// Returns what the agent did, one phrase each, for the journal and the report.
    pub fn after(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Err(e) = import_objects(&self.run_objects, &self.paths.common.join("objects")) {
            found.push(format!("night could not copy the agent's objects into the repository ({e}); they stay in `{}`", self.run_objects.display()));
        }
        for (file, bytes) in &self.pointers {
            if std::fs::read(file).ok().as_ref() != Some(bytes) {
                // Whatever the agent put there instead (a folder, a symlink) goes first.
                let _ = std::fs::remove_dir_all(file).or_else(|_| std::fs::remove_file(file));
                match std::fs::write(file, bytes) {
                    Ok(()) => found.push(format!("changed or removed `{}` (restored)", file.display())),
                    Err(e) => found.push(format!("changed or removed `{}`, which night could not restore: {e}", file.display())),
                }
            }
        }
        // Only the in-place root is writable to the agent, and, with the mount layer, a
        // worktree's common root (for git's lock files). That one is also the user's checkout's
        // git dir, where the user may work meanwhile: only what would redirect git is removed,
        // and what else appeared there is not the agent's to report.
        if self.paths.in_place {
            found.extend(new_root_entries(&self.paths.git_dir, &self.root_entries, true));
        } else {
            found.extend(new_root_entries(&self.paths.common, &self.common_entries, false));
        }
        let Ok(repository) = Repository::open(&self.paths.common) else {
            found.push("left the repository unreadable to night".to_string());
            return found;
        };
        // The agent may have removed its own objects (`rm -rf .git` reaches the run's store):
        // reflog lines naming them go, so the repository stays consistent for `git fsck`.
        let mut reflogs = vec![self.paths.head_log()];
        if let (Some(dir), Some(branch)) = (&self.paths.branch_log_dir, &self.paths.branch) {
            reflogs.extend(branch.rsplit('/').next().map(|leaf| dir.join(leaf)));
        }
        for log in reflogs {
            let dropped = drop_missing_reflog_entries(&repository, &log);
            if dropped > 0 {
                found.push(format!("removed objects its commits needed ({dropped} reflog entries of `{}` dropped)", log.display()));
            }
        }
        let (now, run_tip) = read_refs(&self.paths.common, self.paths.branch.as_deref());
        // A run branch whose commit is gone counts as deleted.
        let run_tip = run_tip.filter(|tip| repository.find_commit(*tip).is_ok());
        for (name, oid) in self.refs.iter().filter(|(name, _)| !self.others.contains(name)) {
            if now.get(name) != Some(oid) {
                let verb = if now.contains_key(name) { "moved" } else { "deleted" };
                match repository.reference(name, *oid, true, "night: restore a ref the agent changed") {
                    Ok(_) => found.push(format!("{verb} `{name}` (restored)")),
                    Err(e) => found.push(format!("{verb} `{name}`, which night could not restore: {}", e.message())),
                }
            }
        }
        for name in now.keys().filter(|name| !self.refs.contains_key(*name) && !self.others.contains(name)) {
            found.push(format!("created `{name}`"));
        }
        if let (Some(branch), None, Some(before)) = (&self.paths.branch, run_tip, self.run_tip) {
            let name = format!("refs/heads/{branch}");
            // HEAD's reflog names the branch's last commit; the tip before the session otherwise.
            let last = last_head_entry(&self.paths.head_log()).filter(|oid| repository.find_commit(*oid).is_ok());
            let tip = last.unwrap_or(before);
            match repository.reference(&name, tip, true, "night: recreate the run branch the agent deleted") {
                Ok(_) => found.push(format!("deleted the run branch `{branch}` (recreated at {})", short(tip))),
                Err(e) => found.push(format!("deleted the run branch `{branch}`, which night could not recreate: {}", e.message())),
            }
        }
        found
    }

    /// At the end of the run: copy the last objects and drop the run's store from `alternates`.
    pub fn finish_run(common: &Path, run_dir: &Path) -> std::io::Result<()> {
        let run_objects = run_objects(run_dir);
        import_objects(&run_objects, &common.join("objects"))?;
        remove_alternate(common, &run_objects)
    }
}

/// New entries of a git dir's root (`before` lists the old ones): those that would redirect
/// git are removed; the others are reported when `report_others`, ordinary git work aside.
fn new_root_entries(root: &Path, before: &[String], report_others: bool) -> Vec<String> {
    let mut found = Vec::new();
    for name in list(root) {
        if before.contains(&name) || ordinary_new_entry(&name) {
            continue;
        }
        if !REDIRECTS.contains(&name.as_str()) {
            if report_others {
                found.push(format!("created `.git/{name}`"));
            }
            continue;
        }
        let path = root.join(&name);
        let removed = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        match removed {
            Ok(()) => found.push(format!("created `.git/{name}` (removed)")),
            Err(e) => found.push(format!("created `.git/{name}`, which night could not remove: {e}")),
        }
    }
    found
}

/// Remove the lines of a reflog whose commits are missing; how many were removed.
fn drop_missing_reflog_entries(repository: &Repository, log: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(log) else { return 0 };
    let exists = |hex: Option<&str>| {
        hex.and_then(|h| Oid::from_str(h).ok()).is_some_and(|oid| oid.is_zero() || repository.find_object(oid, None).is_ok())
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            let mut fields = line.split_whitespace();
            exists(fields.next()) && exists(fields.next())
        })
        .collect();
    let dropped = text.lines().count() - kept.len();
    if dropped > 0 {
        let mut new = kept.join("\n");
        if !new.is_empty() {
            new.push('\n');
        }
        // Written in place: in the agent's namespace the file may be a bind that cannot be
        // replaced, and here it is the same file.
        let _ = std::fs::write(log, new);
    }
    dropped
}

/// The commit the last line of a reflog moved to; when that line is the branch's deletion
/// (`git update-ref -d`, `git branch -D` log a move to zeros), the commit it was deleted at.
fn last_head_entry(log: &Path) -> Option<Oid> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut fields = line.split_whitespace().take(2).map(|hex| Oid::from_str(hex).ok().filter(|oid| !oid.is_zero()));
    let (old, new) = (fields.next().flatten(), fields.next().flatten());
    new.or(old)
}

fn short(oid: Oid) -> String {
    oid.to_string().chars().take(7).collect()
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Branches and tags (the run branch apart), and the run branch's tip.
fn read_refs(common: &Path, run_branch: Option<&str>) -> (BTreeMap<String, Oid>, Option<Oid>) {
    let mut refs = BTreeMap::new();
    let mut run_tip = None;
    let run_ref = run_branch.map(|b| format!("refs/heads/{b}"));
    let Ok(repository) = Repository::open(common) else { return (refs, None) };
    let Ok(references) = repository.references() else { return (refs, None) };
    for reference in references.flatten() {
        let (Some(name), Some(target)) = (reference.name(), reference.target()) else { continue };
        if Some(name) == run_ref.as_deref() {
            run_tip = Some(target);
        } else if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            refs.insert(name.to_string(), target);
        }
    }
    (refs, run_tip)
}

fn alternates_file(common: &Path) -> PathBuf {
    common.join("objects").join("info").join("alternates")
}

fn add_alternate(common: &Path, store: &Path) -> std::io::Result<()> {
    let file = alternates_file(common);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let line = store.display().to_string();
    if text.lines().any(|l| l.trim() == line) {
        return Ok(());
    }
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&line);
    new.push('\n');
    std::fs::write(&file, new)
}

fn remove_alternate(common: &Path, store: &Path) -> std::io::Result<()> {
    let file = alternates_file(common);
    let Ok(text) = std::fs::read_to_string(&file) else { return Ok(()) };
    let line = store.display().to_string();
    let kept: Vec<&str> = text.lines().filter(|l| l.trim() != line).collect();
    if kept.is_empty() {
        std::fs::remove_file(&file)
    } else {
        std::fs::write(&file, format!("{}\n", kept.join("\n")))
    }
}

/// Copy every loose object and pack of `from` that `to` lacks. Objects are named by their
/// content, so an existing name is never replaced; a pack's index goes last, so git never sees
/// an index without its pack.
fn import_objects(from: &Path, to: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_fanout = name.len() == 2 && name.chars().all(|c| c.is_ascii_hexdigit());
        if !(is_fanout || name == "pack") || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let target_dir = to.join(name.as_ref());
        std::fs::create_dir_all(&target_dir)?;
        let mut files: Vec<std::fs::DirEntry> =
            std::fs::read_dir(entry.path())?.flatten().filter(|f| f.file_type().is_ok_and(|t| t.is_file())).collect();
        files.sort_by_key(|f| f.file_name().to_string_lossy().ends_with(".idx"));
        for file in files {
            let file_name = file.file_name();
            if file_name.to_string_lossy().starts_with("tmp") {
                continue;
            }
            let target = target_dir.join(&file_name);
            if target.exists() {
                continue;
            }
            // Never a link: the agent could still write to the run's copy.
            std::fs::copy(file.path(), &target)?;
        }
    }
    Ok(())
}
