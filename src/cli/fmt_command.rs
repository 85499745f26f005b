//! `night fmt FILE… [--check]`: rewrite runbooks in canonical form; `-` reads standard input.

use super::FmtArgs;
use crate::diagnostic::{render, RenderOptions};
use crate::source::Source;
use std::io::{Read as _, Write as _};
use std::path::Path;

/// Exit 0 when every file is (now) formatted, 1 with `--check` when one would change, 2 when
/// one cannot be read, written or parsed.
pub fn run(args: &FmtArgs) -> u8 {
    let options = RenderOptions { width: super::width(), color: super::use_stderr_color() };
    let mut status = 0;
    for path in &args.files {
        let outcome = if path.as_os_str() == "-" { stdin(args.check, options) } else { file(path, args.check, options) };
        status = status.max(outcome);
    }
    status
}

fn file(path: &Path, check: bool, options: RenderOptions) -> u8 {
    let source = match super::check_command::read_source(path) {
        Ok(source) => source,
        Err(message) => {
            eprintln!("error[unreadable]: {message}");
            return 2;
        }
    };
    let Some(formatted) = format(&source, options) else { return 2 };
    if formatted == source.text {
        return 0;
    }
    if check {
        println!("would reformat {}", path.display());
        return 1;
    }
    match std::fs::write(path, formatted) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: cannot write `{}`: {}", path.display(), error.to_string().to_lowercase());
            2
        }
    }
}

/// Standard input to standard output, so editors can use `night fmt -` as a filter.
fn stdin(check: bool, options: RenderOptions) -> u8 {
    let mut text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error[unreadable]: cannot read standard input: {}", error.to_string().to_lowercase());
        return 2;
    }
    let source = Source::new("<stdin>", text);
    let Some(formatted) = format(&source, options) else { return 2 };
    if check {
        if formatted == source.text {
            return 0;
        }
        println!("would reformat <stdin>");
        return 1;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(formatted.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        return 2;
    }
    0
}

/// The formatted text, or `None` after printing why the file cannot be formatted.
fn format(source: &Source, options: RenderOptions) -> Option<String> {
    match crate::fmt::format(&source.text) {
        Ok(formatted) => Some(formatted),
        Err(diagnostic) => {
            eprint!("{}", render(&diagnostic, source, options));
            eprintln!("{}: not formatted: fix the syntax error first", source.name());
            None
        }
    }
}
