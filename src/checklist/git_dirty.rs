//! `git-dirty`: a repository, on a branch, with nothing uncommitted or untracked
//! (the runbook itself and `.night/` excepted).
//!
//! `waive git-dirty` is honoured only with `worktree on`: the run then works in a worktree of
//! its own, made from the last commit, and the uncommitted files stay untouched in the user's
//! checkout. In place, the run's reverts and rollbacks would act on them, so the waiver is
//! refused with the reason.

use super::Context;
use crate::ast::{Runbook, Waiver};
use crate::diagnostic::{Code, Diagnostic};

/// Whether `waiver` is a `git-dirty` waiver that this runbook cannot have (no `worktree on`).
pub fn refuses(waiver: &Waiver, runbook: &Runbook) -> bool {
    let worktree = runbook.task.as_ref().and_then(|t| t.worktree.as_ref()).is_some_and(|w| w.value);
    waiver.code.value == Code::GitDirty && !worktree
}

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    for waiver in context.runbook.waivers.iter().filter(|w| refuses(w, context.runbook)) {
        findings.push(
            Diagnostic::error(Code::GitDirty, "`waive git-dirty` needs `worktree on`")
                .label(waiver.code.span, "the run would work over your uncommitted files")
                .help("In place, the run's reverts and rollbacks act on the checkout and could destroy uncommitted work. Add `worktree on` to `task`: the run then works in a worktree of its own, made from the last commit, and your uncommitted files stay untouched here. Or commit or stash them (`git stash -u`)."),
        );
    }
    let repo_span = context.runbook.task.as_ref().and_then(|t| t.repo.as_ref()).map(|r| r.span);
    let error = |message: String, help: &str| {
        let diagnostic = Diagnostic::error(Code::GitDirty, message).help(help.to_string());
        match repo_span {
            Some(span) => diagnostic.label(span, "this repository"),
            None => diagnostic,
        }
    };
    let (Some(root), Some(repository)) = (&context.repo, &context.repository) else {
        findings.push(error(
            format!("`{}` is not inside a git repository", context.runbook_dir.display()),
            "night works on a git branch so that nothing is lost; run `git init` and commit, or set `repo \"path\"` in `task`.",
        ));
        return;
    };
    if repository.is_bare() {
        findings.push(error("the repository is bare".into(), "Point `repo` at a checkout with a work tree."));
        return;
    }
    match repository.head() {
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            findings.push(error("the repository has no commits yet".into(), "Make a first commit; the run branch starts from it."));
            return;
        }
        Err(e) => {
            findings.push(error(format!("cannot read HEAD: {}", e.message()), "Repair the repository's HEAD."));
            return;
        }
        Ok(_) if repository.head_detached().unwrap_or(false) => {
            findings.push(error(
                "HEAD is detached: the checkout is not on a branch".into(),
                "Switch to a branch first, e.g. `git switch main`; the run branch is created from it.",
            ));
        }
        Ok(_) => {}
    }
    if repository.state() != git2::RepositoryState::Clean {
        findings.push(error(
            format!("a git operation is in progress ({:?})", repository.state()).to_lowercase(),
            "Finish or abort the merge, rebase or cherry-pick before the run.",
        ));
    }
    let statuses = match context.worktree_status() {
        Ok(statuses) => statuses,
        Err(message) => {
            findings.push(error(format!("cannot read the repository's status: {message}"), "Check that the repository is readable."));
            return;
        }
    };
    let runbook_relative = context
        .runbook_path
        .strip_prefix(root)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"));
    let dirty: Vec<&String> = statuses
        .iter()
        .filter(|(_, status)| *status != git2::Status::CURRENT && !status.is_ignored())
        .map(|(path, _)| path)
        .filter(|path| Some(*path) != runbook_relative.as_ref() && !path.starts_with(".night/") && *path != ".night")
        .collect();
    if !dirty.is_empty() {
        let shown: Vec<String> = dirty.iter().take(5).map(|p| format!("`{p}`")).collect();
        let more = if dirty.len() > 5 { format!(" and {} more", dirty.len() - 5) } else { String::new() };
        findings.push(error(
            format!("the repository has uncommitted changes: {}{more}", shown.join(", ")),
            "Commit or stash them first (`git stash -u`); night never touches your uncommitted work, so it refuses to start over it.",
        ));
    }
}
