//! TEMPORARY stand-in with the API of branch `rungit` (dropped at merge).
#![allow(missing_docs, clippy::missing_errors_doc, unused_variables)]

use git2::Oid;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0}")]
    Other(String),
}

pub struct RunGit {
    work_dir: PathBuf,
    branch: String,
}

pub struct CommitInfo { pub id: String, pub short: String, pub summary: String, pub time: String, pub files: usize, pub insertions: usize, pub deletions: usize }
pub struct DiffStat { pub files: usize, pub insertions: usize, pub deletions: usize, pub per_file: Vec<(String, usize, usize)> }

fn stub<T>() -> Result<T, GitError> {
    Err(GitError::Other("stand-in".into()))
}

impl RunGit {
    pub fn preflight(repo: &Path, branch: &str, worktree: bool, run_id: &str, runbook_relative: Option<&str>) -> Result<(RunGit, Oid), GitError> { stub() }
    pub fn open(work_dir: &Path, branch: &str) -> Result<RunGit, GitError> { stub() }
    pub fn work_dir(&self) -> &Path { &self.work_dir }
    pub fn branch(&self) -> &str { &self.branch }
    pub fn original_branch(&self) -> Option<&str> { None }
    pub fn head(&self) -> Result<Oid, GitError> { stub() }
    pub fn ref_path(&self) -> PathBuf { self.work_dir.clone() }
    pub fn snapshot(&self, refname: &str, message: &str) -> Result<Oid, GitError> { stub() }
    pub fn changed_paths_since(&self, since: Oid) -> Result<Vec<String>, GitError> { stub() }
    pub fn revert_paths(&self, base: Oid, paths: &[String]) -> Result<Option<Oid>, GitError> { stub() }
    pub fn checkpoint(&self, message: &str) -> Result<Option<Oid>, GitError> { stub() }
    pub fn reset_to(&self, to: Oid) -> Result<(), GitError> { stub() }
    pub fn commits_since(&self, start: Oid) -> Result<Vec<CommitInfo>, GitError> { stub() }
    pub fn diffstat(&self, from: Oid, to: Oid) -> Result<DiffStat, GitError> { stub() }
    pub fn is_clean(&self) -> Result<bool, GitError> { stub() }
    pub fn branch_tip(&self, branch: &str) -> Result<Option<Oid>, GitError> { stub() }
}
