//! What can go wrong with `--on`: each error names its host (the CLI prefixes it, so that a
//! remote failure reads like the same failure at home, e.g. `dev-box: error: …`) and says how
//! to fix it.

/// An `--on` command could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The `--on` value is malformed.
    #[error("`--on {value}` is not `[user@]host[:path]`: {why}")]
    BadTarget {
        /// As given.
        value: String,
        /// What is wrong.
        why: String,
    },
    /// `ssh` could not connect or log in (its exit status 255).
    #[error("cannot reach the host: {detail}")]
    Unreachable {
        /// The host.
        host: String,
        /// ssh's own last words.
        detail: String,
    },
    /// `--on HOST:PATH` names a folder the host does not have.
    #[error("`{path}` does not exist there, so night's folder cannot go under it")]
    NoBase {
        /// The host.
        host: String,
        /// The path given.
        path: String,
    },
    /// A program night needs on the host is missing.
    #[error("`{tool}` is not installed there ({why})")]
    MissingTool {
        /// The host.
        host: String,
        /// The program.
        tool: String,
        /// What night needs it for.
        why: String,
    },
    /// The host's disk under night's folder is (nearly) full.
    #[error("only {free} free under `{path}`; a run needs at least {need} (No space left on device)")]
    DiskFull {
        /// The host.
        host: String,
        /// Night's folder there.
        path: String,
        /// Free space, in words.
        free: String,
        /// The least night asks for, in words.
        need: String,
    },
    /// No `night` there can serve this one, and this binary cannot be copied.
    #[error("{detail}")]
    Incompatible {
        /// The host.
        host: String,
        /// What does not fit.
        detail: String,
        /// What to do.
        help: String,
    },
    /// The host has nothing of this repository yet.
    #[error("no run of this repository there yet (`{path}` does not exist)")]
    NoCheckout {
        /// The host.
        host: String,
        /// The checkout night would use.
        path: String,
    },
    /// A step on the host failed; `message` is what the host said.
    #[error("{message}")]
    Step {
        /// The host.
        host: String,
        /// What failed, with the host's own words.
        message: String,
        /// What to do, when known.
        help: Option<String>,
    },
    /// Something on this machine is in the way (the repository, the runbook, git).
    #[error("{message}")]
    Local {
        /// What is wrong.
        message: String,
        /// What to do, when known.
        help: Option<String>,
    },
}

impl RemoteError {
    /// A failure on this machine.
    pub fn local(message: impl Into<String>, help: Option<&str>) -> Self {
        RemoteError::Local { message: message.into(), help: help.map(str::to_string) }
    }

    /// The host the error is about, when it is about one.
    pub fn host(&self) -> Option<&str> {
        match self {
            RemoteError::BadTarget { .. } | RemoteError::Local { .. } => None,
            RemoteError::Unreachable { host, .. }
            | RemoteError::NoBase { host, .. }
            | RemoteError::MissingTool { host, .. }
            | RemoteError::DiskFull { host, .. }
            | RemoteError::Incompatible { host, .. }
            | RemoteError::NoCheckout { host, .. }
            | RemoteError::Step { host, .. } => Some(host),
        }
    }

    /// How to fix it, one sentence or two.
    pub fn help(&self) -> Option<String> {
        match self {
            RemoteError::BadTarget { .. } => Some("Write `--on dev-box`, `--on me@dev-box` or `--on dev-box:/srv` (night's folder then goes under /srv).".into()),
            RemoteError::Unreachable { host, .. } => Some(format!(
                "night connects with your own `ssh` (your ~/.ssh/config, agent and known_hosts, or `NIGHT_SSH`): make `ssh {host} true` work first; nothing was changed there."
            )),
            RemoteError::NoBase { host, path } => Some(format!("Create it first (`ssh {host} mkdir -p {path}`), or leave `:{path}` out to use the remote user's home.")),
            RemoteError::MissingTool { tool, .. } => Some(format!("Install `{tool}` on the host (e.g. `sudo apt-get install {tool}`) and make sure it is on the PATH of non-interactive SSH commands.")),
            RemoteError::DiskFull { .. } => Some("Free some space on the host, or choose another disk with `--on HOST:PATH`; nothing was changed there.".into()),
            RemoteError::Incompatible { help, .. } => Some(help.clone()),
            RemoteError::NoCheckout { host, .. } => Some(format!("`night run FILE --on {host}` starts one; runs started with another `--on …:PATH` live under that path.")),
            RemoteError::Step { help, .. } | RemoteError::Local { help, .. } => help.clone(),
        }
    }
}
