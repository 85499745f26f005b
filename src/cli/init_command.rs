//! `night init`: write a starting runbook for the repository around the current folder.

use super::error::{CliError, Done};
use super::out;
use super::InitArgs;
use crate::record::Exit;

/// Exit 0 when written, 1 when the file exists (without `--force`), 2 when it cannot be written.
pub fn run(args: &InitArgs) -> Done {
    let cwd = std::env::current_dir().map_err(|source| CliError::System { doing: "read the current folder", source })?;
    let (root, in_git) = crate::init::repository_root(&cwd);
    let installed = crate::init::Installed::here();
    let text = crate::init::runbook_on(&root, &installed);
    if args.output.as_os_str() == "-" {
        out::print(&text)?;
        return Ok(Exit::Success);
    }
    if args.output.exists() && !args.force {
        return Err(CliError::Exists(args.output.clone()));
    }
    std::fs::write(&args.output, &text).map_err(|source| CliError::File { doing: "write", path: args.output.clone(), source })?;
    let found = crate::init::detect_on(&root, &installed);
    let mut said = match found.first() {
        Some(detected) => format!("wrote {}: tests run `{}` (found in {})\n", args.output.display(), detected.command, detected.reason),
        None => format!("wrote {}: no test command found; fill in the `tests` line\n", args.output.display()),
    };
    match installed.agent(&root) {
        Some(agent) => said.push_str(&format!("agent: `{}` (installed)\n", agent.kind)),
        None => said.push_str("agent: none of claude, codex, gemini, aider or goose is installed; `night check` says how to install Claude Code\n"),
    }
    if text.contains("waive notify-missing") {
        said.push_str("notify: no desktop notifier here (`notify-send`); add one that reaches you (see the TODO)\n");
    }
    // The baseline's `cargo test` makes the lock file, and `committed` then finds it uncommitted.
    let ignored = |path: &str| git2::Repository::open(&root).and_then(|repository| repository.is_path_ignored(path)).unwrap_or(false);
    if root.join("Cargo.toml").is_file() && !root.join("Cargo.lock").exists() && !ignored("Cargo.lock") {
        said.push_str("note: there is no `Cargo.lock` yet: the baseline's `cargo test` will make one, which the agent must then commit; run `cargo test` and commit it first\n");
    }
    if !in_git {
        said.push_str(&format!("note: {} is not in a git repository; `night run` needs one (`git init`)\n", cwd.display()));
    }
    said.push_str(&format!("next: write the prompt, then `night check {}`\n", args.output.display()));
    out::eprint(&said);
    Ok(Exit::Success)
}
