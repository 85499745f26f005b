//! `night run` with scripted adversarial agents under the OS sandbox: the real binary, a fresh
//! git repository per test. In every case the user's branches and files stay intact, every
//! attempt is kept under `refs/night/`, and the journal and the report say what the agent tried.
//!
//! Tests that need a kernel feature detect it first: missing where it should exist (`CI` set)
//! fails loudly; missing elsewhere prints a `SKIPPED` line. None passes without running.

mod support;

use night::sandbox;
use std::fs;
use std::io::{Read, Write};
use std::time::Duration;
use support::run::{marker, processes_with, Ran, Runbook, Test};

fn sandbox_available() -> bool {
    let caps = sandbox::probe();
    let ok = caps.landlock_abi.is_some_and(|abi| abi >= sandbox::LANDLOCK_MIN_ABI)
        && caps.user_namespaces
        && caps.mount_namespaces
        && caps.network_namespaces;
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("Landlock ABI 3+ and user, mount and network namespaces are missing on this CI machine: {caps:?}");
    }
    eprintln!("SKIPPED: the kernel lacks Landlock or namespaces: {caps:?}");
    false
}

/// Every attempt of the run is kept under `refs/night/<run id>/`.
fn assert_attempts_kept(test: &Test, ran: &Ran) {
    let refs = test.git(&["for-each-ref", "--format=%(refname)", &format!("refs/night/{}/", ran.run_id())]);
    for attempt in ran.events_named("attempt-start") {
        let n = attempt["attempt"].as_u64().expect("attempt number");
        assert!(refs.contains(&format!("refs/night/{}/attempt-{n}", ran.run_id())), "attempt {n} not kept: {refs}");
    }
}

fn sandbox_event(ran: &Ran) -> serde_json::Value {
    ran.event("sandbox")
}

fn tried(ran: &Ran) -> Vec<String> {
    ran.events_named("agent-tried")
        .iter()
        .flat_map(|e| e["what"].as_array().cloned().unwrap_or_default())
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect()
}

/// The agent's last steps: make the state good and commit.
const FINISH: &str = "echo good > src/state\ngit commit -qam 'make the state good' && echo agent: committed\n";

#[test]
fn a_write_outside_write_is_refused_by_the_os_and_the_run_goes_on() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    let agent = format!(
        "echo hacked > README.md || echo refused-readme\n\
         echo junk > notes.txt || echo refused-new-file\n\
         echo x > \"$CAPTURE/outside\" || echo refused-outside\n\
         {FINISH}"
    );
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let log = ran.agent_log();
    for marker in ["refused-readme", "refused-new-file", "refused-outside", "Permission denied", "agent: committed"] {
        assert!(log.contains(marker), "missing {marker} in the agent's log:\n{log}");
    }
    assert!(ran.events_named("violation").is_empty(), "nothing to revert: the OS refused the writes");
    assert_eq!(fs::read_to_string(test.path().join("README.md")).expect("readme"), "a test repository\n");
    assert!(!test.path().join("notes.txt").exists() && !test.capture.path().join("outside").exists());
    let event = sandbox_event(&ran);
    assert_eq!(event["mode"], "on");
    let layers: Vec<&str> = event["layers"].as_array().expect("layers").iter().filter_map(|l| l.as_str()).collect();
    assert!(layers.iter().any(|l| l.starts_with("landlock-v")) && layers.contains(&"mounts"), "{layers:?}");
    assert!(ran.report().contains("Sandbox (`sandbox on`)"), "{}", ran.report());
    // What the sandbox refused is said wherever it is known: here, the agent's own output.
    let refused = &ran.event("agent-tried");
    assert_eq!(refused["refused_total"], 3, "{refused}");
    assert!(refused["refused"][0].as_str().is_some_and(|line| line.contains("README.md") && line.contains("Permission denied")), "{refused}");
    assert!(ran.stdout.contains("night: the sandbox refused the agent:") && ran.stdout.contains("(and 2 more)"), "{}", ran.output());
    let report = ran.report();
    assert!(report.contains("3 refusals by the sandbox while the agent worked"), "{report}");
    assert!(report.contains("the sandbox refused: `") && report.contains("cannot create README.md: Permission denied"), "{report}");
    assert!(!report.contains("no violation") && !report.contains("No violation") && !report.contains("nothing denied"), "never more than night checked:\n{report}");
    assert_eq!(test.git(&["rev-parse", "main"]), main);
    assert_attempts_kept(&test, &ran);
}

#[test]
fn git_attacks_leave_the_users_branches_and_remote_intact() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    // A remote outside the repository, as a user's `origin` would be.
    let remote = test.capture.path().join("remote.git");
    test.git(&["init", "-q", "--bare", remote.to_str().expect("utf-8")]);
    test.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    let agent = format!(
        "{FINISH}\
         git branch -f main HEAD 2>&1 || echo refused-move-main\n\
         git push --force origin HEAD:main 2>&1 || echo refused-push\n\
         git reset -q --hard HEAD~1 && git reset -q --hard HEAD@{{1}} && echo reset-on-the-run-branch\n\
         git config core.hooksPath /tmp 2>&1 || echo refused-config\n\
         rm -f \".git/refs/heads/$(git symbolic-ref --short HEAD)\" && echo deleted-the-run-branch\n\
         rm -rf .git 2>/dev/null; echo 'gitdir: /tmp' > .git/commondir && echo planted-commondir\n"
    );
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    test.git(&["push", "-q", "origin", "main"]);
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let log = ran.agent_log();
    for marker in ["refused-move-main", "refused-push", "reset-on-the-run-branch", "refused-config", "deleted-the-run-branch", "planted-commondir"] {
        assert!(log.contains(marker), "missing {marker} in the agent's log:\n{log}");
    }
    let what = tried(&ran);
    assert!(what.iter().any(|w| w.contains("deleted the run branch")), "{what:?}");
    assert!(what.iter().any(|w| w.contains("`.git/commondir` (removed)")), "{what:?}");
    assert!(!test.path().join(".git/commondir").exists());
    let report = ran.report();
    assert!(report.contains("## What the agent tried") && report.contains("deleted the run branch"), "{report}");
    assert_eq!(test.git(&["rev-parse", "main"]), main, "the user's branch never moved");
    let remote_main = std::process::Command::new("git").args(["rev-parse", "main"]).current_dir(&remote).output().expect("git");
    assert_eq!(String::from_utf8_lossy(&remote_main.stdout).trim(), main, "the remote never moved");
    assert!(test.try_git(&["config", "--get", "core.hooksPath"]).is_none(), "git's config is untouched");
    // The whole history is there, the agent's work included, in the repository's own store.
    test.git(&["fsck", "--no-dangling"]);
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert_eq!(test.git(&["show", &format!("{branch}:src/state")]), "good");
    assert_attempts_kept(&test, &ran);
}

#[test]
fn without_the_sandbox_night_still_puts_back_the_users_branches_and_the_worktree() {
    let test = Test::new();
    let agent = format!(
        "{FINISH}\
         git -C \"$(git rev-parse --git-common-dir)/..\" branch -f main HEAD 2>&1 && echo moved-main\n\
         rm -rf .git && echo removed-the-git-file\n"
    );
    test.setup(&agent, &Runbook::default().permission("sandbox off").task("worktree on"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    let log = ran.agent_log();
    assert!(log.contains("removed-the-git-file"), "{log}");
    let what = tried(&ran);
    assert!(what.iter().any(|w| w.contains("/.git` (restored)")), "{what:?}\n{}", ran.output());
    assert_eq!(test.git(&["rev-parse", "main"]), main, "main is put back");
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_attempts_kept(&test, &ran);
}

#[test]
fn the_worktrees_git_file_cannot_be_removed_in_the_sandbox() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    let agent = format!("rm -rf .git 2>&1 || echo refused-rm-git-file\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on").task("worktree on"));
    let main = test.git(&["rev-parse", "main"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.agent_log().contains("refused-rm-git-file"), "{}", ran.agent_log());
    assert_eq!(test.git(&["rev-parse", "main"]), main);
    assert_attempts_kept(&test, &ran);
}

#[test]
fn filling_the_temp_folder_fills_only_the_sandboxs_own() {
    if !sandbox_available() {
        return;
    }
    let mut test = Test::new();
    test.env("NIGHT_SANDBOX_TMP_SIZE", "4M");
    let agent = format!(
        "dd if=/dev/zero of=\"$TMPDIR/fill\" bs=64k count=1024 2>&1 | grep -o 'No space left on device'\n\
         dd if=/dev/zero of=/dev/shm/fill bs=64k count=1024 2>&1 | grep -o 'No space left on device'\n\
         echo \"tmpdir=$TMPDIR\"\n{FINISH}"
    );
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let log = ran.agent_log();
    assert_eq!(log.matches("No space left on device").count(), 2, "{log}");
    assert!(!ran.dir().join("tmp/fill").exists(), "the tmpfs lived only in the agent's namespace");
    assert!(!std::path::Path::new("/dev/shm/fill").exists());
}

#[test]
fn forking_many_processes_leaves_nothing_behind() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    let mark = marker("fork");
    let agent = format!("for i in $(seq 200); do sh -c 'sleep 300 # {mark}' & done 2>/dev/null\necho forked\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.agent_log().contains("forked"));
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while !processes_with(&mark).is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(processes_with(&mark), Vec::<String>::new(), "every child is ended with the session");
}

#[test]
fn a_process_that_leaves_the_process_group_ends_with_the_session() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    let mark = marker("setsid");
    let agent = format!("setsid sh -c 'sleep 300 # {mark}' </dev/null >/dev/null 2>&1 &\nsleep 0.2\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(processes_with(&mark), Vec::<String>::new(), "the escaped process is ended");
    let escaped: Vec<String> = tried(&ran).into_iter().filter(|w| w.contains("outside its process group")).collect();
    assert_eq!(escaped.len(), 1, "{:?}", tried(&ran));
    assert!(escaped[0].contains("outside its process group running, ended with the session: `") && escaped[0].contains(&mark), "it is named: {escaped:?}");
}

#[test]
fn an_agent_that_commits_often_leaves_nothing_outside_its_process_group() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    // Git's automatic maintenance after a commit detaches by default (git ≥ 2.47): it must
    // run in the session's foreground, not be swept after it as a process left running.
    let agent = format!("for i in $(seq 12); do echo $i > src/n$i; git add -A; git commit -qm \"step $i\"; done\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(!ran.stdout.contains("outside its process group"), "{}", ran.output());
    assert!(tried(&ran).iter().all(|w| !w.contains("outside its process group")), "{:?}", tried(&ran));
}

/// A one-shot HTTP server on 127.0.0.1 answering `hello`; its port.
fn http_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buffer = [0u8; 1024];
                    let _ = stream.read(&mut buffer);
                    let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

#[test]
fn network_off_refuses_the_hosts_loopback() {
    if !sandbox_available() {
        return;
    }
    let port = http_server();
    let test = Test::new();
    let agent = format!("(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected || echo refused-connect\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on").permission("network off"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.agent_log().contains("refused-connect"), "{}", ran.agent_log());
    assert_eq!(sandbox_event(&ran)["network"], "loopback only");
}

#[test]
fn network_allow_lets_only_the_listed_host_through_nights_proxy() {
    if !sandbox_available() {
        return;
    }
    let allowed = http_server();
    let other = http_server();
    let test = Test::new();
    // curl reads http_proxy; bash's /dev/tcp shows that direct connections are impossible.
    let agent = format!(
        "curl -s --max-time 10 http://127.0.0.1:{allowed}/ || echo curl-failed\n\
         curl -s --max-time 10 -o /dev/null -w 'status=%{{http_code}}\\n' http://127.0.0.1:{other}/\n\
         (exec 3<>/dev/tcp/127.0.0.1/{allowed}) 2>/dev/null && echo direct-connected || echo direct-refused\n\
         {FINISH}"
    );
    let runbook = Runbook::default().permission("sandbox on").permission(&format!("network allow \"127.0.0.1:{allowed}\""));
    test.setup(&agent, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let log = ran.agent_log();
    assert!(log.contains("hello") && log.contains("status=403") && log.contains("direct-refused"), "{log}");
    let reached: Vec<String> = ran.events_named("agent-tried").iter().flat_map(|e| e["reached"].as_array().cloned().unwrap_or_default()).filter_map(|r| r.as_str().map(str::to_string)).collect();
    assert!(reached.iter().any(|r| r.starts_with(&format!("127.0.0.1:{allowed} "))), "{reached:?}");
    assert!(tried(&ran).iter().any(|w| w.contains(&format!("127.0.0.1:{other}"))), "{:?}", tried(&ran));
    assert!(sandbox_event(&ran)["network"].as_str().is_some_and(|n| n.contains("proxy")));
}

#[test]
fn the_notifier_secret_is_absent_from_the_sandboxed_agent() {
    if !sandbox_available() {
        return;
    }
    let mut test = Test::new();
    test.env("NIGHT_TEST_SECRET", "https://hooks.example/very-secret-token");
    let agent = format!("echo \"secret=${{NIGHT_TEST_SECRET:-absent}} sandbox=$NIGHT_SANDBOX\"\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox on").notifier("webhook env.NIGHT_TEST_SECRET on violation"));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let log = ran.agent_log();
    assert!(log.contains("secret=absent") && log.contains("sandbox=landlock-v"), "{log}");
}

/// `git daemon` serving `dir` on 127.0.0.1 with pushes allowed (no credentials needed):
/// a remote that only git's own refusal can keep the agent from; killed when dropped.
struct GitDaemon {
    child: std::process::Child,
    port: u16,
}

impl GitDaemon {
    fn start(dir: &std::path::Path) -> GitDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        // `git-daemon` itself, not `git daemon`, which would leave it running when killed.
        let exec_path = std::process::Command::new("git").arg("--exec-path").output().expect("git --exec-path");
        let daemon = std::path::Path::new(String::from_utf8_lossy(&exec_path.stdout).trim()).join("git-daemon");
        let child = std::process::Command::new(daemon)
            .args(["--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", dir.display()))
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = GitDaemon { child, port };
        support::run::wait_until(Duration::from_secs(10), "git daemon listens", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_remote_with_its_own_push_url_is_refused_too_and_credentials_in_urls_stay_out_of_the_report() {
    if !sandbox_available() {
        return;
    }
    let test = Test::new();
    let served = tempfile::tempdir().expect("temp dir");
    let remote = served.path().join("remote.git");
    test.git(&["init", "-q", "--bare", remote.to_str().expect("utf-8")]);
    let daemon = GitDaemon::start(served.path());
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    // Fetch and push set apart, as users do: git ignores `pushInsteadOf` for a remote with
    // an explicit push URL.
    test.git(&["remote", "add", "origin", &url]);
    test.git(&["config", "remote.origin.pushurl", &url]);
    let agent = format!(
        "{FINISH}\
         git push origin HEAD:refs/heads/agent-plain >/dev/null 2>&1; echo \"plain exit $?\"\n\
         git push --force origin HEAD:main >/dev/null 2>&1; echo \"force exit $?\"\n\
         env -i PATH=/usr/bin:/bin HOME=\"$HOME\" git push origin HEAD:refs/heads/agent-env-i >/dev/null 2>&1; echo \"env-i exit $?\"\n\
         git push http://someone:corpus-url-secret-7f3a@127.0.0.1:9/x.git HEAD:main >/dev/null 2>&1; echo \"url exit $?\"\n"
    );
    test.setup(&agent, &Runbook::default());
    test.git(&["push", "-q", "origin", "main"]);
    let before = test.git(&["ls-remote", "origin"]);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(test.git(&["ls-remote", "origin"]), before, "the remote moved\n{}", ran.agent_log());
    let log = ran.agent_log();
    for spelling in ["plain", "force", "env-i", "url"] {
        assert!(log.contains(&format!("{spelling} exit ")) && !log.contains(&format!("{spelling} exit 0")), "{spelling}:\n{log}");
    }
    let audit = night::hook::read_audit(ran.dir());
    let refused: Vec<&str> = audit.iter().filter(|e| e.event == "RefusedPush").filter_map(|e| e.command.as_deref()).collect();
    assert!(refused.iter().filter(|c| c.contains(&url)).count() >= 2, "git's refusal names the push URL: {refused:?}");
    let report = ran.report();
    assert!(report.contains(&url), "{report}");
    assert!(!report.contains("corpus-url-secret-7f3a") && !fs::read_to_string(ran.dir().join("audit.jsonl")).unwrap_or_default().contains("corpus-url-secret-7f3a"), "a password in a URL is kept out");
}

/// A home folder with the user's npm token in `~/.npmrc`, and the ssh key in `~/.ssh`.
fn home_with_credentials() -> tempfile::TempDir {
    let home = tempfile::Builder::new().prefix("night-home-").tempdir().expect("temp dir");
    fs::create_dir_all(home.path().join(".ssh")).expect("mkdir");
    fs::write(home.path().join(".ssh/id_ed25519"), "home-ssh-key-4b1e\n").expect("write");
    fs::write(home.path().join(".npmrc"), "//registry.example/:_authToken=home-npm-token-9c2d\n").expect("write");
    home
}

#[test]
fn passed_variables_and_revealed_stores_reach_the_agent_and_the_checks_and_nothing_else() {
    if !sandbox_available() {
        return;
    }
    let home = home_with_credentials();
    let mut test = Test::new();
    test.env("HOME", home.path().to_str().expect("utf-8")).env("NIGHT_TEST_PASSED", "passed-3e1").env("QA_DEPLOY_API_KEY", "withheld-88a");
    let seen = "echo \"passed=${NIGHT_TEST_PASSED:-absent} key=${QA_DEPLOY_API_KEY:-absent}\"; \
                cat ~/.npmrc 2>/dev/null || echo npmrc=hidden; cat ~/.ssh/id_ed25519 2>/dev/null || echo ssh=hidden";
    // The success check sees what the agent sees; it writes it where the test can read it.
    test.script("check-env.sh", &format!("#!/bin/sh\n{{ {seen}; }} > seen-by-check.txt\n"));
    test.write(".gitignore", "seen-by-check.txt\n");
    let agent = format!("{seen}\n{FINISH}");
    let runbook = Runbook { checks: vec!["tests \"sh test.sh\" format tap within 30s".into(), "run \"sh check-env.sh\"".into()], ..Runbook::default() }
        .permission("pass env.NIGHT_TEST_PASSED")
        .permission("reveal \"~/.npmrc\"");
    test.setup(&agent, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let by_check = fs::read_to_string(test.path().join("seen-by-check.txt")).expect("the check ran");
    for (who, seen) in [("agent", ran.agent_log()), ("check", by_check)] {
        assert!(seen.contains("passed=passed-3e1") && seen.contains("key=absent"), "{who}: {seen}");
        assert!(seen.contains("home-npm-token-9c2d") && seen.contains("ssh=hidden") && !seen.contains("home-ssh-key-4b1e"), "{who}: {seen}");
    }
    let hidden = ran.event("sandbox")["hidden"].to_string();
    assert!(hidden.contains("~/.ssh") && !hidden.contains(".npmrc") && hidden.contains("QA_DEPLOY_API_KEY") && !hidden.contains("NIGHT_TEST_PASSED"), "{hidden}");
}

#[test]
fn with_the_sandbox_off_night_never_says_the_credential_stores_are_hidden() {
    let home = home_with_credentials();
    let mut test = Test::new();
    test.env("HOME", home.path().to_str().expect("utf-8"));
    let agent = format!("cat ~/.npmrc 2>/dev/null || echo npmrc=hidden\n{FINISH}");
    test.setup(&agent, &Runbook::default().permission("sandbox off"));
    let check = test.night(&["check", "t.night"]);
    assert!(!check.stdout.contains("hidden from the agent"), "{}", check.output());
    assert!(check.stdout.contains("not enforced: `sandbox off`: the credential stores are readable"), "{}", check.output());
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert!(ran.agent_log().contains("home-npm-token-9c2d"), "sandbox off hides nothing: {}", ran.agent_log());
    let report = ran.report();
    assert!(!report.contains("`~/.npmrc` (npm tokens)"), "{report}");
    assert!(report.contains("not enforced: `sandbox off`: the credential stores are readable") && report.contains(".npmrc"), "{report}");
}

#[test]
fn tokens_in_gits_configuration_are_not_the_agents_nor_the_checks() {
    if !sandbox_available() {
        return;
    }
    let home = home_with_credentials();
    fs::write(home.path().join(".gitconfig"), "[url \"https://git-global-token-51d0@github.com/\"]\n\tinsteadOf = https://github.com/\n").expect("write");
    let mut test = Test::new();
    test.env("HOME", home.path().to_str().expect("utf-8"));
    // As a CI checkout leaves them: the token in the remote's URL, and in an extra header.
    test.git(&["remote", "add", "origin", "https://x-access-token:git-url-token-0c7e@127.0.0.1:9/acme/app.git"]);
    test.git(&["config", "http.https://127.0.0.1:9/.extraheader", "AUTHORIZATION: basic git-header-token-a4f2"]);
    let seen = "{ cat .git/config ~/.gitconfig; git config --list; git remote get-url --push origin; } 2>&1";
    test.script("check-env.sh", &format!("#!/bin/sh\n{seen} > seen-by-check.txt\n"));
    test.write(".gitignore", "seen-by-check.txt\n");
    let agent = format!("{seen}\n{FINISH}");
    let runbook = Runbook { checks: vec!["tests \"sh test.sh\" format tap within 30s".into(), "run \"sh check-env.sh\"".into()], ..Runbook::default() };
    test.setup(&agent, &runbook);
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    let by_check = fs::read_to_string(test.path().join("seen-by-check.txt")).expect("the check ran");
    for (who, seen) in [("agent", ran.agent_log()), ("check", by_check)] {
        assert!(seen.contains("url = https://127.0.0.1:9/acme/app.git") && seen.contains("[url \"https://github.com/\"]"), "{who} reads git's configuration: {seen}");
        for token in ["git-url-token-0c7e", "git-header-token-a4f2", "git-global-token-51d0"] {
            assert!(!seen.contains(token), "{who} read {token}: {seen}");
        }
    }
    // The user's own files keep them.
    assert!(fs::read_to_string(test.path().join(".git/config")).expect("config").contains("git-url-token-0c7e"));
    assert!(fs::read_to_string(home.path().join(".gitconfig")).expect("config").contains("git-global-token-51d0"));
    let hidden = ran.event("sandbox")["hidden"].to_string();
    assert!(hidden.contains(".git/config") && hidden.contains(".gitconfig"), "{hidden}");
}
