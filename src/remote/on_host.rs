//! The `--on` commands on what is already on the host: `status`, `log`, `list`, `stop` and
//! `report` pass through to the host's night in its checkout, each line of their errors
//! prefixed by the host's name; `resume` and `deliver` hand the run's secrets over again, in
//! memory, from the laptop. Split from `client.rs`, which starts runs and checks.

use super::client::{connect, in_checkout, laptop_secrets, report_error, say, stream};
use super::travel;
use crate::source::Source;
use super::layout::Layout;
use super::secrets::{self, Secrets};
use super::ssh::{quote, Input, Ssh};
use super::{RemoteError, Target};
use std::io::Write as _;
use std::path::Path;

/// `night status|log|list|stop|report … --on HOST`: the same command in the host's checkout,
/// its output shown as it comes.
pub fn pass_through(on: &str, args: Vec<String>) -> u8 {
    let (ssh, layout) = match connect(on) {
        Ok(connected) => connected,
        Err(e) => return report_error(&e),
    };
    let rewrite = args.first().is_some_and(|a| a == "status");
    match stream(&ssh, &in_checkout(&layout, &args, false), Input::Nothing, !rewrite) {
        Ok((status, stdout)) => {
            if rewrite {
                print!("{}", with_on(&stdout, &ssh.target));
                let _ = std::io::stdout().flush();
            }
            status
        }
        Err(e) => report_error(&e),
    }
}

/// `night report [RUN] -o FILE --on HOST`: the report made there, written here.
pub fn report_to_file(on: &str, mut args: Vec<String>, output: &Path) -> u8 {
    let (ssh, layout) = match connect(on) {
        Ok(connected) => connected,
        Err(e) => return report_error(&e),
    };
    args.extend(["--output".to_string(), "-".to_string()]);
    match stream(&ssh, &in_checkout(&layout, &args, false), Input::Nothing, false) {
        Ok((0, text)) => match std::fs::write(output, text) {
            Ok(()) => {
                println!("{}", output.display());
                0
            }
            Err(e) => report_error(&RemoteError::local(format!("cannot write `{}`: {e}", output.display()), None)),
        },
        Ok((status, _)) => status,
        Err(e) => report_error(&e),
    }
}

/// The hints of `night status` (`night log -f ID`) as commands for this host.
fn with_on(text: &str, target: &Target) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let hint = ["follow ", "stop ", "report ", "continue ", "deliver "].iter().any(|word| trimmed.starts_with(word)) && trimmed.contains(" night ");
        out.push_str(line);
        if hint {
            out.push_str(&format!(" --on {target}"));
        }
        out.push('\n');
    }
    out
}

/// The run `run` names on the host, as its report's JSON says.
pub(super) fn describe(ssh: &Ssh, layout: &Layout, run: Option<&str>) -> Result<serde_json::Value, RemoteError> {
    let mut args = vec!["report".to_string()];
    args.extend(run.map(str::to_string));
    args.extend(["--format".to_string(), "json".to_string()]);
    let (status, stdout) = stream(ssh, &in_checkout(layout, &args, false), Input::Nothing, false)?;
    if status != 0 {
        return Err(RemoteError::Step { host: ssh.host().to_string(), message: "cannot read the run there (above)".into(), help: None });
    }
    serde_json::from_str(&stdout).map_err(|e| RemoteError::Step { host: ssh.host().to_string(), message: format!("the host's report is not JSON: {e}"), help: Some("Use the same night version on both machines.".into()) })
}

/// `night resume RUN|BATCH --on HOST`: continue a dead run (or batch) there, detached, with its
/// secrets sent again from here.
pub fn resume(on: &str, run: &str, html: bool) -> u8 {
    let (ssh, layout) = match connect(on) {
        Ok(connected) => connected,
        Err(e) => return report_error(&e),
    };
    let (id, batch) = match named(&ssh, &layout, run) {
        Ok(named) => named,
        Err(e) => return report_error(&e),
    };
    let secrets = match secrets_of(&ssh, &layout, &id, batch) {
        Ok(secrets) => secrets,
        Err(e) => return report_error(&e),
    };
    let mut args = vec!["resume".to_string(), id.clone(), "--detach".to_string()];
    if html {
        args.push("--html".into());
    }
    match with_secrets(&ssh, &layout, &args, &secrets) {
        Ok((0, _)) => {
            let what = if batch { "batch" } else { "run" };
            say(&format!("night: {what} {id} resumed on {} in the background", ssh.host()));
            say(&format!("  status    night status {id} --on {}", ssh.target));
            0
        }
        Ok((status, stdout)) => {
            print!("{stdout}");
            status
        }
        Err(e) => report_error(&e),
    }
}

/// `night deliver RUN --on HOST`: the run's delivery done again there, by the host's git and
/// credentials, with the tokens its runbook names sent from here in memory.
pub fn deliver(on: &str, run: &str) -> u8 {
    let (ssh, layout) = match connect(on) {
        Ok(connected) => connected,
        Err(e) => return report_error(&e),
    };
    let id = match named(&ssh, &layout, run) {
        Ok((id, false)) => id,
        Ok((id, true)) => {
            return report_error(&RemoteError::Step {
                host: ssh.host().to_string(),
                message: format!("`{id}` is a batch; `night deliver` takes one run of it"),
                help: Some(format!("`night status {id} --on {}` lists its runs.", ssh.target)),
            })
        }
        Err(e) => return report_error(&e),
    };
    let secrets = match secrets_of(&ssh, &layout, &id, false) {
        Ok(secrets) => secrets,
        Err(e) => return report_error(&e),
    };
    match with_secrets(&ssh, &layout, &["deliver".to_string(), id], &secrets) {
        Ok((status, stdout)) => {
            print!("{stdout}");
            let _ = std::io::stdout().flush();
            status
        }
        Err(e) => report_error(&e),
    }
}

/// The run or batch `name` names on the host: its full id, and whether it is a batch.
fn named(ssh: &Ssh, layout: &Layout, name: &str) -> Result<(String, bool), RemoteError> {
    let described = describe(ssh, layout, Some(name))?;
    if let Some(batch) = described["batch_id"].as_str().filter(|id| !id.is_empty()) {
        return Ok((batch.to_string(), true));
    }
    Ok((described["run_id"].as_str().unwrap_or(name).to_string(), false))
}

/// The values, from this machine's environment, of the `env.X` a run's runbook copy names (or,
/// for a batch, its runbook copies and its digest notifiers).
fn secrets_of(ssh: &Ssh, layout: &Layout, id: &str, batch: bool) -> Result<Secrets, RemoteError> {
    let work = layout.work();
    // Each file's text, then a NUL.
    let script = if batch {
        let dir = quote(&format!("{work}/.night/batches/{id}"));
        format!("cd {} && cd {dir} && head -n 1 batch.jsonl && printf '\\000' && for f in runbooks/*.night; do cat \"$f\"; printf '\\000'; done", quote(&layout.base))
    } else {
        format!("cd {} && cat {} && printf '\\000'", quote(&layout.base), quote(&format!("{work}/.night/runs/{id}/runbook.night")))
    };
    let output = ssh.run(&script, Input::Nothing)?;
    if !output.status.success() {
        return Ok(Secrets::new());
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut texts: Vec<String> = text.split('\0').filter(|t| !t.trim().is_empty()).map(str::to_string).collect();
    let mut names = Vec::new();
    if batch && !texts.is_empty() {
        let start: Option<crate::record::batch::BatchEntry> = serde_json::from_str(texts.remove(0).trim()).ok();
        if let Some(crate::record::BatchEvent::BatchStart(start)) = start.map(|entry| entry.event) {
            texts.extend(start.notify.iter().map(|statement| format!("notify {{\n  {statement}\n}}\n")));
        }
    }
    for text in texts {
        let parsed = crate::syntax::parse(&Source::new("runbook.night", text));
        travel::env_names(&parsed.statements, &mut names);
    }
    names.sort();
    names.dedup();
    Ok(laptop_secrets(&names))
}

/// Run `night ARGS` in the host's checkout, `secrets` on its standard input; its status and
/// standard output (its errors shown as they come, prefixed).
fn with_secrets(ssh: &Ssh, layout: &Layout, args: &[String], secrets: &Secrets) -> Result<(u8, String), RemoteError> {
    let body = secrets::encode(secrets);
    let input = if secrets.is_empty() { Input::Nothing } else { Input::Bytes(&body) };
    stream(ssh, &in_checkout(layout, args, !secrets.is_empty()), input, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::secrets::STDIN_ENV;

    #[test]
    fn status_hints_get_the_host() {
        let target = Target::parse("box:/srv").expect("target");
        let text = "t-1: running (supervisor pid 3)\n  follow    night log -f t-1\n  folder    /x\n";
        let shown = with_on(text, &target);
        assert!(shown.contains("night log -f t-1 --on box:/srv\n"), "{shown}");
        assert!(shown.contains("  folder    /x\n"), "{shown}");
    }

    #[test]
    fn the_checkout_script_runs_night_there() {
        let layout = Layout { base: ".".into(), key: "p-1".into() };
        let script = in_checkout(&layout, &["status".into(), "it's".into()], true);
        assert!(script.contains("exec \"$bin\" status 'it'\\''s'"), "{script}");
        assert!(script.contains(&format!("{STDIN_ENV}=1 exec")), "{script}");
    }
}
