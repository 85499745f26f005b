//! `remote-missing`: the remote `deliver` pushes to is configured in the repository, with a URL
//! night can push to. Read from the repository's config, without the network: `night run`'s
//! preflight tries the remote itself.

use super::Context;
use crate::ast::Forge;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(deliver) = &context.runbook.deliver else { return };
    let Some(push) = &deliver.push else { return };
    // Without a repository `git-dirty` says so; there is no config to read.
    let Some(repository) = &context.repository else { return };
    let name = &push.value.remote;
    let remote = match repository.find_remote(&name.value) {
        Ok(remote) => remote,
        Err(_) => {
            let names: Vec<String> =
                repository.remotes().map(|r| r.iter().flatten().map(str::to_string).collect()).unwrap_or_default();
            let example = match deliver.pull_request.as_ref().map(|pr| &pr.value) {
                Some(pr) if pr.forge.value == Forge::Github => format!("git@github.com:{}.git", pr.repository.value),
                Some(pr) if pr.forge.value == Forge::Gitlab => format!("git@gitlab.com:{}.git", pr.repository.value),
                _ => "URL".to_string(),
            };
            let add = format!("`git remote add {} {example}`", name.value);
            let help = match did_you_mean(&name.value, names.iter().map(String::as_str)) {
                Some(suggestion) => format!("Did you mean `{suggestion}`? Otherwise add it with {add}."),
                None if names.is_empty() => format!("The repository has no remote: add it with {add}."),
                None if names.len() == 1 => format!("The repository's only remote is `{}`; add this one with {add}.", names[0]),
                None => format!("The repository's remotes are {}; add this one with {add}.", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
            };
            findings.push(
                Diagnostic::error(Code::RemoteMissing, format!("the remote `{}` is not configured in this repository", name.value))
                    .label(name.span, "the run branch is pushed here")
                    .help(help),
            );
            return;
        }
    };
    let url = remote.pushurl().or_else(|| remote.url()).unwrap_or("").trim().to_string();
    if url.is_empty() {
        findings.push(
            Diagnostic::error(Code::RemoteMissing, format!("the remote `{}` has no URL", name.value))
                .label(name.span, "the run branch is pushed here")
                .help(format!("Set one with `git remote set-url {} URL`.", name.value)),
        );
    } else if let Some(transport) = ["ext::", "fd::"].iter().find(|t| url.starts_with(*t)) {
        findings.push(
            Diagnostic::error(Code::RemoteMissing, format!("the remote `{}` uses the `{transport}` transport", name.value))
                .label(name.span, "the run branch is pushed here")
                .help("`ext::` and `fd::` remotes run commands; night pushes over ssh, https, git and file URLs only. Point the remote at one of those."),
        );
    }
}
