//! The import rule of docs/architecture.md, read from the `crate::…` paths of `src/`: no two
//! parts import each other, and the low parts import nothing above them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A part: a top-level file or folder of `src/` (`run/agent/` is part of `run`).
fn part_of(relative: &Path) -> String {
    let mut names = relative.iter().map(|name| name.to_string_lossy().trim_end_matches(".rs").to_string());
    names.next().unwrap_or_default()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") && path.file_name().is_some_and(|name| name != "tests.rs") {
            found.push(path);
        }
    }
}

/// Which parts each part names in its code (comments and unit tests left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut parts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let part = part_of(file.strip_prefix(&src).expect("under src"));
        let named = parts.entry(part.clone()).or_default();
        for line in code.lines().filter(|line| !line.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() && name != part {
                    named.insert(name);
                }
            }
        }
    }
    parts
}

#[test]
fn no_two_parts_import_each_other() {
    let parts = imports();
    assert!(parts.len() > 15, "src/ was read: {:?}", parts.keys());
    let mut both_ways = Vec::new();
    for (part, named) in &parts {
        for other in named {
            if part < other && parts.get(other).is_some_and(|back| back.contains(part)) {
                both_ways.push(format!("{part} <-> {other}"));
            }
        }
    }
    assert!(both_ways.is_empty(), "parts that import each other: {both_ways:?}");
}

#[test]
fn the_low_parts_import_nothing_above_them() {
    let parts = imports();
    let never: &[(&str, &[&str])] = &[
        ("os", &["ast", "plan", "record", "run", "report", "policy", "sandbox", "cli", "notify"]),
        ("secrets", &["ast", "plan", "record", "run", "report", "os", "cli"]),
        ("time", &["ast", "plan", "record", "run", "report", "os", "cli"]),
        ("record", &["run", "report", "plan", "policy", "hook", "sandbox", "cli", "notify"]),
        ("report", &["run", "plan", "policy", "hook", "sandbox", "cli", "notify"]),
        ("plan", &["policy", "run", "record", "report", "sandbox", "cli"]),
        ("policy", &["hook", "sandbox", "run", "record", "report", "cli"]),
        ("sandbox", &["run", "hook", "record", "report", "cli"]),
        ("run", &["cli", "remote", "export"]),
    ];
    let mut broken = Vec::new();
    for (part, above) in never {
        let named = parts.get(*part).unwrap_or_else(|| panic!("no part `{part}` in src/"));
        broken.extend(above.iter().filter(|name| named.contains(**name)).map(|name| format!("{part} -> {name}")));
    }
    assert!(broken.is_empty(), "imports against docs/architecture.md: {broken:?}");
}
