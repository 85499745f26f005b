//! The batch's own rules, between the runbooks of one `night run a.night b.night …` (and
//! `night check --batch`), never between unrelated runbooks of a folder:
//! `batch-same-branch` (two runs would use one run branch: an error) and
//! `batch-write-overlap` (two runs may write the same paths of one repository: a warning, as
//! each works in its own worktree but their branches may conflict when merged).

use crate::diagnostic::{Code, Diagnostic};
use crate::plan::Plan;
use crate::source::Span;
use chrono::{DateTime, Utc};

/// What each runbook's run id and branch are named after: its `name`, or `<name>-<n>` (from 1,
/// in the order given) when several runbooks of the batch share it.
pub fn labels(plans: &[&Plan]) -> Vec<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    plans
        .iter()
        .map(|plan| {
            let shared = plans.iter().filter(|other| other.name == plan.name).count() > 1;
            let n = seen.entry(plan.name.as_str()).or_insert(0);
            *n += 1;
            if shared { format!("{}-{n}", plan.name) } else { plan.name.clone() }
        })
        .collect()
}

/// The run branch of each runbook if the batch started at `at`.
pub fn branches(plans: &[&Plan], at: DateTime<Utc>) -> Vec<String> {
    plans.iter().zip(labels(plans)).map(|(plan, label)| plan.branch_at(at, Some(&label))).collect()
}

/// The batch's findings, one list per runbook (in the order given), waived ones left out.
pub fn check(plans: &[&Plan], at: DateTime<Utc>) -> Vec<Vec<Diagnostic>> {
    let spans: Vec<Spans> = plans.iter().map(|plan| Spans::of(plan)).collect();
    let branches = branches(plans, at);
    let mut findings: Vec<Vec<Diagnostic>> = vec![Vec::new(); plans.len()];
    for (j, plan) in plans.iter().enumerate() {
        let file = |i: usize| plans[i].source.name();
        if let Some(i) = (0..j).find(|&i| branches[i] == branches[j]) {
            let mut diagnostic = Diagnostic::error(Code::BatchSameBranch, format!("`{}` would also be the run branch of `{}`", branches[j], file(i)))
                .help("Each run of a batch needs a branch of its own: give one runbook another `name`, or a `branch` with `{name}` in it.");
            if let Some(span) = spans[j].branch {
                diagnostic = diagnostic.label(span, "the same branch as another runbook of the batch");
            }
            findings[j].push(diagnostic);
        }
        if plan.waivers.iter().any(|(code, _)| *code == Code::BatchWriteOverlap) {
            continue;
        }
        for (k, glob) in plan.permissions.write.iter().enumerate() {
            let overlap = (0..j).filter(|&i| plans[i].repo == plan.repo).find_map(|i| plans[i].permissions.write.iter().find(|other| overlaps(glob.literal_prefix(), other.literal_prefix())).map(|other| (i, other)));
            let Some((i, other)) = overlap else { continue };
            let mut diagnostic = Diagnostic::warning(Code::BatchWriteOverlap, format!("`write \"{}\"` overlaps `write \"{}\"` of `{}`", glob.pattern, other.pattern, file(i)))
                .help("Both runs may change the same files: each works in its own worktree, but their branches may conflict when merged. Split the paths, or waive it if you will merge by hand.");
            if let Some(span) = spans[j].write.get(k).copied() {
                diagnostic = diagnostic.label(span, "another run of the batch may write here too");
            }
            findings[j].push(diagnostic);
            break;
        }
    }
    findings
}

/// Whether two folders a `write` lies under (literal prefixes, `""` for the whole repository)
/// can hold the same file: one is the other or lies inside it.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| outer.is_empty() || inner == outer || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/'));
    inside(a, b) || inside(b, a)
}

/// Where the runbook's text says what the batch rules point at.
struct Spans {
    branch: Option<Span>,
    write: Vec<Span>,
}

impl Spans {
    fn of(plan: &Plan) -> Self {
        let runbook = crate::syntax::parse(&plan.source).runbook;
        let task = runbook.task.as_ref();
        let branch = task.and_then(|t| t.branch.as_ref().map(|b| b.span)).or_else(|| runbook.name.as_ref().map(|n| n.span));
        let write = runbook.permissions.as_ref().and_then(|p| p.write.as_ref()).map(|w| w.value.iter().map(|g| g.span).collect()).unwrap_or_default();
        Spans { branch, write }
    }
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn folders_overlap_when_one_holds_the_other() {
        assert!(overlaps("src", "src/auth"));
        assert!(overlaps("", "docs"));
        assert!(overlaps("src/auth", "src/auth"));
        assert!(!overlaps("src/auth", "src/authz"));
        assert!(!overlaps("docs", "src"));
    }
}
