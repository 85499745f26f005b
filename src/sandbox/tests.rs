use super::prepared::split_around;
use super::spec::{coarsen, minimal_roots, mount_plan, parse_size};
use super::*;
use std::path::{Path, PathBuf};

fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::create_dir_all(root.join("src/auth")).expect("mkdir");
    std::fs::write(root.join("src/auth/index.ts"), "").expect("write");
    std::fs::write(root.join("package.json"), "").expect("write");
    std::os::unix::fs::symlink("/etc", root.join("link")).expect("symlink");
    (dir, root)
}

#[test]
fn globs_coarsen_to_the_smallest_existing_real_folder() {
    let (_dir, root) = tree();
    let glob = |pattern: &str| coarsen(&root, crate::ast::Glob::new(pattern).expect("glob").literal_prefix());
    assert_eq!(glob("src/auth/**"), root.join("src/auth"));
    assert_eq!(glob("src/auth/"), root.join("src/auth"));
    assert_eq!(glob("src/auth/index.ts"), root.join("src/auth"), "a file gives its folder");
    assert_eq!(glob("src/auth/new/deep/*.ts"), root.join("src/auth"), "a missing folder gives the nearest existing one");
    assert_eq!(glob("package.json"), root);
    assert_eq!(glob("**/*.md"), root);
    assert_eq!(glob("../outside/**"), root, "`..` never climbs out");
    assert_eq!(glob("/src/**"), root.join("src"), "a leading slash is the repository root");
    assert_eq!(glob("link/**"), root, "a symlink is not followed out of the work dir");
}

#[test]
fn nested_and_repeated_folders_collapse() {
    let roots = minimal_roots(vec![PathBuf::from("/r/src/auth"), PathBuf::from("/r/src"), PathBuf::from("/r/src"), PathBuf::from("/r/srcx")]);
    assert_eq!(roots, vec![PathBuf::from("/r/src"), PathBuf::from("/r/srcx")]);
}

#[test]
fn a_worktree_is_opened_again_inside_the_read_only_night_folder() {
    let (_dir, root) = tree();
    let work_dir = root.join(".night/worktrees/t");
    let run_dir = root.join(".night/runs/t");
    std::fs::create_dir_all(&work_dir).expect("mkdir");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let mounts = mount_plan(&root, &work_dir, &run_dir, &run_dir.join("tmp"), None, None, true);
    let position = |path: &Path, kind: MountKind| mounts.iter().position(|m| m.path == path && m.kind == kind);
    let night = position(&root.join(".night"), MountKind::ReadOnly).expect("night read-only");
    let worktree = position(&work_dir, MountKind::ReadWrite).expect("worktree read-write");
    let objects = position(&run_dir.join("objects"), MountKind::ReadWrite).expect("run objects read-write");
    assert!(night < worktree && night < objects, "{mounts:?}");
    assert!(mounts.iter().any(|m| m.path == run_dir.join("tmp") && matches!(m.kind, MountKind::Tmpfs { .. })));
    if Path::new("/run").is_dir() {
        let run = std::fs::canonicalize("/run").expect("canonical");
        assert_eq!(mounts.iter().filter(|m| m.path == run && m.kind == MountKind::Mask).count(), 1, "/run and /var/run hidden once: {mounts:?}");
    }
    // The repository is under /tmp here: a private /tmp would hide it.
    if root.starts_with("/tmp") {
        assert!(!mounts.iter().any(|m| m.path == Path::new("/tmp")));
    }
}

#[test]
fn layer_names_say_what_is_on() {
    let mut layers = ActiveLayers::none();
    assert!(!layers.any() && layers.names().is_empty());
    layers.landlock = Some(7);
    layers.landlock_scopes = true;
    layers.user_namespace = true;
    layers.mounts = true;
    layers.network_namespace = true;
    layers.proxy = Some(vec!["api.anthropic.com".into()]);
    assert_eq!(layers.names(), ["landlock-v7", "landlock-scopes", "mounts", "netns", "proxy"]);
}

#[test]
fn without_mounts_a_folder_holding_git_is_opened_around_it() {
    let (_dir, root) = tree();
    std::fs::create_dir_all(root.join(".git/objects")).expect("mkdir");
    std::fs::create_dir_all(root.join(".night/runs/t/tmp")).expect("mkdir");
    let writable = vec![root.clone(), root.join(".night/runs/t/tmp")];
    let protected = vec![root.join(".git"), root.join(".night")];
    let (dirs, files) = split_around(&writable, &protected);
    assert!(dirs.contains(&root.join("src")) && dirs.contains(&root.join(".night/runs/t/tmp")), "{dirs:?}");
    assert!(!dirs.iter().any(|d| d.starts_with(root.join(".git")) || *d == root), "{dirs:?}");
    assert_eq!(files, vec![root.join("package.json")]);
}

#[test]
fn temp_sizes_parse() {
    assert_eq!(parse_size("4096"), Some(4096));
    assert_eq!(parse_size("8M"), Some(8 << 20));
    assert_eq!(parse_size("2GiB"), Some(2 << 30));
    assert_eq!(parse_size("0"), None);
    assert_eq!(parse_size("lots"), None);
}

#[test]
fn reads_are_allowed_everywhere_but_beneath_the_hidden_stores() {
    let (_dir, root) = tree();
    let home = root.join("home");
    for folder in [".ssh", ".config/gh", ".config/tool", ".cache", "project/src"] {
        std::fs::create_dir_all(home.join(folder)).expect("mkdir");
    }
    std::fs::write(home.join(".npmrc"), "token").expect("write");
    std::fs::write(home.join(".bashrc"), "").expect("write");
    let hidden = [home.join(".ssh"), home.join(".config/gh"), home.join(".npmrc")];
    let roots = landlock::read_roots(&hidden);
    for visible in [home.join(".config/tool"), home.join(".cache"), home.join("project"), home.join(".bashrc"), root.join("src"), PathBuf::from("/usr")] {
        assert!(roots.iter().any(|r| visible.starts_with(r)), "{} should be readable: {roots:?}", visible.display());
    }
    for secret in &hidden {
        assert!(!roots.iter().any(|r| secret.starts_with(r) || r.starts_with(secret)), "{} should be hidden: {roots:?}", secret.display());
    }
    assert!(!roots.contains(&home), "the home folder is split around its stores");
    assert!(!roots.contains(&root.join("link")), "symlinks get no rule of their own");
}

#[test]
fn gits_packed_refs_lock_attempt_is_not_a_refusal_but_a_refused_deletion_is() {
    assert!(!is_os_refusal("error: Unable to create '/r/.git/packed-refs.lock': Permission denied\n"));
    assert!(is_os_refusal("error: could not delete reference refs/heads/other: Unable to create '/r/.git/packed-refs.lock': Permission denied"));
    assert!(is_os_refusal("sh: 1: cannot create NOTES.txt: Permission denied"));
    assert!(is_os_refusal("touch: cannot touch '/etc/x': Read-only file system"));
    assert!(!is_os_refusal("agent: committed: greet"));
}
