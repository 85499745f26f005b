//! The command line: clap definitions, output formats and exit codes.

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

mod check_command;
mod fmt_command;
mod init_command;
mod notify_command;

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
    /// Send a test message through every notifier of a runbook.
    Notify(NotifyArgs),
    /// Rewrite runbooks in canonical form, keeping every comment.
    Fmt(FmtArgs),
    /// Write a starting runbook for this repository, with its test command detected.
    Init(InitArgs),
    /// Run the language server for editors, over standard input and output.
    Lsp(LspArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with `--dir`.
    Man(ManArgs),
}

/// `night fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// The runbooks to format in place; `-` reads standard input and writes standard output.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Change nothing; exit 1 and name the files that would change.
    #[arg(long)]
    pub check: bool,
}

/// `night init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write the runbook; `-` prints it.
    #[arg(long, short, value_name = "PATH", default_value = "night.night")]
    pub output: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `night lsp`.
#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Use standard input and output (the only transport; accepted because clients pass it).
    #[arg(long)]
    pub stdio: bool,
}

/// `night completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `night man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `night.1` and a page per subcommand (`night-check.1`, …) into this folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
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
        Command::Notify(args) => notify_command::run(&args),
        Command::Fmt(args) => fmt_command::run(&args),
        Command::Init(args) => init_command::run(&args),
        Command::Lsp(_) => crate::lsp::serve_stdio(),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man(args.dir.as_deref()),
    };
    ExitCode::from(code)
}

fn completions(shell: clap_complete::Shell) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "night", &mut script);
    print_bytes(&script)
}

fn man(dir: Option<&std::path::Path>) -> u8 {
    let result = match dir {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir)),
        None => {
            let mut page = Vec::new();
            let rendered = clap_mangen::Man::new(Cli::command()).render(&mut page);
            return if rendered.is_ok() { print_bytes(&page) } else { 2 };
        }
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: cannot write the manual pages: {}", error.to_string().to_lowercase());
            2
        }
    }
}

/// Write generated text to stdout; a reader that stops early (`| head`) is no error.
fn print_bytes(bytes: &[u8]) -> u8 {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(_) => 2,
    }
}

/// Whether to colour output on stdout.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Whether to colour diagnostics written to stderr.
pub(crate) fn use_stderr_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Terminal width for rendering, 80 when unknown.
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|w| *w >= 40).unwrap_or(80)
}
