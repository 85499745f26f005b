//! The command line: clap definitions, output formats and exit codes.

use crate::record::Exit;
use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};
use error::{CliError, Done};
use std::path::PathBuf;
use std::process::ExitCode;

mod batch_command;
mod check_command;
mod detach;
pub mod error;
mod export_command;
mod fmt_command;
mod foreground;
mod init_command;
mod list_command;
mod locate;
mod log_command;
mod notify_command;
mod on_command;
pub mod out;
mod report_command;
mod resume_command;
mod deliver_command;
mod run_command;
mod status_command;
mod stop_command;

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
    /// The morning report of a run (the newest when RUN is not given).
    Report(ReportArgs),
    /// What a running or finished run is doing or did.
    Status(RunName),
    /// The agent's output of a run; `-f` follows it live until the run ends.
    Log(LogArgs),
    /// The runs in this repository, newest first.
    List(ListArgs),
    /// Stop a run cleanly: end the agent, run the checks, report, notify; wait for the end.
    Stop(RunName),
    /// Continue a run whose supervisor died (killed, crashed, the machine restarted).
    Resume(ResumeArgs),
    /// Push an ended run's branch and open its pull request by hand (`deliver` block): a run
    /// whose outcome was not delivered, or whose delivery failed.
    Deliver(DeliverArgs),
    /// Bring a run made with `--on HOST` back: its branch, attempt refs and run folder.
    Pull(PullArgs),
    /// Write a Kubernetes Job, a GitHub Actions workflow or a Containerfile for a runbook.
    Export(ExportArgs),
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
    /// The entry point the agent's hooks call (PreToolUse, PostToolUse, Stop …); reads the
    /// hook's JSON on standard input and finds its run from `NIGHT_RUN_DIR`.
    Hook(HookArgs),
    /// The host's side of `--on` (reads its request on standard input).
    #[command(hide = true)]
    RemoteHost,
}

/// Where `--on` sends a command: `[user@]host[:path]`, over your own `ssh`.
const ON_HELP: &str = "Do it on this host over ssh (`NIGHT_SSH` replaces `ssh`): `[user@]host[:path]`; night's folder goes under PATH, else the remote home";

/// `night list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
}

/// `night pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The run id, or a unique prefix of it; the host's newest run when omitted.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// The host the run was made on.
    #[arg(long, value_name = "USER@HOST[:PATH]", required = true)]
    pub on: String,
}

/// `night export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// What to write.
    #[command(subcommand)]
    pub what: ExportWhat,
}

/// The formats `night export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// A Kubernetes Job that clones the repository and runs the runbook in a pod.
    K8s(ExportK8sArgs),
    /// A GitHub Actions workflow that runs the runbook on a schedule or by hand.
    GithubActions(ExportActionsArgs),
    /// A Containerfile for an image with night, git and the runbook's agent CLI.
    Containerfile(ExportCommonArgs),
}

/// What every export takes.
#[derive(Debug, clap::Args)]
pub struct ExportCommonArgs {
    /// The runbook.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to this file instead of printing.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The image with night, git and the agent (`night export containerfile` builds one).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

/// `night export k8s`.
#[derive(Debug, clap::Args)]
pub struct ExportK8sArgs {
    #[command(flatten)]
    pub common: ExportCommonArgs,
    /// The repository to clone (default: the `origin` remote's URL).
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// The branch to run from (default: the current branch).
    #[arg(long = "ref", value_name = "BRANCH")]
    pub git_ref: Option<String>,
    /// The Secret holding every `env.X` (and the agent's API key).
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,
    /// The CPU the pod requests.
    #[arg(long, value_name = "CPU", default_value = "1")]
    pub cpu: String,
    /// The memory the pod requests (and is limited to).
    #[arg(long, value_name = "MEMORY", default_value = "2Gi")]
    pub memory: String,
}

/// `night export github-actions`.
#[derive(Debug, clap::Args)]
pub struct ExportActionsArgs {
    #[command(flatten)]
    pub common: ExportCommonArgs,
    /// When it runs, as cron in UTC; it can always be started by hand too.
    #[arg(long, value_name = "CRON", default_value = "0 1 * * *")]
    pub schedule: String,
    /// The runner: a GitHub-hosted label (6-hour job limit) or a self-hosted one.
    #[arg(long, value_name = "LABEL", default_value = "ubuntu-latest")]
    pub runs_on: String,
}

/// `night hook`.
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// The hook event, e.g. `PreToolUse` (or `pre-tool-use`).
    #[arg(value_name = "EVENT")]
    pub event: String,
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

/// `night run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The runbook; several (or a shell glob) make a batch, run side by side (docs/batches.md).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Also write `report.html`, with a timeline of the night, at the end.
    #[arg(long)]
    pub html: bool,
    /// Run in the background, in a session of its own that survives the terminal and SSH
    /// disconnects; print the run id and how to follow it.
    #[arg(long)]
    pub detach: bool,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
    /// A batch: at most N runs at once, the others wait (default 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// A batch: one cost budget for all its runs, e.g. `$40`; the run whose spending crosses it
    /// ends as `budget`.
    #[arg(long, value_name = "MONEY")]
    pub budget: Option<String>,
    /// A batch: at most N success checks at once across its runs (default 1); the others wait their turn.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub checks: Option<u32>,
    /// A batch: send one digest at its end to this notifier, as a `notify` statement's kind
    /// and target: `--notify-batch command "./digest.sh"`, `--notify-batch webhook URL`.
    #[arg(long, num_args = 2, value_names = ["KIND", "TARGET"], action = clap::ArgAction::Append)]
    pub notify_batch: Vec<String>,
    /// Set by a batch for each of its runs: the batch folder.
    #[arg(long, hide = true, requires_all = ["batch_index", "batch_run_id"])]
    pub batch_dir: Option<PathBuf>,
    /// Set by a batch: the runbook's place in it.
    #[arg(long, hide = true)]
    pub batch_index: Option<usize>,
    /// Set by a batch: the run id it chose.
    #[arg(long, hide = true)]
    pub batch_run_id: Option<String>,
}

impl RunArgs {
    /// Whether this is a batch: several runbooks, or a batch's options.
    pub fn is_batch(&self) -> bool {
        self.batch_dir.is_none() && (self.files.len() > 1 || self.jobs.is_some() || self.budget.is_some() || self.checks.is_some() || !self.notify_batch.is_empty())
    }
}

/// A run named by id or unique prefix; the newest run of the repository when omitted.
#[derive(Debug, clap::Args)]
pub struct RunName {
    /// The run id, or a unique prefix of it.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
}

/// `night report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The run id, or a unique prefix of it; the newest run when omitted.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// `md` prints report.md; `json` prints report.json (docs/report-json.md); `html` writes
    /// report.html in the run folder and prints its path.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file instead (`-` prints it, html too).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown: one screen at the top, details below.
    Md,
    /// JSON, for tools.
    Json,
    /// One self-contained HTML file with a timeline of the night.
    Html,
}

/// `night log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The run id, or a unique prefix of it; the newest run when omitted.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Follow the log as the agent writes it, until the run ends.
    #[arg(long, short)]
    pub follow: bool,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
}

/// `night resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run id, or a unique prefix of it.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Also write `report.html` at the end.
    #[arg(long)]
    pub html: bool,
    /// Resume in the background, like `night run --detach`.
    #[arg(long)]
    pub detach: bool,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
}

/// `night deliver`.
#[derive(Debug, clap::Args)]
pub struct DeliverArgs {
    /// The run id, or a unique prefix of it.
    #[arg(value_name = "RUN")]
    pub run: String,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
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
    /// Check the files as one batch too (`night run a.night b.night …`): the batch's own rules,
    /// `batch-same-branch` and `batch-write-overlap`.
    #[arg(long)]
    pub batch: bool,
    #[arg(long, value_name = "USER@HOST[:PATH]", help = ON_HELP)]
    pub on: Option<String>,
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
    // `night hook EVENT` runs before every tool call the agent makes: answer it before clap
    // builds the whole command line (the other forms, `--help` included, go through clap).
    if let Some(event) = hook_event(std::env::args_os()) {
        return ExitCode::from(crate::hook::main(&event));
    }
    if let Err(error) = crate::remote::secrets::receive() {
        return finish(Err(CliError::Secrets(error)));
    }
    // `night check FILE…` runs before bed and in editors' save hooks: its usual forms skip
    // clap too (whose code, cold in a fresh process, costs more than the check of a small
    // runbook); anything else — `--help`, an unknown option, no file — goes through clap.
    if let Some(args) = plain_check(std::env::args_os()) {
        return finish(check_command::run(&args));
    }
    let cli = Cli::parse();
    if let Some(code) = on_command::dispatch(&cli.command) {
        return ExitCode::from(code);
    }
    let done = match cli.command {
        Command::Check(args) => check_command::run(&args),
        Command::Run(args) => run_command::run(&args),
        Command::Report(args) => report_command::run(&args),
        Command::Status(args) => status_command::run(args.run.as_deref()),
        Command::Log(args) => log_command::run(&args),
        Command::List(_) => list_command::run(),
        Command::Stop(args) => stop_command::run(args.run.as_deref()),
        Command::Resume(args) => resume_command::run(&args),
        Command::Deliver(args) => deliver_command::run(&args),
        Command::Notify(args) => notify_command::run(&args),
        Command::Fmt(args) => fmt_command::run(&args),
        Command::Init(args) => init_command::run(&args),
        Command::Lsp(_) => Ok(if crate::lsp::serve_stdio() == 0 { Exit::Success } else { Exit::Error }),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man(args.dir.as_deref()),
        Command::Hook(args) => return ExitCode::from(crate::hook::main(&args.event)),
        Command::Pull(args) => return ExitCode::from(crate::remote::pull::pull(&args.on, args.run.as_deref())),
        Command::Export(args) => export_command::run(&args),
        Command::RemoteHost => return ExitCode::from(crate::remote::host::serve()),
    };
    finish(done)
}

/// Render a command's end on standard error and give its exit status.
fn finish(done: Done) -> ExitCode {
    let exit = match done {
        Ok(exit) => exit,
        Err(error) => {
            out::eprint(&error.render());
            error.exit()
        }
    };
    ExitCode::from(exit.code())
}

/// The event of exactly `night hook EVENT`, when EVENT is a plain word (not an option).
fn hook_event(args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    let args: Vec<std::ffi::OsString> = args.skip(1).take(3).collect();
    match args.as_slice() {
        [command, event] if command == "hook" => event.to_str().filter(|event| !event.starts_with('-')).map(str::to_string),
        _ => None,
    }
}

/// `night check [--format text|json] [--deny-warnings] FILE…`, when that is all the command
/// line says (files that look like options, and every other option, are left to clap).
fn plain_check(args: impl Iterator<Item = std::ffi::OsString>) -> Option<CheckArgs> {
    let mut args = args.skip(1);
    if args.next()? != "check" {
        return None;
    }
    let mut check = CheckArgs { files: Vec::new(), format: Format::Text, deny_warnings: false, on: None, batch: false };
    let (mut format_next, mut formats) = (false, 0);
    for arg in args {
        if format_next {
            check.format = match arg.to_str()? {
                "text" => Format::Text,
                "json" => Format::Json,
                _ => return None,
            };
            format_next = false;
            continue;
        }
        match arg.to_str() {
            Some("--format") => {
                format_next = true;
                formats += 1;
            }
            Some("--format=text" | "--format=json") => {
                check.format = if arg == "--format=json" { Format::Json } else { Format::Text };
                formats += 1;
            }
            // Given twice, clap says so.
            Some("--deny-warnings") if check.deny_warnings => return None,
            Some("--deny-warnings") => check.deny_warnings = true,
            Some(text) if text.starts_with('-') => return None,
            _ => check.files.push(PathBuf::from(arg)),
        }
    }
    (!format_next && formats <= 1 && !check.files.is_empty()).then_some(check)
}

fn completions(shell: clap_complete::Shell) -> Done {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "night", &mut script);
    out::print_bytes(&script).map_err(|source| CliError::System { doing: "write to standard output", source })?;
    Ok(Exit::Success)
}

fn man(dir: Option<&std::path::Path>) -> Done {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir)).map_err(|source| CliError::File { doing: "write the manual pages into", path: dir.to_path_buf(), source })?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(|source| CliError::System { doing: "render the manual page", source })?;
            out::print_bytes(&page).map_err(|source| CliError::System { doing: "write to standard output", source })?;
        }
    }
    Ok(Exit::Success)
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

#[cfg(test)]
mod tests {
    use super::hook_event;

    fn event(args: &[&str]) -> Option<String> {
        hook_event(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn plain_checks_skip_clap_and_the_rest_go_through_it() {
        let check = |args: &[&str]| super::plain_check(args.iter().map(std::ffi::OsString::from));
        let plain = check(&["night", "check", "a.night", "--deny-warnings", "--format", "json", "b.night"]).expect("plain");
        assert_eq!(plain.files, [std::path::PathBuf::from("a.night"), "b.night".into()]);
        assert!(plain.deny_warnings && plain.format == super::Format::Json);
        assert_eq!(check(&["night", "check", "--format=text", "a.night"]).map(|c| c.format), Some(super::Format::Text));
        for other in [&["night", "check"][..], &["night", "check", "--help"], &["night", "check", "-h", "a"], &["night", "check", "a", "--format"], &["night", "check", "--format", "xml", "a"], &["night", "check", "--", "a"], &["night", "run", "a"], &["night", "check", "a", "--deny-warnings", "--deny-warnings"], &["night", "check", "--format=json", "--format", "text", "a"], &["night", "check", "a", "--on", "ci@host"]] {
            assert!(check(other).is_none(), "{other:?}");
        }
        // What clap makes of the same line.
        use clap::Parser as _;
        let parsed = super::Cli::try_parse_from(["night", "check", "a.night", "--deny-warnings", "--format", "json", "b.night"]).expect("clap");
        let super::Command::Check(clapped) = parsed.command else { panic!("not check") };
        assert_eq!((clapped.files, clapped.format, clapped.deny_warnings), (plain.files, plain.format, plain.deny_warnings));
    }

    #[test]
    fn only_night_hook_event_skips_clap() {
        assert_eq!(event(&["night", "hook", "PreToolUse"]).as_deref(), Some("PreToolUse"));
        assert_eq!(event(&["night", "hook", "pre-tool-use"]).as_deref(), Some("pre-tool-use"));
        assert_eq!(event(&["night", "hook", "--help"]), None);
        assert_eq!(event(&["night", "hook"]), None);
        assert_eq!(event(&["night", "hook", "PreToolUse", "extra"]), None);
        assert_eq!(event(&["night", "check", "hook"]), None);
    }
}
