//! The one SSH server of the test suite: Debian's OpenSSH on 127.0.0.1:22022, started by
//! `.ci/sshd-setup` with its own config, host key and throwaway user `nightci`. Delivery,
//! remote runs and the irreversible-operations corpus all use it; nothing here touches root's
//! own `~/.ssh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where `.ci/sshd-setup` leaves the server's files.
pub const DIR: &str = "/etc/night-ci/ssh";
/// The server's port on 127.0.0.1.
pub const PORT: u16 = 22022;
/// The throwaway user: the remote's account, and a stand-in user whose home holds a real key.
pub const USER: &str = "nightci";
/// The `Host` alias both ssh configs define.
pub const HOST: &str = "night-ci";

/// The running server, as a test sees it.
pub struct Sshd {
    /// An ssh_config for tests run as root: `Host night-ci`, the user's key, the pinned host key.
    pub config: PathBuf,
    /// The throwaway user's home (its `~/.ssh` holds the key the server accepts).
    pub home: PathBuf,
}

impl Sshd {
    /// `ssh -F <config>`: what `GIT_SSH_COMMAND` or `NIGHT_SSH` should be for a test run as root.
    pub fn ssh_command(&self) -> String {
        format!("ssh -F {}", self.config.display())
    }

    /// An scp-like git URL for `path` on the server, e.g. `night-ci:/home/nightci/x.git`.
    pub fn git_url(&self, path: &Path) -> String {
        format!("{HOST}:{}", path.display())
    }

    /// Run `command` on the server as the throwaway user; its output, or a panic saying why.
    pub fn remote(&self, command: &str) -> String {
        let output = Command::new("ssh")
            .args(["-F", &self.config.to_string_lossy(), HOST, command])
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs");
        assert!(output.status.success(), "ssh {command}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The server when `.ci/sshd-setup` has run and it answers; else None after a loud SKIPPED,
/// or a failure under `CI` (where the setup script always runs).
pub fn sshd() -> Option<Sshd> {
    let config = Path::new(DIR).join("config");
    let answers = config.is_file()
        && Command::new("ssh")
            .args(["-F", &config.to_string_lossy(), HOST, "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !answers {
        assert!(std::env::var_os("CI").is_none(), "the test SSH server is not running and CI is set: run .ci/sshd-setup");
        eprintln!("\n*** SKIPPED: the test SSH server is not running (run .ci/sshd-setup); this test did not run ***\n");
        return None;
    }
    Some(Sshd { config, home: PathBuf::from(format!("/home/{USER}")) })
}
