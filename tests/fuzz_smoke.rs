//! The fuzz targets in `fuzz/`, in CI: every file of the committed corpus replays clean
//! through the targets' own body on stable, the dictionary knows every keyword, and, where
//! cargo-fuzz and the nightly toolchain are installed, `parse_check` fuzzes for five seconds.
//! docs/fuzzing-log.md says how to run them for longer.

use night::fuzzing::parse_check_format;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("fuzz/corpus/parse_check");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_replays_clean() {
    let files = corpus();
    assert!(files.len() >= 100, "the corpus has only {} files", files.len());
    for path in &files {
        let bytes = std::fs::read(path).expect("readable");
        let replay = std::panic::catch_unwind(|| parse_check_format(&bytes));
        assert!(replay.is_ok(), "{} fails; reproduce with `cargo +nightly fuzz run parse_check {}`", path.display(), path.display());
    }
}

/// Every `.night` file below `dir`.
fn runbooks_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for path in std::fs::read_dir(dir).expect("folder").flatten().map(|e| e.path()) {
        if path.is_dir() && !path.ends_with("node_modules") {
            runbooks_under(&path, found);
        } else if path.extension().is_some_and(|e| e == "night") {
            found.push(path);
        }
    }
}

#[test]
fn every_runbook_and_fixture_replays_clean() {
    // The corpus was seeded with these; `cargo fuzz cmin` keeps only those that add coverage.
    let mut seeds = Vec::new();
    for dir in ["runbooks", "tests/fixtures", "editors"] {
        runbooks_under(&Path::new(ROOT).join(dir), &mut seeds);
    }
    assert!(seeds.len() >= 100, "only {} runbooks", seeds.len());
    for seed in seeds {
        let replay = std::panic::catch_unwind(|| parse_check_format(&std::fs::read(&seed).expect("readable")));
        assert!(replay.is_ok(), "{} fails", seed.display());
    }
}

#[test]
fn the_dictionary_knows_every_keyword_and_code() {
    let dictionary = std::fs::read_to_string(Path::new(ROOT).join("fuzz/night.dict")).expect("fuzz/night.dict");
    let entries: Vec<&str> = dictionary.lines().filter(|l| l.starts_with('"')).map(|l| l.trim_matches('"')).collect();
    let keywords = night::keywords::KEYWORDS.iter().map(|k| k.word);
    let codes = night::diagnostic::Code::ALL.iter().map(|c| c.name());
    let missing: Vec<&str> = keywords.chain(codes).filter(|word| !entries.contains(word)).collect();
    assert!(missing.is_empty(), "fuzz/night.dict lacks {missing:?}");
}

fn installed(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|output| output.status.success())
}

#[test]
fn parse_check_fuzzes_for_five_seconds() {
    let ready = installed("cargo", &["+nightly", "fuzz", "--version"]);
    if !ready {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-fuzz or the nightly toolchain is missing on CI: .ci/fuzz-setup installs them"
        );
        eprintln!("skipped: cargo-fuzz or the nightly toolchain is not installed (.ci/fuzz-setup installs them)");
        return;
    }
    // New inputs go to a temporary folder, so the committed corpus is read, never written.
    let scratch = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut cargo = Command::new("cargo");
    // Not the variables `cargo test` sets for this test: build scripts of the fuzz build (ring's)
    // rerun when they change, and the whole build with them, at every switch between a shell
    // and this test.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_test = ["CARGO", "CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR"]
            .contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_");
        if set_by_cargo_test {
            cargo.env_remove(name.as_ref());
        }
    }
    let output = cargo
        // `--dev`: the smoke run needs the target, not its speed; an unoptimised build of every
        // dependency is minutes shorter on CI's two cores (.ci/fuzz-setup builds the same).
        .args(["+nightly", "fuzz", "run", "--dev", "--sanitizer", "none", "parse_check"])
        .arg(scratch.path())
        .arg("fuzz/corpus/parse_check")
        .args(["--", "-max_total_time=5", "-dict=fuzz/night.dict"])
        .current_dir(ROOT)
        .output()
        .expect("cargo fuzz runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo fuzz run parse_check failed:\n{log}");
    assert!(log.contains("Done") && log.contains("runs in"), "libFuzzer did not finish:\n{log}");
    eprintln!("cargo fuzz build and five seconds of parse_check: {:.0?}", started.elapsed());
}
