//! `night init` in a temporary repository of each ecosystem: the runbook it writes names the
//! right test command, fails `night check` only for its empty prompt, and passes once the
//! prompt is written — on a machine whose PATH holds only the stand-ins each test puts there,
//! so what init chooses (agent, test command, notifier) is what that machine has.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Repo {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Repo {
    /// A committed git repository holding `files`, with stand-ins for every test tool and for
    /// Claude Code on PATH.
    fn new(files: &[(&str, &str)]) -> Repo {
        Repo::with_tools(files, &["cargo", "npm", "pnpm", "yarn", "pytest", "go", "make", "uv", "poetry", "claude"])
    }

    /// A committed git repository holding `files`; PATH holds stand-ins for `tools` only.
    fn with_tools(files: &[(&str, &str)], tools: &[&str]) -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in files.iter().chain(&[(".gitignore", ".stub-bin/\n.venv/\n")]) {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        let bin = root.join(".stub-bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        for tool in tools {
            let script = if *tool == "claude" { "#!/bin/sh\necho '2.1.197 (Claude Code)'\n" } else { "#!/bin/sh\nexit 0\n" };
            write_executable(&bin.join(tool), script);
        }
        let repo = Repo { dir, bin };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "--allow-empty", "-m", "initial"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(self.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// Run night; returns (exit code, stdout, stderr).
    fn night(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_night"))
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", &self.bin)
            .env("HOME", self.path())
            .env("XDG_CACHE_HOME", self.bin.join("cache"))
            .env("NO_COLOR", "1")
            .output()
            .expect("night runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).expect("the runbook was written")
    }
}

fn write_executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, script).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Init, then check before and after writing the prompt; returns the runbook.
fn init_and_check(files: &[(&str, &str)], tests_line: &str) -> String {
    init_and_check_in(&Repo::new(files), tests_line)
}

/// [`init_and_check`] in a repository already made.
fn init_and_check_in(repo: &Repo, tests_line: &str) -> String {
    let (code, _, stderr) = repo.night(&["init"]);
    assert_eq!(code, 0, "{stderr}");
    let runbook = repo.read("night.night");
    assert!(runbook.contains(tests_line), "expected `{tests_line}` in\n{runbook}");

    let (code, stdout, _) = repo.night(&["check", "night.night"]);
    assert_eq!(code, 1, "the unfilled runbook must not pass\n{stdout}");
    assert!(stdout.contains("the prompt is empty"), "{stdout}");
    assert!(stdout.contains("1 error, 0 warnings"), "only the prompt may be missing\n{stdout}\n{runbook}");

    let filled = runbook.replace("prompt \"\"", "prompt \"Fix the failing tests; change no test.\"");
    assert_ne!(filled, runbook, "the prompt placeholder is `prompt \"\"`");
    std::fs::write(repo.path().join("night.night"), &filled).expect("write");
    let (code, stdout, _) = repo.night(&["check", "night.night"]);
    assert_eq!(code, 0, "{stdout}\n{filled}");
    assert!(stdout.contains("0 errors, 0 warnings"), "{stdout}\n{filled}");

    let (code, stdout, _) = repo.night(&["fmt", "--check", "night.night"]);
    assert_eq!(code, 0, "the runbook is not in canonical form: {stdout}");
    runbook
}

#[test]
fn cargo() {
    let runbook = init_and_check(
        &[("Cargo.toml", "[package]\nname = \"x\"\n"), ("Cargo.lock", ""), ("src/lib.rs", ""), ("tests/it.rs", "")],
        "tests \"cargo test --no-fail-fast\" format cargo",
    );
    assert!(runbook.contains("write \"src/**\" \"tests/**\" \"Cargo.toml\" \"Cargo.lock\""), "{runbook}");
    assert!(runbook.contains("network allow \"crates.io\""), "{runbook}");
}

#[test]
fn cargo_without_a_lock_file_may_write_the_one_the_baseline_creates() {
    let repo = Repo::new(&[("Cargo.toml", "[package]\nname = \"x\"\n"), ("src/lib.rs", "")]);
    let said = |repo: &Repo| {
        let (code, _, said) = repo.night(&["init", "--output", "/dev/null", "--force"]);
        assert_eq!(code, 0, "{said}");
        said
    };
    assert!(said(&repo).contains("there is no `Cargo.lock` yet"), "the lock file the baseline will make is said");
    let runbook = init_and_check_in(&repo, "tests \"cargo test --no-fail-fast\" format cargo");
    assert!(runbook.contains("write \"src/**\" \"Cargo.toml\" \"Cargo.lock\""), "{runbook}");
    std::fs::write(repo.path().join(".gitignore"), ".stub-bin/\n.venv/\nCargo.lock\n").expect("write");
    assert!(!said(&repo).contains("Cargo.lock"), "an ignored lock file is no concern");
}

#[test]
fn pytest_of_the_projects_virtual_environment() {
    // pytest is not on PATH: it is installed in the project's `.venv`, as `uv venv` or
    // `python -m venv .venv` leave it.
    let repo = Repo::with_tools(
        &[("pyproject.toml", "[tool.pytest.ini_options]\n"), ("tests/test_a.py", "def test_a(): pass\n")],
        &["claude"],
    );
    write_executable(&repo.path().join(".venv/bin/pytest"), "#!/bin/sh\nexit 0\n");
    let runbook = init_and_check_in(&repo, "tests \".venv/bin/pytest -rA\" format pytest");
    assert!(runbook.contains("with the pytest of `.venv`"), "{runbook}");
}

#[test]
fn uv_when_it_is_installed_else_the_venv() {
    let files: &[(&str, &str)] = &[("pyproject.toml", "[tool.pytest.ini_options]\n"), ("uv.lock", "")];
    let repo = Repo::with_tools(files, &["claude", "uv"]);
    write_executable(&repo.path().join(".venv/bin/pytest"), "#!/bin/sh\nexit 0\n");
    init_and_check_in(&repo, "tests \"uv run pytest -rA\" format pytest");
    let repo = Repo::with_tools(files, &["claude"]);
    write_executable(&repo.path().join(".venv/bin/pytest"), "#!/bin/sh\nexit 0\n");
    init_and_check_in(&repo, "tests \".venv/bin/pytest -rA\" format pytest");
}

#[test]
fn the_agent_is_one_this_machine_has() {
    let files: &[(&str, &str)] = &[("Cargo.toml", ""), ("src/lib.rs", "")];
    let runbook = init_and_check_in(&Repo::with_tools(files, &["cargo", "codex"]), "tests \"cargo test --no-fail-fast\"");
    assert!(runbook.contains("  agent codex\n"), "{runbook}");
    let runbook = init_and_check_in(&Repo::with_tools(files, &["cargo", "claude", "codex"]), "tests \"cargo test --no-fail-fast\"");
    assert!(runbook.contains("  agent claude\n"), "claude first when both are there: {runbook}");
}

#[test]
fn the_agent_version_is_read_once_per_binary() {
    // A Claude Code stand-in that counts its runs: `init` and two checks read its version once
    // (cached by the binary's identity); a changed binary is read again.
    let repo = Repo::with_tools(&[("Cargo.toml", ""), ("src/lib.rs", "")], &["cargo"]);
    let ran = repo.bin.join("claude-ran");
    let claude = |extra: &str| format!("#!/bin/sh\necho x >> '{}'\necho '2.1.197 (Claude Code)'{extra}\n", ran.display());
    write_executable(&repo.bin.join("claude"), &claude(""));
    let runs = || std::fs::read_to_string(&ran).unwrap_or_default().lines().count();
    init_and_check_in(&repo, "tests \"cargo test --no-fail-fast\"");
    assert_eq!(runs(), 1, "the version is read once for init and both checks");
    write_executable(&repo.bin.join("claude"), &claude(" # upgraded"));
    let (code, stdout, _) = repo.night(&["check", "night.night"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(runs(), 2, "a changed binary is read again");
}

#[test]
fn without_an_agent_check_says_what_to_install() {
    let repo = Repo::with_tools(&[("Cargo.toml", ""), ("src/lib.rs", "")], &["cargo"]);
    let (code, _, stderr) = repo.night(&["init"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("none of claude, codex, gemini, aider or goose is installed"), "{stderr}");
    let filled = repo.read("night.night").replace("prompt \"\"", "prompt \"Fix the failing tests.\"");
    std::fs::write(repo.path().join("night.night"), filled).expect("write");
    let (code, stdout, _) = repo.night(&["check", "night.night"]);
    assert_eq!(code, 1, "a runbook whose agent is missing is not ready:\n{stdout}");
    assert!(stdout.contains("agent program `claude` not found"), "{stdout}");
    assert!(stdout.contains("npm install -g @anthropic-ai/claude-code"), "{stdout}");
    assert!(stdout.contains("1 error, 0 warnings"), "{stdout}");
}

#[test]
fn a_desktop_notifier_when_there_is_one_else_a_plain_waiver() {
    let files: &[(&str, &str)] = &[("Cargo.toml", ""), ("src/lib.rs", "")];
    let runbook = init_and_check_in(&Repo::with_tools(files, &["cargo", "claude", "notify-send"]), "tests \"cargo test --no-fail-fast\"");
    assert!(runbook.contains("command \"notify-send night \\\"$NIGHT_OUTCOME\\\"\" on end"), "{runbook}");
    assert!(!runbook.contains("waive notify-missing"), "{runbook}");
    let runbook = init_and_check_in(&Repo::with_tools(files, &["cargo", "claude"]), "tests \"cargo test --no-fail-fast\"");
    assert!(!runbook.contains("notify-send"), "no notifier that cannot start: {runbook}");
    assert!(runbook.contains("waive notify-missing \""), "{runbook}");
}

#[test]
fn npm() {
    init_and_check(
        &[("package.json", r#"{"scripts": {"test": "jest --ci"}}"#), ("package-lock.json", "{}"), ("src/index.js", ""), ("test/a.test.js", "")],
        "tests \"npm test -- --verbose\" format jest",
    );
}

#[test]
fn pnpm() {
    init_and_check(
        &[("package.json", r#"{"scripts": {"test": "vitest run"}}"#), ("pnpm-lock.yaml", ""), ("src/index.ts", "")],
        "tests \"pnpm test --reporter=verbose\" format vitest",
    );
}

#[test]
fn yarn() {
    init_and_check(&[("package.json", r#"{"scripts": {"test": "mocha"}}"#), ("yarn.lock", ""), ("lib/a.js", "")], "tests \"yarn test\" format mocha");
}

#[test]
fn pytest() {
    let runbook = init_and_check(
        &[
            ("pyproject.toml", "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n"),
            ("mypkg/__init__.py", ""),
            ("tests/test_a.py", "def test_a(): pass\n"),
        ],
        "tests \"pytest -rA\" format pytest",
    );
    assert!(runbook.contains("\"mypkg/**\""), "the package folder is writable: {runbook}");
}

#[test]
fn go() {
    init_and_check(&[("go.mod", "module example.com/x\n"), ("main.go", "package main\n"), ("internal/x/x.go", "package x\n")], "tests \"go test -v ./...\" format go");
}

#[test]
fn make() {
    init_and_check(&[("Makefile", "CC := cc\n\ntest: build\n\t./run-tests\n"), ("src/main.c", "")], "tests \"make test\" format auto");
}

#[test]
fn nothing_detected_is_said_plainly() {
    let repo = Repo::new(&[("README.md", "hello\n")]);
    let (code, _, stderr) = repo.night(&["init"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("no test command found"), "{stderr}");
    let (code, stdout, _) = repo.night(&["check", "night.night"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("command `TODO-test-command` not found"), "{stdout}");
}

#[test]
fn output_force_and_stdout() {
    let repo = Repo::new(&[("Cargo.toml", ""), ("src/lib.rs", "")]);
    std::fs::write(repo.path().join("night.night"), "mine\n").expect("write");
    let (code, _, stderr) = repo.night(&["init"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists; use --force"), "{stderr}");
    assert_eq!(repo.read("night.night"), "mine\n");

    assert_eq!(repo.night(&["init", "--force"]).0, 0);
    assert!(repo.read("night.night").contains("cargo test"));

    assert_eq!(repo.night(&["init", "--output", "other.night"]).0, 0);
    assert_eq!(repo.read("other.night"), repo.read("night.night"));

    let (code, stdout, _) = repo.night(&["init", "-o", "-"]);
    assert_eq!((code, stdout), (0, repo.read("night.night")));
}
