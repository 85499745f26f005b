//! Keep the machine from sleeping while the run lasts, where the system offers a way:
//! a `systemd-inhibit` (Linux) or `caffeinate` (macOS) child held until the run ends.

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The sleep inhibitor held for the run, if one could be started.
pub struct KeepAwake {
    child: Option<Child>,
    /// The tool holding the machine awake.
    pub method: Option<String>,
    /// Why none is held.
    pub detail: Option<String>,
}

impl KeepAwake {
    /// Try each known inhibitor in turn; a tool that exits at once (no session bus, no
    /// logind) counts as unavailable.
    pub async fn start() -> Self {
        // Each holder also ends by itself when night dies (`kill_on_drop` cannot act on a
        // SIGKILL): a dead supervisor must not keep the machine awake, and `night resume`
        // takes a hold of its own.
        let pid = std::process::id().to_string();
        let tail_pid = format!("--pid={pid}");
        let candidates: [(&str, Vec<&str>); 2] = [
            ("systemd-inhibit", vec!["--what=sleep:idle", "--who=night", "--why=night run in progress", "--mode=block", "tail", &tail_pid, "-f", "/dev/null"]),
            ("caffeinate", vec!["-i", "-w", &pid]),
        ];
        let mut reasons = Vec::new();
        for (program, args) in candidates {
            if which::which(program).is_err() {
                continue;
            }
            let spawned = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) => {
                    reasons.push(format!("`{program}` cannot start: {e}"));
                    continue;
                }
            };
            match tokio::time::timeout(Duration::from_millis(300), child.wait()).await {
                Ok(Ok(status)) => reasons.push(format!("`{program}` exited at once ({status})")),
                Ok(Err(e)) => reasons.push(format!("`{program}` failed: {e}")),
                Err(_) => return Self { child: Some(child), method: Some(program.to_string()), detail: None },
            }
        }
        let detail = if reasons.is_empty() { "neither `systemd-inhibit` nor `caffeinate` is on PATH".to_string() } else { reasons.join("; ") };
        Self { child: None, method: None, detail: Some(detail) }
    }

    /// Whether the machine is held awake.
    pub fn available(&self) -> bool {
        self.child.is_some()
    }

    /// Let the machine sleep again.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        }
    }
}
