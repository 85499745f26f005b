//! Tests on real temporary repositories. Over 600 lines on purpose: every operation of
//! `run::git` (preflight, snapshots, reverts, checkpoints, resets) shares the fixtures above its
//! sections, which follow the files of `run/git/`.

use super::*;
use git2::RepositoryInitOptions;
use std::collections::BTreeMap;
use tempfile::TempDir;

const BRANCH: &str = "night/test/20250101-0000";
const RUN_ID: &str = "test-20250101-000000";

/// Every entry under `dir`, `.git` included: path → (kind, bytes or link target, mode).
fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, (char, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            let relative = path.strip_prefix(dir).expect("prefix").to_path_buf();
            let mode = meta.permissions().mode();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).expect("link");
                out.insert(relative, ('l', target.to_string_lossy().as_bytes().to_vec(), mode));
            } else if meta.is_dir() {
                out.insert(relative, ('d', Vec::new(), mode));
                stack.push(path);
            } else {
                out.insert(relative, ('f', fs::read(&path).expect("read"), mode));
            }
        }
    }
    out
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(full, text).expect("write");
}

fn read(root: &Path, path: &str) -> String {
    fs::read_to_string(root.join(path)).expect("read")
}

/// Commit everything in the work dir on HEAD (as a user or the agent would).
fn commit_all(root: &Path, message: &str) -> Oid {
    let repository = Repository::open(root).expect("open");
    let mut index = repository.index().expect("index");
    index.add_all(["*"], IndexAddOption::DEFAULT, None).expect("add");
    index.update_all(["*"], None).expect("update");
    index.write().expect("write index");
    let tree = repository.find_tree(index.write_tree().expect("tree")).expect("find tree");
    let signature = Signature::now("Test", "test@example.com").expect("signature");
    let parent = repository.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&Commit<'_>> = parent.iter().collect();
    repository.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).expect("commit")
}

/// A repository on `main` with one commit: `a.txt`, `keep.txt`, `src/lib.rs`, `old.txt`, a
/// `.gitignore` for `*.log`.
fn repo() -> (TempDir, PathBuf) {
    let temp = TempDir::new().expect("tempdir");
    let root = temp.path().join("repo");
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main");
    Repository::init_opts(&root, &options).expect("init");
    write(&root, "a.txt", "a\n");
    write(&root, "keep.txt", "keep\n");
    write(&root, "src/lib.rs", "fn a() {}\n");
    write(&root, "old.txt", "old\n");
    write(&root, ".gitignore", "*.log\n");
    commit_all(&root, "initial");
    (temp, root)
}

fn head_commit(root: &Path) -> Oid {
    Repository::open(root).expect("open").head().expect("head").target().expect("target")
}

fn head_name(root: &Path) -> String {
    Repository::open(root).expect("open").head().expect("head").name().expect("name").to_string()
}

fn main_tip(root: &Path) -> Oid {
    Repository::open(root).expect("open").find_branch("main", BranchType::Local).expect("main").get().target().expect("tip")
}

fn assert_refused(root: &Path, expected: impl Fn(&GitError) -> bool) {
    let before = tree_bytes(root.parent().expect("parent"));
    let result = RunGit::preflight(root, BRANCH, false, RUN_ID, None);
    let error = result.expect_err("preflight must refuse");
    assert!(expected(&error), "unexpected error: {error}");
    assert_eq!(tree_bytes(root.parent().expect("parent")), before, "a refused preflight changed files");
    let worktree = RunGit::preflight(root, BRANCH, true, RUN_ID, None).expect_err("preflight must refuse");
    assert!(expected(&worktree), "unexpected error: {worktree}");
    assert_eq!(tree_bytes(root.parent().expect("parent")), before, "a refused preflight changed files");
}

// ------------------------------------------------------------------ preflight ----

#[test]
fn preflight_refuses_a_modified_file() {
    let (_temp, root) = repo();
    write(&root, "a.txt", "changed\n");
    assert_refused(&root, |e| matches!(e, GitError::Dirty(paths) if paths == &["a.txt".to_string()]));
}

#[test]
fn preflight_refuses_an_untracked_file() {
    let (_temp, root) = repo();
    write(&root, "new/file.txt", "new\n");
    assert_refused(&root, |e| matches!(e, GitError::Dirty(paths) if paths == &["new/file.txt".to_string()]));
}

#[test]
fn preflight_refuses_a_staged_deletion() {
    let (_temp, root) = repo();
    let repository = Repository::open(&root).expect("open");
    let mut index = repository.index().expect("index");
    index.remove_path(Path::new("keep.txt")).expect("remove");
    index.write().expect("write");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    assert_refused(&root, |e| matches!(e, GitError::Dirty(paths) if paths == &["keep.txt".to_string()]));
}

#[test]
fn preflight_refuses_a_detached_head() {
    let (_temp, root) = repo();
    let repository = Repository::open(&root).expect("open");
    repository.set_head_detached(head_commit(&root)).expect("detach");
    assert_refused(&root, |e| matches!(e, GitError::Detached));
}

#[test]
fn preflight_refuses_an_unborn_branch() {
    let temp = TempDir::new().expect("tempdir");
    let root = temp.path().join("repo");
    Repository::init(&root).expect("init");
    assert_refused(&root, |e| matches!(e, GitError::Unborn));
}

#[test]
fn preflight_refuses_an_existing_branch() {
    let (_temp, root) = repo();
    let repository = Repository::open(&root).expect("open");
    let head = repository.head().expect("head").peel_to_commit().expect("commit");
    repository.branch(BRANCH, &head, false).expect("branch");
    assert_refused(&root, |e| matches!(e, GitError::BranchExists(name) if name == BRANCH));
}

#[test]
fn preflight_refuses_a_folder_that_is_not_a_repository() {
    let temp = TempDir::new().expect("tempdir");
    let root = temp.path().join("plain");
    fs::create_dir(&root).expect("mkdir");
    write(&root, "file.txt", "x\n");
    assert_refused(&root, |e| matches!(e, GitError::NotARepository(path) if path == &root));
}

#[test]
fn preflight_refuses_a_subfolder_of_a_repository() {
    // The Plan names the work tree root; a folder inside it must not open the repository around it.
    let (_temp, root) = repo();
    let before = tree_bytes(&root);
    let error = RunGit::preflight(&root.join("src"), BRANCH, false, RUN_ID, None).expect_err("refuse");
    assert!(matches!(error, GitError::NotARepository(_)), "{error}");
    assert_eq!(tree_bytes(&root), before);
}

#[test]
fn preflight_refuses_a_bare_repository() {
    let temp = TempDir::new().expect("tempdir");
    let root = temp.path().join("bare.git");
    Repository::init_bare(&root).expect("init");
    assert_refused(&root, |e| matches!(e, GitError::Bare(_)));
}

#[test]
fn preflight_refuses_an_invalid_branch_name() {
    let (_temp, root) = repo();
    let before = tree_bytes(temp_parent(&root));
    let error = RunGit::preflight(&root, "bad..name", false, RUN_ID, None).expect_err("refuse");
    assert!(matches!(error, GitError::InvalidBranch(_)), "{error}");
    assert_eq!(tree_bytes(temp_parent(&root)), before);
}

fn temp_parent(root: &Path) -> &Path {
    root.parent().expect("parent")
}

#[test]
fn refusal_messages_say_what_to_do() {
    assert_eq!(
        GitError::Dirty(vec!["a".into(), "b".into()]).to_string(),
        "the repository has uncommitted changes: `a`, `b`; commit or stash them first (`git stash -u`), night never runs over your uncommitted work"
    );
    assert_eq!(
        GitError::BranchExists("night/x".into()).to_string(),
        "branch `night/x` already exists; delete it (`git branch -D night/x`) or set another `branch` in `task`"
    );
    let many: Vec<String> = (0..7).map(|i| format!("f{i}")).collect();
    assert!(GitError::Dirty(many).to_string().contains("`f4` and 2 more;"));
}

#[test]
fn preflight_allows_the_runbook_and_night_folder() {
    let (_temp, root) = repo();
    write(&root, "job.night", "name \"job\"\n");
    write(&root, ".night/runs/old/journal.jsonl", "{}\n");
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, Some("job.night")).expect("preflight");
    assert_eq!(start, main_tip(&root));
    assert_eq!(run.work_dir(), root.as_path());
    assert_eq!(read(&root, "job.night"), "name \"job\"\n");
}

#[test]
fn preflight_in_place_switches_to_the_run_branch() {
    let (_temp, root) = repo();
    let files_before: BTreeMap<_, _> =
        tree_bytes(&root).into_iter().filter(|(p, _)| !p.starts_with(".git")).collect();
    let start_before = head_commit(&root);
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(start, start_before);
    assert_eq!(head_name(&root), format!("refs/heads/{BRANCH}"));
    assert_eq!(run.head().expect("head"), start);
    assert_eq!(run.branch(), BRANCH);
    assert_eq!(run.original_branch(), Some("main"));
    assert_eq!(main_tip(&root), start);
    assert!(run.is_clean().expect("clean"));
    let files_after: BTreeMap<_, _> = tree_bytes(&root).into_iter().filter(|(p, _)| !p.starts_with(".git")).collect();
    assert_eq!(files_after, files_before);
    assert_eq!(run.ref_path(), root.join(".git/refs/heads/night/test/20250101-0000"));
    assert_eq!(read(&root, ".git/refs/heads/night/test/20250101-0000").trim(), start.to_string());
}

#[test]
fn preflight_excludes_the_night_folder_exactly_once() {
    let (_temp, root) = repo();
    let exclude = root.join(".git/info/exclude");
    // No trailing newline: the appended line must still be a line of its own.
    fs::write(&exclude, "# mine\n*.tmp").expect("write");
    RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(fs::read_to_string(&exclude).expect("read"), "# mine\n*.tmp\n.night/\n");
    // A second run (back on main) does not add it again.
    Repository::open(&root).expect("open").set_head("refs/heads/main").expect("switch");
    RunGit::preflight(&root, "night/second", true, "second-run", None).expect("preflight");
    assert_eq!(fs::read_to_string(&exclude).expect("read"), "# mine\n*.tmp\n.night/\n");
}

#[test]
fn preflight_creates_the_exclude_file_when_missing() {
    let (_temp, root) = repo();
    let _ = fs::remove_dir_all(root.join(".git/info"));
    RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(fs::read_to_string(root.join(".git/info/exclude")).expect("read"), ".night/\n");
}

#[test]
fn preflight_with_a_worktree_leaves_the_checkout_on_its_branch() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, true, RUN_ID, None).expect("preflight");
    let work = root.join(".night/worktrees").join(RUN_ID);
    assert_eq!(run.work_dir(), work.as_path());
    assert_eq!(head_name(&root), "refs/heads/main");
    assert_eq!(head_name(&work), format!("refs/heads/{BRANCH}"));
    assert_eq!(read(&work, "src/lib.rs"), "fn a() {}\n");
    assert_eq!(read(&work, "a.txt"), "a\n");
    assert_eq!(run.head().expect("head"), start);
    assert_eq!(run.original_branch(), Some("main"));
    assert!(run.is_clean().expect("clean"));
    // The worktree inside the checkout is excluded, so the user's checkout stays clean.
    assert_eq!(status_paths(&Repository::open(&root).expect("open")).expect("status"), Vec::<String>::new());
    // Its branch ref is in the common git dir.
    assert_eq!(run.ref_path(), root.join(".git/refs/heads/night/test/20250101-0000"));
}

#[test]
fn preflight_refuses_a_taken_worktree_folder() {
    let (_temp, root) = repo();
    write(&root, &format!(".night/worktrees/{RUN_ID}/x"), "x");
    let before = tree_bytes(&root);
    let error = RunGit::preflight(&root, BRANCH, true, RUN_ID, None).expect_err("refuse");
    assert!(matches!(error, GitError::WorktreeExists(_)), "{error}");
    assert_eq!(tree_bytes(&root), before);
}

#[test]
fn open_reopens_a_worktree_run() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, true, RUN_ID, None).expect("preflight");
    let reopened = RunGit::open(run.work_dir(), BRANCH).expect("open");
    assert_eq!(reopened.head().expect("head"), start);
    assert_eq!(reopened.work_dir(), run.work_dir());
    assert_eq!(reopened.original_branch(), Some("main"));
    assert_eq!(reopened.ref_path(), run.ref_path());
    let missing = RunGit::open(run.work_dir(), "night/missing").expect_err("missing branch");
    assert!(matches!(missing, GitError::NoRunBranch(name) if name == "night/missing"));
}

// ------------------------------------------------------------ snapshot & diffs ----

/// A run in place, then the agent's mess: a modified file, an untracked one, a deletion,
/// a staged change, an ignored log and a `.night/` file.
fn messy_run() -> (TempDir, PathBuf, RunGit, Oid) {
    let (temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    write(&root, "a.txt", "a changed\n");
    write(&root, "new/untracked.txt", "untracked\n");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    write(&root, "src/lib.rs", "fn staged() {}\n");
    let repository = Repository::open(&root).expect("open");
    let mut index = repository.index().expect("index");
    index.add_path(Path::new("src/lib.rs")).expect("stage");
    index.write().expect("write");
    write(&root, "build.log", "ignored\n");
    write(&root, ".night/runs/x/agent.log", "log\n");
    (temp, root, run, start)
}

#[test]
fn snapshot_keeps_everything_and_touches_nothing() {
    let (_temp, root, run, start) = messy_run();
    let before = tree_bytes(&root);
    let refname = format!("refs/night/{RUN_ID}/attempt-1");
    let id = run.snapshot(&refname, "night: attempt 1").expect("snapshot");

    let after: BTreeMap<_, _> = tree_bytes(&root)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(".git/objects") && !path.starts_with(".git/refs/night") && !path.starts_with(".git/logs/refs/night"))
        .collect();
    let before: BTreeMap<_, _> = before.into_iter().filter(|(path, _)| !path.starts_with(".git/objects")).collect();
    assert_eq!(after, before, "snapshot changed HEAD, the index or the work tree");
    assert_eq!(head_commit(&root), start);

    let repository = Repository::open(&root).expect("open");
    assert_eq!(repository.find_reference(&refname).expect("ref").target(), Some(id));
    let commit = repository.find_commit(id).expect("commit");
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), vec![start]);
    assert_eq!(commit.message(), Some("night: attempt 1"));
    let tree = commit.tree().expect("tree");
    let blob = |path: &str| {
        let entry = tree.get_path(Path::new(path)).ok()?;
        Some(String::from_utf8_lossy(repository.find_blob(entry.id()).ok()?.content()).into_owned())
    };
    assert_eq!(blob("a.txt").as_deref(), Some("a changed\n"));
    assert_eq!(blob("new/untracked.txt").as_deref(), Some("untracked\n"));
    assert_eq!(blob("src/lib.rs").as_deref(), Some("fn staged() {}\n"));
    assert_eq!(blob("keep.txt"), None);
    assert_eq!(blob("build.log"), None);
    assert_eq!(blob(".night/runs/x/agent.log"), None);
    assert_eq!(blob("old.txt").as_deref(), Some("old\n"));
}

#[test]
fn changed_paths_cover_committed_uncommitted_untracked_deleted_and_renamed() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    write(&root, "committed.txt", "c\n");
    fs::rename(root.join("old.txt"), root.join("renamed.txt")).expect("rename");
    commit_all(&root, "agent commit");
    write(&root, "a.txt", "uncommitted\n");
    write(&root, "deep/new/untracked.txt", "u\n");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    write(&root, "x.log", "ignored\n");
    write(&root, ".night/runs/x/journal.jsonl", "{}\n");
    assert_eq!(
        run.changed_paths_since(start).expect("changed"),
        vec!["a.txt", "committed.txt", "deep/new/untracked.txt", "keep.txt", "old.txt", "renamed.txt"]
    );
    // Since a snapshot of this state, nothing changed; then one more write shows alone.
    let snapshot = run.snapshot("refs/night/t/session-1", "session start").expect("snapshot");
    assert_eq!(run.changed_paths_since(snapshot).expect("changed"), Vec::<String>::new());
    write(&root, "src/lib.rs", "fn b() {}\n");
    assert_eq!(run.changed_paths_since(snapshot).expect("changed"), vec!["src/lib.rs"]);
}

// -------------------------------------------------------------------- revert ----

#[test]
fn revert_restores_modified_deletes_created_and_restores_deleted() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let base = run.snapshot("refs/night/t/session-1", "session start").expect("snapshot");
    write(&root, "a.txt", "bad\n");
    write(&root, "outside/dir/created.txt", "bad\n");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    write(&root, "src/lib.rs", "fn allowed() {}\n");
    let changed = run.changed_paths_since(base).expect("changed");
    assert_eq!(changed, vec!["a.txt", "keep.txt", "outside/dir/created.txt", "src/lib.rs"]);
    let bad: Vec<String> = changed.into_iter().filter(|p| !p.starts_with("src/")).collect();

    assert_eq!(run.revert_paths(base, &bad).expect("revert"), None, "nothing was committed, so no commit");
    assert_eq!(read(&root, "a.txt"), "a\n");
    assert_eq!(read(&root, "keep.txt"), "keep\n");
    assert!(!root.join("outside").exists(), "created file and its folders must be gone");
    assert_eq!(read(&root, "src/lib.rs"), "fn allowed() {}\n", "allowed work is kept");
    assert_eq!(run.changed_paths_since(base).expect("changed"), vec!["src/lib.rs"]);
    assert_eq!(run.head().expect("head"), start);
}

#[test]
fn revert_commits_when_the_agent_committed_the_bad_write() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let base = run.snapshot("refs/night/t/session-1", "session start").expect("snapshot");
    write(&root, "a.txt", "bad committed\n");
    write(&root, "src/lib.rs", "fn good() {}\n");
    write(&root, "secret.txt", "bad created\n");
    let agent_commit = commit_all(&root, "agent: stuff");
    write(&root, "src/lib.rs", "fn good_uncommitted() {}\n");
    let attempt = run.snapshot("refs/night/t/attempt-1", "attempt 1").expect("snapshot");

    let reverted = run
        .revert_paths(base, &["a.txt".to_string(), "secret.txt".to_string()])
        .expect("revert")
        .expect("a commit is needed");
    let repository = Repository::open(&root).expect("open");
    let commit = repository.find_commit(reverted).expect("commit");
    assert_eq!(commit.message(), Some(REVERT_MESSAGE));
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), vec![agent_commit]);
    assert_eq!(run.head().expect("head"), reverted);
    let tree = commit.tree().expect("tree");
    let text = |tree: &Tree<'_>, path: &str| {
        tree.get_path(Path::new(path))
            .ok()
            .map(|e| String::from_utf8_lossy(repository.find_blob(e.id()).expect("blob").content()).into_owned())
    };
    assert_eq!(text(&tree, "a.txt").as_deref(), Some("a\n"));
    assert_eq!(text(&tree, "secret.txt"), None);
    assert_eq!(text(&tree, "src/lib.rs").as_deref(), Some("fn good() {}\n"), "allowed committed work stays");
    assert_eq!(read(&root, "a.txt"), "a\n");
    assert!(!root.join("secret.txt").exists());
    assert_eq!(read(&root, "src/lib.rs"), "fn good_uncommitted() {}\n");
    // Only the allowed uncommitted change is left; the index agrees with the new tip.
    assert_eq!(status_paths(&repository).expect("status"), vec!["src/lib.rs"]);
    // The bad content is kept in the attempt ref.
    let kept = repository.find_commit(attempt).expect("attempt").tree().expect("tree");
    assert_eq!(text(&kept, "a.txt").as_deref(), Some("bad committed\n"));
    assert_eq!(main_tip(&root), start);
}

#[test]
fn revert_unstages_bad_content_without_a_commit() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let base = run.snapshot("refs/night/t/session-1", "session start").expect("snapshot");
    write(&root, "a.txt", "bad staged\n");
    write(&root, "staged-new.txt", "bad new\n");
    let repository = Repository::open(&root).expect("open");
    let mut index = repository.index().expect("index");
    index.add_path(Path::new("a.txt")).expect("stage");
    index.add_path(Path::new("staged-new.txt")).expect("stage");
    index.write().expect("write");
    let paths = vec!["a.txt".to_string(), "staged-new.txt".to_string()];
    assert_eq!(run.revert_paths(base, &paths).expect("revert"), None);
    assert_eq!(run.head().expect("head"), start);
    assert!(run.is_clean().expect("clean"), "{:?}", status_paths(&repository));
}

#[test]
fn revert_never_writes_through_a_symlink_the_agent_made() {
    let (temp, root) = repo();
    let (run, _start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let base = run.snapshot("refs/night/t/session-1", "session start").expect("snapshot");
    let outside = temp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    fs::remove_dir_all(root.join("src")).expect("rm");
    std::os::unix::fs::symlink(&outside, root.join("src")).expect("symlink");
    let changed = run.changed_paths_since(base).expect("changed");
    assert_eq!(changed, vec!["src", "src/lib.rs"]);
    // Worst order: the file beneath the link first.
    run.revert_paths(base, &["src/lib.rs".to_string(), "src".to_string()]).expect("revert");
    assert_eq!(fs::read_dir(&outside).expect("read").count(), 0, "nothing written outside the repository");
    assert!(fs::symlink_metadata(root.join("src")).expect("meta").is_dir());
    assert_eq!(read(&root, "src/lib.rs"), "fn a() {}\n");
    assert!(run.is_clean().expect("clean"));
}

#[test]
fn revert_refuses_paths_outside_the_repository() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    for bad in ["../x", "/etc/passwd", ".git/config", "a/../../x", ""] {
        let error = run.revert_paths(start, &[bad.to_string()]).expect_err(bad);
        assert!(matches!(error, GitError::BadPath(ref p) if p == bad), "{bad}: {error}");
    }
}

#[test]
fn revert_leaves_the_night_folder_alone() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    write(&root, ".night/runs/x/journal.jsonl", "{}\n");
    assert_eq!(run.revert_paths(start, &[".night/runs/x/journal.jsonl".to_string()]).expect("revert"), None);
    assert_eq!(read(&root, ".night/runs/x/journal.jsonl"), "{}\n");
}

// ---------------------------------------------------------------- checkpoint ----

#[test]
fn checkpoint_commits_everything_left_over() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(run.checkpoint("night: checkpoint").expect("checkpoint"), None, "clean tree: no commit");
    write(&root, "a.txt", "changed\n");
    write(&root, "new.txt", "new\n");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    write(&root, "x.log", "ignored\n");
    write(&root, ".night/runs/x/journal.jsonl", "{}\n");
    let id = run.checkpoint("night: checkpoint").expect("checkpoint").expect("a commit");
    assert_eq!(run.head().expect("head"), id);
    assert!(run.is_clean().expect("clean"));
    let repository = Repository::open(&root).expect("open");
    let commit = repository.find_commit(id).expect("commit");
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), vec![start]);
    let tree = commit.tree().expect("tree");
    let mut names: Vec<String> = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            names.push(format!("{dir}{}", entry.name().unwrap_or("?")));
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    names.sort();
    assert_eq!(names, vec![".gitignore", "a.txt", "new.txt", "old.txt", "src/lib.rs"]);
    assert_eq!(main_tip(&root), start);
}

#[test]
fn checkpoint_signs_with_the_repository_identity_or_night() {
    let (_temp, root) = repo();
    let (run, _start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let repository = Repository::open(&root).expect("open");
    let mut config = repository.config().expect("config").open_level(git2::ConfigLevel::Local).expect("local");
    config.set_str("user.name", "Repo Person").expect("name");
    config.set_str("user.email", "repo@example.com").expect("email");
    write(&root, "a.txt", "changed\n");
    let id = run.checkpoint("night: checkpoint").expect("checkpoint").expect("commit");
    let commit = repository.find_commit(id).expect("commit");
    assert_eq!(commit.author().name(), Some("Repo Person"));
    assert_eq!(commit.committer().email(), Some("repo@example.com"));

    let fallback = signature_from(None, Some("x@example.com".into())).expect("signature");
    assert_eq!((fallback.name(), fallback.email()), (Some("night"), Some("night@localhost")));
    let fallback = signature_from(Some(" ".into()), Some("x@example.com".into())).expect("signature");
    assert_eq!(fallback.name(), Some("night"));
}

#[test]
fn the_uncommitted_runbook_is_never_committed_reset_or_deleted() {
    let (_temp, root) = repo();
    write(&root, "job.night", "my runbook\n");
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, Some("job.night")).expect("preflight");
    assert!(run.is_clean().expect("clean"), "the runbook does not make the run dirty");
    assert_eq!(run.changed_paths_since(start).expect("changed"), Vec::<String>::new());
    write(&root, "a.txt", "changed\n");
    let id = run.checkpoint("night: checkpoint").expect("checkpoint").expect("commit");
    let repository = Repository::open(&root).expect("open");
    assert!(repository.find_commit(id).expect("commit").tree().expect("tree").get_path(Path::new("job.night")).is_err());
    run.reset_to(start).expect("reset");
    assert_eq!(read(&root, "job.night"), "my runbook\n");
    assert_eq!(read(&root, "a.txt"), "a\n");
}

// ------------------------------------------------------------------- reset ----

#[test]
fn reset_to_restores_the_branch_and_the_tree_exactly() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let files_at_start: BTreeMap<_, _> = tree_bytes(&root).into_iter().filter(|(p, _)| !p.starts_with(".git")).collect();
    write(&root, "a.txt", "committed\n");
    commit_all(&root, "agent 1");
    write(&root, "b.txt", "committed\n");
    commit_all(&root, "agent 2");
    write(&root, "src/lib.rs", "uncommitted\n");
    write(&root, "untracked/u.txt", "untracked\n");
    fs::remove_file(root.join("keep.txt")).expect("rm");
    write(&root, ".night/runs/x/journal.jsonl", "{}\n");
    write(&root, "x.log", "ignored\n");
    run.snapshot("refs/night/t/attempt-1", "attempt 1").expect("snapshot");

    run.reset_to(start).expect("reset");
    assert_eq!(run.head().expect("head"), start);
    assert_eq!(head_commit(&root), start);
    assert_eq!(head_name(&root), format!("refs/heads/{BRANCH}"));
    assert!(run.is_clean().expect("clean"), "{:?}", status_paths(&Repository::open(&root).expect("open")));
    let files_now: BTreeMap<_, _> = tree_bytes(&root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".git") && !p.starts_with(".night") && p != Path::new("x.log"))
        .collect();
    assert_eq!(files_now, files_at_start);
    assert_eq!(read(&root, ".night/runs/x/journal.jsonl"), "{}\n", "night's own files survive");
    assert_eq!(read(&root, "x.log"), "ignored\n", "ignored files survive");
    assert_eq!(main_tip(&root), start);
}

#[test]
fn reset_to_refuses_when_head_left_the_run_branch() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    write(&root, "a.txt", "x\n");
    commit_all(&root, "agent");
    Repository::open(&root).expect("open").set_head("refs/heads/main").expect("switch");
    let before = tree_bytes(&root);
    let error = run.reset_to(start).expect_err("refuse");
    assert!(matches!(&error, GitError::NotOnRunBranch { found, .. } if found == "main"), "{error}");
    assert_eq!(tree_bytes(&root), before);
    assert!(matches!(run.checkpoint("x"), Err(GitError::NotOnRunBranch { .. })));
}

// ------------------------------------------------------------------ history ----

#[test]
fn commits_since_lists_the_run_oldest_first_with_stats() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert!(run.commits_since(start).expect("commits").is_empty());
    write(&root, "a.txt", "a\nb\nc\n");
    let first = commit_all(&root, "first: add lines\n\nbody");
    fs::remove_file(root.join("old.txt")).expect("rm");
    write(&root, "n1.txt", "1\n");
    write(&root, "n2.txt", "1\n2\n");
    let second = commit_all(&root, "second");
    let commits = run.commits_since(start).expect("commits");
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[0].id, first.to_string());
    assert_eq!(commits[0].summary, "first: add lines");
    assert_eq!((commits[0].files, commits[0].insertions, commits[0].deletions), (1, 2, 0));
    assert_eq!(commits[1].id, second.to_string());
    assert_eq!((commits[1].files, commits[1].insertions, commits[1].deletions), (3, 3, 1));
    assert!(commits[1].id.starts_with(&commits[1].short) && commits[1].short.len() >= 7);
    assert!(chrono::DateTime::parse_from_rfc3339(&commits[0].time).is_ok(), "{}", commits[0].time);

    let stat = run.diffstat(start, second).expect("diffstat");
    assert_eq!((stat.files, stat.insertions, stat.deletions), (4, 5, 1));
    assert_eq!(
        stat.per_file,
        vec![("a.txt".to_string(), 2, 0), ("n1.txt".into(), 1, 0), ("n2.txt".into(), 2, 0), ("old.txt".into(), 0, 1)]
    );
}

#[test]
fn diffstat_lists_at_most_fifty_files() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    for i in 0..60 {
        write(&root, &format!("many/f{i:02}.txt"), "x\n");
    }
    let tip = commit_all(&root, "many");
    let stat = run.diffstat(start, tip).expect("diffstat");
    assert_eq!((stat.files, stat.insertions, stat.per_file.len()), (60, 60, 50));
}

// ------------------------------------------------------ the user's work, whole run ----

#[test]
fn a_whole_worktree_run_never_touches_the_users_checkout() {
    let (_temp, root) = repo();
    write(&root, "job.night", "runbook\n");
    let user_files = |root: &Path| -> BTreeMap<PathBuf, (char, Vec<u8>, u32)> {
        tree_bytes(root).into_iter().filter(|(p, _)| !p.starts_with(".git") && !p.starts_with(".night")).collect()
    };
    let before = user_files(&root);
    let index_before = fs::read(root.join(".git/index")).expect("index");
    let (run, start) = RunGit::preflight(&root, BRANCH, true, RUN_ID, Some("job.night")).expect("preflight");
    let work = run.work_dir().to_path_buf();
    let session = run.snapshot("refs/night/t/session-1", "session").expect("snapshot");
    write(&work, "a.txt", "agent\n");
    write(&work, "bad.txt", "outside write\n");
    commit_all(&work, "agent commit");
    write(&work, "src/lib.rs", "agent uncommitted\n");
    run.snapshot("refs/night/t/attempt-1", "attempt 1").expect("snapshot");
    run.revert_paths(session, &["bad.txt".to_string()]).expect("revert");
    run.checkpoint("night: checkpoint").expect("checkpoint");
    run.reset_to(start).expect("reset");
    write(&work, "a.txt", "again\n");
    run.checkpoint("night: checkpoint").expect("checkpoint");

    assert_eq!(user_files(&root), before, "the user's files changed");
    assert_eq!(fs::read(root.join(".git/index")).expect("index"), index_before, "the user's index changed");
    assert_eq!(head_name(&root), "refs/heads/main");
    assert_eq!(run.branch_tip("main").expect("tip"), Some(start));
    assert_eq!(run.branch_tip("no-such-branch").expect("tip"), None);
}

#[test]
fn a_whole_in_place_run_leaves_the_users_branch_at_the_start() {
    let (_temp, root) = repo();
    let (run, start) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    let session = run.snapshot("refs/night/t/session-1", "session").expect("snapshot");
    write(&root, "a.txt", "agent\n");
    commit_all(&root, "agent commit");
    write(&root, "bad.txt", "x\n");
    run.revert_paths(session, &["bad.txt".to_string()]).expect("revert");
    run.checkpoint("night: checkpoint").expect("checkpoint");
    run.reset_to(start).expect("reset");
    assert_eq!(run.branch_tip("main").expect("tip"), Some(start));
    assert_eq!(Repository::open(&root).expect("open").branches(Some(BranchType::Local)).expect("branches").count(), 2);
}

#[test]
fn a_preflight_failing_halfway_undoes_what_it_did() {
    let (_temp, root) = repo();
    // A file where the worktrees folder must go: everything checks out, then creating it fails.
    write(&root, ".night", "not a folder\n");
    let before = tree_bytes(&root);
    let error = RunGit::preflight(&root, BRANCH, true, RUN_ID, None).expect_err("must fail");
    assert!(matches!(error, GitError::Io { .. }), "{error}");
    assert_eq!(tree_bytes(&root), before, "the branch, the exclude line and the folders must be undone");
}

#[test]
fn an_index_lock_is_removed_only_when_no_process_holds_it() {
    let (_temp, root) = repo();
    let (git, _) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(git.remove_stale_index_lock().expect("no lock"), None);
    let lock = root.join(".git/index.lock");
    // A live git holds its lock file open: this process, here.
    let held = fs::File::create(&lock).expect("lock");
    let found = git.remove_stale_index_lock().expect("held").expect("a lock");
    assert!(found.contains("held by a live process") && found.contains(&std::process::id().to_string()), "{found}");
    assert!(lock.exists(), "a held lock is left alone");
    drop(held);
    let removed = git.remove_stale_index_lock().expect("stale").expect("a lock");
    assert!(removed.starts_with("removed a stale"), "{removed}");
    assert!(!lock.exists());
    write(&root, "src/lib.rs", "fn b() {}\n");
    assert!(git.checkpoint("after the stale lock").expect("the index is writable again").is_some());
}

#[test]
fn a_preflight_killed_before_run_start_is_undone_and_keeps_a_branch_with_commits() {
    let (_temp, root) = repo();
    let pending = PendingPreflight::before(&root, BRANCH, false, RUN_ID);
    assert_eq!(pending.original_ref.as_deref(), Some("refs/heads/main"));
    RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight");
    assert_eq!(head_name(&root), format!("refs/heads/{BRANCH}"));
    let done = RunGit::undo_preflight(&root, &pending).expect("undo");
    assert_eq!(head_name(&root), "refs/heads/main", "{done:?}");
    assert!(Repository::open(&root).expect("open").find_branch(BRANCH, BranchType::Local).is_err(), "{done:?}");

    // A run branch that gained a commit is never deleted.
    let (git, _) = RunGit::preflight(&root, BRANCH, false, RUN_ID, None).expect("preflight again");
    write(&root, "src/lib.rs", "fn c() {}\n");
    git.checkpoint("work").expect("commit");
    let done = RunGit::undo_preflight(&root, &pending).expect("undo");
    assert!(done.iter().any(|d| d.contains("was kept")) && done.iter().any(|d| d.contains("stays on")), "{done:?}");
    assert_eq!(head_name(&root), format!("refs/heads/{BRANCH}"), "HEAD is not moved off commits");
    assert!(Repository::open(&root).expect("open").find_branch(BRANCH, BranchType::Local).is_ok());
}
