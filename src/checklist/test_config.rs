//! What a project's own files add to a `tests` command, for `tests-without-names` and
//! `tests-stop-early`: pytest's `addopts` (pytest.ini, .pytest.ini, pyproject.toml, tox.ini,
//! setup.cfg, then `PYTEST_ADDOPTS`), nextest's profile (`.config/nextest.toml`), jest's settings
//! in package.json, and the package.json script that `npm test`, `yarn test` or `pnpm run unit`
//! runs. Each is read from the repository's root, where `night run` runs the checks; a file that
//! is missing or does not parse adds nothing, as the runner would then fail on its own.

/// The project as the rules read it: its files by path from the root, and the environment.
pub struct Project<'a> {
    /// A file's text, by its path from the repository's root.
    pub read: &'a dyn Fn(&str) -> Option<String>,
    /// An environment variable.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Arguments a runner gets from one place, in the order the runner applies them (the config
/// first, the command line last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Where they come from, in words (`None`: the command as written).
    pub origin: Option<String>,
    /// The arguments.
    pub args: Vec<String>,
}

impl Layer {
    /// The command line's own arguments.
    pub fn command(args: &[&str]) -> Self {
        Layer { origin: None, args: args.iter().map(|a| (*a).to_string()).collect() }
    }

    fn from(origin: impl Into<String>, args: Vec<String>) -> Self {
        Layer { origin: Some(origin.into()), args }
    }
}

/// pytest's `addopts` from the first configuration file pytest would use at the root (pytest.ini
/// always, the others when they hold a pytest section), then `PYTEST_ADDOPTS`.
pub fn pytest(project: &Project<'_>) -> Vec<Layer> {
    let mut layers = Vec::new();
    let inis = [("pytest.ini", "pytest", true), (".pytest.ini", "pytest", true), ("pyproject.toml", "", false), ("tox.ini", "pytest", false), ("setup.cfg", "tool:pytest", false)];
    for (file, section, always) in inis {
        let Some(text) = (project.read)(file) else { continue };
        let addopts = if file == "pyproject.toml" {
            match pyproject_addopts(&text) {
                Some(addopts) => addopts,
                None => continue,
            }
        } else {
            match ini_section(&text, section) {
                Some(entries) => entries.into_iter().find(|(key, _)| key == "addopts").map(|(_, value)| words(&value)).unwrap_or_default(),
                None if always => Vec::new(),
                None => continue,
            }
        };
        if !addopts.is_empty() {
            layers.push(Layer::from(format!("`addopts` in {file}"), addopts));
        }
        break;
    }
    if let Some(env) = (project.env)("PYTEST_ADDOPTS").filter(|v| !v.trim().is_empty()) {
        layers.push(Layer::from("`PYTEST_ADDOPTS`", words(&env)));
    }
    layers
}

/// `[tool.pytest.ini_options]` (or pytest 9's `[tool.pytest]`) `addopts`, a string or a list;
/// `None` when pyproject.toml has no pytest section.
fn pyproject_addopts(text: &str) -> Option<Vec<String>> {
    let document = toml_edit::Document::parse(text).ok()?;
    let pytest = document.as_item().get("tool")?.get("pytest")?;
    let options = pytest.get("ini_options").unwrap_or(pytest);
    Some(match options.get("addopts") {
        Some(item) if item.as_str().is_some() => words(item.as_str().unwrap_or_default()),
        Some(item) => item.as_array().map(|list| list.iter().filter_map(|v| v.as_str()).flat_map(words).collect()).unwrap_or_default(),
        None => Vec::new(),
    })
}

/// A section's `key = value` entries in an INI file as pytest reads it (iniconfig): `[name]`
/// headers, `key = value` or `key: value`, a value continued on indented lines, `#` and `;`
/// comment lines. `None` when the section is not there.
fn ini_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside: Option<Vec<(String, String)>> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            if inside.is_some() {
                break;
            }
            if header.trim() == name {
                inside = Some(Vec::new());
            }
            continue;
        }
        let Some(entries) = inside.as_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = entries.last_mut() {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(['=', ':']) {
            entries.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    inside
}

/// nextest's `fail-fast` and `status-level` for the profile the command uses (`--profile`/`-P`,
/// else `NEXTEST_PROFILE`, else `default`), through the profile's `inherits` and `default`, as
/// the flags they stand for.
pub fn nextest(project: &Project<'_>, args: &[&str]) -> Vec<Layer> {
    let Some(text) = (project.read)(".config/nextest.toml") else { return Vec::new() };
    let Ok(document) = toml_edit::Document::parse(text.as_str()) else { return Vec::new() };
    let chosen = value_of(args, &["--profile", "-P"]).map(str::to_string).or_else(|| (project.env)("NEXTEST_PROFILE")).unwrap_or_else(|| "default".to_string());
    let profiles = document.as_item().get("profile");
    // The profile, what it inherits, and `default` last; a loop in `inherits` ends the walk.
    let mut chain: Vec<String> = vec![chosen.clone()];
    while chain.len() < 8 {
        let last = chain.last().map(String::as_str).unwrap_or("default");
        if last == "default" {
            break;
        }
        let parent = profiles.and_then(|p| p.get(last)).and_then(|p| p.get("inherits")).and_then(|i| i.as_str()).unwrap_or("default").to_string();
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    if !chain.iter().any(|name| name == "default") {
        chain.push("default".to_string());
    }
    let setting = |key: &str| chain.iter().find_map(|name| profiles.and_then(|p| p.get(name.as_str())).and_then(|p| p.get(key)));
    let mut flags = Vec::new();
    if let Some(fail_fast) = setting("fail-fast") {
        match (fail_fast.as_bool(), fail_fast.get("max-fail")) {
            (Some(false), _) => flags.push("--no-fail-fast".to_string()),
            (Some(true), _) => flags.push("--fail-fast".to_string()),
            (None, Some(max)) if max.as_str() == Some("all") => flags.push("--max-fail=all".to_string()),
            (None, Some(max)) => flags.push(format!("--max-fail={}", max.as_integer().unwrap_or(1))),
            (None, None) => {}
        }
    }
    if let Some(level) = setting("status-level").and_then(|l| l.as_str()) {
        flags.push(format!("--status-level={level}"));
    }
    if flags.is_empty() {
        return Vec::new();
    }
    vec![Layer::from(format!("profile `{chosen}` in .config/nextest.toml"), flags)]
}

/// jest's `bail` and `verbose` from the `jest` settings in package.json, as flags.
pub fn jest(project: &Project<'_>) -> Vec<Layer> {
    let Some(package) = package_json(project) else { return Vec::new() };
    let Some(settings) = package.get("jest") else { return Vec::new() };
    let mut flags = Vec::new();
    match settings.get("bail") {
        Some(serde_json::Value::Bool(bail)) => flags.push(format!("--bail={bail}")),
        Some(serde_json::Value::Number(n)) => flags.push(format!("--bail={n}")),
        _ => {}
    }
    if settings.get("verbose").and_then(serde_json::Value::as_bool) == Some(true) {
        flags.push("--verbose".to_string());
    }
    if flags.is_empty() {
        return Vec::new();
    }
    vec![Layer::from("the `jest` settings in package.json", flags)]
}

fn package_json(project: &Project<'_>) -> Option<serde_json::Value> {
    serde_json::from_str(&(project.read)("package.json")?).ok()
}

/// The package.json script a package manager runs: `npm test`, `npm run NAME`, `yarn test`,
/// `yarn NAME`, `pnpm test`, `pnpm run NAME`, `bun run NAME`; its name and its text with the
/// arguments passed on to it.
pub fn script(project: &Project<'_>, part: &str) -> Option<(String, String)> {
    let words: Vec<&str> = part.split_whitespace().collect();
    let at = words.iter().position(|w| matches!(program(w), "npm" | "yarn" | "pnpm" | "bun"))?;
    let manager = program(words[at]);
    let rest = &words[at + 1..];
    let (name, after): (&str, &[&str]) = match (manager, rest.first().copied()) {
        ("npm" | "pnpm" | "yarn", Some("test" | "t" | "tst")) => ("test", &rest[1..]),
        ("npm", Some("run" | "run-script" | "rum" | "urn")) | ("pnpm" | "yarn" | "bun", Some("run")) => (*rest.get(1)?, rest.get(2..).unwrap_or_default()),
        ("yarn", Some(name)) if !name.starts_with('-') => (name, &rest[1..]),
        _ => return None,
    };
    // npm passes on only what follows `--`; the others take it either way.
    let passed: Vec<&str> = match (manager, after.iter().position(|a| *a == "--")) {
        (_, Some(dash)) => after[dash + 1..].to_vec(),
        ("npm", None) => Vec::new(),
        (_, None) => after.to_vec(),
    };
    let package = package_json(project)?;
    let text = package.get("scripts")?.get(name)?.as_str()?;
    let mut text = text.to_string();
    for arg in passed {
        text.push(' ');
        text.push_str(arg);
    }
    Some((name.to_string(), text))
}

fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The value of `--flag value` or `--flag=value`, for any of `flags`.
pub fn value_of<'a>(args: &[&'a str], flags: &[&str]) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        flags.iter().find_map(|flag| if a == flag { args.get(i + 1).copied() } else { a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) })
    })
}

/// Shell-like words of an option string: split on white space, quotes around a word removed.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string()).filter(|w| !w.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(files: &[(&str, &str)], env: &[(&str, &str)], test: impl FnOnce(&Project<'_>)) {
        let files: HashMap<String, String> = files.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        let read = |path: &str| files.get(path).cloned();
        let lookup = |name: &str| env.get(name).cloned();
        test(&Project { read: &read, env: &lookup });
    }

    fn args(layers: &[Layer]) -> Vec<(Option<&str>, Vec<&str>)> {
        layers.iter().map(|l| (l.origin.as_deref(), l.args.iter().map(String::as_str).collect())).collect()
    }

    #[test]
    fn pytest_addopts_from_the_file_pytest_uses_then_the_environment() {
        with(&[("pytest.ini", "[pytest]\naddopts = -x\n  -rA\n"), ("tox.ini", "[pytest]\naddopts = -v\n")], &[("PYTEST_ADDOPTS", "--maxfail=2")], |p| {
            assert_eq!(args(&pytest(p)), [(Some("`addopts` in pytest.ini"), vec!["-x", "-rA"]), (Some("`PYTEST_ADDOPTS`"), vec!["--maxfail=2"])]);
        });
        // An empty pytest.ini still wins over the files after it.
        with(&[("pytest.ini", "# nothing\n"), ("setup.cfg", "[tool:pytest]\naddopts = -x\n")], &[], |p| assert!(pytest(p).is_empty()));
        // A tox.ini without a pytest section is passed over.
        with(&[("tox.ini", "[tox]\nenvlist = py3\n"), ("setup.cfg", "[metadata]\nname = x\n[tool:pytest]\naddopts = --exitfirst -q\n")], &[], |p| {
            assert_eq!(args(&pytest(p)), [(Some("`addopts` in setup.cfg"), vec!["--exitfirst", "-q"])]);
        });
        with(&[("pyproject.toml", "[tool.pytest.ini_options]\naddopts = \"-ra -q\"\n")], &[], |p| assert_eq!(args(&pytest(p)), [(Some("`addopts` in pyproject.toml"), vec!["-ra", "-q"])]));
        with(&[("pyproject.toml", "[tool.pytest]\naddopts = [\"-x\", \"-v\"]\n")], &[], |p| assert_eq!(args(&pytest(p)), [(Some("`addopts` in pyproject.toml"), vec!["-x", "-v"])]));
        with(&[("pyproject.toml", "[project]\nname = \"x\"\n"), ("tox.ini", "[pytest]\naddopts = -x\n")], &[], |p| assert_eq!(args(&pytest(p)), [(Some("`addopts` in tox.ini"), vec!["-x"])]));
        with(&[("pyproject.toml", "not toml at all [")], &[], |p| assert!(pytest(p).is_empty()));
    }

    #[test]
    fn the_nextest_profile_the_command_uses() {
        let config = "[profile.default]\nstatus-level = \"fail\"\n[profile.ci]\nfail-fast = false\n[profile.ci-strict]\ninherits = \"ci\"\n[profile.new]\nfail-fast = { max-fail = \"all\" }\n[profile.loop]\ninherits = \"loop\"\n";
        with(&[(".config/nextest.toml", config)], &[], |p| {
            assert_eq!(args(&nextest(p, &[])), [(Some("profile `default` in .config/nextest.toml"), vec!["--status-level=fail"])]);
            assert_eq!(args(&nextest(p, &["--profile", "ci"])), [(Some("profile `ci` in .config/nextest.toml"), vec!["--no-fail-fast", "--status-level=fail"])]);
            assert_eq!(args(&nextest(p, &["-P", "ci-strict"]))[0].1, ["--no-fail-fast", "--status-level=fail"]);
            assert_eq!(args(&nextest(p, &["--profile=new"]))[0].1, ["--max-fail=all", "--status-level=fail"]);
            assert_eq!(args(&nextest(p, &["--profile", "loop"]))[0].1, ["--status-level=fail"], "a loop in `inherits` ends");
        });
        with(&[(".config/nextest.toml", "[profile.ci]\nfail-fast = false\n")], &[("NEXTEST_PROFILE", "ci")], |p| assert_eq!(args(&nextest(p, &[]))[0].1, ["--no-fail-fast"]));
        with(&[], &[], |p| assert!(nextest(p, &[]).is_empty()));
    }

    #[test]
    fn jest_settings_and_package_scripts() {
        let package = r#"{"scripts": {"test": "jest", "unit": "cross-env CI=1 vitest run --bail=1", "ci": "npm run unit"}, "jest": {"bail": true, "verbose": true}}"#;
        with(&[("package.json", package)], &[], |p| {
            assert_eq!(args(&jest(p)), [(Some("the `jest` settings in package.json"), vec!["--bail=true", "--verbose"])]);
            assert_eq!(script(p, "npm test"), Some(("test".into(), "jest".into())));
            assert_eq!(script(p, "npm test -- --ci"), Some(("test".into(), "jest --ci".into())));
            assert_eq!(script(p, "npm test --silent"), Some(("test".into(), "jest".into())), "npm keeps what is not after `--`");
            assert_eq!(script(p, "yarn test --bail"), Some(("test".into(), "jest --bail".into())));
            assert_eq!(script(p, "pnpm run unit"), Some(("unit".into(), "cross-env CI=1 vitest run --bail=1".into())));
            assert_eq!(script(p, "yarn ci"), Some(("ci".into(), "npm run unit".into())));
            assert_eq!(script(p, "npm run missing"), None);
            assert_eq!(script(p, "npm ci"), None);
            assert_eq!(script(p, "make test"), None);
        });
        with(&[("package.json", "{not json")], &[], |p| assert_eq!(script(p, "npm test"), None));
    }

    #[test]
    fn ini_continuations_and_comments() {
        let text = "; a comment\n[other]\naddopts = -v\n[pytest]\n# comment\naddopts: -q\n    --maxfail=3\ntestpaths = tests\n[later]\n";
        let entries = ini_section(text, "pytest").expect("section");
        assert_eq!(entries, [("addopts".to_string(), "-q\n--maxfail=3".to_string()), ("testpaths".to_string(), "tests".to_string())]);
        assert_eq!(ini_section(text, "missing"), None);
    }
}
