//! The runbook's `env.X` values on the host, for the run's lifetime and in memory only.
//!
//! `night run --on` reads each `env.X` the runbook names from the laptop's environment and
//! sends them as one JSON object on the SSH channel's standard input. On the host, a night
//! process started with `NIGHT_SECRETS_STDIN=1` reads that object first thing and keeps it in
//! this module's memory; its look-ups of environment variables ([`var`]) see those values
//! first. When it starts the detached supervisor, it hands the values down the same way, over
//! a pipe to the child's standard input ([`hand_down`], [`send`]). Nothing is written to the
//! host's disk, put on a command line, or placed in a process environment (which
//! `/proc/<pid>/environ` would show to every process of that user, the agent included).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// Set (to `1`) on a night process whose standard input starts with the secrets.
pub const STDIN_ENV: &str = "NIGHT_SECRETS_STDIN";
/// The most a secrets object may weigh; more is a mistake, not a runbook's secrets.
const MAX_BYTES: u64 = 1024 * 1024;

static RECEIVED: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// Values by name.
pub type Secrets = BTreeMap<String, String>;

/// Why the secrets handed over on standard input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Standard input cannot be read.
    #[error("cannot read the secrets on standard input: {0}")]
    Read(#[source] std::io::Error),
    /// What was read is not a JSON object of strings.
    #[error("the secrets on standard input are not a JSON object of strings: {0}")]
    NotJson(#[source] serde_json::Error),
}

/// In a process started with [`STDIN_ENV`], read the secrets from standard input and keep
/// them; remove the marker so that no child of this process reads its own standard input for
/// them. Call it first thing, before any thread starts. Elsewhere it does nothing.
pub fn receive() -> Result<(), SecretsError> {
    if std::env::var_os(STDIN_ENV).is_none_or(|v| v != "1") {
        return Ok(());
    }
    // Single-threaded still: nothing reads the environment concurrently.
    std::env::remove_var(STDIN_ENV);
    let mut bytes = Vec::new();
    std::io::stdin().lock().take(MAX_BYTES).read_to_end(&mut bytes).map_err(SecretsError::Read)?;
    let secrets: Secrets = if bytes.iter().all(u8::is_ascii_whitespace) {
        Secrets::new()
    } else {
        serde_json::from_slice(&bytes).map_err(SecretsError::NotJson)?
    };
    let _ = RECEIVED.set(secrets);
    Ok(())
}

/// An environment variable: a received secret first, then the process environment.
pub fn var(name: &str) -> Option<String> {
    RECEIVED.get().and_then(|secrets| secrets.get(name).cloned()).or_else(|| std::env::var(name).ok())
}

/// The secrets this process received (empty when it received none).
pub fn received() -> Secrets {
    RECEIVED.get().cloned().unwrap_or_default()
}

/// Prepare `command` (a night process) to receive this process's secrets on its standard
/// input; true when there are any, and then [`send`] must follow the spawn.
pub fn hand_down(command: &mut Command) -> bool {
    if RECEIVED.get().is_none_or(BTreeMap::is_empty) {
        return false;
    }
    command.env(STDIN_ENV, "1").stdin(Stdio::piped());
    true
}

/// Write `secrets` to a started child's standard input and close it.
pub fn send(child: &mut Child, secrets: &Secrets) -> std::io::Result<()> {
    let Some(mut stdin) = child.stdin.take() else { return Ok(()) };
    stdin.write_all(&encode(secrets))?;
    stdin.flush()
}

/// The secrets as the JSON object sent on standard input.
pub fn encode(secrets: &Secrets) -> Vec<u8> {
    serde_json::to_vec(secrets).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_holds_only_what_was_given() {
        let mut secrets = Secrets::new();
        secrets.insert("HOOK".into(), "https://example.invalid/x?token=\"q\"".into());
        let bytes = encode(&secrets);
        let back: Secrets = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(back, secrets);
    }

    #[test]
    fn without_the_marker_nothing_is_read() {
        assert!(receive().is_ok());
        assert_eq!(var("PATH"), std::env::var("PATH").ok());
    }
}
