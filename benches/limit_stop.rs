//! From a limit firing to the agent's process group gone: `night run` on a scripted agent that
//! starts children and sleeps, with `session 1s`, so a `session` limit fires every second or so
//! (and the run's `timeout` at the end). The bench watches the journal: the moment the `limit`
//! line appears (night writes it, then signals the group), it notes the group's members from
//! /proc and waits until none is alive (exited or a zombie); it reports median and max.
//!
//! Two agents: one whose processes die on SIGTERM, and one that ignores SIGTERM (so night must
//! wait out the grace period, here `NIGHT_GRACE_MS=1000`, then SIGKILL the group).
//!
//! Run: `cargo bench --bench limit_stop` (`NIGHT_BENCH_RUNS`, default 3 runs an agent).

mod common;

use common::{journal, ms, run_folder, spawn_run, Timings};
use std::fs;
use std::time::{Duration, Instant};

/// Starts two sleeping children and a grandchild, and waits.
const COOPERATIVE: &str = "sleep 600 & sleep 600 & sh -c 'sleep 600 & wait' & wait";
/// The same, with SIGTERM ignored by every process (an ignored signal stays ignored in children).
const STUBBORN: &str = "trap '' TERM\nsleep 600 & sleep 600 & sh -c 'sleep 600 & wait' & wait";

const GRACE_MS: &str = "1000";

/// The process group of a process, and whether it is alive (not a zombie), from /proc.
fn stat(pid: &str) -> Option<(i32, bool)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((pgrp, state != "Z" && state != "X"))
}

/// The live members of a process group.
fn members(pgid: i32) -> Vec<String> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| stat(pid) == Some((pgid, true)))
        .collect()
}

/// Run night once on `agent`; the time from each `limit` line to its session's group gone.
fn measure_run(agent: &str) -> Vec<(String, Duration)> {
    let repo = common::agent_repository(agent, "  timeout 6s\n  session 1s\n  attempts 1");
    let mut night = spawn_run(repo.path(), &[("NIGHT_GRACE_MS", GRACE_MS)]);
    let mut seen_limits = 0;
    let mut journal_len = 0;
    let mut stops = Vec::new();
    while night.try_wait().expect("wait").is_none() {
        std::thread::sleep(Duration::from_micros(500));
        let Some(run) = run_folder(repo.path()) else { continue };
        let len = fs::metadata(run.join("journal.jsonl")).map_or(0, |m| m.len());
        if len == journal_len {
            continue;
        }
        journal_len = len;
        let events = journal(&run);
        let limits: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "limit").collect();
        if limits.len() == seen_limits {
            continue;
        }
        let fired = Instant::now();
        seen_limits = limits.len();
        let name = limits.last().and_then(|e| e["limit"].as_str()).unwrap_or("?").to_string();
        let Some(pgid) = events.iter().rev().find(|e| e["event"] == "session-start").and_then(|e| e["pid"].as_i64()) else { continue };
        let pids = members(i32::try_from(pgid).expect("a pid"));
        // Only these can be alive: the scripted agent starts nobody once it waits.
        while pids.iter().any(|pid| stat(pid).is_some_and(|(_, alive)| alive)) {
            std::thread::sleep(Duration::from_micros(200));
        }
        stops.push((name, fired.elapsed()));
    }
    stops
}

/// The same agent stopped without night: started in a group of its own, the group signalled
/// SIGTERM by the bench, SIGKILL after the grace period if anything still lives.
fn measure_direct(agent: &str) -> Duration {
    use nix::sys::signal::{killpg, Signal};
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("sh").arg("-c").arg(agent).process_group(0).spawn().expect("sh");
    let pgid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    // Let the children start, as they have by the time a limit fires.
    std::thread::sleep(Duration::from_millis(300));
    let pids = members(pgid.as_raw());
    let alive = || pids.iter().any(|pid| stat(pid).is_some_and(|(_, alive)| alive));
    let started = Instant::now();
    let _ = killpg(pgid, Signal::SIGTERM);
    let grace = Duration::from_millis(GRACE_MS.parse().expect("a number"));
    while alive() && started.elapsed() < grace {
        std::thread::sleep(Duration::from_micros(200));
    }
    if alive() {
        let _ = killpg(pgid, Signal::SIGKILL);
        while alive() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let stopped = started.elapsed();
    let _ = child.wait();
    stopped
}

fn main() {
    if common::listing() {
        return;
    }
    let runs = common::env_number("NIGHT_BENCH_RUNS", 3);
    println!("from a `limit` line in the journal to the agent's process group gone (grace {GRACE_MS} ms)");
    for (what, agent) in [("children die on SIGTERM", COOPERATIVE), ("SIGTERM ignored, SIGKILL after the grace", STUBBORN)] {
        let mut stops = Timings { name: what.to_string(), samples: Vec::new() };
        let mut direct = Timings { name: "direct".into(), samples: Vec::new() };
        let mut limits = Vec::new();
        for _ in 0..runs {
            for (limit, stop) in measure_run(agent) {
                limits.push(limit);
                stops.samples.push(stop);
                direct.samples.push(measure_direct(agent));
            }
        }
        limits.sort();
        limits.dedup();
        let max = |timings: &Timings| timings.samples.iter().max().copied().unwrap_or_default();
        println!(
            "  {what}: night {} stops ({}): median {:.1} ms, max {:.1} ms; the bench signalling the group itself: median {:.1} ms, max {:.1} ms; ratio of medians {:.2}x",
            stops.samples.len(),
            limits.join(", "),
            ms(stops.median()),
            ms(max(&stops)),
            ms(direct.median()),
            ms(max(&direct)),
            stops.median().as_secs_f64() / direct.median().as_secs_f64()
        );
    }
}
