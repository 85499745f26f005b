//! Test support for the notify tests: a temporary repository with a runbook, the real `night`
//! binary, an HTTP receiver and a real SMTP server, all on 127.0.0.1.

#![allow(dead_code)]

pub mod forge_api;
pub mod git_http;
pub mod http_receiver;
pub mod model_server;
pub mod run;
pub mod sshd;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A runbook that passes `night check`, with `notify` lines of the test's choosing.
pub fn runbook(notify_lines: &str) -> String {
    format!(
        r#"name "nightly-auth"
task {{
  prompt "Make the tests in tests/auth.rs pass; do not change other tests."
  agent command "true"
  branch "night/auth-test"
}}
success {{
  tests "cargo test" format cargo
}}
permissions {{
  write "src/**"
  deny irreversible
}}
limits {{
  timeout 6h
  session 2h
  attempts 5
  stuck 3
  idle 30m
  tokens 1000000
}}
rollback {{
  when failing > baseline
  to last-green
  then stop
}}
notify {{
{notify_lines}
}}
"#
    )
}

/// A temporary git repository holding `t.night`, committed.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    /// A repository whose runbook is `text`.
    pub fn with_runbook(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        std::fs::write(dir.path().join("t.night"), text).unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(["-c", "user.name=night tests", "-c", "user.email=tests@night.invalid", "-c", "init.defaultBranch=main"])
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("git runs");
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "start"]);
        Self { dir }
    }

    /// The runbook's path.
    pub fn runbook(&self) -> PathBuf {
        self.dir.path().join("t.night")
    }

    /// `night notify --test t.night` in the repository, with these extra variables.
    pub fn notify_test(&self, env: &[(&str, &str)]) -> Run {
        night(self.dir.path(), &["notify", "--test", "t.night"], env)
    }
}

/// What a `night` process did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Both streams, for "never appears anywhere" assertions.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Run the real binary in `dir`. Retries are quick (20 ms backoff) unless the test says otherwise.
pub fn night(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_night"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1").env("NIGHT_NOTIFY_BACKOFF_MS", "20");
    for name in ["NIGHT_NOTIFY_TIMEOUT_MS", "NIGHT_TWILIO_API_BASE", "NIGHT_NOTIFY_CA_FILE"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let started = Instant::now();
    let output: Output = command.output().expect("night runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// A tool a test needs is missing: fail under CI, else say SKIPPED loudly.
pub fn missing_tool(what: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what} is missing and CI is set: run .ci/notify-setup");
    eprintln!("\n*** SKIPPED: {what} is missing (run .ci/notify-setup); this test did not run ***\n");
}

/// Self-signed test certificates for 127.0.0.1: a CA and a server certificate it signed.
pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    /// Make them with the `openssl` command; None (SKIPPED) when it is missing.
    pub fn make() -> Option<Self> {
        if Command::new("openssl").arg("version").stdout(Stdio::null()).status().map_or(true, |s| !s.success()) {
            missing_tool("the `openssl` command");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
        let steps: &[&[&str]] = &[
            &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=night test CA"],
            &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
            &["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "leaf.ext"],
        ];
        for step in steps {
            let output = Command::new("openssl").args(*step).current_dir(dir.path()).output().unwrap();
            assert!(output.status.success(), "openssl {step:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Some(Self { dir })
    }

    pub fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
    pub fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }
    pub fn key(&self) -> String {
        self.dir.path().join("key.pem").display().to_string()
    }
}

/// A real SMTP server (aiosmtpd, tests/support/smtp_sink.py) on 127.0.0.1; stops when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub folder: tempfile::TempDir,
}

impl SmtpSink {
    /// Start one with these extra arguments; None (SKIPPED) when python3 or aiosmtpd is missing.
    pub fn start(args: &[&str]) -> Option<Self> {
        let has_aiosmtpd = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_aiosmtpd {
            missing_tool("python3 with aiosmtpd");
            return None;
        }
        let folder = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--folder")
            .arg(folder.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let port = line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("smtp_sink said {line:?}"));
        Some(Self { child, port, folder })
    }

    /// The mails received so far, in order, as JSON records.
    pub fn mails(&self) -> Vec<serde_json::Value> {
        let mut mails = Vec::new();
        for n in 1.. {
            let Ok(text) = std::fs::read_to_string(self.folder.path().join(format!("{n}.json"))) else { break };
            mails.push(serde_json::from_str(&text).unwrap());
        }
        mails
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
