//! Every `git` process delivery starts, made safe to run unattended: in a session of its own
//! (no terminal to prompt on), with no password prompt or askpass, no hooks, no trace output
//! (which would print credentials), and nothing from night's environment that points git at
//! another repository.

use super::error::DeliverError;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

/// Variables removed from every delivery git's environment: they would point it at another
/// repository or object store, or print requests (and so credentials) to its output.
const REMOVED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CURL_VERBOSE",
    "GIT_SSH_VARIANT",
    "LANGUAGE",
];

/// The transports a push may use: never `ext::` or `fd::`, which run commands.
const ALLOWED_PROTOCOLS: &str = "ssh:https:http:git:file";

/// A git command line and the environment it runs in.
#[derive(Debug, Clone)]
pub struct GitCommand {
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl GitCommand {
    /// `git` run in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), args: Vec::new(), env: Vec::new() }
    }

    /// Append arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Set variables before night's own safety settings (which win).
    #[must_use]
    pub fn envs(mut self, env: &[(OsString, OsString)]) -> Self {
        self.env.extend(env.iter().cloned());
        self
    }

    /// The variable's value as this command will see it before the safety settings.
    fn var(&self, name: &str) -> Option<OsString> {
        self.env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()).or_else(|| std::env::var_os(name))
    }

    fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new("git");
        // No hooks of any repository, no filesystem monitor, no credential UI.
        command
            .args(["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "credential.interactive=never"])
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        let removed = |name: &OsStr| name.to_str().is_some_and(|n| n.starts_with("GIT_TRACE") || REMOVED.contains(&n));
        for (name, _) in std::env::vars_os().filter(|(k, _)| removed(k)) {
            command.env_remove(name);
        }
        command.envs(self.env.iter().filter(|(k, _)| !removed(k)).map(|(k, v)| (k, v)));
        let fail = which::which("false").unwrap_or_else(|_| PathBuf::from("/bin/false"));
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", &fail)
            .env("SSH_ASKPASS", &fail)
            .env("SSH_ASKPASS_REQUIRE", "never")
            .env("GCM_INTERACTIVE", "never")
            .env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
            .env("LC_ALL", "C");
        if let Some(ssh) = self.batch_ssh() {
            command.env("GIT_SSH_COMMAND", ssh);
        }
        command
    }

    /// `GIT_SSH_COMMAND` (or `core.sshCommand`, or plain `ssh`) with `-o BatchMode=yes`, when it
    /// is OpenSSH: it then fails at once where it would ask for a password, a passphrase or a
    /// new host key. Another program is left as the user set it.
    fn batch_ssh(&self) -> Option<OsString> {
        let base = match self.var("GIT_SSH_COMMAND").filter(|v| !v.is_empty()) {
            Some(command) => command.to_string_lossy().into_owned(),
            None if self.var("GIT_SSH").is_some() => return None,
            None => self.global_ssh_command().unwrap_or_else(|| "ssh".to_string()),
        };
        let program = base.split_whitespace().next().unwrap_or("");
        let is_openssh = Path::new(program).file_name().is_some_and(|name| name == "ssh");
        is_openssh.then(|| OsString::from(format!("{base} -o BatchMode=yes")))
    }

    /// Run to the end (for quick local commands).
    pub fn output_blocking(&self) -> Result<Output, DeliverError> {
        self.std_command().output().map_err(|e| DeliverError::Git { message: format!("cannot start `git`: {e}") })
    }

    /// Run in a session of its own (no controlling terminal, so nothing can prompt), at most
    /// `timeout`; on timeout the whole session's process group (ssh included) is killed and
    /// `Ok(None)` returned.
    pub async fn output(&self, timeout: Duration) -> Result<Option<Output>, DeliverError> {
        let mut command = tokio::process::Command::from(self.std_command());
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        // SAFETY: `setsid` is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
        }
        let child = command.spawn().map_err(|e| DeliverError::Git { message: format!("cannot start `git`: {e}") })?;
        let group = child.id().and_then(|id| i32::try_from(id).ok());
        match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => Ok(Some(output)),
            Ok(Err(e)) => Err(DeliverError::Git { message: format!("cannot wait for `git`: {e}") }),
            Err(_elapsed) => {
                if let Some(group) = group {
                    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), nix::sys::signal::Signal::SIGKILL);
                }
                Ok(None)
            }
        }
    }
}

impl GitCommand {
    /// The user's global `core.sshCommand` (never a repository's), read with this command's
    /// environment (`GIT_CONFIG_GLOBAL` included).
    fn global_ssh_command(&self) -> Option<String> {
        let output = std::process::Command::new("git")
            .args(["config", "--global", "--get", "core.sshCommand"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let value = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (output.status.success() && !value.is_empty()).then_some(value)
    }
}
