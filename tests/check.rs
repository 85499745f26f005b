//! `night check` on the fixture folder: every diagnostic rendered without colour at width 80
//! and snapshot-tested, every rule code with a fixture that triggers it and one that does not.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check");

/// A temporary git repository shaped like a small Rust project, committed and clean.
struct Repo {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let files: &[(&str, &str)] = &[
            ("Cargo.toml", "[package]\nname = \"sample\"\n"),
            ("src/lib.rs", "pub mod parser;\n"),
            ("src/parser.rs", "// TODO: port to the new tokenizer\n"),
            ("docs/README.md", "# docs\n"),
            ("prompt.md", "Fix the failing parser tests in src/.\n"),
            ("open-prompt.md", "Make it better, as needed.\n"),
            ("scripts/agent.sh", "#!/bin/sh\nexit 0\n"),
            ("scripts/check.sh", "#!/bin/sh\necho ok\n"),
            ("scripts/old-claude", "#!/bin/sh\necho '1.0.44 (Claude Code)'\n"),
        ];
        for (path, text) in files {
            let full = root.join(path);
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(&full, text).expect("write");
        }
        for script in ["scripts/agent.sh", "scripts/check.sh", "scripts/old-claude"] {
            make_executable(&root.join(script));
        }
        let bin = root.join(".stub-bin");
        fs::create_dir_all(&bin).expect("mkdir");
        fs::write(bin.join("cargo"), "#!/bin/sh\nexit 0\n").expect("write");
        make_executable(&bin.join("cargo"));
        // `agent claude` is checked as `night run` will: installed and new enough.
        fs::write(bin.join("claude"), "#!/bin/sh\necho '2.1.197 (Claude Code)'\n").expect("write");
        make_executable(&bin.join("claude"));
        fs::write(bin.join("aider"), "#!/bin/sh\nexit 0\n").expect("write");
        make_executable(&bin.join("aider"));
        fs::write(root.join(".gitignore"), ".stub-bin/\n").expect("write");
        let repo = Repo { dir, bin };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["remote", "add", "origin", "https://github.com/acme/app.git"]);
        repo.commit_all("initial");
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
        assert!(status.success(), "git {args:?} failed");
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Run `night check` with a controlled environment; returns (exit code, stdout).
    fn night(&self, args: &[&str]) -> (i32, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_night"))
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("HOME", self.path())
            .env("XDG_CACHE_HOME", self.bin.join("cache"))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "80")
            .env("NIGHT_TEST_SLACK_URL", "http://127.0.0.1:9/slack")
            .env("NIGHT_TEST_SMTP_URL", "smtp://127.0.0.1:9")
            .env("NIGHT_TEST_FORGE_TOKEN", "test-token")
            .output()
            .expect("night runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "night panicked: {stderr}");
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = fs::metadata(path).expect("metadata").permissions();
    permissions.set_mode(0o755);
    fs::set_permissions(path, permissions).expect("chmod");
}

fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(FIXTURES)
        .expect("fixture folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "night"))
        .collect();
    paths.sort();
    paths
}

/// Check one fixture inside a fresh clean repository.
fn check_fixture(path: &Path) -> (i32, String) {
    let repo = Repo::new();
    let name = path.file_name().expect("file name").to_string_lossy().into_owned();
    fs::copy(path, repo.path().join(&name)).expect("copy fixture");
    repo.commit_all("add runbook");
    repo.night(&["check", &name])
}

#[test]
fn fixtures_match_their_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/check");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in fixtures() {
            let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
            let (code, output) = check_fixture(&path);
            insta::assert_snapshot!(stem.clone(), format!("exit: {code}\n{output}"));
            if stem.ends_with(".ok") {
                assert!(!output.contains("FAIL"), "{stem} must pass every error rule:\n{output}");
                assert_eq!(code, 0, "{stem} must check without errors:\n{output}");
            }
        }
    });
}

#[test]
fn every_code_has_a_trigger_and_a_near_miss() {
    use night::diagnostic::Code;
    let results: Vec<(String, String)> = fixtures()
        .iter()
        .map(|path| (path.file_stem().expect("stem").to_string_lossy().into_owned(), check_fixture(path).1))
        .collect();
    // The batch's rules hold between runbooks: tests/batch.rs triggers them.
    let not_in_fixtures = [Code::Unreadable, Code::SuccessAlreadyHolds, Code::GitDirty, Code::BatchSameBranch, Code::BatchWriteOverlap];
    for code in Code::ALL.iter().filter(|code| !not_in_fixtures.contains(code)) {
        let name = code.name();
        let header = format!("\n{name}\n");
        let triggered = results.iter().any(|(stem, output)| {
            (stem == name || stem.starts_with(&format!("{name}-"))) && format!("\n{output}").contains(&header)
        });
        assert!(triggered, "no fixture `{name}.night` produces `{name}`");
        if code.is_checklist_rule() || results.iter().any(|(stem, _)| *stem == format!("{name}.ok")) {
            let near_miss = results.iter().find(|(stem, _)| *stem == format!("{name}.ok"));
            let (_, output) = near_miss.unwrap_or_else(|| panic!("no near-miss fixture `{name}.ok.night`"));
            assert!(!format!("\n{output}").contains(&header), "`{name}.ok.night` should not produce `{name}`:\n{output}");
        }
    }
}

// ------------------------------------------------------------------ git states ----

const CLEAN: &str = include_str!("fixtures/check/base.ok.night");

fn repo_with_runbook() -> Repo {
    let repo = Repo::new();
    fs::write(repo.path().join("task.night"), CLEAN).expect("write");
    repo.commit_all("runbook");
    repo
}

#[test]
fn clean_repository_passes() {
    let repo = repo_with_runbook();
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("[ok  ] git-dirty"), "{output}");
}

#[test]
fn uncommitted_change_is_refused() {
    let repo = repo_with_runbook();
    fs::write(repo.path().join("src/lib.rs"), "// changed\n").expect("write");
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("uncommitted changes: `src/lib.rs`"), "{output}");
}

#[test]
fn untracked_file_is_refused_but_the_runbook_and_night_folder_are_not() {
    let repo = Repo::new();
    fs::write(repo.path().join("task.night"), CLEAN).expect("write");
    fs::create_dir_all(repo.path().join(".night/runs")).expect("mkdir");
    fs::write(repo.path().join(".night/runs/x.json"), "{}").expect("write");
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 0, "the runbook itself and .night/ are exempt:\n{output}");
    fs::write(repo.path().join("notes.txt"), "scratch").expect("write");
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("`notes.txt`"), "{output}");
}

#[test]
fn detached_head_is_refused() {
    let repo = repo_with_runbook();
    repo.git(&["checkout", "-q", "--detach", "HEAD"]);
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("HEAD is detached"), "{output}");
}

#[test]
fn outside_a_repository_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("task.night"), CLEAN).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_night"))
        .args(["check", "task.night"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().expect("parent"))
        .output()
        .expect("night runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("is not inside a git repository"), "{stdout}");
}

// ------------------------------------------------------------- exit codes, formats ----

#[test]
fn warnings_pass_unless_denied() {
    let repo = Repo::new();
    let text = CLEAN.replace("rollback {\n  when failing > baseline\n}\n", "");
    fs::write(repo.path().join("task.night"), text).expect("write");
    repo.commit_all("runbook");
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("no-rollback"), "{output}");
    let (code, _) = repo.night(&["check", "--deny-warnings", "task.night"]);
    assert_eq!(code, 1);
}

#[test]
fn unreadable_files_exit_2_and_the_others_are_still_checked() {
    let repo = repo_with_runbook();
    fs::write(repo.path().join("binary.night"), [0xff, 0xfe, 0x00, b'\n']).expect("write");
    let (code, output) = repo.night(&["check", "missing.night", "binary.night", "task.night"]);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("cannot read `missing.night`: no such file"), "{output}");
    assert!(output.contains("`binary.night` is not UTF-8 text"), "{output}");
    assert!(output.contains("checklist for task.night"), "{output}");
    assert!(output.contains("3 errors, 0 warnings in 3 files: 2 files could not be read"), "{output}");
    let (_, json) = repo.night(&["check", "--format", "json", "missing.night"]);
    let document: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(document["files"][0]["readable"], false);
    assert_eq!(document["files"][0]["diagnostics"][0]["code"], "unreadable");
    assert_eq!(document["files"][0]["diagnostics"][0]["message"], "cannot read `missing.night`: no such file");
    let (code, _) = repo.night(&["check", "src"]);
    assert_eq!(code, 2, "a folder is not a runbook");
}

#[test]
fn empty_and_garbage_files_give_errors_not_panics() {
    let repo = repo_with_runbook();
    fs::write(repo.path().join("empty.night"), "").expect("write");
    let garbage: String = (0..1_000_000u64).map(|i| char::from(b"{}\"/$#;\n a1_.<=\\"[(i * 7919 % 16) as usize])).collect();
    fs::write(repo.path().join("garbage.night"), garbage).expect("write");
    repo.commit_all("files");
    let (code, output) = repo.night(&["check", "empty.night"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("`empty.night` is empty") && output.contains("Run `night init`"), "{output}");
    assert!(!output.contains("block is missing"), "one error for an empty file:\n{output}");
    assert!(output.contains("[----] none of the 17 items was checked: the file is empty"), "{output}");
    let (code, output) = repo.night(&["check", "garbage.night"]);
    assert_eq!(code, 1);
    assert!(output.contains("syntax"), "{}", &output[..output.len().min(2000)]);
}

#[test]
fn json_output_follows_the_documented_schema() {
    let repo = Repo::new();
    let text = CLEAN.replace("  stuck 3\n", "  stuk 3\n");
    fs::write(repo.path().join("task.night"), text).expect("write");
    repo.commit_all("runbook");
    let (code, output) = repo.night(&["check", "--format", "json", "task.night"]);
    assert_eq!(code, 1);
    let document: serde_json::Value = serde_json::from_str(&output).expect("valid JSON");
    assert_eq!(document["version"], 1);
    let file = &document["files"][0];
    assert_eq!(file["file"], "task.night");
    assert_eq!(file["readable"], true);
    assert_eq!(file["errors"], 1);
    let diagnostics = file["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diagnostics.len(), 1, "the misspelling alone, not also a missing `stuck` limit: {diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["code"], "unknown-statement");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["message"], "unknown statement `stuk` in `limits`");
    assert_eq!(diagnostic["help"], "Did you mean `stuck`?");
    assert_eq!(diagnostic["span"]["line"], 22);
    assert_eq!(diagnostic["span"]["column"], 3);
    assert_eq!(diagnostic["span"]["end_line"], 22);
    assert_eq!(diagnostic["span"]["end_column"], 7);
    let start = diagnostic["span"]["start"].as_u64().expect("start") as usize;
    let end = diagnostic["span"]["end"].as_u64().expect("end") as usize;
    assert_eq!(&CLEAN.replace("  stuck 3\n", "  stuk 3\n")[start..end], "stuk");
    let items = file["checklist"].as_array().expect("checklist");
    assert_eq!(items.len(), 17);
    assert_eq!(items[0]["code"], "success-missing");
    assert_eq!(items[0]["status"], "passed");
    assert!(items.iter().any(|i| i["code"] == "no-stuck-limit" && i["status"] == "passed"));
    assert!(items.iter().any(|i| i["code"] == "success-already-holds" && i["status"] == "atrun"));
}

#[test]
fn every_example_runbook_checks_clean() {
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut checked = 0;
    for entry in fs::read_dir(&runbooks).expect("runbooks/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "night") {
            continue;
        }
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let repo = Repo::new();
        for stub in ["npm", "npx", "pytest", "python3", "coverage", "make", "mkdocs", "go", "codex", "gemini", "aider", "notify-send", "mail"] {
            fs::write(repo.bin.join(stub), "#!/bin/sh\nexit 0\n").expect("write");
            make_executable(&repo.bin.join(stub));
        }
        fs::copy(&path, repo.path().join(&name)).expect("copy");
        let support = runbooks.join(path.file_stem().expect("stem"));
        if support.is_dir() {
            copy_dir(&support, &repo.path().join(path.file_stem().expect("stem")));
        }
        for dir in ["src/auth", "test/auth", "tests", "lib", "docs/api", "app"] {
            fs::create_dir_all(repo.path().join(dir)).expect("mkdir");
            fs::write(repo.path().join(dir).join(".keep"), "").expect("write");
        }
        repo.commit_all("runbook");
        let (code, output) = repo.night(&["check", "--deny-warnings", &name]);
        assert_eq!(code, 0, "runbooks/{name} must check clean:\n{output}");
        checked += 1;
    }
    assert!(checked >= 5, "expected at least five example runbooks, found {checked}");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn the_bad_example_gives_the_expected_diagnostics() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/bad/broken.night");
    let (code, output) = check_fixture(&bad);
    assert_eq!(code, 1);
    insta::with_settings!({snapshot_path => "snapshots/check", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("runbooks-bad-broken", output);
    });
}

#[test]
fn example_runbooks_are_in_canonical_form() {
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut files: Vec<String> = fs::read_dir(&runbooks)
        .expect("runbooks/")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "night"))
        .map(|path| path.display().to_string())
        .collect();
    files.push(runbooks.join("bad/broken.night").display().to_string());
    let output = Command::new(env!("CARGO_BIN_EXE_night")).arg("fmt").arg("--check").args(&files).output().expect("night runs");
    assert!(output.status.success(), "run `night fmt runbooks/*.night`:\n{}", String::from_utf8_lossy(&output.stdout));
}

// ------------------------------------------------------------- what the project adds ----

#[test]
fn test_rules_read_what_the_project_adds_to_a_tests_command() {
    let repo = Repo::new();
    let files: &[(&str, &str)] = &[
        // pytest's `addopts` stops at the first failure, though the command does not.
        ("pytest.ini", "[pytest]\naddopts = -x\n"),
        // `npm test` runs jest, which names no tests and bails.
        ("package.json", r#"{"scripts": {"test": "jest --bail"}}"#),
        // nextest's `ci` profile runs every test: no warning.
        (".config/nextest.toml", "[profile.ci]\nfail-fast = false\n"),
    ];
    for (path, text) in files {
        fs::create_dir_all(repo.path().join(path).parent().expect("parent")).expect("mkdir");
        fs::write(repo.path().join(path), text).expect("write");
    }
    for program in ["npm", "python3"] {
        fs::write(repo.bin.join(program), "#!/bin/sh\nexit 0\n").expect("write");
        make_executable(&repo.bin.join(program));
    }
    let success = "  tests \"python3 -m pytest -rA tests\" format pytest\n  tests \"npm test\" format jest\n  tests \"cargo nextest run --profile ci\" format nextest\n";
    let runbook = CLEAN.replace("  tests \"cargo test --no-fail-fast\"\n", success);
    assert!(runbook.contains("npm test"), "the success block is replaced");
    fs::write(repo.path().join("task.night"), runbook).expect("write");
    repo.commit_all("a project with test settings");
    let (code, output) = repo.night(&["check", "task.night"]);
    assert_eq!(code, 0, "warnings only:\n{output}");
    insta::with_settings!({snapshot_path => "snapshots/check", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("tests-rules-project-settings", output);
    });
}

// ------------------------------------------------------------------------ batches ----

/// A batch runs each runbook in a worktree of its own, whatever its `worktree` says: a program
/// found in the checkout but not in the last commit (`.stub-bin/cargo`, ignored by git) is
/// `command-not-found` for that runbook, and only as one of a batch.
#[test]
fn a_batch_member_is_judged_as_running_in_a_worktree() {
    let repo = Repo::new();
    let pair = Path::new(FIXTURES).join("batch-worktree");
    for name in ["uses-venv.night", "committed.night"] {
        fs::copy(pair.join(name), repo.path().join(name)).expect("copy fixture");
    }
    repo.commit_all("add runbooks");
    let (code, alone) = repo.night(&["check", "uses-venv.night"]);
    assert_eq!(code, 0, "alone, the runbook runs in this checkout:\n{alone}");
    let (code, output) = repo.night(&["check", "--batch", "uses-venv.night", "committed.night"]);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/check");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("batch-worktree", format!("exit: {code}\n{output}")));
    assert_eq!(code, 1, "{output}");
}
