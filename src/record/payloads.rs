//! The fields of the journal's larger events: the run's start and end, commits, success check
//! results, rollbacks, the agent's process group and resumes.

use crate::ast::{RollbackThen, RollbackTo};
use crate::record::vocabulary::{DeliveredBy, DeliveryStatus};
use crate::record::Outcome;
use crate::test_counts::{LostTests, PartialReason, TestCase};
use serde::{Deserialize, Serialize};

/// The `rollback` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollbackRecord {
    /// The attempt whose results triggered it.
    pub attempt: u64,
    /// The condition as written, e.g. `failing > baseline`.
    pub condition: String,
    /// The measured value and what it was compared with.
    pub measured: String,
    /// `start` or `last-green`.
    pub to: RollbackTo,
    /// The commit the run branch was reset to.
    pub target: String,
    /// Where the rolled-back work is kept.
    #[serde(rename = "kept")]
    pub kept_ref: String,
    /// `stop` or `retry`.
    pub then: RollbackThen,
}

impl RollbackRecord {
    /// What happened, in the words of the terminal, the report and the next prompt.
    pub fn what(&self) -> String {
        let short: String = self.target.chars().take(7).collect();
        format!("`{}` held ({}); the run branch was reset to {short} and the work is kept at {}", self.condition, self.measured, self.kept_ref)
    }
}

/// The `agent-process` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentProcess {
    /// The attempt.
    pub attempt: u64,
    /// The session.
    pub session: u64,
    /// The leader's process id.
    pub pid: u32,
    /// Its process group id (the same as `pid`: night starts the agent in a group of its own).
    pub pgid: u32,
    /// The leader's start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id`: after a reboot no process of the run is left.
    pub boot_id: Option<String>,
}

impl AgentProcess {
    /// The record of a process group whose leader was just started.
    pub fn new(attempt: u64, session: u64, identity: crate::os::group::Identity) -> Self {
        AgentProcess { attempt, session, pid: identity.pgid, pgid: identity.pgid, start_ticks: identity.start_ticks, boot_id: identity.boot_id }
    }

    /// The group it names.
    pub fn identity(&self) -> crate::os::group::Identity {
        crate::os::group::Identity { pgid: self.pgid, start_ticks: self.start_ticks, boot_id: self.boot_id.clone() }
    }
}

/// The `resume` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resume {
    /// The new supervisor's process id.
    pub pid: u32,
    /// The dead supervisor's process id.
    pub previous_pid: Option<u32>,
    /// Supervised time counted before this resume.
    pub elapsed_ms: u64,
    /// Attempts started before this resume.
    pub attempts: u64,
    /// The attempt that goes on (the one the supervisor died in), if any.
    pub continues_attempt: Option<u64>,
    /// What was left of the dead supervisor's agent, and what night did about it.
    pub leftover: String,
}

/// The `run-start` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunStart {
    /// The journal schema version.
    pub schema: u32,
    /// night's version.
    pub night_version: String,
    /// `<name>-<YYYYMMDD-HHMMSS>`.
    pub run_id: String,
    /// The run name.
    pub name: String,
    /// The runbook's path.
    pub runbook: String,
    /// The repository.
    pub repo: String,
    /// Where the agent works (the repository, or the run's worktree).
    pub work_dir: String,
    /// The run branch.
    pub branch: String,
    /// The branch the checkout was on.
    pub original_branch: Option<String>,
    /// The commit the run starts from.
    pub start_commit: String,
    /// Whether the run works in its own worktree.
    pub worktree: bool,
    /// The agent kind.
    pub agent: String,
    /// The agent command, for `agent command`.
    pub agent_command: Option<String>,
    /// The limits, as written.
    pub limits: Vec<(String, String)>,
    /// The success checks, as written.
    pub checks: Vec<String>,
    /// Waived checklist rules and why.
    pub waivers: Vec<(String, String)>,
    /// night's process id.
    pub pid: u32,
    /// The batch the run belongs to (`night run a.night b.night …`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl RunStart {
    /// A run `t-1` of an `agent command` on branch `night/t` with these limits, for tests.
    #[cfg(test)]
    pub fn example(limits: &[(&str, &str)]) -> Self {
        RunStart {
            schema: 1,
            night_version: "0".into(),
            run_id: "t-1".into(),
            name: "t".into(),
            runbook: "t.night".into(),
            repo: "/r".into(),
            work_dir: "/r".into(),
            branch: "night/t".into(),
            original_branch: None,
            start_commit: "0".into(),
            worktree: false,
            agent: "command".into(),
            agent_command: None,
            limits: limits.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
            checks: vec![],
            waivers: vec![],
            pid: 1,
            batch: None,
        }
    }

    /// A limit as written, by its name in the runbook.
    pub fn limit(&self, name: &str) -> Option<&str> {
        self.limits.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The `run-end` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEnd {
    /// How the run ended.
    pub outcome: Outcome,
    /// Why, in one phrase.
    pub reason: String,
    /// The exit status.
    pub exit_code: u8,
    /// Attempts made.
    pub attempts: u64,
    /// The run branch's head at the end.
    pub head: String,
    /// The commits on the run branch since the start, oldest first.
    pub commits: Vec<CommitRecord>,
    /// The diffstat from the start commit to `head`.
    pub diffstat: DiffRecord,
    /// How long the run lasted.
    pub duration_ms: u64,
    /// Tokens used.
    pub tokens: u64,
    /// Cost, US dollars.
    pub cost_usd: f64,
    /// The branch the user's checkout was on when the run ended (`None`: not known, or not
    /// on a branch), so that the report's next steps do not switch to where it already is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<String>,
}

/// One commit on the run branch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitRecord {
    /// The attempt during which it appeared (0: not known).
    pub attempt: u64,
    /// Full id.
    pub id: String,
    /// Short id.
    pub short: String,
    /// First line of the message.
    pub summary: String,
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
}

/// A diffstat.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiffRecord {
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Per file: path, added, removed.
    pub per_file: Vec<(String, usize, usize)>,
}

/// One success check's result, as journaled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SuccessRecord {
    /// Position in `success`.
    pub index: usize,
    /// The statement as written, e.g. `tests "npm test"`.
    pub statement: String,
    /// It held.
    pub passed: bool,
    /// Counted tests, for `tests`.
    pub tests: Option<TestCountsRecord>,
    /// Why the runner stopped before running every test, for `tests`: the counts are partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<PartialReason>,
    /// Every test by name, for a `tests` check of the baseline whose output names them, kept
    /// in the journal itself: as journals written before `names_file` have it, and where that
    /// file could not be written. Never kept for an attempt (its losses are in `lost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<TestCase>>,
    /// Where the baseline's tests by name are kept instead, for a `tests` check of the
    /// baseline whose output names them: what each attempt must keep running. A suite of
    /// 100 000 tests is one file of the run folder, not a journal line every reader folds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names_file: Option<NamesFile>,
    /// The tests of the baseline this run no longer ran, for a `tests` check of an attempt,
    /// when there are any (lost or unreached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<LostTests>,
    /// The count, for `count`.
    pub count: Option<u64>,
    /// The command's exit status.
    pub exit_code: Option<i32>,
    /// The command ran past `within`.
    pub timed_out: bool,
    /// Why it failed, in one phrase.
    pub reason: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// The end of its output, bounded.
    pub output_tail: String,
}

/// A file of the run folder holding a baseline's tests by name
/// ([`crate::record::baseline_tests`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NamesFile {
    /// Its name in the run folder, e.g. `baseline-tests-0.jsonl`.
    pub file: String,
    /// How many tests it holds.
    pub count: u64,
}

/// Passed, failed and skipped tests.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestCountsRecord {
    /// Passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
}

/// The `delivery-ready` event: the delivery's preflight passed when the run started, and the
/// remote's URL as recorded then (without credentials), which the end pushes to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryReady {
    /// The remote's name.
    pub remote: String,
    /// Its push URL when the run started, credentials removed.
    pub url: String,
    /// `github acme/app` when a pull request is asked for.
    pub pull_request: Option<String>,
    /// The base the pull request merges into.
    pub base: Option<String>,
}

/// The `delivery-start` event: night is about to push (and open the pull request).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryStart {
    /// The outcome delivered for.
    pub outcome: Outcome,
    /// The run's end, or `night deliver` by hand.
    pub by: DeliveredBy,
    /// The remote's name.
    pub remote: String,
    /// The URL pushed to, credentials removed.
    pub url: String,
    /// `github acme/app` when a pull request is due.
    pub pull_request: Option<String>,
}

/// The `delivered` and `delivery-failed` events: each step's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The outcome delivered for.
    pub outcome: Outcome,
    /// The run's end, or `night deliver` by hand.
    pub by: DeliveredBy,
    /// The push of the run branch.
    pub push: DeliveryStepRecord,
    /// The pull request.
    pub pull_request: DeliveryStepRecord,
}

/// One step's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryStepRecord {
    /// What became of it.
    pub status: DeliveryStatus,
    /// The push: the remote's URL (credentials removed); the pull request: its web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The push: the branch pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The push: the commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pull request: its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// The pull request is a draft.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
    /// The pull request was opened now (`false`: an open one was updated).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created: bool,
    /// Failed: the error, in git's or the forge's words; skipped: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Tries made.
    #[serde(default)]
    pub tries: u32,
    /// What did not work without failing the step (an attempt ref, a label, a reviewer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl DeliveryStepRecord {
    /// A step with this status and nothing else to say.
    pub fn of(status: DeliveryStatus) -> Self {
        Self { status, url: None, branch: None, commit: None, number: None, draft: false, created: false, error: None, tries: 0, notes: Vec::new() }
    }
}

impl DeliveryRecord {
    /// Every step that was due worked.
    pub fn is_complete(&self) -> bool {
        ![&self.push, &self.pull_request].iter().any(|step| matches!(step.status, DeliveryStatus::Failed | DeliveryStatus::Skipped))
    }

    /// The pull request's web page, when there is one.
    pub fn pull_request_url(&self) -> Option<&str> {
        (self.pull_request.status == DeliveryStatus::Done).then_some(self.pull_request.url.as_deref()).flatten()
    }

    /// The commit pushed, when the push worked.
    pub fn pushed_commit(&self) -> Option<&str> {
        (self.push.status == DeliveryStatus::Done).then_some(self.push.commit.as_deref()).flatten()
    }

    /// The first failure, in one line: `push: …` or `pull request: …`.
    pub fn failure(&self) -> Option<String> {
        [("push", &self.push), ("pull request", &self.pull_request)]
            .into_iter()
            .find(|(_, step)| step.status == DeliveryStatus::Failed)
            .map(|(what, step)| format!("{what}: {}", step.error.as_deref().unwrap_or("failed")))
    }
}
