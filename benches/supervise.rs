//! What supervising costs, measured on the real binary in a throwaway repository:
//! 1. night's own CPU time and peak RSS while a quiet agent sleeps (60 s by default;
//!    `NIGHT_BENCH_QUIET_SECS`), and
//! 2. throughput while the agent prints 1 GiB (`NIGHT_BENCH_MIB`), against the same generator
//!    piped into `cat > file` in the same run.
//!
//! Run: `cargo bench --bench supervise`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The output generator: `MIB` MiB of 100-byte lines.
fn generator(mib: u64) -> String {
    format!("{{ head -c {} /dev/zero | tr '\\0' x | fold -w 99; echo; }}", mib * 1024 * 1024)
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").args(args).current_dir(dir).stdout(Stdio::null()).status().expect("git");
    assert!(status.success(), "git {args:?}");
}

/// A repository whose test fails until the agent has run, and whose agent runs `agent`.
fn repository(agent: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("night-bench-").tempdir().expect("temp dir");
    let path = dir.path();
    git(path, &["init", "-q", "-b", "main"]);
    git(path, &["config", "user.name", "bench"]);
    git(path, &["config", "user.email", "bench@night.invalid"]);
    fs::create_dir_all(path.join("src")).expect("mkdir");
    fs::write(path.join("src/state"), "bad\n").expect("write");
    fs::write(path.join("test.sh"), "echo 'TAP version 13'\nif [ \"$(cat src/state)\" = good ]; then echo 'ok 1 - state'; else echo 'not ok 1 - state'; fi\necho 1..1\n").expect("write");
    fs::write(path.join("agent.sh"), format!("{agent}\necho good > src/state\n")).expect("write");
    let runbook = "name \"bench\"\ntask {\n  prompt \"Make the state good.\"\n  agent command \"sh agent.sh\"\n}\nsuccess {\n  tests \"sh test.sh\" format tap\n}\npermissions {\n  write \"src/**\"\n  deny irreversible\n}\nlimits {\n  timeout 1h\n  attempts 1\n}\nnotify {\n  command \"true\" on end\n}\n";
    fs::write(path.join("b.night"), runbook).expect("write");
    git(path, &["add", "-A"]);
    git(path, &["commit", "-q", "-m", "bench"]);
    dir
}

/// night's own CPU time (user + system, without its children) and peak RSS, from /proc.
fn sample(pid: u32) -> Option<(Duration, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // Linux reports ticks of 1/100 s (USER_HZ) everywhere it runs today.
    Some((Duration::from_millis(ticks * 10), hwm))
}

/// Run night on the repository; its wall time, and its last CPU and peak-RSS sample.
fn run_night(dir: &Path) -> (Duration, Duration, u64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_night"))
        .args(["run", "b.night"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("night");
    let mut last = (Duration::ZERO, 0);
    while child.try_wait().expect("wait").is_none() {
        if let Some(now) = sample(child.id()) {
            last = now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (started.elapsed(), last.0, last.1)
}

/// The agent session's duration from the journal (the part that streamed the output).
fn session_seconds(dir: &Path) -> f64 {
    let runs = dir.join(".night/runs");
    let run = fs::read_dir(runs).expect("runs").flatten().next().expect("a run").path();
    let journal = fs::read_to_string(run.join("journal.jsonl")).expect("journal");
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "session-end")
        .and_then(|e| e["duration_ms"].as_f64())
        .expect("session-end")
        / 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quiet: u64 = std::env::var("NIGHT_BENCH_QUIET_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mib: u64 = std::env::var("NIGHT_BENCH_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024);

    let repo = repository(&format!("sleep {quiet}"));
    let (wall, cpu, rss) = run_night(repo.path());
    println!(
        "quiet agent, {quiet} s: night used {:.2} s CPU ({:.3}% of one core) over {:.1} s; peak RSS {:.1} MiB",
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

    let repo = repository(&generator(mib));
    let (_, cpu, rss) = run_night(repo.path());
    let session = session_seconds(repo.path());
    let logged = fs::read_dir(repo.path().join(".night/runs"))
        .expect("runs")
        .flatten()
        .next()
        .and_then(|run| fs::metadata(run.path().join("agent.log")).ok())
        .map_or(0, |m| m.len());
    assert_eq!(logged, size, "agent.log holds every byte the agent printed");
    let mb = size as f64 / (1024.0 * 1024.0);
    println!(
        "agent printing {mb:.0} MiB: night streamed it to agent.log in {session:.2} s ({:.0} MiB/s), `cat > file` took {baseline:.2} s ({:.0} MiB/s); night used {:.2} s CPU, peak RSS {:.1} MiB",
        mb / session,
        mb / baseline,
        cpu.as_secs_f64(),
        rss as f64 / 1024.0
    );
}
