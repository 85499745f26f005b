//! The command line: clap definitions, output formats and exit codes.

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

mod check_command;
mod notify_command;
mod run_command;

/// Supervise an AI coding agent overnight.
#[derive(Debug, Parser)]
#[command(name = "night", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint runbooks against the pre-run checklist.
    Check(CheckArgs),
    /// Run a runbook: the supervised overnight run.
    Run(RunArgs),
    /// Send a test message through every notifier of a runbook.
    Notify(NotifyArgs),
}

/// `night run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The runbook.
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
}

/// `night check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The runbooks to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
}

/// `night notify --test FILE`.
#[derive(Debug, clap::Args)]
pub struct NotifyArgs {
    /// Send a test message through every notifier, whatever its `on` events, and wait for each result.
    #[arg(long, required = true)]
    pub test: bool,
    /// The runbook whose notifiers to test.
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For tools (schema in docs/check-json.md).
    Json,
}

/// Run the command line and return the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check_command::run(&args),
        Command::Run(args) => run_command::run(&args),
        Command::Notify(args) => notify_command::run(&args),
    };
    ExitCode::from(code)
}

/// Whether to colour output on stdout.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Terminal width for rendering, 80 when unknown.
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|w| *w >= 40).unwrap_or(80)
}
