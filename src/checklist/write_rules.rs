//! `write-unbounded` and `write-matches-nothing`: the agent writes only what it should.

use super::Context;
use crate::diagnostic::{Code, Diagnostic};
use std::collections::HashMap;
use std::path::Path;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(permissions) = &context.runbook.permissions else { return };
    let Some(write) = &permissions.write else {
        if context.runbook.is_unresolved("permissions.write") {
            return;
        }
        findings.push(
            Diagnostic::error(Code::WriteUnbounded, "the permissions have no `write`")
                .label(permissions.span, "says nothing about writes")
                .help("List what the agent may change, like `write \"src/**\" \"tests/**\"`."),
        );
        return;
    };
    for glob in &write.value {
        if glob.literal_prefix().is_empty() && glob.is_match("any/deep/path/file.txt") && glob.is_match("file") {
            findings.push(
                Diagnostic::error(Code::WriteUnbounded, format!("`write \"{}\"` lets the agent change everything", glob.pattern))
                    .label(glob.span, "matches the whole repository")
                    .help("Name the folders the task needs, like `write \"src/auth/**\" \"test/auth/**\"`."),
            );
        }
    }
    let Some(repo) = &context.repo else { return };
    let files = repository_files(context);
    // Many globs share a folder (`src/auth/*.ts`, `src/auth/**/*.json`): each is looked up once.
    let mut folders: HashMap<&str, bool> = HashMap::new();
    for glob in &write.value {
        let prefix = glob.literal_prefix();
        let has_wildcard = prefix.len() < glob.pattern.trim_start_matches("./").trim_end_matches('/').len();
        let anchored = repo.join(prefix);
        let lies_under_folder = if has_wildcard {
            !prefix.is_empty() && *folders.entry(prefix).or_insert_with(|| anchored.is_dir())
        } else {
            anchored.exists() || anchored.parent().is_some_and(Path::is_dir)
        };
        // Only a path under the glob's literal prefix can match it: the others are not asked
        // (asking compiles the glob, the costliest step of a small check).
        let under_prefix = |file: &&String| prefix.is_empty() || file.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if lies_under_folder || files.iter().filter(under_prefix).any(|file| glob.is_match(file)) {
            continue;
        }
        findings.push(
            Diagnostic::warning(Code::WriteMatchesNothing, format!("`{}` matches nothing in the repository", glob.pattern))
                .label(glob.span, "no such file or folder")
                .help("Globs are relative to the repository root; check the spelling, or create the folder first."),
        );
    }
}

/// The repository's tracked files, plus untracked ones that are not ignored.
fn repository_files(context: &Context<'_>) -> Vec<String> {
    let Some(repository) = &context.repository else { return Vec::new() };
    let mut files: Vec<String> = repository
        .index()
        .map(|index| index.iter().map(|entry| String::from_utf8_lossy(&entry.path).into_owned()).collect())
        .unwrap_or_default();
    if let Ok(statuses) = context.worktree_status() {
        files.extend(statuses.iter().filter(|(_, status)| status.is_wt_new()).map(|(path, _)| path.clone()));
    }
    files
}
