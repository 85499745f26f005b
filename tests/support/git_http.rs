//! A git server over HTTP that wants a token, as a forge does (tests/support/git_http.py: git's
//! own `git http-backend` behind Basic authentication), on 127.0.0.1; stops when dropped.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The running server and the folder of its bare repositories.
pub struct GitHttp {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The folder holding the repositories it serves.
    pub root: tempfile::TempDir,
    /// The only password it accepts (user `x-access-token`).
    pub token: String,
}

impl GitHttp {
    /// Start one; None (SKIPPED) without python3.
    pub fn start(token: &str) -> Option<GitHttp> {
        if Command::new("python3").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            super::missing_tool("python3");
            return None;
        }
        let root = tempfile::Builder::new().prefix("night-git-http-").tempdir().expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/git_http.py");
        let mut child = Command::new("python3").arg(script).arg(root.path()).arg(token).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("python3 starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the port");
        let port = line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("git_http.py said {line:?}"));
        Some(GitHttp { child, port, root, token: token.to_string() })
    }

    /// A bare repository `name` (e.g. `app.git`) holding `from`'s branch `branch`; its URL.
    pub fn repository(&self, name: &str, from: &Path, branch: &str) -> String {
        let bare = self.path(name);
        let output = Command::new("git").args(["init", "-q", "--bare", "-b", branch]).arg(&bare).output().expect("git init");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let output = Command::new("git").arg("-C").arg(from).args(["push", "-q"]).arg(&bare).arg(format!("{branch}:refs/heads/{branch}")).output().expect("git push");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// A repository's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// `git ARGS` in the bare repository `name`; its output, or None when git fails.
    pub fn git(&self, name: &str, args: &[&str]) -> Option<String> {
        let output = Command::new("git").arg("-C").arg(self.path(name)).args(args).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
