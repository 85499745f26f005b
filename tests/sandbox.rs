//! The sandbox on real processes: `sh -c` under `night::sandbox`, in temporary git repositories.
//!
//! Tests that need a kernel feature detect it first. Missing where it should exist (`CI` set)
//! fails loudly; missing elsewhere prints a `SKIPPED` line. None passes without running.

use night::ast::Sandbox;
use night::plan::Plan;
use night::sandbox::{self, env::agent_env, ActiveLayers, MountKind, SandboxSpec};
use night::source::Source;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// Stop a test when the kernel lacks `feature`: fail in CI, say SKIPPED elsewhere.
fn require(available: bool, feature: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{feature} is missing on this CI machine, where it should exist");
    }
    eprintln!("SKIPPED: {feature} is not available on this kernel");
    false
}

fn landlock_and_namespaces() -> bool {
    let caps = sandbox::probe();
    require(caps.landlock_abi.is_some_and(|abi| abi >= sandbox::LANDLOCK_MIN_ABI), "Landlock ABI 3 or later")
        && require(caps.user_namespaces && caps.mount_namespaces && caps.network_namespaces, "user, mount and network namespaces")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository on `main` with `src/a.txt` and `README.md`, the run branch `night/t/1` checked
/// out (in place, or in a worktree under `.night/worktrees/t`), a run folder, a home folder
/// and a folder outside everything.
struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    work_dir: PathBuf,
    run_dir: PathBuf,
    home: PathBuf,
    outside: PathBuf,
    plan: Plan,
}

impl Fixture {
    fn new(permissions: &str, worktree: bool) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        let repo = root.join("repo");
        let home = root.join("home");
        let outside = root.join("outside");
        for d in [&repo, &home, &outside] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "user.email", "t@example.com"]);
        git(&repo, &["config", "user.name", "t"]);
        std::fs::create_dir_all(repo.join("src/auth")).expect("mkdir");
        std::fs::write(repo.join("src/a.txt"), "a\n").expect("write");
        std::fs::write(repo.join("src/auth/b.txt"), "b\n").expect("write");
        std::fs::write(repo.join("README.md"), "readme\n").expect("write");
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "start"]);
        git(&repo, &["branch", "other"]);
        std::fs::write(repo.join(".git/info/exclude"), ".night/\n").expect("exclude");
        let work_dir = if worktree {
            let wt = repo.join(".night/worktrees/t");
            std::fs::create_dir_all(wt.parent().expect("parent")).expect("mkdir");
            git(&repo, &["worktree", "add", "-q", "-b", "night/t/1", wt.to_str().expect("utf-8")]);
            wt
        } else {
            git(&repo, &["switch", "-q", "-c", "night/t/1"]);
            repo.clone()
        };
        let run_dir = repo.join(".night/runs/t");
        std::fs::create_dir_all(&run_dir).expect("mkdir");
        std::fs::write(run_dir.join("journal.jsonl"), "{}\n").expect("journal");
        let text = format!(
            "name \"t\"\ntask {{\n  prompt \"fix the tests in src\"\n  agent command \"true\"\n  repo \"repo\"\n}}\nsuccess {{\n  run \"test -f src/done\"\n}}\npermissions {{\n{permissions}\n  deny irreversible\n}}\nlimits {{\n  timeout 1h\n  attempts 1\n  cost $1\n}}\nnotify {{\n  webhook env.NIGHT_TEST_SECRET on end\n}}\nwaive write-unbounded \"the worktree test writes everywhere\"\n"
        );
        let runbook = root.join("t.night");
        std::fs::write(&runbook, &text).expect("runbook");
        let source = Source::new(&runbook, text);
        let lookup = |name: &str| (name == "NIGHT_TEST_SECRET").then(|| "https://hooks.example/s3cret".to_string());
        let outcome = night::checklist::check(&source, &lookup);
        let plan = outcome.plan.unwrap_or_else(|| panic!("the runbook checks: {:#?}", outcome.diagnostics));
        Fixture { _dir: dir, repo, work_dir, run_dir, home, outside, plan }
    }

    fn spec(&self) -> SandboxSpec {
        SandboxSpec::from_plan(&self.plan, &self.work_dir, &self.repo.join(".git"), &self.run_dir, Some(&self.home))
    }

    fn layers(&self, spec: &SandboxSpec) -> ActiveLayers {
        sandbox::layers(spec, &sandbox::probe(), Sandbox::On).expect("sandbox on works here")
    }

    /// Run `script` under the sandbox with night's git guard around it, as a session does:
    /// the output, and what the guard found and put back.
    fn run_guarded(&self, spec: &SandboxSpec, layers: &ActiveLayers, script: &str) -> (Output, Vec<String>) {
        let git = spec.git.as_ref().expect("a git work dir");
        let guard = sandbox::git::GitGuard::before(git, &self.run_dir).expect("guard");
        let output = self.run(spec, layers, script);
        (output, guard.after())
    }

    /// Run `script` with bash under the sandbox in the work dir, with the agent's environment.
    fn run(&self, spec: &SandboxSpec, layers: &ActiveLayers, script: &str) -> Output {
        let prepared = Arc::new(sandbox::prepare(spec, layers).expect("prepare"));
        let night = [("NIGHT_RUN_ID".to_string(), "t".to_string()), ("NIGHT_RUN_DIR".to_string(), self.run_dir.display().to_string())];
        let env = agent_env(&self.plan, spec, layers, &night, prepared.proxy_port());
        let mut command = Command::new("bash");
        command.arg("-c").arg(script).current_dir(&self.work_dir).env("NIGHT_TEST_SECRET", "https://hooks.example/s3cret");
        for name in &env.remove {
            command.env_remove(name);
        }
        command.envs(env.set.iter().map(|(k, v)| (k, v)));
        prepared.install_std(&mut command);
        let output = command.output();
        match output {
            Ok(output) => output,
            Err(e) => panic!("spawn failed at {:?}: {e}", prepared.failed_step()),
        }
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn the_kernel_offers_what_the_sandbox_needs() {
    let caps = sandbox::probe();
    eprintln!("sandbox capabilities: {caps:?}");
    if !landlock_and_namespaces() {
        return;
    }
    // Cached: a second probe gives the same answer without new system calls.
    assert_eq!(sandbox::probe(), caps);
}

#[test]
fn writes_outside_the_allowlist_are_refused_by_the_kernel() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"src/auth/**\"", false);
    let spec = fixture.spec();
    assert!(spec.writable.contains(&fixture.repo.join("src/auth")), "{:?}", spec.writable);
    let layers = fixture.layers(&spec);
    let outside = fixture.outside.join("x");
    let script = format!(
        "echo new > src/auth/c.txt && echo ok-inside\n\
         echo x > README.md 2>&1 || echo refused-readme\n\
         echo x > src/a.txt 2>&1 || echo refused-src\n\
         echo x > {outside} 2>&1 || echo refused-outside\n\
         truncate -s0 README.md 2>&1 || echo refused-truncate\n\
         rm -f README.md 2>&1 || echo refused-rm\n\
         mv src/auth/b.txt src/b.txt 2>&1 || echo refused-rename\n\
         echo x > \"$TMPDIR/t\" && echo ok-tmp\n\
         echo x > /dev/null && echo ok-devnull\n\
         echo ok-stdout > /dev/stdout; echo ok-stderr > /dev/stderr\n\
         mktemp > /dev/null && echo ok-mktemp\n\
         echo x > /tmp/night-sandbox-test 2>&1 || echo refused-host-tmp",
        outside = outside.display()
    );
    let output = fixture.run(&spec, &layers, &script);
    let said = text(&output);
    let expected = [
        "ok-inside", "refused-readme", "refused-src", "refused-outside", "refused-truncate", "refused-rm", "refused-rename", "ok-tmp",
        "ok-devnull", "ok-stdout", "ok-stderr", "ok-mktemp", "refused-host-tmp",
    ];
    for expected in expected {
        assert!(said.contains(expected), "missing {expected} in:\n{said}");
    }
    assert!(said.contains("Permission denied"), "Landlock answers EACCES:\n{said}");
    assert_eq!(std::fs::read_to_string(fixture.repo.join("README.md")).expect("readme"), "readme\n");
    assert!(!outside.exists());
    assert_eq!(std::fs::read_to_string(fixture.repo.join("src/auth/c.txt")).expect("written"), "new\n");
}

#[test]
fn the_agent_commits_in_place_but_cannot_touch_the_users_branches_or_git_config() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"src/**\"", false);
    let main_before = git(&fixture.repo, &["rev-parse", "main"]);
    let spec = fixture.spec();
    let layers = fixture.layers(&spec);
    let script = "echo done > src/done && git add src/done && git commit -q -m 'agent work' && echo committed\n\
         git branch -f main HEAD 2>&1 || echo refused-move-main\n\
         git update-ref refs/heads/other HEAD 2>&1 || echo refused-update-ref\n\
         git config core.hooksPath /tmp/evil 2>&1 || echo refused-config\n\
         echo evil > .git/hooks/pre-commit 2>&1 || echo refused-hook\n\
         echo '{}' > .night/runs/t/journal.jsonl 2>&1 || echo refused-journal\n\
         echo '{\"tool\":\"Bash\"}' >> \"$NIGHT_RUN_DIR/audit.jsonl\" && echo ok-audit\n\
         git reset -q --hard HEAD~1 && git reset -q --hard HEAD@{1} && echo reset-on-run-branch\n\
         echo 'gitdir: /tmp/evil' > .git/commondir && echo wrote-commondir\n";
    let (output, found) = fixture.run_guarded(&spec, &layers, script);
    let said = text(&output);
    let expected = ["committed", "refused-move-main", "refused-update-ref", "refused-config", "refused-hook", "refused-journal", "ok-audit", "reset-on-run-branch", "wrote-commondir"];
    for expected in expected {
        assert!(said.contains(expected), "missing {expected} in:\n{said}");
    }
    assert!(found.iter().any(|f| f.contains("`.git/commondir` (removed)")), "{found:?}");
    assert!(!fixture.repo.join(".git/commondir").exists());
    assert_eq!(git(&fixture.repo, &["rev-parse", "main"]), main_before, "main never moves");
    assert_eq!(git(&fixture.repo, &["rev-parse", "other"]), main_before, "other never moves");
    // The agent's commit is on the run branch, and its objects are in the repository itself
    // once the guard copied them: the run's store can go.
    assert_eq!(git(&fixture.repo, &["log", "-1", "--format=%s", "night/t/1"]), "agent work");
    sandbox::git::GitGuard::finish_run(&fixture.repo.join(".git"), &fixture.run_dir).expect("finish");
    std::fs::remove_dir_all(fixture.run_dir.join("objects")).expect("remove the run's store");
    git(&fixture.repo, &["fsck", "--no-dangling"]);
    assert_eq!(git(&fixture.repo, &["log", "-1", "--format=%s", "night/t/1"]), "agent work");

    // A second session: `rm -rf .git` reaches only git's scratch files and the session's own
    // objects; the user's history, config and branches stay, and the repository stays whole.
    let script = "echo more > src/more && git add src/more && git commit -q -m 'more work' && echo committed-more\n\
         rm -rf .git 2>&1 | tail -1; test -f .git/config && echo config-survives\n";
    let (output, found) = fixture.run_guarded(&spec, &layers, script);
    let said = text(&output);
    assert!(said.contains("committed-more") && said.contains("config-survives"), "{said}");
    assert!(found.iter().any(|f| f.contains("deleted the run branch")), "{found:?}");
    assert_eq!(git(&fixture.repo, &["log", "--format=%s", "main"]), "start");
    assert_eq!(git(&fixture.repo, &["log", "-1", "--format=%s", "night/t/1"]), "agent work", "back at the last commit that still exists");
    git(&fixture.repo, &["fsck", "--no-dangling"]);
    assert_eq!(std::fs::read_to_string(fixture.run_dir.join("journal.jsonl")).expect("journal"), "{}\n");
    assert!(!fixture.repo.join(".git/hooks/pre-commit").exists());
}

#[test]
fn the_agent_commits_in_a_worktree_and_cannot_cut_it_from_the_repository() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"**\"", true);
    let main_before = git(&fixture.repo, &["rev-parse", "main"]);
    let spec = fixture.spec();
    let layers = fixture.layers(&spec);
    let script = "echo done > src/done && git add -A && git commit -q -m 'agent work' && echo committed\n\
         rm -rf .git 2>&1 || echo refused-rm-gitfile\n\
         echo x > ../../../README.md 2>&1 || echo refused-main-checkout\n\
         git -C ../../.. branch -f main HEAD 2>&1 || echo refused-move-main\n\
         rm -rf ../../../.git/objects/pack 2>&1 | tail -1\n\
         git branch -D other 2>&1 || echo refused-delete-other\n\
         echo x > ../../../.git/HEAD 2>&1 || echo refused-main-head\n\
         echo x > ../../../.git/index 2>&1 || echo refused-main-index\n\
         echo '[core]' >> ../../../.git/config 2>&1 || echo refused-main-config\n\
         echo x > ../../../.git/hooks/pre-commit 2>&1 || echo refused-main-hook\n\
         echo x > ../../../.git/worktrees/other 2>&1 || echo refused-worktrees\n\
         echo 'gitdir: /tmp/evil' > ../../../.git/commondir 2>&1 && echo wrote-commondir\n\
         git update-ref -d refs/heads/night/t/1 && echo deleted-run-branch\n";
    let (output, found) = fixture.run_guarded(&spec, &layers, script);
    let said = text(&output);
    let expected = ["committed", "refused-rm-gitfile", "refused-main-checkout", "refused-move-main", "refused-delete-other", "refused-main-head", "refused-main-index"];
    for expected in expected.into_iter().chain(["refused-main-config", "refused-main-hook", "refused-worktrees", "wrote-commondir", "deleted-run-branch"]) {
        assert!(said.contains(expected), "missing {expected} in:\n{said}");
    }
    // A commit deletes git's pseudo-refs (AUTO_MERGE), which locks the shared `packed-refs`:
    // git's own work, never a refusal to report.
    assert!(!said.contains("packed-refs.lock"), "git's lock of packed-refs was refused:\n{said}");
    assert!(found.iter().any(|f| f.contains("`.git/commondir` (removed)")), "{found:?}");
    assert!(!fixture.repo.join(".git/commondir").exists());
    assert!(found.iter().any(|f| f.contains("deleted the run branch")), "{found:?}");
    assert!(fixture.work_dir.join(".git").is_file());
    assert_eq!(git(&fixture.repo, &["rev-parse", "main"]), main_before);
    assert_eq!(git(&fixture.repo, &["rev-parse", "other"]), main_before);
    assert_eq!(git(&fixture.repo, &["log", "--format=%s", "main"]), "start");
    // Recreated at the last commit HEAD's reflog names.
    assert_eq!(git(&fixture.work_dir, &["log", "-1", "--format=%s"]), "agent work");
}

#[test]
fn landlock_alone_still_keeps_git_and_the_run_folder_read_only() {
    let caps = sandbox::probe();
    if !require(caps.landlock_abi.is_some_and(|abi| abi >= sandbox::LANDLOCK_MIN_ABI), "Landlock ABI 3 or later") {
        return;
    }
    // `sandbox auto` on a kernel with Landlock but without user namespaces.
    let fixture = Fixture::new("  write \"**\"", false);
    let spec = fixture.spec();
    let bare = sandbox::Capabilities { user_namespaces: false, mount_namespaces: false, network_namespaces: false, ..caps };
    let layers = sandbox::layers(&spec, &bare, Sandbox::Auto).expect("auto");
    assert!(layers.landlock.is_some() && !layers.mounts, "{layers:?}");
    assert!(layers.gaps.iter().any(|g| g.contains("cannot commit")), "{:?}", layers.gaps);
    let script = "echo x > src/a.txt && echo ok-src\n\
         echo x >> README.md && echo ok-root-file\n\
         echo x > .git/config 2>&1 || echo refused-config\n\
         rm -rf .git/objects 2>&1 | tail -1; git log -1 --format=%s main\n\
         echo '{}' > .night/runs/t/journal.jsonl 2>&1 || echo refused-journal\n\
         git commit -qam work 2>&1 || echo refused-commit\n";
    let said = text(&fixture.run(&spec, &layers, script));
    for expected in ["ok-src", "ok-root-file", "refused-config", "start", "refused-journal", "refused-commit"] {
        assert!(said.contains(expected), "missing {expected} in:\n{said}");
    }
}

#[test]
fn landlock_alone_keeps_the_credential_stores_unreadable_and_names_what_it_cannot_hide() {
    let caps = sandbox::probe();
    if !require(caps.landlock_abi.is_some_and(|abi| abi >= sandbox::LANDLOCK_MIN_ABI), "Landlock ABI 3 or later") {
        return;
    }
    let fixture = Fixture::new("  write \"src/**\"", false);
    std::fs::create_dir_all(fixture.home.join(".ssh")).expect("mkdir");
    std::fs::write(fixture.home.join(".ssh/id_ed25519"), "ssh-key-e41\n").expect("write");
    std::fs::write(fixture.home.join(".npmrc"), "npm-token-7d2\n").expect("write");
    std::fs::write(fixture.home.join("notes.txt"), "plain-notes\n").expect("write");
    git(&fixture.repo, &["config", "remote.origin.url", "https://x-access-token:git-token-c19@127.0.0.1:9/a.git"]);
    let spec = fixture.spec();
    // `sandbox auto` on a kernel with Landlock but without user namespaces.
    let bare = sandbox::Capabilities { user_namespaces: false, mount_namespaces: false, network_namespaces: false, ..caps };
    let layers = sandbox::layers(&spec, &bare, Sandbox::Auto).expect("auto");
    assert!(layers.hides_stores() && !layers.mounts, "{layers:?}");
    let home = fixture.home.display();
    let script = format!("cat {home}/.ssh/id_ed25519 2>&1; cat {home}/.npmrc 2>&1; ls {home}/.ssh 2>&1; cat {home}/notes.txt\n");
    let said = text(&fixture.run(&spec, &layers, &script));
    assert!(said.contains("plain-notes"), "the rest of the home folder stays readable:\n{said}");
    assert!(!said.contains("ssh-key-e41") && !said.contains("npm-token-7d2"), "{said}");
    // What Landlock cannot hide is named, with how to get the layer that can.
    let gaps = layers.gaps.join("\n");
    assert!(gaps.contains("SSH agent's and other host sockets"), "{gaps}");
    assert!(gaps.contains("credentials in git's configuration") && gaps.contains(".git/config") && gaps.contains("unprivileged user namespaces"), "{gaps}");
}

#[test]
fn tool_caches_are_copy_on_write_and_the_users_stay_as_they_were() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"src/**\"", false);
    std::fs::create_dir_all(fixture.home.join(".cargo/registry/src/some-crate")).expect("mkdir");
    std::fs::write(fixture.home.join(".cargo/registry/src/some-crate/lib.rs"), "fn honest() {}\n").expect("write");
    std::fs::create_dir_all(fixture.home.join(".cargo/bin")).expect("mkdir");
    std::fs::create_dir_all(fixture.home.join(".cache")).expect("mkdir");
    let spec = fixture.spec();
    let layers = fixture.layers(&spec);
    let script = "echo 'fn evil() {}' > ~/.cargo/registry/src/some-crate/lib.rs && cat ~/.cargo/registry/src/some-crate/lib.rs\n\
         mkdir -p ~/.cache/tool && echo cached > ~/.cache/tool/entry && cat ~/.cache/tool/entry\n\
         echo evil > ~/.cargo/bin/cargo 2>&1 || echo refused-cargo-bin\n\
         echo evil > ~/.bashrc 2>&1 || echo refused-bashrc\n";
    let said = text(&fixture.run(&spec, &layers, &script.replace('~', &fixture.home.display().to_string())));
    for expected in ["fn evil() {}", "cached", "refused-cargo-bin", "refused-bashrc"] {
        assert!(said.contains(expected), "missing {expected} in:\n{said}");
    }
    assert_eq!(std::fs::read_to_string(fixture.home.join(".cargo/registry/src/some-crate/lib.rs")).expect("crate"), "fn honest() {}\n");
    assert!(!fixture.home.join(".cache/tool").exists() && !fixture.home.join(".cargo/bin/cargo").exists());
    // The agent's changes are kept in the run folder, for the next session of the run.
    let state = std::fs::read_dir(fixture.run_dir.join("state")).expect("state").flatten().map(|e| e.path()).collect::<Vec<_>>();
    assert!(state.iter().any(|s| s.join("upper/tool/entry").exists()), "{state:?}");
}

#[test]
fn the_temp_folder_is_private_and_capped() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"src/**\"", false);
    let mut spec = fixture.spec();
    for mount in &mut spec.mounts {
        if let MountKind::Tmpfs { size, .. } = &mut mount.kind {
            *size = 1 << 20;
        }
    }
    let layers = fixture.layers(&spec);
    let output = fixture.run(&spec, &layers, "dd if=/dev/zero of=\"$TMPDIR/fill\" bs=64k count=64 2>&1; echo exit=$?");
    let said = text(&output);
    assert!(said.contains("No space left on device") && !said.contains("exit=0"), "{said}");
    // The host never saw the file: the tmpfs lived in the agent's namespace.
    assert!(!fixture.run_dir.join("tmp/fill").exists());
}

#[test]
fn night_secrets_are_not_in_the_agents_environment() {
    let fixture = Fixture::new("  write \"src/**\"", false);
    let spec = fixture.spec();
    // The environment is cleaned whatever the kernel offers, even with the sandbox off.
    let layers = sandbox::layers(&spec, &sandbox::probe(), Sandbox::Off).expect("off");
    let output = fixture.run(&spec, &layers, "echo secret=${NIGHT_TEST_SECRET:-absent} run=$NIGHT_RUN_ID sandbox=$NIGHT_SANDBOX");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "secret=absent run=t sandbox=off");
}

/// A TCP server on the host's 127.0.0.1 that answers every connection with `hello`.
fn hello_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        use std::io::Write;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.write_all(b"hello\n");
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    (port, handle)
}

const CONNECT_SCRIPT: &str = "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -1 <&3 || echo refused";

#[test]
fn network_off_refuses_a_connection_to_the_hosts_loopback_and_network_on_allows_it() {
    if !landlock_and_namespaces() {
        return;
    }
    let (port, _server) = hello_server();
    let script = CONNECT_SCRIPT.replace("$PORT", &port.to_string());
    let off = Fixture::new("  write \"src/**\"\n  network off", false);
    let spec = off.spec();
    let layers = off.layers(&spec);
    assert!(layers.network_namespace && layers.proxy.is_none(), "{layers:?}");
    let said = text(&off.run(&spec, &layers, &script));
    assert!(said.contains("refused") && !said.contains("hello"), "{said}");

    let on = Fixture::new("  write \"src/**\"\n  network on", false);
    let spec = on.spec();
    let layers = on.layers(&spec);
    assert!(!layers.network_namespace);
    let said = text(&on.run(&spec, &layers, &script));
    assert!(said.contains("hello"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_allow_goes_through_nights_proxy_only() {
    if !landlock_and_namespaces() {
        return;
    }
    let (port, _server) = hello_server();
    let (denied_port, _other) = hello_server();
    let fixture = Fixture::new(&format!("  write \"src/**\"\n  network allow \"127.0.0.1:{port}\""), false);
    let spec = fixture.spec();
    let layers = fixture.layers(&spec);
    assert_eq!(layers.proxy.as_deref(), Some(&[format!("127.0.0.1:{port}")][..]));
    let prepared = Arc::new(sandbox::prepare(&spec, &layers).expect("prepare"));
    let env = agent_env(&fixture.plan, &spec, &layers, &[], prepared.proxy_port());
    // Through the proxy named in HTTPS_PROXY: CONNECT to the allowed port, then to another;
    // and directly, which the namespace makes impossible.
    let script = format!(
        "proxy=${{HTTPS_PROXY#http://}}; host=${{proxy%:*}}; pport=${{proxy##*:}}\n\
         exec 3<>/dev/tcp/$host/$pport; printf 'CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\n\\r\\n' >&3; head -3 <&3 | tr -d '\\r'; exec 3>&-\n\
         exec 4<>/dev/tcp/$host/$pport; printf 'CONNECT 127.0.0.1:{denied_port} HTTP/1.1\\r\\n\\r\\n' >&4; head -1 <&4 | tr -d '\\r'; exec 4>&-\n\
         (exec 5<>/dev/tcp/127.0.0.1/{port} && echo direct-connected) 2>/dev/null || echo direct-refused"
    );
    let mut command = tokio::process::Command::new("bash");
    command.arg("-c").arg(&script).current_dir(&fixture.work_dir);
    for name in &env.remove {
        command.env_remove(name);
    }
    command.envs(env.set.iter().map(|(k, v)| (k, v)));
    prepared.install(&mut command);
    let child = command.stdout(std::process::Stdio::piped()).spawn().expect("spawn");
    let proxy = prepared.start_proxy().expect("listener").expect("a proxy");
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output()).await.expect("in time").expect("output");
    let said = text(&output);
    assert!(said.contains("200 Connection established") && said.contains("hello"), "{said}");
    assert!(said.contains("403 Forbidden"), "{said}");
    assert!(said.contains("direct-refused") && !said.contains("direct-connected"), "{said}");
    let destinations = proxy.destinations();
    assert!(destinations.iter().any(|d| d.allowed && d.target == format!("127.0.0.1:{port}")), "{destinations:?}");
    assert!(destinations.iter().any(|d| !d.allowed && d.target == format!("127.0.0.1:{denied_port}")), "{destinations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_namespaces_landlock_lets_tcp_reach_only_nights_proxy() {
    let caps = sandbox::probe();
    if !require(caps.landlock_abi.is_some_and(|abi| abi >= 4), "Landlock ABI 4 or later") {
        return;
    }
    // `sandbox auto` where user namespaces are not allowed (e.g. Ubuntu's AppArmor default).
    let bare = sandbox::Capabilities { user_namespaces: false, mount_namespaces: false, network_namespaces: false, ..caps };
    let (port, _server) = hello_server();
    let (denied_port, _other) = hello_server();

    let off = Fixture::new("  write \"src/**\"\n  network off", false);
    let spec = off.spec();
    let layers = sandbox::layers(&spec, &bare, Sandbox::Auto).expect("auto");
    assert!(layers.landlock_tcp && layers.proxy.is_none(), "{layers:?}");
    let said = text(&off.run(&spec, &layers, &CONNECT_SCRIPT.replace("$PORT", &port.to_string())));
    assert!(said.contains("refused") && !said.contains("hello"), "{said}");

    let fixture = Fixture::new(&format!("  write \"src/**\"\n  network allow \"127.0.0.1:{port}\""), false);
    let spec = fixture.spec();
    let layers = sandbox::layers(&spec, &bare, Sandbox::Auto).expect("auto");
    assert!(layers.landlock_tcp && layers.proxy.is_some(), "{layers:?}");
    let prepared = Arc::new(sandbox::prepare(&spec, &layers).expect("prepare"));
    let env = agent_env(&fixture.plan, &spec, &layers, &[], prepared.proxy_port());
    let script = format!(
        "proxy=${{HTTPS_PROXY#http://}}; host=${{proxy%:*}}; pport=${{proxy##*:}}\n\
         exec 3<>/dev/tcp/$host/$pport; printf 'CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\n\\r\\n' >&3; head -3 <&3 | tr -d '\\r'; exec 3>&-\n\
         exec 4<>/dev/tcp/$host/$pport; printf 'CONNECT 127.0.0.1:{denied_port} HTTP/1.1\\r\\n\\r\\n' >&4; head -1 <&4 | tr -d '\\r'; exec 4>&-\n\
         (exec 5<>/dev/tcp/127.0.0.1/{port} && echo direct-connected) 2>/dev/null || echo direct-refused"
    );
    let mut command = tokio::process::Command::new("bash");
    command.arg("-c").arg(&script).current_dir(&fixture.work_dir);
    for name in &env.remove {
        command.env_remove(name);
    }
    command.envs(env.set.iter().map(|(k, v)| (k, v)));
    prepared.install(&mut command);
    let child = command.stdout(std::process::Stdio::piped()).spawn().expect("spawn");
    let _proxy = prepared.start_proxy().expect("listener").expect("a proxy");
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output()).await.expect("in time").expect("output");
    let said = text(&output);
    assert!(said.contains("200 Connection established") && said.contains("hello"), "{said}");
    assert!(said.contains("403 Forbidden") && said.contains("direct-refused"), "{said}");
}

#[test]
fn forking_is_capped_for_a_non_root_agent() {
    if !landlock_and_namespaces() {
        return;
    }
    let fixture = Fixture::new("  write \"src/**\"", false);
    let mut spec = fixture.spec();
    spec.max_processes = 16;
    let mut caps = sandbox::probe();
    let root = caps.root;
    // The kernel exempts root from RLIMIT_NPROC: as root, run the agent as `nobody`.
    caps.root = false;
    let mut layers = sandbox::layers(&spec, &caps, Sandbox::On).expect("on");
    // `nobody` cannot reach the fixture's folders to mount them; the limit needs no mounts.
    layers.mounts = false;
    let mut prepared = sandbox::prepare(&spec, &layers).expect("prepare");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg("n=0; for i in $(seq 40); do sleep 1 & n=$((n+1)); done 2>&1; wait; echo forked=$n")
        .current_dir("/");
    if root {
        use std::os::unix::process::CommandExt;
        command.uid(65534).gid(65534);
        prepared.run_as(65534, 65534);
    }
    let prepared = Arc::new(prepared);
    prepared.install_std(&mut command);
    let output = command.output().unwrap_or_else(|e| panic!("spawn failed at {:?}: {e}", prepared.failed_step()));
    let said = text(&output);
    assert!(said.contains("Resource temporarily unavailable") || said.contains("retry: "), "{said}");
}

#[test]
fn sandbox_on_refuses_without_a_layer_and_auto_reports_the_gap() {
    let fixture = Fixture::new("  write \"src/**\"\n  network off", false);
    let spec = fixture.spec();
    let bare = sandbox::Capabilities {
        landlock_abi: None,
        landlock_error: Some("the kernel has no Landlock".into()),
        user_namespaces: false,
        mount_namespaces: false,
        network_namespaces: false,
        namespace_error: Some("user namespaces cannot be created".into()),
        root: false,
    };
    let error = sandbox::layers(&spec, &bare, Sandbox::On).expect_err("refused").to_string();
    assert!(error.contains("Landlock ABI 3 or later") && error.contains("sandbox auto"), "{error}");
    let old = sandbox::Capabilities { landlock_abi: Some(7), ..bare.clone() };
    let error = sandbox::layers(&spec, &old, Sandbox::On).expect_err("refused").to_string();
    assert!(error.contains("namespaces"), "{error}");
    let auto = sandbox::layers(&spec, &bare, Sandbox::Auto).expect("auto runs");
    assert!(!auto.any());
    assert!(auto.gaps.iter().any(|g| g.contains("Landlock")) && auto.gaps.iter().any(|g| g.contains("`network` is not enforced")), "{:?}", auto.gaps);
    let off = sandbox::layers(&spec, &bare, Sandbox::Off).expect("off");
    assert!(!off.any());
}
