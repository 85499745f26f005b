//! TEMPORARY stand-in with the API of branch `rungit` (dropped at merge).
#![allow(missing_docs, unused_variables)]

use crate::plan::Plan;
use crate::run::git::RunGit;
#[derive(Debug, Clone, Copy)]
pub struct TestCounts { pub passed: u64, pub failed: u64, pub skipped: u64 }
use git2::Oid;
use std::path::Path;

pub struct CheckResult { pub index: usize, pub statement: String, pub passed: bool,
    pub tests: Option<TestCounts>, pub count: Option<u64>, pub exit_code: Option<i32>, pub timed_out: bool,
    pub output_tail: String, pub duration_ms: u64, pub reason: Option<String> }
pub struct Baseline { pub tests: Vec<Option<TestCounts>>, pub counts: Vec<Option<u64>> }

pub async fn run_checks(plan: &Plan, dir: &Path, git: &RunGit, start: Oid, baseline: Option<&Baseline>, env: &[(String, String)], env_remove: &[String]) -> Vec<CheckResult> { Vec::new() }
pub fn baseline_from(results: &[CheckResult]) -> Baseline { Baseline { tests: Vec::new(), counts: Vec::new() } }
pub fn failure_signature(results: &[CheckResult]) -> String { String::new() }
