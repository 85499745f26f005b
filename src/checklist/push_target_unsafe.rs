//! `push-target-unsafe`: the delivery pushes a branch of the run's own, never the branch the run
//! starts from, never the pull request's base, never a branch the remote already has (as the
//! last fetch saw it). Read from the repository, without the network.

use super::{default_name, Context};
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let runbook = context.runbook;
    let Some(deliver) = &runbook.deliver else { return };
    let Some(push) = &deliver.push else { return };
    let branch_statement = runbook.task.as_ref().and_then(|t| t.branch.as_ref());
    let base = deliver.pull_request.as_ref().and_then(|pr| pr.value.base.as_ref());
    // The default template holds `{date}`: every run's branch is new.
    let Some(template) = branch_statement.filter(|b| !b.value.contains("{date}")) else { return };
    let name = runbook.name.as_ref().map_or_else(|| default_name(&context.runbook_path), |n| n.value.clone());
    let branch = template.value.replace("{name}", &name);
    let start = context
        .repository
        .as_ref()
        .and_then(|r| r.head().ok())
        .filter(git2::Reference::is_branch)
        .and_then(|head| head.shorthand().map(str::to_string));
    let remote = &push.value.remote.value;
    let on_remote = context
        .repository
        .as_ref()
        .is_some_and(|r| r.find_reference(&format!("refs/remotes/{remote}/{branch}")).is_ok());
    let problem = if start.as_deref() == Some(branch.as_str()) {
        Some(("the branch the run starts from", format!("the run branch `{branch}` is the branch the run starts from")))
    } else if base.is_some_and(|b| b.value.strip_prefix("refs/heads/").unwrap_or(&b.value) == branch) {
        Some(("the pull request's base", format!("the run branch `{branch}` is the pull request's base")))
    } else if on_remote {
        Some(("already on the remote", format!("the run branch `{branch}` already exists on `{remote}`")))
    } else {
        None
    };
    let Some((label, message)) = problem else { return };
    let mut diagnostic = Diagnostic::error(Code::PushTargetUnsafe, message).label(template.span, label);
    if let Some(base) = base.filter(|_| label == "the pull request's base") {
        diagnostic = diagnostic.label(base.span, "merged into");
    }
    findings.push(diagnostic.help(
        "night pushes only a branch of the run's own and never overwrites one it did not push: give each run a new branch, like `branch \"night/{name}/{date}\"`.",
    ));
}
