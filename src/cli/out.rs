//! Every byte night prints goes through here: a reader that stops early (`night list | head`,
//! `| true`) or a closed terminal is no error and never a panic; the rest of the output is
//! dropped and the command ends as it would have.

use super::error::CliError;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output was closed by its reader.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Write `text` to standard output. A closed pipe is no error; another failure (a full disk)
/// is one.
pub fn print(text: &str) -> Result<(), CliError> {
    print_bytes(text.as_bytes()).map_err(|source| CliError::System { doing: "write to standard output", source })
}

/// Write bytes to standard output, as [`print`].
pub fn print_bytes(bytes: &[u8]) -> Result<(), std::io::Error> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// One line to standard output, best effort (progress lines: losing one is no failure).
pub fn line(text: &str) {
    let _ = print(&format!("{text}\n"));
}

/// Write `text` to standard error, best effort: there is nowhere left to say that it failed.
pub fn eprint(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush());
}

/// Whether standard output's reader has gone.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}
