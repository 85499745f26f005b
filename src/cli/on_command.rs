//! `--on HOST`: the commands that take it hand over to `crate::remote::client`, which does
//! the same thing on the host over SSH.

use super::{Command, Format, ReportFormat};
use crate::diagnostic::RenderOptions;
use crate::remote::client::{self, BatchArgs};
use crate::remote::on_host;

/// The exit status of a command given `--on`; `None` for a command to run here.
pub(super) fn dispatch(command: &Command) -> Option<u8> {
    let options = RenderOptions { width: super::width(), color: super::use_color() };
    let with_run = |name: &str, run: &Option<String>| {
        let mut args = vec![name.to_string()];
        args.extend(run.clone());
        args
    };
    Some(match command {
        Command::Run(args) => {
            let on = args.on.as_deref()?;
            let batch = args.is_batch().then(|| BatchArgs { jobs: args.jobs, budget: args.budget.clone(), checks: args.checks, notify_batch: args.notify_batch.clone() });
            client::run(on, &args.files, batch.as_ref(), args.html, options)
        }
        Command::Check(args) => client::check(args.on.as_deref()?, &args.files, args.format == Format::Json, args.deny_warnings, args.batch, options),
        Command::Status(args) => on_host::pass_through(args.on.as_deref()?, with_run("status", &args.run)),
        Command::Stop(args) => on_host::pass_through(args.on.as_deref()?, with_run("stop", &args.run)),
        Command::List(args) => on_host::pass_through(args.on.as_deref()?, vec!["list".into()]),
        Command::Log(args) => {
            let mut remote = with_run("log", &args.run);
            if args.follow {
                remote.push("--follow".into());
            }
            on_host::pass_through(args.on.as_deref()?, remote)
        }
        Command::Report(args) => {
            let on = args.on.as_deref()?;
            let format = match args.format {
                ReportFormat::Md => "md",
                ReportFormat::Json => "json",
                ReportFormat::Html => "html",
            };
            let mut remote = with_run("report", &args.run);
            remote.extend(["--format".to_string(), format.to_string()]);
            match &args.output {
                Some(path) if path.as_os_str() != "-" => on_host::report_to_file(on, remote, path),
                Some(_) => {
                    remote.extend(["--output".to_string(), "-".to_string()]);
                    on_host::pass_through(on, remote)
                }
                None => on_host::pass_through(on, remote),
            }
        }
        Command::Resume(args) => on_host::resume(args.on.as_deref()?, &args.run, args.html),
        Command::Deliver(args) => on_host::deliver(args.on.as_deref()?, &args.run),
        _ => return None,
    })
}
