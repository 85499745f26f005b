//! `--on HOST`: real runs on the test suite's OpenSSH server (`.ci/sshd-setup`, user `nightci`
//! standing in for the remote machine), reached with `NIGHT_SSH="ssh -F <config>"`. Every test
//! works in a folder of its own under the remote user's home and removes it at the end.

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::forge_api::{Fault, ForgeApi, Kind};
use support::http_receiver::Receiver;
use support::run::{wait_until, Test};
use support::sshd::{sshd, Sshd, HOST};

/// A folder of the test's own on the host (under /home/nightci), removed when dropped.
struct RemoteBase<'a> {
    sshd: &'a Sshd,
    path: String,
    mounted: bool,
}

impl<'a> RemoteBase<'a> {
    fn new(sshd: &'a Sshd, name: &str) -> Self {
        let path = format!("{}/night-remote-{name}-{}", sshd.home.display(), std::process::id());
        sshd.remote(&format!("rm -rf {path} && mkdir -p {path}"));
        RemoteBase { sshd, path, mounted: false }
    }

    /// `night-ci:<path>`, the `--on` value.
    fn on(&self) -> String {
        format!("{HOST}:{}", self.path)
    }

    /// The host's checkout of the test repository (the only one under this base).
    fn work(&self) -> String {
        self.sshd.remote(&format!("ls -d {}/.night/work/*/ | head -n 1", self.path)).trim().trim_end_matches('/').to_string()
    }
}

impl Drop for RemoteBase<'_> {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount").arg(&self.path).status();
        }
        let _ = std::process::Command::new("ssh")
            .args(["-F", &self.sshd.config.to_string_lossy(), HOST, &format!("rm -rf {}", self.path)])
            .stdin(Stdio::null())
            .status();
    }
}

/// A repository set up for remote runs: `NIGHT_SSH` points at the test server.
fn test_with(sshd: &Sshd) -> Test {
    let mut test = Test::new();
    test.env("NIGHT_SSH", &sshd.ssh_command());
    test
}

/// An agent that works like a real one: prints steadily, commits four times. After its first
/// commit it waits (printing) until the test creates `go` in the run folder (which the sandbox
/// lets it read), at most a minute, so that the run is surely live while the connection drops.
const AGENT: &str = r#"
for step in 1 2 3 4; do
  for tick in 1 2 3 4 5; do echo "step $step tick $tick"; sleep 0.2; done
  echo "$step" > "src/step$step"; git add src; git commit -q -m "step $step"
  n=0
  while [ "$step" = 1 ] && [ ! -e "$NIGHT_RUN_DIR/go" ] && [ "$n" -lt 600 ]; do echo "waiting $n"; sleep 0.1; n=$((n + 1)); done
done
echo good > src/state; git add src; git commit -q -m "the state is good"
"#;

fn runbook(extra_notify: &str) -> String {
    runbook_with("far", "prompt.md", extra_notify, "")
}

/// The runbook named `name`, its prompt in `prompt`, with more notifiers and top-level
/// statements (a `deliver` block).
fn runbook_with(name: &str, prompt: &str, extra_notify: &str, extra: &str) -> String {
    format!(
        r#"name "{name}"

task {{
  prompt file "{prompt}"
  agent command "sh agent.sh"
}}

success {{
  tests "sh test.sh" format tap within 30s
}}

permissions {{
  write "src/**"
  deny irreversible
}}

limits {{
  timeout 2m
  attempts 2
  stuck 2
  idle 2m
}}

notify {{
  command "true" on end
{extra_notify}
}}
{extra}"#
    )
}

/// The run id in `night run --on`'s first line.
fn run_id(stdout: &str) -> String {
    stdout.lines().find_map(|line| line.strip_prefix("night: run ")?.split_whitespace().next().map(str::to_string)).unwrap_or_else(|| panic!("no run id in:\n{stdout}"))
}

/// The ssh client processes whose command line holds `needle`.
fn ssh_clients_with(needle: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.first().is_some_and(|a| a == "ssh") && args.iter().any(|a| a.contains(needle)) {
            pids.push(pid);
        }
    }
    pids
}

/// Every process's command line and environment that holds `value` (as root, all are readable),
/// as `<pid> cmdline|environ`, with `host` after it for a process of the host's user.
fn processes_holding(value: &str) -> Vec<String> {
    use std::os::unix::fs::MetadataExt as _;
    let host_uid = std::fs::metadata(format!("/home/{}", support::sshd::USER)).map(|m| m.uid()).ok();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let on_host = entry.metadata().is_ok_and(|m| Some(m.uid()) == host_uid);
        for what in ["cmdline", "environ"] {
            if std::fs::read(entry.path().join(what)).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(value)) {
                found.push(format!("{} {what}{}", entry.file_name().to_string_lossy(), if on_host { " host" } else { "" }));
            }
        }
    }
    found
}

fn wait_child(mut child: Child, within: Duration) -> (Option<i32>, String, String) {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > within {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_remote_run_survives_its_connection_and_comes_back_with_night_pull() {
    let Some(sshd) = sshd() else { return };
    let base = RemoteBase::new(&sshd, "run");
    let on = base.on();
    let receiver = Receiver::start();
    let secret = format!("{}?token=night-secret-{}", receiver.url("/hook"), std::process::id());
    let mut test = test_with(&sshd);
    test.env("NIGHT_TEST_HOOK", &secret);
    // The laptop's `origin` is a bare repository the host reaches with its own credentials
    // (nightci's ~/.ssh, as `night-ci`): the run's `deliver` block pushes there from the host.
    // The forge's token travels as the webhook's secret does, in memory.
    sshd.remote(&format!("git init -q --bare {}/origin.git", base.path));
    test.git(&["remote", "add", "origin", &format!("{HOST}:{}/origin.git", base.path)]);
    let token = format!("night-forge-token-{}", std::process::id());
    let forge = ForgeApi::start(Kind::Gitea, "acme/app", &token);
    test.env("NIGHT_TEST_FORGE_TOKEN", &token);
    // The forge refuses the first pull request (a 422 is not tried again): the run's own push
    // stands, and `night deliver --on` opens the pull request from the host later.
    forge.fault("POST", "/repos/acme/app/pulls", Fault::Status(422, Vec::new(), serde_json::json!({ "message": "the forge is read-only tonight" })));
    test.setup(AGENT, &support::run::Runbook::default());
    // The runbook changed since its commit, and its prompt file was never committed: both travel.
    let deliver = format!("\ndeliver {{\n  push \"origin\"\n  pull-request gitea \"acme/app\" token env.NIGHT_TEST_FORGE_TOKEN api \"{}\" base \"main\"\n}}\n", forge.api());
    test.write("t.night", &runbook_with("far", "prompt.md", "  webhook env.NIGHT_TEST_HOOK on end", &deliver));
    test.write("prompt.md", "Make the state good; commit as you go.\n");
    // An older night on the host is replaced by this one.
    sshd.remote(&format!("mkdir -p {0}/.night/bin && printf '#!/bin/sh\\necho night 0.0.1\\n' > {0}/.night/bin/night && chmod +x {0}/.night/bin/night", base.path));

    let clock = Instant::now();
    let started = test.night(&["run", "t.night", "--on", &on]);
    assert_eq!(started.code, Some(0), "{}", started.output());
    assert!(started.stdout.contains("copied this night") && started.stdout.contains("night 0.0.1"), "{}", started.output());
    assert!(started.stdout.contains("with t.night, prompt.md uncommitted"), "the changed runbook is said to travel too: {}", started.output());
    assert!(started.stdout.contains("`NIGHT_TEST_FORGE_TOKEN`, `NIGHT_TEST_HOOK` handed to the run in memory"), "{}", started.output());
    assert!(!started.all_text().contains(&secret) && !started.all_text().contains(&token), "the secrets are never printed: {}", started.output());
    let id = run_id(&started.stdout);

    // Follow it, then kill the ssh client under `night log -f`: the connection drops mid-run.
    let mut follow = test.command(&["log", "-f", &id, "--on", &on]).spawn().expect("night log -f");
    let stdout = follow.stdout.take().expect("stdout");
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("step 1 tick 2") {
                let _ = seen_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    seen_rx.recv_timeout(Duration::from_secs(30)).expect("`night log -f --on` shows the agent's output as it comes");
    // While it runs, nothing holds the secret on a command line or in an environment, and a
    // second run on the same checkout is refused, the same way as at home, by the host.
    for value in [&secret, &token] {
        let holding: Vec<String> = processes_holding(value).into_iter().filter(|p| !p.starts_with(&format!("{} ", std::process::id()))).collect();
        // The laptop's own night commands (this machine plays both) have it in their environment;
        // no process of the host's user has it anywhere: not the supervisor, the agent or a check.
        assert!(!holding.iter().any(|p| p.ends_with(" host")), "{holding:?}");
        assert!(holding.iter().all(|p| p.ends_with("environ") && !p.contains("cmdline")), "{holding:?}");
        assert!(!holding.iter().any(|p| p.starts_with(&format!("{} ", started_pid(&started.stdout)))), "the supervisor keeps the secret out of its environment: {holding:?}");
    }
    let check = test.night(&["check", "t.night", "--on", &on]);
    assert_eq!(check.code, Some(2), "{}", check.output());
    assert!(check.stderr.contains(&format!("night-ci: error: run `{id}` is in progress")) && check.stderr.contains("`night check` without `--on` checks here"), "{}", check.output());
    let second = test.night(&["run", "t.night", "--on", &on]);
    assert_eq!(second.code, Some(2), "{}", second.output());
    assert!(second.stderr.contains(&format!("night-ci: error: run `{id}` is in progress in this repository")), "{}", second.output());
    assert!(second.stderr.contains(&format!("night status --on {on}")), "{}", second.output());

    let clients = ssh_clients_with("--follow");
    assert!(!clients.is_empty(), "the ssh client of `night log -f` is running");
    for pid in clients {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let (code, _, stderr) = wait_child(follow, Duration::from_secs(10));
    assert_ne!(code, Some(0), "a dropped connection is not a clean end: {stderr}");
    assert!(stderr.contains("night-ci: error: cannot reach the host") && stderr.contains("the run there goes on"), "{stderr}");
    let shown = reader.join().expect("reader");
    assert!(shown.iter().any(|l| l.contains("step 1 tick 2")), "{shown:?}");

    // The run did not notice: the status, read again over a new connection, says so.
    eprintln!("{:?}: status", clock.elapsed());
    let status = test.night(&["status", &id, "--on", &on]);
    assert_eq!(status.code, Some(0), "{}", status.output());
    assert!(status.stdout.contains(&format!("{id}: running")), "{}", status.output());
    assert!(status.stdout.contains(&format!("night log -f {id} --on {on}")), "the hints name the host: {}", status.output());

    eprintln!("{:?}: gate", clock.elapsed());
    sshd.remote(&format!("touch {}/.night/runs/{id}/go", base.work()));
    wait_until(Duration::from_secs(90), "the remote run to end", || !test.night(&["status", &id, "--on", &on]).stdout.contains(": running"));
    eprintln!("{:?}: ended", clock.elapsed());
    let list = test.night(&["list", "--on", &on]);
    assert!(list.stdout.contains(&id) && list.stdout.contains("success"), "{}", list.output());

    // The secret went to the notifier, never onto the host's disk.
    let hooks = receiver.wait_for(1, Duration::from_secs(30));
    assert!(hooks.iter().any(|r| r.path.starts_with("/hook")), "the end notification was sent from the host: {}", hooks.len());

    // The run's own delivery, from the host: the branch is at the laptop's `origin`, pushed
    // with the host's credentials; the forge was asked with the token sent from here (the
    // preflight's read, then the refused pull request); the status says how to retry.
    let ended = test.night(&["status", &id, "--on", &on]);
    let branch_name = ended.stdout.lines().find_map(|l| l.trim().strip_prefix("branch")).map(|b| b.trim().to_string()).unwrap_or_default();
    assert!(branch_name.starts_with("night/far/"), "{}", ended.output());
    let work = base.work();
    let host_tip = sshd.remote(&format!("git -C {work} rev-parse {branch_name}"));
    let at_origin = sshd.remote(&format!("git -C {}/origin.git rev-parse refs/heads/{branch_name}", base.path));
    assert_eq!(at_origin.trim(), host_tip.trim(), "the run branch arrived at origin by the run's delivery");
    assert!(ended.stdout.contains("FAILED") || ended.stdout.contains("failed"), "{}", ended.output());
    assert!(ended.stdout.contains(&format!("deliver   night deliver {id} --on {on}")), "the retry names the host: {}", ended.output());
    assert!(forge.pulls().is_empty());
    assert!(!forge.requests().is_empty() && forge.requests().iter().all(|r| r.header("authorization").is_some_and(|a| a.contains(&token))), "the token reached the forge from the host");

    // The delivery again, by hand, on the host: the pull request opens.
    let delivered = test.night(&["deliver", &id, "--on", &on]);
    assert_eq!(delivered.code, Some(0), "{}", delivered.output());
    let pulls = forge.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!((pulls[0].head.as_str(), pulls[0].base.as_str()), (branch_name.as_str(), "main"));
    let url = delivered.stdout.lines().find(|l| l.starts_with("http")).unwrap_or_else(|| panic!("no URL: {}", delivered.output())).to_string();
    let status = test.night(&["status", &id, "--on", &on]);
    assert!(status.stdout.contains(&format!("pull req  {url}")), "{}", status.output());
    let on_disk = sshd.remote(&format!("grep -rl --exclude-dir=bin -e 'night-secret-{0}' -e 'night-forge-token-{0}' {1} || true", std::process::id(), base.path));
    assert!(on_disk.trim().is_empty(), "the secrets are written nowhere on the host: {on_disk}");

    // The morning: pull brings the branch, the attempt refs and the run folder back.
    eprintln!("{:?}: pull", clock.elapsed());
    let pulled = test.night(&["pull", &id, "--on", &on]);
    assert_eq!(pulled.code, Some(0), "{}", pulled.output());
    let branches = test.git(&["branch", "--list", "night/far/*"]);
    assert_eq!(branches.trim().trim_start_matches("* "), branch_name, "the run branch is here: {}", pulled.output());
    let log = test.git(&["log", "--format=%an %s", &format!("main..{branch_name}")]);
    assert!(log.lines().count() >= 5 && log.contains("night test step 3") && log.contains("the state is good"), "commits by the laptop's identity:\n{log}");
    assert!(test.try_git(&["rev-parse", "--verify", &format!("refs/night/{id}/attempt-1")]).is_some(), "the attempt ref came back");
    let report = test.night(&["report", &id]);
    assert_eq!(report.code, Some(0), "{}", report.output());
    assert!(report.stdout.contains("**success**") && report.stdout.contains(&url), "the report says where the work went: {}", report.output());
    // Its next commands are for this checkout (on `main`), not the host's (on the run branch).
    assert!(report.stdout.contains(&format!("git switch {branch_name}")) && !report.stdout.contains("your checkout is on its branch"), "{}", report.output());
    let journal = support::run::read_events(&test.path().join(format!(".night/runs/{id}/journal.jsonl")));
    let failed = journal.iter().find(|e| e["event"] == "delivery-failed").expect("the run's own delivery");
    assert_eq!(failed["push"]["status"], "done", "{failed}");
    assert!(journal.iter().any(|e| e["event"] == "delivered" && e["by"] == "hand"), "{journal:?}");
    assert!(!report.stdout.contains("waive"), "the host's runbook carries no waiver of its own: {}", report.output());
    assert!(test.path().join(format!(".night/runs/{id}/pulled.json")).is_file());
    let resumed_here = test.night(&["resume", &id]);
    assert_eq!(resumed_here.code, Some(2), "{}", resumed_here.output());
    assert!(resumed_here.stderr.contains(&format!("error: run `{id}` ran on `{on}` and was pulled here; it can only be resumed there")) && resumed_here.stderr.contains(&format!("`night resume {id} --on {on}`")), "{}", resumed_here.output());
    let again = test.night(&["pull", &id, "--on", &on]);
    assert_eq!(again.code, Some(0), "pulling twice is harmless: {}", again.output());
    // A local branch of that name that moved apart from the host's is never overwritten; git's
    // own words say why.
    let pulled_tip = test.git(&["rev-parse", &branch_name]);
    let apart = test.git(&["commit-tree", "main^{tree}", "-p", "main", "-m", "a local commit"]);
    test.git(&["update-ref", &format!("refs/heads/{branch_name}"), &apart]);
    let refused = test.night(&["pull", &id, "--on", &on]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(refused.stderr.contains(&format!("night-ci: error: cannot fetch the run branch `{branch_name}`: ")) && refused.stderr.contains("(non-fast-forward)"), "{}", refused.output());
    assert!(refused.stderr.contains("never overwritten: rename it, then pull again"), "{}", refused.output());
    assert_eq!(test.git(&["rev-parse", &branch_name]), apart, "the local branch is as it was");
    test.git(&["update-ref", &format!("refs/heads/{branch_name}"), &pulled_tip]);
    let remote_report = test.night(&["report", &id, "--on", &on, "-o", "from-host.md"]);
    assert_eq!(remote_report.code, Some(0), "{}", remote_report.output());
    assert!(std::fs::read_to_string(test.path().join("from-host.md")).is_ok_and(|r| r.contains("**success**")), "`report -o` writes here");
    let pulled_journal = std::fs::read_to_string(test.path().join(format!(".night/runs/{id}/journal.jsonl"))).unwrap_or_default();
    assert!(!pulled_journal.contains(&secret) && !pulled_journal.contains(&token));
    // Nothing on the host was lost by pulling.
    let kept = sshd.remote(&format!("ls {}/.night/runs/{id}/report.md", base.work()));
    assert!(kept.contains("report.md"), "{kept}");

    // The host's checkout has the laptop's `origin`, which is where the delivery pushed.
    let origin = sshd.remote(&format!("git -C {work} remote get-url origin"));
    assert_eq!(origin.trim(), format!("{HOST}:{}/origin.git", base.path));
    let pushed = sshd.remote(&format!("git -C {}/origin.git log --format=%s {branch_name}", base.path));
    assert!(pushed.contains("the state is good"), "{pushed}");

    // No process of the run outlives it.
    wait_until(Duration::from_secs(10), "the run's processes to end", || support::run::processes_with(&base.path).is_empty());
}

fn started_pid(stdout: &str) -> String {
    stdout.split("supervisor pid ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or("none").to_string()
}

trait AllText {
    fn all_text(&self) -> String;
}

impl AllText for support::run::Ran {
    fn all_text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

#[test]
fn bad_hosts_and_paths_are_refused_with_the_host_named() {
    let Some(sshd) = sshd() else { return };
    let test = test_with(&sshd);
    test.setup("echo good > src/state; git commit -qam fix", &support::run::Runbook::default());

    // Nothing listens there: ssh's own words, and how to make ssh work.
    let mut dead = test_with(&sshd);
    dead.env("NIGHT_SSH", &format!("{} -o Port={}", sshd.ssh_command(), support::closed_port()));
    dead.setup("true", &support::run::Runbook::default());
    let unreachable = dead.night(&["run", "t.night", "--on", HOST]);
    assert_eq!(unreachable.code, Some(2), "{}", unreachable.output());
    assert!(unreachable.stderr.starts_with("night-ci: error: cannot reach the host: ") && unreachable.stderr.contains("Connection refused"), "{}", unreachable.output());
    assert!(unreachable.stderr.contains("make `ssh night-ci true` work first"), "{}", unreachable.output());
    let status = dead.night(&["status", "--on", HOST]);
    assert!(status.stderr.contains("night-ci: error: cannot reach the host"), "{}", status.output());

    // A night folder under a path the host does not have.
    let missing = format!("{}/night-remote-missing-{}", sshd.home.display(), std::process::id());
    let no_base = test.night(&["run", "t.night", "--on", &format!("{HOST}:{missing}")]);
    assert_eq!(no_base.code, Some(2), "{}", no_base.output());
    assert!(no_base.stderr.contains(&format!("night-ci: error: `{missing}` does not exist there")), "{}", no_base.output());
    assert!(no_base.stderr.contains(&format!("ssh night-ci mkdir -p {missing}")), "{}", no_base.output());

    // A malformed `--on`.
    let bad = test.night(&["status", "--on", "me@"]);
    assert_eq!(bad.code, Some(2), "{}", bad.output());
    assert!(bad.stderr.contains("`--on me@` is not `[user@]host[:path]`: no host"), "{}", bad.output());

    // Nothing of this repository there yet.
    let base = RemoteBase::new(&sshd, "bad");
    let none = test.night(&["status", "--on", &base.on()]);
    assert_eq!(none.code, Some(2), "{}", none.output());
    assert!(none.stderr.contains("night-ci: error: no run of this repository there yet"), "{}", none.output());

    // Uncommitted work on the laptop would stay behind: refused before the host is touched.
    test.write("stray.txt", "not committed\n");
    let dirty = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(dirty.code, Some(2), "{}", dirty.output());
    assert!(dirty.stdout.contains("uncommitted changes: `stray.txt`") && dirty.stderr.contains("nothing was sent to night-ci"), "{}", dirty.output());
    assert!(sshd.remote(&format!("ls -A {}", base.path)).trim().is_empty(), "nothing was created on the host");
    std::fs::remove_file(test.path().join("stray.txt")).expect("rm");

    // No git on the host's PATH (a wrapper around ssh gives the remote shell a PATH without it).
    let nogit = format!("{}/nogit-bin", base.path);
    sshd.remote(&format!(
        "mkdir -p {nogit} && for t in sh uname df awk mkdir head cat chmod mv rm tar dirname; do ln -sf \"$(command -v $t)\" {nogit}/$t; done"
    ));
    let wrapper = test.capture.path().join("nogit-ssh.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\nhost=$1; shift\nexec {} \"$host\" \"PATH={nogit}; export PATH; $*\"\n", sshd.ssh_command())).expect("wrapper");
    let mut no_git = test_with(&sshd);
    no_git.env("NIGHT_SSH", &format!("sh {}", wrapper.display()));
    no_git.setup("true", &support::run::Runbook::default());
    let missing_git = no_git.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(missing_git.code, Some(2), "{}", missing_git.output());
    assert!(missing_git.stderr.contains("night-ci: error: `git` is not installed there"), "{}", missing_git.output());
    let _ = std::fs::remove_file(&wrapper);

    // A batch whose runbooks would share a run branch: refused there as at home, nothing started.
    let same = support::run::Runbook::default().task("branch \"night/same\"").render();
    test.write("x.night", &same).write("y.night", &same.replace("name \"t\"", "name \"u\""));
    let same_branch = test.night(&["run", "x.night", "y.night", "--on", &base.on()]);
    assert_eq!(same_branch.code, Some(2), "{}", same_branch.output());
    assert!(same_branch.stdout.contains("batch-same-branch") && same_branch.stdout.contains("`night/same` would also be the run branch of `x.night`"), "{}", same_branch.output());
    assert!(same_branch.stderr.contains("night-ci: error: the batch has errors; nothing was run"), "{}", same_branch.output());
    assert!(sshd.remote(&format!("ls -d {}/.night/work/*/.night/batches/* 2>/dev/null || true", base.path)).trim().is_empty(), "no batch there");
    let checked = test.night(&["check", "--batch", "x.night", "y.night", "--on", &base.on()]);
    assert_eq!(checked.code, Some(1), "{}", checked.output());
    assert!(checked.stdout.contains("`night/same` would also be the run branch of `x.night`"), "`check --batch --on` checks the batch there: {}", checked.output());
    for file in ["x.night", "y.night"] {
        std::fs::remove_file(test.path().join(file)).expect("rm");
    }

    // The agent's CLI missing on the host: `check --on` says so, `run --on` is refused there.
    test.write("t.night", &support::run::Runbook::default().render().replace("agent command \"sh agent.sh\"", "agent aider { bin \"night-test-missing-aider\" }"));
    let check = test.night(&["check", "t.night", "--on", &base.on()]);
    assert_eq!(check.code, Some(1), "{}", check.output());
    assert!(check.stdout.contains("judged on night-ci: command-not-found, env-unset"), "{}", check.output());
    assert!(check.stdout.contains("[FAIL] agent  `night-test-missing-aider` was not found"), "{}", check.output());
    // The host's checkout is clean without a waiver (the travelled runbook is its own), and the
    // laptop's judgement is said beside it.
    assert!(check.stdout.contains("[ok  ] git-dirty") && !check.stdout.contains("[waiv]") && check.stdout.contains("judged on this machine: [ok  ] git-dirty"), "{}", check.output());
    let refused = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(refused.code, Some(2), "{}", refused.output());
    assert!(refused.stdout.contains("agent program `night-test-missing-aider` not found"), "the host's checklist says why: {}", refused.output());
    assert!(refused.stderr.contains("night-ci: error: the runbook has errors; nothing was run"), "{}", refused.output());

    // A push the host cannot make fails the delivery's preflight there: nothing runs.
    test.git(&["remote", "add", "origin", &format!("http://127.0.0.1:{}/app.git", support::closed_port())]);
    test.write("t.night", &support::run::Runbook::default().top("deliver {\n  push \"origin\"\n}").render());
    let undeliverable = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(undeliverable.code, Some(2), "{}", undeliverable.output());
    assert!(undeliverable.stderr.contains("night-ci: error: the delivery's preflight failed: cannot reach `origin`"), "{}", undeliverable.output());
    assert!(!undeliverable.stdout.contains("started on night-ci"), "{}", undeliverable.output());
    let runs = test.night(&["list", "--on", &base.on()]);
    assert!(!runs.stdout.contains("t-20"), "no run was made there: {}", runs.output());

    // Uncommitted work in the host's checkout that no run holds is never overwritten.
    let work = base.work();
    sshd.remote(&format!("echo wip > {work}/src/wip"));
    let leftover = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(leftover.code, Some(2), "{}", leftover.output());
    assert!(leftover.stderr.contains(&format!("night-ci: error: the host's checkout `{work}` has uncommitted changes no run holds: `src/wip`")), "{}", leftover.output());
    assert!(leftover.stderr.contains("nothing was changed"), "{}", leftover.output());
    assert_eq!(sshd.remote(&format!("cat {work}/src/wip")).trim(), "wip");
}

/// `NIGHT_SSH` for a host whose commands see `bin` first on their PATH (as a PATH set in the
/// remote's shell startup would), through a wrapper script in `dir`.
fn ssh_with_path(sshd: &Sshd, dir: &std::path::Path, bin: &str) -> String {
    let wrapper = dir.join("path-ssh.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\nhost=$1; shift\nexec {} \"$host\" \"PATH={bin}:/usr/local/bin:/usr/bin:/bin; export PATH; $*\"\n", sshd.ssh_command())).expect("wrapper");
    format!("sh {}", wrapper.display())
}

#[test]
fn a_host_this_night_cannot_run_on_is_told_what_to_install() {
    let Some(sshd) = sshd() else { return };
    let mut base = RemoteBase::new(&sshd, "platform");
    // Another architecture: `uname -m` there says riscv64. Nothing is copied.
    let fake = format!("{}/fake-bin", base.path);
    sshd.remote(&format!("mkdir -p {fake} && printf '#!/bin/sh\\ncase \"$1\" in -m) echo riscv64;; *) echo Linux;; esac\\n' > {fake}/uname && chmod +x {fake}/uname"));
    let mut test = test_with(&sshd);
    test.setup("true", &support::run::Runbook::default());
    test.env("NIGHT_SSH", &ssh_with_path(&sshd, test.capture.path(), &fake));
    let foreign = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(foreign.code, Some(2), "{}", foreign.output());
    assert!(foreign.stderr.contains(&format!("night-ci: error: no night {0} or newer there (the host had none), and this night is built for", env!("CARGO_PKG_VERSION"))) && foreign.stderr.contains("not Linux riscv64"), "{}", foreign.output());
    assert!(foreign.stderr.contains(&format!("help: Install night {} or newer on the host (a build for Linux riscv64) on the PATH of SSH commands, or at `{}/.night/bin/night`", env!("CARGO_PKG_VERSION"), base.path)), "{}", foreign.output());
    assert!(sshd.remote(&format!("ls -A {}/.night/bin 2>/dev/null || true", base.path)).trim().is_empty(), "nothing was copied");

    // The same platform, but the copy cannot start there (a disk mounted `noexec`; a newer glibc
    // here than there fails the same way): said, and nothing is left behind.
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=512m,noexec,uid=1001,gid=1001,mode=755", "tmpfs", &base.path]).output();
    match mounted {
        Ok(output) if output.status.success() => base.mounted = true,
        other => {
            eprintln!("\n*** SKIPPED (the rest): cannot mount a tmpfs (needs root): {other:?} ***\n");
            return;
        }
    }
    let test = test_with(&sshd);
    test.setup("true", &support::run::Runbook::default());
    let stuck = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(stuck.code, Some(2), "{}", stuck.output());
    assert!(stuck.stderr.contains("night-ci: error: this night, copied there, does not start: ") && stuck.stderr.contains("Permission denied"), "{}", stuck.output());
    assert!(stuck.stderr.contains(&format!("on the PATH of SSH commands, or at `{}/.night/bin/night`", base.path)), "{}", stuck.output());
    assert!(sshd.remote(&format!("ls -A {}/.night/bin", base.path)).trim().is_empty(), "the copy that cannot start is removed");
}

#[test]
fn a_full_disk_on_the_host_is_said_before_anything_is_sent() {
    let Some(sshd) = sshd() else { return };
    let mut base = RemoteBase::new(&sshd, "full");
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=2m,uid=1001,gid=1001,mode=755", "tmpfs", &base.path]).output();
    match mounted {
        Ok(output) if output.status.success() => base.mounted = true,
        other => {
            eprintln!("\n*** SKIPPED: cannot mount a tmpfs (needs root): {other:?} ***\n");
            return;
        }
    }
    let test = test_with(&sshd);
    test.setup("true", &support::run::Runbook::default());
    let full = test.night(&["run", "t.night", "--on", &base.on()]);
    assert_eq!(full.code, Some(2), "{}", full.output());
    assert!(full.stderr.contains("night-ci: error: only 2.0 MiB free under") && full.stderr.contains("No space left on device"), "{}", full.output());
    assert!(full.stderr.contains("--on HOST:PATH"), "{}", full.output());
}

#[test]
fn check_on_a_host_judges_env_there_and_git_dirty_here() {
    let Some(sshd) = sshd() else { return };
    let base = RemoteBase::new(&sshd, "check");
    let mut test = test_with(&sshd);
    test.setup(AGENT, &support::run::Runbook::default());
    test.write("t.night", &runbook("  webhook env.NIGHT_TEST_UNSET_HOOK"));
    test.write("prompt.md", "Make the state good.\n");
    let unset = test.night(&["check", "t.night", "--on", &base.on()]);
    assert_eq!(unset.code, Some(1), "{}", unset.output());
    assert!(unset.stdout.contains("environment variable `NIGHT_TEST_UNSET_HOOK` is not set"), "{}", unset.output());
    assert!(unset.stdout.contains("with the host's own environment"), "{}", unset.output());
    test.env("NIGHT_TEST_UNSET_HOOK", "http://127.0.0.1:9/x");
    let set = test.night(&["check", "t.night", "--on", &base.on(), "--format", "json"]);
    assert_eq!(set.code, Some(0), "{}", set.output());
    let json: serde_json::Value = serde_json::from_str(&set.stdout).unwrap_or_else(|e| panic!("{e}: {}", set.output()));
    assert_eq!(json["remote"]["host"], "night-ci");
    assert_eq!(json["files"][0]["errors"], 0, "{json:#}");
    let dirty = json["files"][0]["checklist"].as_array().expect("checklist").iter().find(|i| i["code"] == "git-dirty").cloned().expect("git-dirty");
    assert_eq!(dirty["judged"], "laptop");
    assert_eq!(json["remote"]["agents"][0]["found"], true, "{json:#}");
    // The prompt file and the runbook are in the host's checkout, hidden from git there.
    let work = base.work();
    let status = sshd.remote(&format!("cd {work} && cat prompt.md && git status --porcelain"));
    assert!(status.starts_with("Make the state good."), "{status}");
    assert_eq!(status.lines().filter(|l| l.starts_with("??")).count(), 0, "{status}");
}

#[test]
fn a_killed_supervisor_on_the_host_is_resumed_with_its_secrets_and_stopped_cleanly() {
    let Some(sshd) = sshd() else { return };
    let base = RemoteBase::new(&sshd, "resume");
    let on = base.on();
    let receiver = Receiver::start();
    let mut test = test_with(&sshd);
    test.env("NIGHT_TEST_HOOK", &receiver.url("/resumed"));
    // An agent that works slowly, committing now and then, until it is stopped.
    test.setup("for step in $(seq 1 200); do echo \"working $step\"; echo $step > src/progress; git add src; git commit -q -m \"progress $step\"; sleep 0.5; done", &support::run::Runbook::default());
    test.write("t.night", &runbook("  webhook env.NIGHT_TEST_HOOK on end").replace("timeout 2m", "timeout 5m").replace("idle 2m", "idle 5m"));
    test.write("prompt.md", "Work.\n");
    let started = test.night(&["run", "t.night", "--on", &on]);
    assert_eq!(started.code, Some(0), "{}", started.output());
    let id = run_id(&started.stdout);
    let pid: i32 = started_pid(&started.stdout).parse().expect("supervisor pid");
    wait_until(Duration::from_secs(30), "the agent's first commits", || test.night(&["status", &id, "--on", &on]).stdout.contains("commits"));

    // The host's supervisor dies (kill -9): the run is `crashed` until resumed from here.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill the supervisor");
    wait_until(Duration::from_secs(10), "the run to show as crashed", || test.night(&["status", &id, "--on", &on]).stdout.contains(": crashed"));
    let resumed = test.night(&["resume", &id, "--on", &on]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.output());
    assert!(resumed.stdout.contains(&format!("night: run {id} resumed on night-ci")), "{}", resumed.output());
    wait_until(Duration::from_secs(20), "the resumed run to be live", || test.night(&["status", &id, "--on", &on]).stdout.contains(": running"));

    let stopped = test.night(&["stop", &id, "--on", &on]);
    assert_eq!(stopped.code, Some(0), "{}", stopped.output());
    assert!(stopped.stdout.contains(&format!("night: {id} ended: interrupted")), "{}", stopped.output());
    // The resumed supervisor had the secret again (sent from here, in memory): it notified.
    let hooks = receiver.wait_for(1, Duration::from_secs(30));
    assert!(hooks.iter().any(|r| r.path == "/resumed"), "the end notification left from the host after the resume");
    wait_until(Duration::from_secs(10), "the run's processes to end", || support::run::processes_with(&base.path).is_empty());
}

/// The batch id in `night run a b --on`'s first line.
fn batch_id(stdout: &str) -> String {
    stdout.lines().find_map(|line| line.strip_prefix("night: batch ")?.split_whitespace().next().map(str::to_string)).unwrap_or_else(|| panic!("no batch id in:\n{stdout}"))
}

#[test]
fn a_batch_on_the_host_is_followed_resumed_stopped_and_pulled_from_here() {
    let Some(sshd) = sshd() else { return };
    let base = RemoteBase::new(&sshd, "batch");
    let on = base.on();
    let receiver = Receiver::start();
    let mut test = test_with(&sshd);
    test.env("NIGHT_TEST_HOOK", &receiver.url("/run"));
    test.env("NIGHT_TEST_DIGEST", &receiver.url("/digest"));
    // Agents that work slowly, committing now and then, until they are stopped.
    test.setup("for step in $(seq 1 300); do echo \"working $step\"; echo $step > src/progress; git add src; git commit -q -m \"progress $step\"; sleep 0.5; done", &support::run::Runbook::default());
    // Two runbooks and their prompt files, none of them committed: all travel.
    for (name, file) in [("alpha", "a"), ("beta", "b")] {
        let text = runbook_with(name, &format!("{file}.md"), "  webhook env.NIGHT_TEST_HOOK on end", "").replace("timeout 2m", "timeout 5m").replace("idle 2m", "idle 5m");
        test.write(&format!("{file}.night"), &text);
        test.write(&format!("{file}.md"), &format!("Work on {name}.\n"));
    }

    // One run at a time: beta waits for alpha, and never starts (the batch is stopped first).
    let started = test.night(&["run", "a.night", "b.night", "--on", &on, "--jobs", "1", "--notify-batch", "webhook", "env.NIGHT_TEST_DIGEST"]);
    assert_eq!(started.code, Some(0), "{}", started.output());
    assert!(started.stdout.contains("`NIGHT_TEST_DIGEST`, `NIGHT_TEST_HOOK` handed to the run in memory"), "{}", started.output());
    assert!(started.stdout.contains("with a.night, a.md, b.night, b.md uncommitted"), "{}", started.output());
    assert!(started.stdout.contains("of 2 runs started on night-ci"), "{}", started.output());
    let id = batch_id(&started.stdout);
    assert!(id.starts_with("batch-"), "{id}");
    assert!(started.stdout.contains(&format!("night status {id} --on {on}")), "{}", started.output());
    let pid: i32 = started_pid(&started.stdout).parse().expect("the batch supervisor's pid");
    wait_until(Duration::from_secs(60), "the batch's first run to run", || test.night(&["status", &id, "--on", &on]).stdout.contains("2: 1 running, 1 not started"));
    let listed = test.night(&["list", "--on", &on]);
    assert!(listed.stdout.contains(&format!("batch {id}")), "{}", listed.output());

    // While it runs: the host's checkout is the batch's, and it is not pulled yet.
    let second = test.night(&["run", "a.night", "b.night", "--on", &on]);
    assert_eq!(second.code, Some(2), "{}", second.output());
    assert!(second.stderr.contains(&format!("night-ci: error: batch `{id}` is in progress in this repository")), "{}", second.output());
    let early = test.night(&["pull", &id, "--on", &on]);
    assert_eq!(early.code, Some(2), "{}", early.output());
    assert!(early.stderr.contains(&format!("night-ci: error: batch `{id}` has not ended there (1 of its runs running)")), "{}", early.output());

    // The batch supervisor dies there; its runs go on. Resumed from here, it has the digest's
    // secret again (sent in memory), adopts its runs, and stops them cleanly.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill the batch supervisor");
    wait_until(Duration::from_secs(10), "the batch to show as died", || test.night(&["status", &id, "--on", &on]).stdout.contains(": died"));
    let died = test.night(&["status", &id, "--on", &on]);
    assert!(died.stdout.contains(&format!("continue  night resume {id} --on {on}")), "{}", died.output());
    let resumed = test.night(&["resume", &id, "--on", &on]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.output());
    assert!(resumed.stdout.contains(&format!("night: batch {id} resumed on night-ci")), "{}", resumed.output());
    wait_until(Duration::from_secs(30), "the resumed batch to run", || test.night(&["status", &id, "--on", &on]).stdout.contains(": running (supervisor pid"));
    let stopped = test.night(&["stop", &id, "--on", &on]);
    assert_eq!(stopped.code, Some(0), "{}", stopped.output());
    assert!(stopped.stdout.contains(&format!("night: batch {id} stopped")), "{}", stopped.output());

    // The run's end notification and the batch's digest left from the host with the secrets.
    let hooks = receiver.wait_for(2, Duration::from_secs(30));
    assert_eq!(hooks.iter().filter(|r| r.path == "/run").count(), 1, "{:?}", hooks.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert_eq!(hooks.iter().filter(|r| r.path == "/digest").count(), 1, "{:?}", hooks.iter().map(|r| &r.path).collect::<Vec<_>>());
    let ended = test.night(&["status", &id, "--on", &on]);
    assert!(ended.stdout.contains(&format!("{id}: ended")) && ended.stdout.contains("2: 1 interrupted, 1 not started"), "{}", ended.output());
    assert!(ended.stdout.contains(&format!("report    night report {id} --on {on}")), "{}", ended.output());
    let again = test.night(&["stop", &id, "--on", &on]);
    assert_eq!(again.code, Some(2), "{}", again.output());
    assert!(again.stderr.contains(&format!("night-ci: error: batch `{id}` is not running")), "{}", again.output());
    let there = test.night(&["report", &id, "--on", &on]);
    assert!(there.stdout.contains(&format!("# night batch {id}")) && there.stdout.contains("2 runs: 1 interrupted, 1 not started"), "{}", there.output());

    // The morning: the host's newest run is one of the batch, so a plain pull brings the batch
    // back whole, and its report reads here.
    let pulled = test.night(&["pull", "--on", &on]);
    assert_eq!(pulled.code, Some(0), "{}", pulled.output());
    assert!(pulled.stdout.contains(&format!("night: pulled batch {id} from night-ci: 1 run,")), "the run that never started is left out: {}", pulled.output());
    let branch = test.git(&["branch", "--list", "night/alpha/*"]);
    assert!(!branch.is_empty(), "the run branch is here: {}", pulled.output());
    let log = test.git(&["log", "--format=%s", &format!("main..{}", branch.trim())]);
    assert!(log.contains("progress 1"), "{log}");
    assert!(test.git(&["branch", "--list", "night/beta/*"]).is_empty());
    assert!(test.path().join(format!(".night/batches/{id}/batch.jsonl")).is_file());
    let report = test.night(&["report", &id]);
    assert_eq!(report.code, Some(0), "{}", report.output());
    assert!(report.stdout.contains("2 runs: 1 interrupted, 1 not started") && report.stdout.contains("| alpha | interrupted | 1 |"), "{}", report.output());
    let list = test.night(&["list"]);
    assert!(list.stdout.contains(&format!("batch {id}")), "{}", list.output());
    wait_until(Duration::from_secs(10), "the batch's processes to end", || support::run::processes_with(&base.path).is_empty());
}
