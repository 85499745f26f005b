//! `night fmt FILE… [--check]`: rewrite runbooks in canonical form; `-` reads standard input.

use super::error::{CliError, Done, Unreadable};
use super::out;
use super::FmtArgs;
use crate::record::Exit;
use crate::diagnostic::{render, RenderOptions};
use crate::source::Source;
use std::io::Read as _;
use std::path::Path;

/// Exit 0 when every file is (now) formatted, 1 with `--check` when one would change, 2 when
/// one cannot be read, written or parsed.
pub fn run(args: &FmtArgs) -> Done {
    let options = RenderOptions { width: super::width(), color: super::use_stderr_color() };
    let mut status = Exit::Success;
    for path in &args.files {
        let done = if path.as_os_str() == "-" { stdin(args.check, options) } else { file(path, args.check, options) };
        // One file that cannot be formatted does not stop the others.
        let exit = done.unwrap_or_else(|error| {
            out::eprint(&error.render());
            error.exit()
        });
        status = status.max(exit);
    }
    Ok(status)
}

fn file(path: &Path, check: bool, options: RenderOptions) -> Done {
    let source = super::check_command::read_source(path)?;
    let Some(formatted) = format(&source, options) else { return Ok(Exit::Error) };
    if formatted == source.text {
        return Ok(Exit::Success);
    }
    if check {
        out::print(&format!("would reformat {}\n", path.display()))?;
        return Ok(Exit::Failure);
    }
    std::fs::write(path, formatted).map_err(|source| CliError::File { doing: "write", path: path.to_path_buf(), source })?;
    Ok(Exit::Success)
}

/// Standard input to standard output, so editors can use `night fmt -` as a filter.
fn stdin(check: bool, options: RenderOptions) -> Done {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(Unreadable::Stdin)?;
    let source = Source::new("<stdin>", text);
    let Some(formatted) = format(&source, options) else { return Ok(Exit::Error) };
    if check {
        if formatted == source.text {
            return Ok(Exit::Success);
        }
        out::print("would reformat <stdin>\n")?;
        return Ok(Exit::Failure);
    }
    out::print(&formatted)?;
    Ok(Exit::Success)
}

/// The formatted text, or `None` after printing why the file cannot be formatted.
fn format(source: &Source, options: RenderOptions) -> Option<String> {
    match crate::fmt::format(&source.text) {
        Ok(formatted) => Some(formatted),
        Err(diagnostic) => {
            out::eprint(&render(&diagnostic, source, options));
            out::eprint(&format!("{}: not formatted: fix the syntax error first\n", source.name()));
            None
        }
    }
}
