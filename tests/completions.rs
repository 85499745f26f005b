//! `night completions` and `night man`: generated from the clap definitions, so every
//! subcommand and option appears; the bash script is valid bash.

use std::process::Command;

fn night(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_night")).args(args).output().expect("night runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

const SUBCOMMANDS: &[&str] = &["check", "notify", "fmt", "init", "lsp", "completions", "man", "deliver"];

#[test]
fn completion_scripts_know_every_subcommand_and_option() {
    for (shell, marker) in [("bash", "complete -F _night"), ("zsh", "#compdef night"), ("fish", "complete -c night")] {
        let (code, script) = night(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains(marker), "{shell}: no `{marker}`");
        for word in SUBCOMMANDS.iter().chain(&["deny-warnings", "force", "output"]) {
            assert!(script.contains(word), "{shell}: `{word}` is not completed");
        }
    }
    assert_ne!(night(&["completions", "tcsh"]).0, 0, "an unknown shell is refused");
}

#[test]
fn the_bash_script_is_valid_bash() {
    let (_, script) = night(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("night.bash");
    std::fs::write(&path, script).expect("write");
    let status = Command::new("bash").arg("-n").arg(&path).status().expect("bash runs");
    assert!(status.success());
}

#[test]
fn the_man_page_lists_every_subcommand() {
    let (code, page) = night(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH night 1"), "{page}");
    for subcommand in SUBCOMMANDS {
        assert!(page.contains(&format!("night\\-{subcommand}(1)")), "`{subcommand}` is missing from the page");
    }
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("man1");
    let (code, _) = night(&["man", "--dir", out.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0);
    for page in std::iter::once("night.1".to_string()).chain(SUBCOMMANDS.iter().map(|s| format!("night-{s}.1"))) {
        let text = std::fs::read_to_string(out.join(&page)).unwrap_or_else(|_| panic!("{page} was not written"));
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
    let fmt = std::fs::read_to_string(out.join("night-fmt.1")).expect("read");
    assert!(fmt.contains("\\-\\-check"), "the options are in the subcommand's page");
}
