//! Every way a command fails, rendered in one style and mapped to the exit statuses of
//! docs/run.md in one place: `error: <what>` (`error[unreadable]: …` for a runbook that cannot
//! be read, as `night check` says it), then `  help: <how>` when there is something to do.

use crate::os::lock::LockError;
use crate::record::{Exit, FindError};
use crate::run::Refused;
use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A runbook cannot be read.
    #[error("{0}")]
    Unreadable(#[from] Unreadable),
    /// The current folder is not inside a repository's work tree.
    #[error("{0}")]
    Repository(#[from] crate::run::git::GitError),
    /// No run has that name.
    #[error("{0}")]
    Find(#[from] FindError),
    /// A run was refused, or could not be resumed; nothing was changed.
    #[error("{0}")]
    Refused(#[from] Refused),
    /// A run is in progress in the runbook's repository.
    #[error("run `{id}` is in progress in this repository (supervisor pid {pid}); one run at a time")]
    LiveRun {
        /// Its id.
        id: String,
        /// Its supervisor.
        pid: u32,
    },
    /// The runbook has errors: nothing ran.
    #[error("the runbook has errors; nothing was run (fix them, or `waive` a rule with a reason)")]
    RunbookErrors,
    /// A runbook of a batch has errors, or the batch's own rules found one: nothing ran.
    #[error("the batch has errors; nothing was run (fix them, or `waive` a rule with a reason)")]
    BatchErrors,
    /// A batch cannot start, be stopped or resumed.
    #[error(transparent)]
    Batch(#[from] BatchCommandError),
    /// A `--notify-batch` notifier is not one.
    #[error("{0}")]
    Digest(#[from] crate::batch::digest::DigestError),
    /// `night resume` here of a run that `night pull --on` brought from the host it ran on.
    #[error("run `{id}` ran on `{on}` and was pulled here; it can only be resumed there")]
    Pulled {
        /// The run.
        id: String,
        /// The `--on` value it was pulled with.
        on: String,
    },
    /// The copy of a run's runbook no longer checks clean.
    #[error("the run's runbook no longer checks clean; nothing was resumed")]
    RunbookChanged,
    /// A file cannot be read or written.
    #[error("cannot {doing} `{}`: {}", .path.display(), lower(.source))]
    File {
        /// `read`, `write` …
        doing: &'static str,
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Something night needs from the system failed.
    #[error("cannot {doing}: {}", lower(.source))]
    System {
        /// What night was doing.
        doing: &'static str,
        /// What failed.
        source: std::io::Error,
    },
    /// `night init` would overwrite a file.
    #[error("`{}` already exists; use --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// `night stop` of a run that is not running.
    #[error("run `{id}` is not running ({state}); there is nothing to stop")]
    NotRunning {
        /// The run.
        id: String,
        /// What it is instead.
        state: &'static str,
    },
    /// `night stop` cannot tell who holds a run's lock.
    #[error("cannot tell which process supervises `{id}` (the lock names pid {pid}); nothing was signalled")]
    UnknownSupervisor {
        /// The run.
        id: String,
        /// The pid in the lock.
        pid: u32,
    },
    /// `night stop` cannot signal the supervisor.
    #[error("cannot signal the supervisor (pid {pid}): {source}")]
    Signal {
        /// The supervisor.
        pid: u32,
        /// What failed.
        source: nix::errno::Errno,
    },
    /// `night stop`: the supervisor ended without writing the run's end.
    #[error("the supervisor of `{id}` is gone without an end in the journal ({state}); `night resume {id}` continues it")]
    Vanished {
        /// The run.
        id: String,
        /// What the run is now.
        state: &'static str,
    },
    /// `night notify --test` of a runbook without a `notify` block.
    #[error("`{0}` has no `notify` block to test")]
    NoNotifyBlock(String),
    /// `night notify --test` of a runbook whose `notify` block names no notifier.
    #[error("the `notify` block of `{0}` has no notifier to test")]
    NoNotifier(String),
    /// A runbook cannot be exported.
    #[error("{0}")]
    Export(crate::export::ExportError),
    /// Secrets handed over for `--on` cannot be read.
    #[error("{0}")]
    Secrets(#[from] crate::remote::secrets::SecretsError),
    /// A lock in the run folder.
    #[error("{0}")]
    Lock(#[from] LockError),
}

/// Why a runbook cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// `night run` without a runbook.
    #[error("no runbook given")]
    NoRunbook,
    /// The file cannot be read.
    #[error("cannot read `{}`: {}", .path.display(), lower(.source))]
    File {
        /// The runbook.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not UTF-8.
    #[error("`{}` is not UTF-8 text: invalid byte at line {line} (byte {offset})", .path.display())]
    NotUtf8 {
        /// The runbook.
        path: PathBuf,
        /// The line of the first invalid byte (1-based).
        line: usize,
        /// Its offset in the file.
        offset: usize,
    },
    /// `night fmt -` cannot read standard input.
    #[error("cannot read standard input: {}", .0.to_string().to_lowercase())]
    Stdin(#[source] std::io::Error),
}

/// An I/O error's message in lower case, as every message night writes.
pub(super) fn lower(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder".into(),
        _ => error.to_string().to_lowercase(),
    }
}

impl CliError {
    /// The exit status.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Exists(_) => Exit::Failure,
            _ => Exit::Error,
        }
    }

    /// How to go on, a full sentence.
    pub fn help(&self) -> Option<String> {
        match self {
            CliError::Refused(refused) => refused.help(),
            CliError::Export(error) => error.help().map(str::to_string),
            CliError::LiveRun { .. } => Some("Follow it with `night status` or `night log -f`, or stop it with `night stop`; nothing was changed.".into()),
            CliError::Pulled { id, on } => Some(format!("`night resume {id} --on {on}` continues it on the host (`night status {id} --on {on}` says whether there is anything to continue); nothing was changed.")),
            _ => None,
        }
    }

    /// The error as the terminal shows it.
    pub fn render(&self) -> String {
        let head = match self {
            CliError::Unreadable(_) => "error[unreadable]",
            _ => "error",
        };
        let mut text = format!("{head}: {self}\n");
        if let Some(help) = self.help() {
            text.push_str(&format!("  help: {help}\n"));
        }
        text
    }
}

/// A command's end: its exit status, or an error to render.
pub type Done = Result<Exit, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_in_one_style_with_their_help() {
        let error = CliError::LiveRun { id: "x-1".into(), pid: 7 };
        assert_eq!(error.render(), "error: run `x-1` is in progress in this repository (supervisor pid 7); one run at a time\n  help: Follow it with `night status` or `night log -f`, or stop it with `night stop`; nothing was changed.\n");
        assert_eq!(error.exit(), Exit::Error);
        let unreadable = CliError::Unreadable(Unreadable::File { path: "a.night".into(), source: std::io::ErrorKind::NotFound.into() });
        assert_eq!(unreadable.render(), "error[unreadable]: cannot read `a.night`: no such file\n");
        assert_eq!(CliError::Exists("x".into()).exit(), Exit::Failure);
    }
}

/// Why a batch cannot start, be stopped or resumed, or a run of one be started.
#[derive(Debug, thiserror::Error)]
pub enum BatchCommandError {
    /// The batch folder, its lock or its journal cannot be made.
    #[error(transparent)]
    Start(#[from] crate::batch::start::StartError),
    /// `--budget` is not an amount.
    #[error("`--budget {0}` is not an amount of money like `$40`")]
    Budget(String),
    /// `night run --batch-run` without the rest of its arguments (night starts it, not a user).
    #[error("a batch's run needs --batch-dir, --batch-index and --batch-run-id")]
    MemberArguments,
    /// The batch's journal has no `start` event.
    #[error("the batch journal has no start")]
    NoStart,
    /// The batch has no runbook at this index.
    #[error("the batch has no runbook {0}")]
    NoRunbook(usize),
    /// The batch's journal names a start commit that is not a commit id.
    #[error("the batch's start commit `{0}` is not a commit id")]
    StartCommit(String),
    /// `night stop BATCH` of a batch that is not running.
    #[error("batch `{0}` is not running; there is nothing to stop")]
    NotRunning(String),
    /// `night stop BATCH` of a batch whose supervisor died.
    #[error("the supervisor of batch `{0}` is gone without an end; `night resume {0}` continues it")]
    SupervisorGone(String),
    /// `night resume BATCH` of a running batch.
    #[error("batch `{id}` is running (supervisor pid {pid}); there is nothing to resume")]
    StillRunning {
        /// The batch.
        id: String,
        /// Its supervisor.
        pid: u32,
    },
    /// `night resume BATCH` of a batch that ended.
    #[error("batch `{id}` has ended ({reason}); there is nothing to resume")]
    Ended {
        /// The batch.
        id: String,
        /// How it ended.
        reason: String,
    },
}
