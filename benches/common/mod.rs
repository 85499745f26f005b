//! What the benches share: a throwaway git repository with a scripted agent, samples of a
//! process from /proc, the run folder's journal, and timings taken in interleaved rounds so
//! that a figure and its baseline see the same machine load.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for the bench (release when benching).
pub const NIGHT: &str = env!("CARGO_BIN_EXE_night");

/// Another build of night to time beside this one, for a before/after in the same run:
/// `NIGHT_BENCH_BEFORE=/path/to/old/night`.
pub fn before() -> Option<String> {
    std::env::var("NIGHT_BENCH_BEFORE").ok().filter(|path| !path.is_empty())
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Whether cargo asked the bench only to list itself (`cargo bench -- --list`, `cargo test --benches`).
pub fn listing() -> bool {
    std::env::args().any(|a| a == "--list")
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").args(args).current_dir(dir).stdout(Stdio::null()).status().expect("git");
    assert!(status.success(), "git {args:?}");
}

/// A committed repository holding `files` (path, contents), on branch `main`.
pub fn repository(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("night-bench-").tempdir().expect("temp dir");
    let path = dir.path();
    git(path, &["init", "-q", "-b", "main"]);
    git(path, &["config", "user.name", "bench"]);
    git(path, &["config", "user.email", "bench@night.invalid"]);
    for (name, text) in files {
        let file = path.join(name);
        fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        fs::write(file, text).expect("write");
    }
    git(path, &["add", "-A"]);
    git(path, &["commit", "-q", "-m", "bench"]);
    dir
}

/// A repository whose test fails until the agent has run `agent` (shell), under `limits`
/// (the inside of the runbook's `limits` block); the runbook is `b.night`.
pub fn agent_repository(agent: &str, limits: &str) -> tempfile::TempDir {
    let runbook = format!(
        "name \"bench\"\ntask {{\n  prompt \"Make the state good.\"\n  agent command \"sh agent.sh\"\n}}\nsuccess {{\n  tests \"sh test.sh\" format tap\n}}\npermissions {{\n  write \"src/**\"\n  deny irreversible\n}}\nlimits {{\n{limits}\n}}\nnotify {{\n  command \"true\" on end\n}}\n"
    );
    let agent = format!("{agent}\necho good > src/state\n");
    repository(&[
        ("src/state", "bad\n"),
        ("test.sh", "echo 'TAP version 13'\nif [ \"$(cat src/state)\" = good ]; then echo 'ok 1 - state'; else echo 'not ok 1 - state'; fi\necho 1..1\n"),
        ("agent.sh", &agent),
        ("b.night", &runbook),
    ])
}

/// `night run b.night` in `dir`, not yet waited for.
pub fn spawn_run(dir: &Path, env: &[(&str, &str)]) -> std::process::Child {
    Command::new(NIGHT)
        .args(["run", "b.night"])
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("night")
}

/// The process's own CPU time (user + system, without its children) and peak RSS in KiB, from /proc.
pub fn sample(pid: u32) -> Option<(Duration, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // Linux reports ticks of 1/100 s (USER_HZ) everywhere it runs today.
    Some((Duration::from_millis(ticks * 10), hwm))
}

/// The repository's only run folder, once night has made it.
pub fn run_folder(dir: &Path) -> Option<PathBuf> {
    fs::read_dir(dir.join(".night/runs")).ok()?.flatten().next().map(|entry| entry.path())
}

/// The events of a run's journal.
pub fn journal(run: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(run.join("journal.jsonl")).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The timings of one contender, in the order they were taken.
pub struct Timings {
    /// What was timed.
    pub name: String,
    /// One duration a round.
    pub samples: Vec<Duration>,
}

impl Timings {
    /// The `q`-quantile (0.5: the median), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(rank).copied().unwrap_or_default()
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }
}

/// Milliseconds, for printing.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Time each contender `rounds` times, one of each per round in turn, after `warmup` untimed
/// rounds: load that comes and goes then hits every contender alike.
pub fn interleaved(rounds: usize, warmup: usize, contenders: &mut [(&str, &mut dyn FnMut())]) -> Vec<Timings> {
    let mut timings: Vec<Timings> = contenders.iter().map(|(name, _)| Timings { name: (*name).to_string(), samples: Vec::new() }).collect();
    for round in 0..warmup + rounds {
        for ((_, run), timing) in contenders.iter_mut().zip(&mut timings) {
            let started = Instant::now();
            run();
            if round >= warmup {
                timing.samples.push(started.elapsed());
            }
        }
    }
    timings
}

/// Print median, 10th and 90th percentiles of each, and each median's ratio to `baseline`'s.
pub fn report(title: &str, timings: &[Timings], baseline: &str) {
    let base = timings.iter().find(|t| t.name == baseline).map_or(Duration::ZERO, Timings::median);
    println!("{title} ({} rounds, interleaved)", timings.first().map_or(0, |t| t.samples.len()));
    for timing in timings {
        let median = timing.median();
        let ratio = if base.is_zero() { f64::NAN } else { median.as_secs_f64() / base.as_secs_f64() };
        println!(
            "  {:<34} median {:>9.3} ms  (p10 {:>9.3}, p90 {:>9.3})  {:>7.2}x {baseline}",
            timing.name,
            ms(median),
            ms(timing.quantile(0.1)),
            ms(timing.quantile(0.9)),
            ratio
        );
    }
}

/// Run `program args` with `stdin` written to it, its output discarded; wait for it. The exit
/// status is returned, not judged: `night check` exits 1 on a runbook with errors.
pub fn run_process(program: &str, args: &[&str], env: &[(&str, &Path)], dir: Option<&Path>, stdin: &[u8]) -> std::process::ExitStatus {
    use std::io::Write;
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        // `true` may exit before reading: a broken pipe is part of the game.
        let _ = input.write_all(stdin);
    }
    child.wait().expect("wait")
}
