//! What supervising a batch costs: `night run r0.night … r7.night --jobs 8`, eight `agent
//! command` agents working side by side like real ones for `NIGHT_BENCH_BUSY_SECS` (60) — every
//! half second each prints, runs `git status` and `git diff --stat`, appends under `src/`, and
//! commits every twentieth round — on the release profile. Sampled every 100 ms from /proc:
//! the CPU time and peak RSS of the batch supervisor and of each run's supervisor (agents and
//! checks not counted: they are the user's). Run: `cargo bench --bench batch`.

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

/// The supervisors' pids: the batch's and each live run's (from their locks).
fn supervisors(repo: &Path, batch: u32) -> Vec<u32> {
    let mut pids = vec![batch];
    let Ok(runs) = fs::read_dir(repo.join(".night/runs")) else { return pids };
    for run in runs.flatten() {
        if let Some(pid) = fs::read_to_string(run.path().join("supervisor.lock")).ok().and_then(|t| t.trim().parse().ok()) {
            pids.push(pid);
        }
    }
    pids
}

fn main() {
    if common::listing() {
        return;
    }
    let secs = common::env_number("NIGHT_BENCH_BUSY_SECS", 60);
    let runs = 8;
    let names: Vec<String> = (0..runs).map(|i| format!("r{i}")).collect();
    let agent = busy_agent(secs);
    let mut files: Vec<(String, String)> = vec![("agent.sh".into(), agent), ("README.md".into(), "bench\n".into())];
    for name in &names {
        files.push((format!("{name}.night"), runbook(name)));
        files.push((format!("src/{name}/state"), "bad\n".into()));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let repo = common::repository(&borrowed);
    let mut args = vec!["run".to_string()];
    args.extend(names.iter().map(|n| format!("{n}.night")));
    args.extend(["--jobs".into(), runs.to_string()]);
    let started = Instant::now();
    let mut child = Command::new(common::NIGHT).args(&args).current_dir(repo.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("night");
    let mut last: BTreeMap<u32, (Duration, u64)> = BTreeMap::new();
    while child.try_wait().expect("wait").is_none() {
        for pid in supervisors(repo.path(), child.id()) {
            if let Some(now) = sample(pid) {
                last.insert(pid, now);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = started.elapsed().as_secs_f64();
    let batch = last.get(&child.id()).copied().unwrap_or_default();
    let members: Vec<(Duration, u64)> = last.iter().filter(|(pid, _)| **pid != child.id()).map(|(_, v)| *v).collect();
    let cpu: f64 = batch.0.as_secs_f64() + members.iter().map(|m| m.0.as_secs_f64()).sum::<f64>();
    let max_rss = members.iter().map(|m| m.1).max().unwrap_or(0) as f64 / 1024.0;
    let mean_rss = members.iter().map(|m| m.1).sum::<u64>() as f64 / 1024.0 / members.len().max(1) as f64;
    println!(
        "batch of {runs} busy agents for {secs} s: all supervisors {cpu:.2} s CPU over {wall:.1} s = {:.3} % of one core (target ≤ 1 %); the batch supervisor {:.2} s CPU, peak RSS {:.1} MiB; each run's supervisor peak RSS mean {mean_rss:.1} MiB, max {max_rss:.1} MiB (a single run: about 11.7 MiB); {} run supervisors sampled",
        100.0 * cpu / wall,
        batch.0.as_secs_f64(),
        batch.1 as f64 / 1024.0,
        members.len()
    );
}
