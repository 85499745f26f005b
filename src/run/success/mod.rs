//! The success checks (LANGUAGE.md §5): night verifies, never the agent. Each check of the
//! plan is measured in the run's work dir and gives a [`SuccessRecord`], as the journal keeps
//! it; commands run through [`command`], the `stuck` rule compares [`signature`]s.

mod command;
mod signature;
mod tests_check;

pub use signature::failure_signature;

use crate::ast::{SuccessCheck, Target, TestFormat};
use crate::plan::Plan;
use crate::record::{SuccessRecord, TestCountsRecord};
use crate::run::git::RunGit;
use crate::sandbox::checks::ChecksSandbox;
use crate::test_counts::{TestCase, TestCounts, TestRun};
use tests_check::Against;
use crate::time::format_duration;
use command::{Capture, Runner, CAPTURE_LIMIT};
use git2::Oid;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// `within` when the runbook gives none.
const DEFAULT_WITHIN: Duration = Duration::from_secs(30 * 60);
/// The output tail kept in a result.
const TAIL_BYTES: usize = 4096;
/// The longest statement text in a result.
const STATEMENT_CHARS: usize = 100;

/// What the success checks run with.
pub struct Context<'a> {
    /// The runbook.
    pub plan: &'a Plan,
    /// The run's work dir and branch.
    pub git: &'a RunGit,
    /// The run's start commit (for `changed` and `committed`).
    pub start: Oid,
    /// Variables the commands get.
    pub env: &'a [(String, String)],
    /// Variables the commands do not get (secrets).
    pub env_remove: &'a [String],
    /// Where to keep the running command's process group, for `night resume` to end it
    /// should the supervisor die meanwhile.
    pub running: Option<&'a Path>,
    /// The sandbox the commands run in (`deny irreversible`): they run the agent's code.
    pub sandbox: Option<&'a ChecksSandbox>,
}

/// What the baseline measured on the start commit, by each check's position in `success`:
/// a `tests` check's run (counts, partial or not, the tests by name) and a `count`'s value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    checks: BTreeMap<usize, (Option<TestRun>, Option<u64>)>,
    held: BTreeMap<usize, bool>,
}

impl Baseline {
    /// The baseline these results measured.
    pub fn new(results: &[SuccessRecord]) -> Self {
        let run = |r: &SuccessRecord| {
            r.tests.map(|t| TestRun {
                counts: TestCounts { passed: t.passed, failed: t.failed, skipped: t.skipped },
                partial: r.partial,
                tests: r.names.clone(),
            })
        };
        Self { checks: results.iter().map(|r| (r.index, (run(r), r.count))).collect(), held: results.iter().map(|r| (r.index, r.passed)).collect() }
    }

    /// Give `tests` check `index` the baseline's tests by name, read from the run folder
    /// (journals before `names_file` kept them in the record itself, which [`Baseline::new`] reads).
    pub fn set_tests(&mut self, index: usize, tests: Vec<TestCase>) {
        if let Some((Some(run), _)) = self.checks.get_mut(&index) {
            run.tests = Some(tests);
        }
    }

    /// The test counts of check `index`.
    pub fn tests(&self, index: usize) -> Option<TestCountsRecord> {
        self.run(index).map(|run| TestCountsRecord { passed: run.counts.passed, failed: run.counts.failed, skipped: run.counts.skipped })
    }

    /// Everything the baseline read from `tests` check `index`.
    pub fn run(&self, index: usize) -> Option<&TestRun> {
        self.checks.get(&index).and_then(|(run, _)| run.as_ref())
    }

    /// Whether check `index` held on the start commit.
    pub fn held(&self, index: usize) -> Option<bool> {
        self.held.get(&index).copied()
    }

    /// The match count of check `index`.
    pub fn count(&self, index: usize) -> Option<u64> {
        self.checks.get(&index).and_then(|(_, count)| *count)
    }
}

/// Run every check in order. With `baseline` `None` the baseline is being measured: a
/// `baseline` target compares with the value just measured.
pub async fn run(context: &Context<'_>, baseline: Option<&Baseline>) -> Vec<SuccessRecord> {
    let dir = context.git.work_dir();
    let runner = Runner { dir, env: context.env, env_remove: context.env_remove, limit: CAPTURE_LIMIT, record: context.running, sandbox: context.sandbox };
    let plan = context.plan;
    let mut results = Vec::with_capacity(plan.checks.len());
    for (index, check) in plan.checks.iter().enumerate() {
        let started = Instant::now();
        let mut result = SuccessRecord {
            index,
            statement: statement(&check.value),
            passed: false,
            tests: None,
            partial: None,
            names: None,
            names_file: None,
            lost: None,
            count: None,
            exit_code: None,
            timed_out: false,
            output_tail: String::new(),
            duration_ms: 0,
            reason: None,
        };
        let failure = match &check.value {
            SuccessCheck::Run { command, matches, within } => {
                let within = within_or_default(within.as_ref());
                let output = runner.run(&command.value, within, matches.is_some(), None).await;
                output.record(&mut result);
                output.unfinished(within).or_else(|| output.nonzero_exit()).or_else(|| {
                    let regex = &matches.as_ref()?.value;
                    let stdout = output.stdout.as_ref().map(Capture::text).unwrap_or_default();
                    (!regex.regex().is_match(&stdout)).then(|| format!("standard output does not match {regex}"))
                })
            }
            SuccessCheck::Tests { command, format, within, allow_lost } => {
                let within = within_or_default(within.as_ref());
                let output = runner.run(&command.value, within, false, None).await;
                output.record(&mut result);
                let against = match baseline {
                    None => Against::Measuring,
                    Some(baseline) => Against::Baseline(baseline.run(index), allow_lost.as_ref().map_or(0, |n| n.value)),
                };
                tests_check::judge(&output, &format.value, dir, within, &against, &mut result)
            }
            SuccessCheck::Count { regex, command, comparison, target } => {
                let output = runner.run(&command.value, DEFAULT_WITHIN, false, Some(regex.value.regex())).await;
                output.record(&mut result);
                // The exit status is not the verdict: a compiler exits non-zero when it finds
                // the very errors being counted.
                match output.unfinished(DEFAULT_WITHIN) {
                    Some(failure) => Some(failure),
                    None if matches!(output.exit_code, Some(126 | 127)) => {
                        // `sh` could not run it: zero matches would prove nothing.
                        Some(format!("the command could not be run (exit {})", output.exit_code.unwrap_or(127)))
                    }
                    None => {
                        let count = output.combined.matches(regex.value.regex());
                        result.count = Some(count);
                        let (wanted, label) = match (target.value, baseline) {
                            (Target::Number(n), _) => (Some(n), String::new()),
                            (Target::Baseline, None) => (Some(count), " (baseline)".to_string()),
                            (Target::Baseline, Some(baseline)) => {
                                (baseline.count(index), " (baseline)".to_string())
                            }
                        };
                        match wanted {
                            None => Some("no baseline count was measured for this check".to_string()),
                            Some(wanted) if comparison.value.holds(count, wanted) => None,
                            Some(wanted) => Some(format!(
                                "{count} {}, expected {} {wanted}{label}",
                                if count == 1 { "match" } else { "matches" },
                                comparison.value
                            )),
                        }
                    }
                }
            }
            SuccessCheck::Exists(path) => {
                (std::fs::symlink_metadata(dir.join(&path.value)).is_err()).then(|| format!("`{}` does not exist", path.value))
            }
            SuccessCheck::Absent(path) => {
                (std::fs::symlink_metadata(dir.join(&path.value)).is_ok()).then(|| format!("`{}` exists", path.value))
            }
            SuccessCheck::Changed(globs) => match context.git.changed_paths_since(context.start) {
                Ok(paths) if paths.iter().any(|path| globs.iter().any(|glob| glob.value.is_match(path))) => None,
                Ok(_) => {
                    let names: Vec<String> = globs.iter().map(|g| format!("`{}`", g.value.pattern)).collect();
                    Some(format!("no path matching {} changed since the start", names.join(", ")))
                }
                Err(error) => Some(format!("cannot list the changed paths: {error}")),
            },
            SuccessCheck::Committed => match (context.git.uncommitted(), context.git.head()) {
                (Ok(left), Ok(head)) if left.is_empty() && head != context.start => None,
                (Ok(left), Ok(head)) => Some(match (left.is_empty(), head != context.start) {
                    // Named, so that the agent (and the morning reader) can tell its own work
                    // from files a build or the checks wrote (a new `Cargo.lock`).
                    (false, false) => format!("the run made no commit and left uncommitted changes: {}", listed(&left)),
                    (false, true) => format!("uncommitted changes are left in the work tree: {}", listed(&left)),
                    _ => "the run made no commit".to_string(),
                }),
                (Err(error), _) | (_, Err(error)) => Some(format!("cannot read the repository: {error}")),
            },
        };
        result.passed = failure.is_none();
        result.reason = failure;
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        results.push(result);
    }
    results
}

/// Paths in backquotes, at most five, then how many more.
fn listed(paths: &[String]) -> String {
    let mut shown: Vec<String> = paths.iter().take(5).map(|p| format!("`{p}`")).collect();
    if paths.len() > 5 {
        shown.push(format!("and {} more", paths.len() - 5));
    }
    shown.join(", ")
}

fn within_or_default(within: Option<&crate::source::Spanned<Duration>>) -> Duration {
    within.map_or(DEFAULT_WITHIN, |w| w.value)
}

/// The statement as the runbook would write it, on one line, shortened.
fn statement(check: &SuccessCheck) -> String {
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let within = |within: &Option<crate::source::Spanned<Duration>>| {
        within.as_ref().map(|w| format!(" within {}", format_duration(w.value))).unwrap_or_default()
    };
    let text = match check {
        SuccessCheck::Run { command, matches, within: w } => format!(
            "run {}{}{}",
            quote(&command.value),
            matches.as_ref().map(|m| format!(" matches {}", m.value)).unwrap_or_default(),
            within(w)
        ),
        SuccessCheck::Tests { command, format, within: w, .. } => {
            let format = match &format.value {
                TestFormat::Auto => String::new(),
                TestFormat::Junit { glob } => format!(" format junit {}", quote(glob)),
                other => format!(" format {}", other.name()),
            };
            format!("tests {}{format}{}", quote(&command.value), within(w))
        }
        SuccessCheck::Count { regex, command, comparison, target } => {
            format!("count {} in {} {} {}", regex.value, quote(&command.value), comparison.value, target.value)
        }
        SuccessCheck::Exists(path) => format!("exists {}", quote(&path.value)),
        SuccessCheck::Absent(path) => format!("absent {}", quote(&path.value)),
        SuccessCheck::Changed(globs) => {
            let globs: Vec<String> = globs.iter().map(|g| quote(&g.value.pattern)).collect();
            format!("changed {}", globs.join(" "))
        }
        SuccessCheck::Committed => "committed".to_string(),
    };
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > STATEMENT_CHARS {
        let mut short: String = folded.chars().take(STATEMENT_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        folded
    }
}

#[cfg(test)]
mod tests;
