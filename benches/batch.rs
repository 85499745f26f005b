//! What supervising a batch costs: `night run r0.night … r7.night --jobs 8`, eight `agent
//! command` agents working side by side like real ones for `NIGHT_BENCH_BUSY_SECS` (60) — every
//! half second each prints, runs `git status` and `git diff --stat`, appends under `src/`, and
//! commits every twentieth round — on the release profile. Sampled every 100 ms from /proc:
//! the CPU time and peak RSS of the batch supervisor and of each run's supervisor (agents and
//! checks not counted: they are the user's).
//!
//! The baseline, in the same run and just before the batch: `night run r0.night` alone, the
//! same agent for the same time, in a repository of its own. Per run, the batch's figures are
//! then given as ratios to it. Each CPU figure is given over the whole command and steady:
//! from 10 s after the start to 2 s before the agents stop, while every agent works (start-up
//! and end, a one-off of each run, left out). `NIGHT_BENCH_RUNS` (8) sets the batch's size;
//! `NIGHT_BENCH_BEFORE=/path/to/an/older/night` runs the batch again under that build.
//! Run: `cargo bench --bench batch`.

mod common;

use common::sample;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The busy agent, writing under `src/<name>/`.
fn busy_agent(secs: u64) -> String {
    format!(
        r#"mkdir -p "src/$1"
end=$(( $(date +%s) + {secs} ))
i=0
while [ "$(date +%s)" -lt "$end" ]; do
  i=$((i+1))
  echo "agent: round $i: looking at the tree"
  git status --short
  git diff --stat
  echo "work $i" >> "src/$1/work.txt"
  if [ $((i % 20)) -eq 0 ]; then git add src && git commit -qm "step $i" && echo "agent: committed step $i"; fi
  sleep 0.5
done
echo good > "src/$1/state""#
    )
}

fn runbook(name: &str) -> String {
    format!(
        "name \"{name}\"\ntask {{\n  prompt \"Make the state good.\"\n  agent command \"sh agent.sh {name}\"\n}}\nsuccess {{\n  run \"grep -q good src/{name}/state\"\n}}\npermissions {{\n  write \"src/{name}/**\"\n  deny irreversible\n}}\nlimits {{\n  timeout 1h\n  attempts 1\n}}\nnotify {{\n  command \"true\" on end\n}}\n"
    )
}

/// A committed repository with the agent and the runbooks `names`.
fn repository(secs: u64, names: &[String]) -> tempfile::TempDir {
    let mut files: Vec<(String, String)> = vec![("agent.sh".into(), busy_agent(secs)), ("README.md".into(), "bench\n".into())];
    for name in names {
        files.push((format!("{name}.night"), runbook(name)));
        files.push((format!("src/{name}/state"), "bad\n".into()));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    common::repository(&borrowed)
}

/// The pids of the live runs' supervisors (from their locks).
fn run_supervisors(repo: &Path) -> Vec<u32> {
    let Ok(runs) = fs::read_dir(repo.join(".night/runs")) else { return Vec::new() };
    runs.flatten().filter_map(|run| fs::read_to_string(run.path().join("supervisor.lock")).ok()?.trim().parse().ok()).collect()
}

/// What the supervisors cost over one command: the command's own process (for a batch, the
/// batch supervisor; for a single run, the run's supervisor) and each run's supervisor it
/// started (none for a single run).
struct Cost {
    wall: f64,
    own: (Duration, u64),
    runs: Vec<(Duration, u64)>,
    load: (f64, f64),
    /// While every agent works (start-up and end left out): the command's own CPU and the
    /// runs' together, over that many seconds.
    steady: (f64, f64, f64),
}

impl Cost {
    fn cpu(&self) -> f64 {
        self.own.0.as_secs_f64() + self.runs.iter().map(|r| r.0.as_secs_f64()).sum::<f64>()
    }

    fn share(&self, cpu: f64) -> f64 {
        100.0 * cpu / self.wall
    }
}

/// The 1-minute load average.
fn load() -> f64 {
    fs::read_to_string("/proc/loadavg").ok().and_then(|t| t.split_whitespace().next()?.parse().ok()).unwrap_or(f64::NAN)
}

/// The last sample of each process: CPU time and peak RSS in KiB.
type Samples = BTreeMap<u32, (Duration, u64)>;

/// `night ARGS` in `repo`, sampled every 100 ms until it exits; the steady part between
/// `window` seconds from the start.
fn measure(night: &str, repo: &Path, args: &[String], window: (f64, f64)) -> Cost {
    let before = load();
    let started = Instant::now();
    let mut child = Command::new(night).args(args).current_dir(repo).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("night");
    let mut last = Samples::new();
    let mut marks: Vec<(f64, Samples)> = Vec::new();
    while child.try_wait().expect("wait").is_none() {
        for pid in std::iter::once(child.id()).chain(run_supervisors(repo)) {
            if let Some(now) = sample(pid) {
                last.insert(pid, now);
            }
        }
        let at = started.elapsed().as_secs_f64();
        if marks.len() < 2 && at >= [window.0, window.1][marks.len()] {
            marks.push((at, last.clone()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = started.elapsed().as_secs_f64();
    let steady = match marks.as_slice() {
        [(from, first), (to, second)] => {
            let spent = |pid: &u32| second.get(pid).zip(first.get(pid)).map_or(0.0, |(b, a)| b.0.saturating_sub(a.0).as_secs_f64());
            let own = spent(&child.id());
            let runs: f64 = second.keys().filter(|pid| **pid != child.id()).map(spent).sum();
            (own, runs, to - from)
        }
        _ => (0.0, 0.0, 0.0),
    };
    let own = last.remove(&child.id()).unwrap_or_default();
    Cost { wall, own, runs: last.into_values().collect(), load: (before, load()), steady }
}

/// `cpu` seconds over `secs` as a percentage of one core.
fn percent(cpu: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        100.0 * cpu / secs
    } else {
        f64::NAN
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report_batch(title: &str, batch: &Cost, single: &Cost, size: usize) {
    let single_cpu = single.own.0.as_secs_f64();
    let per_run: Vec<f64> = batch.runs.iter().map(|r| r.0.as_secs_f64()).collect();
    let mean_cpu = per_run.iter().sum::<f64>() / per_run.len().max(1) as f64;
    let mean_rss = batch.runs.iter().map(|r| r.1).sum::<u64>() / batch.runs.len().max(1) as u64;
    let max_rss = batch.runs.iter().map(|r| r.1).max().unwrap_or(0);
    let all = batch.cpu();
    println!("{title}: {size} runs over {:.1} s (load average {:.1} → {:.1})", batch.wall, batch.load.0, batch.load.1);
    println!(
        "  all supervisors      {all:.2} s CPU = {:.3} % of one core (target ≤ 1 %){}",
        batch.share(all),
        if batch.share(all) <= 1.0 { "  met" } else { "  NOT MET" }
    );
    println!("  the batch supervisor {:.2} s CPU = {:.3} % of one core; peak RSS {:.1} MiB", batch.own.0.as_secs_f64(), batch.share(batch.own.0.as_secs_f64()), mib(batch.own.1));
    println!(
        "  each run's supervisor mean {mean_cpu:.2} s CPU = {:.3} % of one core ({:.2}× the single run's); peak RSS mean {:.1} MiB, max {:.1} MiB ({:.2}× the single run's max){}",
        batch.share(mean_cpu),
        mean_cpu / single_cpu.max(0.001),
        mib(mean_rss),
        mib(max_rss),
        max_rss as f64 / single.own.1.max(1) as f64,
        if max_rss <= single.own.1 + single.own.1 / 20 { "" } else { "  (more than a single run)" }
    );
    let (own, runs, secs) = batch.steady;
    println!(
        "  steady, {secs:.0} s while every agent works: all supervisors {:.3} % of one core{} (the batch supervisor {:.3} %, each run {:.3} %; a single run {:.3} %)",
        percent(own + runs, secs),
        if percent(own + runs, secs) <= 1.0 { "  met" } else { "  NOT MET" },
        percent(own, secs),
        percent(runs / size as f64, secs),
        percent(single.steady.0, single.steady.2)
    );
    if batch.runs.len() != size {
        println!("  warning: {} run supervisors sampled, {size} expected", batch.runs.len());
    }
}

fn main() {
    if common::listing() {
        return;
    }
    let secs = common::env_number("NIGHT_BENCH_BUSY_SECS", 60);
    let size = usize::try_from(common::env_number("NIGHT_BENCH_RUNS", 8)).unwrap_or(8);
    let names: Vec<String> = (0..size).map(|i| format!("r{i}")).collect();
    let mut batch_args = vec!["run".to_string()];
    batch_args.extend(names.iter().map(|n| format!("{n}.night")));
    batch_args.extend(["--jobs".into(), size.to_string()]);

    // From when every run has started to just before the first agent is done.
    let window = ((secs as f64 / 6.0).min(10.0), secs as f64 - 2.0);
    let alone = repository(secs, &names[..1]);
    let single = measure(common::NIGHT, alone.path(), &["run".into(), "r0.night".into()], window);
    println!(
        "baseline: a single run, the same agent: {:.2} s CPU over {:.1} s = {:.3} % of one core, peak RSS {:.1} MiB (load average {:.1} → {:.1})",
        single.own.0.as_secs_f64(),
        single.wall,
        single.share(single.own.0.as_secs_f64()),
        mib(single.own.1),
        single.load.0,
        single.load.1
    );
    let repo = repository(secs, &names);
    let batch = measure(common::NIGHT, repo.path(), &batch_args, window);
    report_batch("batch", &batch, &single, size);
    if let Some(before) = common::before() {
        let repo = repository(secs, &names);
        let batch = measure(&before, repo.path(), &batch_args, window);
        report_batch(&format!("batch under {before}"), &batch, &single, size);
    }
}
