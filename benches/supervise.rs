//! What supervising costs, measured on the real binary in a throwaway repository:
//! 1. night's own CPU time and peak RSS while an agent works, for `agent command` and for the
//!    real Claude Code CLI driven by the scripted model server (tests/support/model_server.rs):
//!    - quiet: the agent waits (`NIGHT_BENCH_QUIET_SECS`, 60 by default) and touches nothing;
//!    - busy: the agent works like a real one for `NIGHT_BENCH_BUSY_SECS` (60): it runs
//!      `git status` and `git diff`, prints, writes files in and out of `write`, and commits
//!      every ten rounds or so.
//!
//!    With `NIGHT_BENCH_BEFORE=/path/to/an/older/night` the busy runs again under that build,
//!    for a before/after in the same run.
//! 2. throughput while the agent prints 1 GiB (`NIGHT_BENCH_MIB`; 0 skips it), against the same
//!    generator piped into `cat > file` in the same run.
//!
//! Claude Code is `NIGHT_TEST_CLAUDE` or `claude` on PATH (`.ci/claude-setup`); without it the
//! Claude runs print SKIPPED. Run: `cargo bench --bench supervise`.

mod common;

#[path = "../tests/support/model_server.rs"]
mod model_server;

use common::{journal, run_folder, sample};
use model_server::{ModelServer, Script, Turn};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What night cost over one run.
struct Cost {
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
    /// Wake-ups counted in the journal's `session-end` events (`None`: a build that does not count them).
    wakeups: Option<u64>,
    commits: usize,
}

impl Cost {
    fn line(&self) -> String {
        let wakeups = match self.wakeups {
            Some(n) => format!("{n} wake-ups for {} commits", self.commits),
            None => format!("wake-ups not counted by this build; {} commits", self.commits),
        };
        format!(
            "night {:.2} s CPU over {:.1} s = {:.3} % of one core (target ≤ 1 %), peak RSS {:.1} MiB (target ≤ 20 MiB); {wakeups}",
            self.cpu.as_secs_f64(),
            self.wall.as_secs_f64(),
            100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64(),
            self.rss_kib as f64 / 1024.0,
        )
    }
}

/// `night run b.night` in `dir` with `night` (a path), sampled every 100 ms until it exits.
fn supervise(night: &str, dir: &Path, env: &[(String, String)]) -> Cost {
    let started = Instant::now();
    let mut child = Command::new(night)
        .args(["run", "b.night"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
    let wall = started.elapsed();
    let events = journal(&run_folder(dir).expect("night started a run (its message is above)"));
    let ends: Vec<_> = events.iter().filter(|e| e["event"] == "session-end").collect();
    let wakeups = ends.iter().map(|e| e["wakeups"].as_u64()).sum::<Option<u64>>();
    let commits = events.iter().filter(|e| e["event"] == "commit").count();
    Cost { wall, cpu: last.0, rss_kib: last.1, wakeups, commits }
}

/// The busy `agent command`: a round every half second for `secs` seconds.
fn busy_command_agent(secs: u64) -> String {
    format!(
        r#"end=$(( $(date +%s) + {secs} ))
i=0
while [ "$(date +%s)" -lt "$end" ]; do
  i=$((i+1))
  echo "agent: round $i: looking at the tree"
  git status --short
  git diff --stat
  echo "work $i" >> src/work.txt
  echo "scratch $i" > scratch.txt
  if [ $((i % 20)) -eq 0 ]; then git add src && git commit -qm "step $i" && echo "agent: committed step $i"; fi
  sleep 0.5
done"#
    )
}

/// The runbook of a Claude Code run.
fn claude_runbook(bin: &str) -> String {
    format!(
        "name \"bench\"\ntask {{\n  prompt \"Make src/state good and commit.\"\n  agent claude {{\n    bin \"{bin}\"\n  }}\n}}\nsuccess {{\n  tests \"sh test.sh\" format tap\n}}\npermissions {{\n  write \"src/**\"\n  deny irreversible\n}}\nlimits {{\n  timeout 1h\n  attempts 1\n  idle 30m\n  tokens 100M\n}}\nnotify {{\n  command \"true\" on end\n}}\n"
    )
}

/// The model's side of a busy Claude Code session: about `secs` rounds of a second each (the
/// model thinks 600 ms, then Claude Code runs the tool), `git status` and `git diff` through the
/// Bash tool, a Write inside `write` every fifth round and outside it (denied by the hook)
/// every fifteenth, a commit every tenth.
fn busy_claude_script(repo: &Path, secs: u64) -> Script {
    let mut script = Script::new();
    for round in 1..=secs {
        script = script.turn(Turn::Delay { ms: 600 });
        script = if round % 10 == 0 {
            script.bash(&format!("git add src && git commit -qm 'step {round}' && echo committed step {round}"))
        } else if round % 15 == 0 {
            script.write(&repo.join("notes.md").display().to_string(), &format!("round {round}\n"))
        } else if round % 5 == 0 {
            script.write(&repo.join(format!("src/note-{round}.md")).display().to_string(), &format!("round {round}\n"))
        } else {
            script.bash(&format!("git status --short && git diff --stat && echo 'work {round}' >> src/work.txt && echo round {round}"))
        };
    }
    script.bash("echo good > src/state && git commit -qam 'state: good'").text("Done: src/state is good and committed.")
}

/// A quiet Claude Code session: the model thinks `secs` seconds, then makes the state good.
fn quiet_claude_script(secs: u64) -> Script {
    Script::new().turn(Turn::Delay { ms: secs * 1000 }).bash("echo good > src/state && git commit -qam 'state: good'").text("Done.")
}

/// Claude Code, if it is usable here.
fn claude() -> Option<String> {
    let bin = std::env::var("NIGHT_TEST_CLAUDE").unwrap_or_else(|_| "claude".to_string());
    let usable = Command::new(&bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !usable {
        println!("*** SKIPPED: Claude Code (`{bin}`) is not usable here; run .ci/claude-setup. The Claude Code runs did not run. ***");
    }
    usable.then_some(bin)
}

/// Run night with Claude Code on a fresh repository, the model answering from `script(repo)`.
fn supervise_claude(night: &str, bin: &str, script: impl FnOnce(&Path) -> Script) -> Cost {
    let repo = common::agent_repository("", "");
    fs::write(repo.path().join("b.night"), claude_runbook(bin)).expect("runbook");
    let status = Command::new("git").args(["commit", "-qam", "claude runbook"]).current_dir(repo.path()).status().expect("git");
    assert!(status.success());
    let server = ModelServer::start(script(repo.path()));
    let home = tempfile::tempdir().expect("home");
    let mut env = server.claude_env(home.path());
    for (name, value) in [("GIT_AUTHOR_NAME", "agent"), ("GIT_AUTHOR_EMAIL", "agent@night.invalid"), ("GIT_COMMITTER_NAME", "agent"), ("GIT_COMMITTER_EMAIL", "agent@night.invalid")] {
        env.push((name.into(), value.into()));
    }
    supervise(night, repo.path(), &env)
}

/// The generator of the throughput run: `MIB` MiB of 100-byte lines.
fn generator(mib: u64) -> String {
    format!("{{ head -c {} /dev/zero | tr '\\0' x | fold -w 99; echo; }}", mib * 1024 * 1024)
}

fn throughput(mib: u64) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let target = scratch.path().join("out");
    let started = Instant::now();
    let status = Command::new("sh").arg("-c").arg(format!("{} | cat > '{}'", generator(mib), target.display())).status().expect("sh");
    assert!(status.success());
    let baseline = started.elapsed().as_secs_f64();
    let size = fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    drop(scratch);

    let repo = common::agent_repository(&generator(mib), "  timeout 1h\n  attempts 1");
    let cost = supervise(common::NIGHT, repo.path(), &[]);
    let run = run_folder(repo.path()).expect("a run");
    let session = journal(&run).iter().find(|e| e["event"] == "session-end").and_then(|e| e["duration_ms"].as_f64()).expect("session-end") / 1000.0;
    let logged = fs::metadata(run.join("agent.log")).map_or(0, |m| m.len());
    assert_eq!(logged, size, "agent.log holds every byte the agent printed");
    let mb = size as f64 / (1024.0 * 1024.0);
    println!(
        "agent printing {mb:.0} MiB: night streamed it to agent.log in {session:.2} s ({:.0} MiB/s), `cat > file` took {baseline:.2} s ({:.0} MiB/s): {:.0}% of `cat` (target ≥ 50%); night used {:.2} s CPU, peak RSS {:.1} MiB",
        mb / session,
        mb / baseline,
        100.0 * baseline / session,
        cost.cpu.as_secs_f64(),
        cost.rss_kib as f64 / 1024.0
    );
}

fn main() {
    if common::listing() {
        return;
    }
    let quiet = common::env_number("NIGHT_BENCH_QUIET_SECS", 60);
    let busy = common::env_number("NIGHT_BENCH_BUSY_SECS", 60);
    let mib = common::env_number("NIGHT_BENCH_MIB", 1024);
    let before = common::before();
    let builds: Vec<(&str, &str)> = std::iter::once(("this build", common::NIGHT)).chain(before.as_deref().map(|b| ("before", b))).collect();

    let repo = common::agent_repository(&format!("sleep {quiet}"), "  timeout 1h\n  attempts 1");
    println!("agent command, quiet (sleeps {quiet} s): {}", supervise(common::NIGHT, repo.path(), &[]).line());
    for (name, night) in &builds {
        let repo = common::agent_repository(&busy_command_agent(busy), "  timeout 1h\n  attempts 1");
        println!("agent command, busy ({busy} s of git status, git diff, output, writes, a commit every 10 s), {name}: {}", supervise(night, repo.path(), &[]).line());
    }
    if let Some(bin) = claude() {
        println!("agent claude, quiet (the model thinks {quiet} s): {}", supervise_claude(common::NIGHT, &bin, |_| quiet_claude_script(quiet)).line());
        for (name, night) in &builds {
            let cost = supervise_claude(night, &bin, |repo| busy_claude_script(repo, busy));
            println!("agent claude, busy ({busy} tool calls a second apart: git status and git diff through Bash, writes, a commit every 10), {name}: {}", cost.line());
        }
    }
    if mib > 0 {
        throughput(mib);
    }
}
