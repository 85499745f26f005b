//! git for tests that drive agents directly: run it in a repository as a fixed author.

use std::path::Path;
use std::process::Command;

/// Run git in `repo`; its standard output. Fails the test when git fails.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "night test")
        .env("GIT_AUTHOR_EMAIL", "night@example.com")
        .env("GIT_COMMITTER_NAME", "night test")
        .env("GIT_COMMITTER_EMAIL", "night@example.com")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
