//! Taking writes outside `write` back out of the work dir and the run branch: each path
//! restored to its state at the session's start, in the index and on disk, and committed.

use super::error::{io_error, Context};
use super::*;

impl RunGit {
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
