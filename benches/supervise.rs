//! What supervising costs, measured on the real binary in a throwaway repository:
//! 1. night's own CPU time and peak RSS while a quiet agent sleeps (60 s by default;
//!    `NIGHT_BENCH_QUIET_SECS`), and
//! 2. throughput while the agent prints 1 GiB (`NIGHT_BENCH_MIB`), against the same generator
//!    piped into `cat > file` in the same run.
//!
//! Run: `cargo bench --bench supervise`.

mod common;

use common::{journal, run_folder, sample, spawn_run};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The output generator: `MIB` MiB of 100-byte lines.
fn generator(mib: u64) -> String {
    format!("{{ head -c {} /dev/zero | tr '\\0' x | fold -w 99; echo; }}", mib * 1024 * 1024)
}

/// Run night on a repository whose agent runs `agent`; its wall time, and its last CPU and
/// peak-RSS sample.
fn run_night(agent: &str) -> (tempfile::TempDir, Duration, Duration, u64) {
    let repo = common::agent_repository(agent, "  timeout 1h\n  attempts 1");
    let started = Instant::now();
    let mut child = spawn_run(repo.path(), &[]);
    let mut last = (Duration::ZERO, 0);
    while child.try_wait().expect("wait").is_none() {
        if let Some(now) = sample(child.id()) {
            last = now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (repo, started.elapsed(), last.0, last.1)
}

/// The agent session's duration from the journal (the part that streamed the output).
fn session_seconds(run: &Path) -> f64 {
    journal(run).iter().find(|e| e["event"] == "session-end").and_then(|e| e["duration_ms"].as_f64()).expect("session-end") / 1000.0
}

fn main() {
    if common::listing() {
        return;
    }
    let quiet = common::env_number("NIGHT_BENCH_QUIET_SECS", 60);
    let mib = common::env_number("NIGHT_BENCH_MIB", 1024);

    let (_repo, wall, cpu, rss) = run_night(&format!("sleep {quiet}"));
    println!(
        "quiet agent, {quiet} s: night used {:.2} s CPU ({:.3}% of one core; target ≤ 1%) over {:.1} s; peak RSS {:.1} MiB (target ≤ 20 MiB)",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        wall.as_secs_f64(),
        rss as f64 / 1024.0
    );

    let scratch = tempfile::tempdir().expect("temp dir");
    let target = scratch.path().join("out");
    let started = Instant::now();
    let status = Command::new("sh").arg("-c").arg(format!("{} | cat > '{}'", generator(mib), target.display())).status().expect("sh");
    assert!(status.success());
    let baseline = started.elapsed().as_secs_f64();
    let size = fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    drop(scratch);

    let (repo, _, cpu, rss) = run_night(&generator(mib));
    let run = run_folder(repo.path()).expect("a run");
    let session = session_seconds(&run);
    let logged = fs::metadata(run.join("agent.log")).map_or(0, |m| m.len());
    assert_eq!(logged, size, "agent.log holds every byte the agent printed");
    let mb = size as f64 / (1024.0 * 1024.0);
    println!(
        "agent printing {mb:.0} MiB: night streamed it to agent.log in {session:.2} s ({:.0} MiB/s), `cat > file` took {baseline:.2} s ({:.0} MiB/s): {:.0}% of `cat` (target ≥ 50%); night used {:.2} s CPU, peak RSS {:.1} MiB",
        mb / session,
        mb / baseline,
        100.0 * baseline / session,
        cpu.as_secs_f64(),
        rss as f64 / 1024.0
    );
}
