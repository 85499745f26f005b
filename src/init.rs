//! `night init`: detect a repository's test command and write a commented starting runbook.
//!
//! The runbook passes `night check` on this machine once its prompt is written: the prompt is
//! left empty under a `TODO` comment, and the checker reports an empty prompt as an error ("the
//! prompt is empty"), so an unfilled runbook can never run. Everything else is chosen from what
//! is installed here: the agent (the first of claude, codex, gemini, aider and goose that
//! `night run` can start; else `claude`, which `night check` then reports with how to install
//! it), the test command (the project's own environment first: `uv run`, `poetry run`, a
//! `.venv`), and a desktop notifier when there is one.

use crate::agent_program::AgentProgram;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A test command found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The command, e.g. `cargo test`.
    pub command: String,
    /// The `tests` format that reads its output.
    pub format: &'static str,
    /// Why: the file it was read from, for the runbook's comment.
    pub reason: String,
    /// Hosts the agent needs to reach to install dependencies.
    pub registries: &'static [&'static str],
    /// Files of the ecosystem the agent may change (manifests, lock files), when they exist.
    pub files: Vec<String>,
}

/// The programs of this machine, as `night check` and `night run` will find them.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The `PATH` to look programs up on.
    pub path_var: String,
}

impl Installed {
    /// The machine night runs on.
    pub fn here() -> Self {
        Self { path_var: std::env::var("PATH").unwrap_or_default() }
    }

    /// Whether `program` (a name on PATH, or a path relative to `root`) is an executable.
    pub fn has(&self, program: &str, root: &Path) -> bool {
        crate::agent_program::locate(program, root, &self.path_var).is_some()
    }

    /// The first agent `night run` can start here, or `None`.
    pub fn agent(&self, root: &Path) -> Option<&'static AgentProgram> {
        crate::agent_program::PROGRAMS
            .iter()
            .find(|program| crate::agent_program::usable(program, program.default, root, &self.path_var).is_ok())
    }

    /// The first command whose program is installed, else the first (`night check` then says
    /// what to install).
    fn choose(&self, root: &Path, candidates: &[String]) -> String {
        let runs = |command: &String| command.split_whitespace().next().is_some_and(|program| self.has(program, root));
        candidates.iter().find(|command| runs(command)).or(candidates.first()).cloned().unwrap_or_default()
    }
}

/// Every test command found at `root`, the most specific first.
pub fn detect(root: &Path) -> Vec<Detected> {
    detect_on(root, &Installed::here())
}

/// [`detect`] with the programs of `installed`.
pub fn detect_on(root: &Path, installed: &Installed) -> Vec<Detected> {
    let mut found = Vec::new();
    if root.join("Cargo.toml").is_file() {
        // `Cargo.lock` even when it does not exist yet: the baseline's `cargo test` creates it.
        let mut files = existing(root, &["Cargo.toml"]);
        files.push("Cargo.lock".into());
        found.push(Detected {
            // Every test binary runs, so the counts are never partial (`tests-stop-early`).
            command: "cargo test --no-fail-fast".into(),
            format: "cargo",
            reason: "Cargo.toml".into(),
            registries: &["crates.io", "index.crates.io", "static.crates.io"],
            files,
        });
    }
    if let Some(node) = detect_node(root) {
        found.push(node);
    }
    if root.join("go.mod").is_file() {
        found.push(Detected {
            // `-v` names every test, so a deleted one is caught by name (`tests-without-names`).
            command: "go test -v ./...".into(),
            format: "go",
            reason: "go.mod".into(),
            registries: &["proxy.golang.org", "sum.golang.org"],
            files: std::iter::once("**/*.go".to_string()).chain(existing(root, &["go.mod", "go.sum"])).collect(),
        });
    }
    if let Some(python) = detect_python(root, installed) {
        found.push(python);
    }
    if let Some(makefile) = ["GNUmakefile", "makefile", "Makefile"].iter().find(|name| has_make_target(&root.join(name), "test")) {
        found.push(Detected {
            command: "make test".into(),
            format: "auto",
            reason: format!("the `test` target of {makefile}"),
            registries: &[],
            files: Vec::new(),
        });
    }
    found
}

fn detect_node(root: &Path) -> Option<Detected> {
    let text = std::fs::read_to_string(root.join("package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    let script = manifest.get("scripts")?.get("test")?.as_str()?;
    // `npm init` writes a test script that only fails: it is no test command.
    if script.contains("no test specified") {
        return None;
    }
    let (command, lock) = if root.join("pnpm-lock.yaml").is_file() {
        ("pnpm test", "pnpm-lock.yaml")
    } else if root.join("yarn.lock").is_file() {
        ("yarn test", "yarn.lock")
    } else if root.join("bun.lock").is_file() || root.join("bun.lockb").is_file() {
        ("bun run test", if root.join("bun.lock").is_file() { "bun.lock" } else { "bun.lockb" })
    } else {
        ("npm test", "package-lock.json")
    };
    let format = if script.contains("vitest") {
        "vitest"
    } else if script.contains("jest") {
        "jest"
    } else if script.contains("mocha") {
        "mocha"
    } else {
        "auto"
    };
    // The flag that makes the runner name every test, so that a deleted one is caught by name
    // (`tests-without-names`); npm passes on only what follows `--`.
    let names = match format {
        "jest" if !script.contains("--verbose") => Some("--verbose"),
        "vitest" if !script.contains("--reporter") => Some("--reporter=verbose"),
        _ => None,
    };
    let command = match (names, command) {
        (Some(flag), "npm test") => format!("npm test -- {flag}"),
        (Some(flag), _) => format!("{command} {flag}"),
        (None, _) => command.to_string(),
    };
    let registries: &[&str] = if command.starts_with("yarn") { &["registry.yarnpkg.com", "registry.npmjs.org"] } else { &["registry.npmjs.org"] };
    Some(Detected {
        command,
        format,
        reason: format!("the `test` script of package.json ({script})"),
        registries,
        files: existing(root, &["package.json", lock]),
    })
}

/// Virtual environments a project keeps at its root.
const VENVS: &[&str] = &[".venv", "venv", "env"];

fn detect_python(root: &Path, installed: &Installed) -> Option<Detected> {
    let mentions = |file: &str, needle: &str| std::fs::read_to_string(root.join(file)).is_ok_and(|text| text.contains(needle));
    let reason = if root.join("pytest.ini").is_file() {
        "pytest.ini"
    } else if mentions("pyproject.toml", "pytest") {
        "pyproject.toml"
    } else if mentions("setup.cfg", "[tool:pytest]") {
        "setup.cfg"
    } else if mentions("tox.ini", "[pytest]") {
        "tox.ini"
    } else if root.join("conftest.py").is_file() || has_python_tests(&root.join("tests")) || has_python_tests(&root.join("test")) {
        "the Python tests in the repository"
    } else {
        return None;
    };
    // The project's own environment first: its lock file's tool, then its virtual environment.
    let mut candidates = Vec::new();
    if root.join("uv.lock").is_file() {
        candidates.push("uv run pytest -rA".to_string());
    }
    if root.join("poetry.lock").is_file() {
        candidates.push("poetry run pytest -rA".to_string());
    }
    candidates.extend(VENVS.iter().map(|venv| format!("{venv}/bin/pytest")).filter(|pytest| installed.has(pytest, root)).map(|pytest| format!("{pytest} -rA")));
    candidates.push("pytest -rA".to_string());
    let command = installed.choose(root, &candidates);
    let reason = match VENVS.iter().find(|venv| command.starts_with(&format!("{venv}/"))) {
        Some(venv) => format!("{reason}, with the pytest of `{venv}`"),
        None => reason.to_string(),
    };
    let packages = subfolders(root).into_iter().filter(|dir| root.join(dir).join("__init__.py").is_file()).map(|dir| format!("{dir}/**"));
    Some(Detected {
        command,
        format: "pytest",
        reason,
        registries: &["pypi.org", "files.pythonhosted.org"],
        files: packages
            .chain(existing(root, &["pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "uv.lock", "poetry.lock"]))
            .collect(),
    })
}

fn has_python_tests(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
    })
}

/// Whether the makefile defines `target` as a rule (not a variable like `test := …`).
fn has_make_target(makefile: &Path, target: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(makefile) else { return false };
    text.lines().any(|line| {
        line.split_once(':').is_some_and(|(targets, rest)| {
            !rest.starts_with('=') && !line.starts_with(['\t', ' ', '#']) && targets.split_whitespace().any(|t| t == target)
        })
    })
}

fn existing(root: &Path, names: &[&str]) -> Vec<String> {
    names.iter().filter(|name| root.join(name).exists()).map(|name| (*name).to_string()).collect()
}

/// Folder names at the top of the repository that can be written as a plain glob.
fn subfolders(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && !name.contains(['*', '?', '[', ']', '{', '}', '\\', '"']))
        .collect();
    names.sort();
    names
}

/// Folders that usually hold code and tests, in the order they are written.
const SOURCE_FOLDERS: &[&str] =
    &["src", "lib", "app", "pkg", "cmd", "internal", "crates", "packages", "tests", "test", "__tests__", "spec", "benches", "examples"];

/// The `write` globs: the source folders that exist, then the ecosystem's own files.
pub fn write_globs(root: &Path, detected: Option<&Detected>) -> Vec<String> {
    let folders = subfolders(root);
    let mut globs: Vec<String> =
        SOURCE_FOLDERS.iter().filter(|name| folders.iter().any(|f| f == *name)).map(|name| format!("{name}/**")).collect();
    for file in detected.map(|d| d.files.as_slice()).unwrap_or_default() {
        if !globs.contains(file) {
            globs.push(file.clone());
        }
    }
    globs
}

/// A run name from the repository folder's name: a valid git ref component, or `night`.
pub fn run_name(root: &Path) -> String {
    let folder = root.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let cleaned: String =
        folder.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c.to_ascii_lowercase() } else { '-' }).collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if crate::syntax::is_valid_ref_component(&cleaned) { cleaned } else { "night".to_string() }
}

/// The starting runbook for the repository at `root`, in `night fmt`'s canonical form, for the
/// programs of this machine.
pub fn runbook(root: &Path) -> String {
    runbook_on(root, &Installed::here())
}

/// [`runbook`] with the programs of `installed`.
pub fn runbook_on(root: &Path, installed: &Installed) -> String {
    let found = detect_on(root, installed);
    let detected = found.first();
    let mut text = String::new();
    let name = run_name(root);
    let _ = writeln!(text, "# A starting runbook for {name}, written by `night init`.");
    text.push_str("# Write the prompt, read every block, then `night check` this file and `night run` it.\n");
    text.push_str("# The language: `night lsp` in an editor shows what each keyword means on hover.\n\n");
    let _ = writeln!(text, "name {}\n", quote(&name));

    text.push_str("task {\n");
    text.push_str("  # TODO: say what the agent should do and how you will know it is done.\n");
    text.push_str("  # `night check` reports \"the prompt is empty\" until you do.\n");
    text.push_str("  prompt \"\"\n");
    match installed.agent(root) {
        Some(agent) => {
            let _ = writeln!(text, "  agent {}\n}}\n", agent.kind);
        }
        None => {
            text.push_str("  # No agent program was found on this machine: `night check` says how to install Claude\n");
            text.push_str("  # Code, or write `agent codex`, `gemini`, `aider`, `goose` or `command \"…\"`.\n");
            text.push_str("  agent claude\n}\n\n");
        }
    }

    text.push_str("success {\n");
    match detected {
        Some(detected) => {
            let _ = writeln!(text, "  # Found in {}; night counts the passed and failed tests itself.", detected.reason);
            for other in &found[1..] {
                let _ = writeln!(text, "  # Also found: `{}` ({}).", other.command, other.reason);
            }
            let _ = writeln!(text, "  tests {} format {}", quote(&detected.command), detected.format);
        }
        None => {
            text.push_str("  # TODO: no test command was found; write the one that proves the work is done.\n");
            text.push_str("  tests \"TODO-test-command\"\n");
        }
    }
    text.push_str("  # The agent committed its work. Without this, tests that pass before the night starts\n");
    text.push_str("  # would end the run at once as `nothing-to-do`.\n");
    text.push_str("  committed\n}\n\n");

    text.push_str("permissions {\n  read \"**\"\n");
    let globs = write_globs(root, detected);
    if globs.is_empty() {
        text.push_str("  # TODO: no source folder was found; say what the agent may change.\n");
        text.push_str("  write \"src/**\"\n");
    } else {
        let list: Vec<String> = globs.iter().map(|g| quote(g)).collect();
        let _ = writeln!(text, "  write {}  # anything else the agent writes is reverted", list.join(" "));
    }
    text.push_str("  deny irreversible  # no push, publish, deploy or destructive git\n");
    match detected.map(|d| d.registries).filter(|r| !r.is_empty()) {
        Some(registries) => {
            let hosts: Vec<String> = registries.iter().map(|h| quote(h)).collect();
            text.push_str("  # The package registry, so the agent can add dependencies.\n");
            let _ = writeln!(text, "  network allow {}", hosts.join(" "));
        }
        None => text.push_str("  network off\n"),
    }
    text.push_str("}\n\n");

    text.push_str(
        "limits {\n  timeout 6h  # the whole night\n  session 2h  # then a fresh context with a summary of progress\n  attempts 5\n  stuck 3  # the same failure three times in a row ends the run\n  idle 45m  # no commit for 45 minutes: the session is ended as stuck\n  silence 20m  # no output for 20 minutes: the agent is hung\n  cost $20  # the most the run may spend\n}\n\n",
    );
    text.push_str("rollback {\n  when failing > baseline  # more failing tests than before the night\n  to last-green\n  then stop\n}\n\n");

    // A desktop notification: the run ends while the user sleeps; the report says the rest.
    let desktop = if cfg!(target_os = "macos") {
        r#"osascript -e "display notification \"$NIGHT_OUTCOME\" with title \"night\"""#
    } else {
        r#"notify-send night "$NIGHT_OUTCOME""#
    };
    let has_desktop = desktop.split_whitespace().next().is_some_and(|program| installed.has(program, root));
    if has_desktop {
        text.push_str("notify {\n");
        text.push_str("  # Also: slack env.SLACK_WEBHOOK_URL, ntfy \"my-night-runs\" (to a phone), email, webhook.\n");
        let _ = writeln!(text, "  command {} on end", quote(desktop));
        text.push_str("}\n");
    } else {
        // No notifier works here without the user's own address, topic or webhook: say so in a
        // waiver, which the checklist and the morning report both show, rather than write one
        // that cannot start.
        text.push_str("# TODO: nobody is told when the run ends. This machine has no desktop notifier; add one\n");
        text.push_str("# that reaches you, then remove the `waive` line:\n");
        text.push_str("#   notify { ntfy \"my-night-runs\" }   # to the ntfy app on a phone\n");
        text.push_str("#   notify { slack env.SLACK_WEBHOOK_URL }   # or discord, email, webhook, command\n");
        text.push_str("waive notify-missing \"no notifier yet: read the report in the morning\"\n");
    }
    crate::fmt::format(&text).unwrap_or(text)
}

/// A string literal for `text`, escaped.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The repository root containing `start` (its work tree), or `start` itself outside git.
pub fn repository_root(start: &Path) -> (PathBuf, bool) {
    match git2::Repository::discover(start).ok().and_then(|repo| repo.workdir().map(Path::to_path_buf)) {
        Some(root) => (root.canonicalize().unwrap_or(root), true),
        None => (start.to_path_buf(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        dir
    }

    /// What init detects on a machine where every test tool is installed (stand-ins on PATH).
    fn commands(files: &[(&str, &str)]) -> Vec<(String, &'static str)> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = repo(files);
        let bin = tempfile::tempdir().expect("temp dir");
        for tool in ["cargo", "npm", "pnpm", "yarn", "pytest", "go", "make", "uv", "poetry"] {
            std::fs::write(bin.path().join(tool), "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(bin.path().join(tool), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let installed = Installed { path_var: bin.path().display().to_string() };
        detect_on(dir.path(), &installed).into_iter().map(|d| (d.command, d.format)).collect()
    }

    #[test]
    fn detects_each_ecosystem() {
        assert_eq!(commands(&[("Cargo.toml", "")]), [("cargo test --no-fail-fast".into(), "cargo")]);
        assert_eq!(commands(&[("go.mod", "module x")]), [("go test -v ./...".into(), "go")]);
        assert_eq!(commands(&[("pytest.ini", "")]), [("pytest -rA".into(), "pytest")]);
        assert_eq!(commands(&[("tests/test_a.py", ""), ("uv.lock", "")]), [("uv run pytest -rA".into(), "pytest")]);
        assert_eq!(commands(&[("Makefile", "VAR := 1\ntest: build\n\tcc\n")]), [("make test".into(), "auto")]);
        let package = r#"{"scripts": {"test": "vitest run"}}"#;
        assert_eq!(commands(&[("package.json", package), ("pnpm-lock.yaml", "")]), [("pnpm test --reporter=verbose".into(), "vitest")]);
        assert_eq!(commands(&[("package.json", package), ("yarn.lock", "")]), [("yarn test --reporter=verbose".into(), "vitest")]);
        assert_eq!(commands(&[("package.json", r#"{"scripts": {"test": "jest"}}"#)]), [("npm test -- --verbose".into(), "jest")]);
        assert_eq!(commands(&[("package.json", r#"{"scripts": {"test": "jest --verbose"}}"#)]), [("npm test".into(), "jest")]);
        assert_eq!(commands(&[("package.json", r#"{"scripts": {"test": "mocha"}}"#)]), [("npm test".into(), "mocha")]);
    }

    #[test]
    fn ignores_what_is_not_a_test_command() {
        assert!(commands(&[("package.json", r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#)]).is_empty());
        assert!(commands(&[("package.json", "{not json")]).is_empty());
        assert!(commands(&[("Makefile", "test := 1\n\ttest: x\nbuild:\n")]).is_empty());
        assert!(commands(&[("pyproject.toml", "[project]\nname = \"x\"\n")]).is_empty());
    }

    #[test]
    fn orders_several_and_names_the_others() {
        let dir = repo(&[("Cargo.toml", ""), ("Makefile", "test:\n\tcargo test\n")]);
        let text = runbook(dir.path());
        assert!(text.contains("tests \"cargo test --no-fail-fast\" format cargo"), "{text}");
        assert!(text.contains("# Also found: `make test`"), "{text}");
    }

    #[test]
    fn the_runbook_is_formatted_and_names_are_refs() {
        let dir = repo(&[("Cargo.toml", ""), ("src/lib.rs", "")]);
        let text = runbook(dir.path());
        assert!(crate::fmt::is_formatted(&text), "{text}");
        assert_eq!(run_name(Path::new("/x/My Project.v2")), "my-project-v2");
        assert_eq!(run_name(Path::new("/")), "night");
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
