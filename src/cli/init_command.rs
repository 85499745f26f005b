//! `night init`: write a starting runbook for the repository around the current folder.

use super::InitArgs;
use std::io::Write as _;

/// Exit 0 when written, 1 when the file exists (without `--force`), 2 when it cannot be written.
pub fn run(args: &InitArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            eprintln!("error: cannot read the current folder: {}", error.to_string().to_lowercase());
            return 2;
        }
    };
    let (root, in_git) = crate::init::repository_root(&cwd);
    let installed = crate::init::Installed::here();
    let text = crate::init::runbook_on(&root, &installed);
    if args.output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return if stdout.write_all(text.as_bytes()).is_ok() { 0 } else { 2 };
    }
    if args.output.exists() && !args.force {
        eprintln!("error: `{}` already exists; use --force to overwrite it", args.output.display());
        return 1;
    }
    if let Err(error) = std::fs::write(&args.output, &text) {
        eprintln!("error: cannot write `{}`: {}", args.output.display(), error.to_string().to_lowercase());
        return 2;
    }
    let found = crate::init::detect_on(&root, &installed);
    match found.first() {
        Some(detected) => eprintln!("wrote {}: tests run `{}` (found in {})", args.output.display(), detected.command, detected.reason),
        None => eprintln!("wrote {}: no test command found; fill in the `tests` line", args.output.display()),
    }
    match installed.agent(&root) {
        Some(agent) => eprintln!("agent: `{}` (installed)", agent.kind),
        None => eprintln!("agent: none of claude, codex, gemini, aider or goose is installed; `night check` says how to install Claude Code"),
    }
    if text.contains("waive notify-missing") {
        eprintln!("notify: no desktop notifier here (`notify-send`); add one that reaches you (see the TODO)");
    }
    if !in_git {
        eprintln!("note: {} is not in a git repository; `night run` needs one (`git init`)", cwd.display());
    }
    eprintln!("next: write the prompt, then `night check {}`", args.output.display());
    0
}
