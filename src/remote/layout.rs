//! Where things go on the host, under its night folder (`~/.night`, or `PATH/.night` for
//! `--on HOST:PATH`):
//!
//! ```text
//! .night/bin/night            night itself, when night copied it there
//! .night/repos/<key>.git      the bare mirror the laptop pushes its commit to
//! .night/work/<key>/          the checkout runs happen in (a clone of the mirror); its own
//!                             .night/runs/<run-id>/ holds the run folders, as at home
//! .night/locks/<key>/         taken while a command prepares the checkout
//! ```
//!
//! `<key>` names the laptop's repository: its folder's name and a hash of its path, so that
//! every `--on` command from the same checkout finds the same place on the host.

use std::path::Path;

/// The night folder on one host, for one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The folder holding `.night`: absolute once probed, else as given (`.` is the home).
    pub base: String,
    /// The repository's key.
    pub key: String,
}

impl Layout {
    /// Night's folder: `<base>/.night`.
    pub fn night_dir(&self) -> String {
        match self.base.as_str() {
            "." => ".night".to_string(),
            "/" => "/.night".to_string(),
            base => format!("{}/.night", base.trim_end_matches('/')),
        }
    }

    /// The night binary night copies there.
    pub fn bin(&self) -> String {
        format!("{}/bin/night", self.night_dir())
    }

    /// The bare mirror.
    pub fn mirror(&self) -> String {
        format!("{}/repos/{}.git", self.night_dir(), self.key)
    }

    /// The checkout where runs happen.
    pub fn work(&self) -> String {
        format!("{}/work/{}", self.night_dir(), self.key)
    }

    /// The folder locked while a command prepares the checkout.
    pub fn lock(&self) -> String {
        format!("{}/locks/{}", self.night_dir(), self.key)
    }
}

/// The key of the repository whose work tree is `repo`: `<folder name>-<8 hex>`.
pub fn repo_key(repo: &Path) -> String {
    let name: String = repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .collect();
    let name = name.trim_matches(['-', '.']);
    let name = if name.is_empty() { "repo" } else { name };
    // A stable hash (git's own SHA-1 of the path): the same checkout gives the same key on
    // every machine and night version.
    let hash = git2::Oid::hash_object(git2::ObjectType::Blob, repo.as_os_str().as_encoded_bytes()).map(|oid| oid.to_string()).unwrap_or_default();
    format!("{name}-{}", hash.get(..8).unwrap_or("00000000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_home_or_a_base() {
        let home = Layout { base: ".".into(), key: "proj-1234abcd".into() };
        assert_eq!(home.mirror(), ".night/repos/proj-1234abcd.git");
        assert_eq!(home.work(), ".night/work/proj-1234abcd");
        let srv = Layout { base: "/srv/".into(), key: "k".into() };
        assert_eq!(srv.bin(), "/srv/.night/bin/night");
        assert_eq!(srv.lock(), "/srv/.night/locks/k");
    }

    #[test]
    fn keys_are_stable_and_safe() {
        let key = repo_key(Path::new("/home/me/my proj"));
        assert!(key.starts_with("my-proj-"), "{key}");
        assert_eq!(key, repo_key(Path::new("/home/me/my proj")));
        assert_ne!(key, repo_key(Path::new("/home/you/my proj")));
        assert_eq!(key.len(), "my-proj-".len() + 8);
    }
}
