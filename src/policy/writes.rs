//! The files a shell command writes, when the command line names them literally: what the
//! hook checks against `write` before a Bash call runs, as it checks an Edit's path.
//!
//! Only what the line itself says is read: redirections (`>`, `>>`, `&>`, `<>`) and the path
//! arguments of the usual file-changing programs — `rm`, `rmdir`, `unlink`, `shred`, `git rm`,
//! `git mv`, `mv`, `cp`, `install`, `ln`, `touch`, `truncate`, `tee`, `sed -i`, `dd of=`. A
//! word whose value exists only at run time (`$VAR`, `$(…)`, a glob) is left to the checks
//! after the session; so are files a program chooses itself (a build writing `target/`).

use super::shell::{Command, Word};

/// Paths written by one command, as written (relative to where the command runs, or absolute;
/// `~` kept), in order. Unknown words are skipped.
pub fn literal_targets(command: &Command) -> Vec<String> {
    let mut targets: Vec<String> = command.redirects.iter().filter(|r| r.writes()).filter_map(|r| literal(&r.target)).collect();
    let Some(name) = command.name() else { return targets };
    let args = command.args();
    let operands = || operands(args, options_with_value(name));
    let found: Vec<String> = match name {
        "rm" | "rmdir" | "unlink" | "shred" | "touch" | "tee" | "mv" | "truncate" => operands(),
        "cp" | "install" | "ln" => match target_directory(args) {
            Some(dir) => vec![dir],
            None => operands().into_iter().last().into_iter().collect(),
        },
        "sed" if in_place(args) => sed_files(args),
        "dd" => args.iter().filter_map(|w| w.value.as_deref()?.strip_prefix("of=").map(str::to_string)).collect(),
        "git" => git_targets(args),
        _ => Vec::new(),
    };
    targets.extend(found);
    targets.retain(|path| !path.is_empty() && !has_glob(path));
    targets
}

/// A word's value, when known.
fn literal(word: &Word) -> Option<String> {
    word.value.clone()
}

/// Options of `program` that take the next word as their value.
fn options_with_value(program: &str) -> &'static [&'static str] {
    match program {
        "truncate" => &["-s", "--size", "-r", "--reference"],
        "install" => &["-m", "--mode", "-o", "--owner", "-g", "--group", "-S", "--suffix"],
        "cp" | "mv" | "ln" => &["-S", "--suffix"],
        "shred" => &["-n", "--iterations", "-s", "--size", "--random-source"],
        _ => &[],
    }
}

/// The arguments that are not options (and not an option's value), every one after `--`;
/// words known only at run time are skipped.
fn operands(args: &[Word], with_value: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut options_done = false;
    let mut skip_next = false;
    for word in args {
        if skip_next {
            skip_next = false;
            continue;
        }
        let Some(value) = word.value.as_deref() else { continue };
        if !options_done && value == "--" {
            options_done = true;
            continue;
        }
        if !options_done && value.starts_with('-') && value.len() > 1 {
            skip_next = with_value.contains(&value);
            continue;
        }
        found.push(value.to_string());
    }
    found
}

/// `-t DIR`, `--target-directory=DIR` (cp, mv, install, ln).
fn target_directory(args: &[Word]) -> Option<String> {
    let values: Vec<&str> = args.iter().filter_map(|w| w.value.as_deref()).collect();
    for (i, value) in values.iter().enumerate() {
        if let Some(dir) = value.strip_prefix("--target-directory=") {
            return Some(dir.to_string());
        }
        if *value == "-t" || *value == "--target-directory" {
            return values.get(i + 1).map(|d| (*d).to_string());
        }
    }
    None
}

/// `sed -i`, `-i.bak`, `--in-place`, or `-i` among short options (`-ni`).
fn in_place(args: &[Word]) -> bool {
    let short_i = |v: &str| v.strip_prefix('-').filter(|flags| !flags.starts_with('-')).and_then(|flags| flags.split('.').next()).is_some_and(|flags| flags.contains('i'));
    args.iter().filter_map(|w| w.value.as_deref()).take_while(|v| *v != "--").any(|v| v.starts_with("--in-place") || short_i(v))
}

/// The files `sed -i` edits: the operands after the script (the first operand, unless a
/// script was given with `-e`/`-f`).
fn sed_files(args: &[Word]) -> Vec<String> {
    let scripted = args.iter().filter_map(|w| w.value.as_deref()).any(|v| matches!(v, "-e" | "-f" | "--expression" | "--file") || v.starts_with("--expression=") || v.starts_with("--file="));
    let operands = operands(args, &["-e", "-f", "--expression", "--file", "-l", "--line-length"]);
    if scripted {
        operands
    } else {
        operands.into_iter().skip(1).collect()
    }
}

/// `git rm …`, `git mv …` (after git's own options).
fn git_targets(args: &[Word]) -> Vec<String> {
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        match first.value.as_deref() {
            Some("-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace") => rest = tail.get(1..).unwrap_or_default(),
            Some(option) if option.starts_with('-') => rest = tail,
            _ => break,
        }
    }
    match rest.split_first() {
        Some((sub, tail)) if sub.value.as_deref() == Some("rm") => operands(tail, &[]),
        Some((sub, tail)) if sub.value.as_deref() == Some("mv") => operands(tail, &[]),
        _ => Vec::new(),
    }
}

/// A glob the shell expands at run time: its files are not known from the line.
fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Files every run may write whatever `write` says: the null device and the terminal.
pub fn always_writable(path: &str) -> bool {
    matches!(path, "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty") || path.starts_with("/dev/fd/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::shell;

    fn targets(line: &str) -> Vec<String> {
        shell::parse(line).commands.iter().flat_map(literal_targets).collect()
    }

    #[test]
    fn the_usual_file_changers_name_their_targets() {
        assert_eq!(targets("git rm -q tests/test_a.py"), ["tests/test_a.py"]);
        assert_eq!(targets("git -C . mv a b"), ["a", "b"]);
        assert_eq!(targets("rm -rf -- build notes.txt"), ["build", "notes.txt"]);
        assert_eq!(targets("mv src/a docs/b"), ["src/a", "docs/b"]);
        assert_eq!(targets("cp -r src/a docs/"), ["docs/"]);
        assert_eq!(targets("cp -t out a b"), ["out"]);
        assert_eq!(targets("sed -i 's/a/b/' README.md setup.py"), ["README.md", "setup.py"]);
        assert_eq!(targets("sed -i.bak -e 's/a/b/' README.md"), ["README.md"]);
        assert_eq!(targets("sed 's/a/b/' README.md"), Vec::<String>::new());
        assert_eq!(targets("echo x | tee -a log.txt"), ["log.txt"]);
        assert_eq!(targets("truncate -s 0 big.log"), ["big.log"]);
        assert_eq!(targets("dd if=/dev/zero of=disk.img bs=1M count=1"), ["disk.img"]);
        assert_eq!(targets("echo hi > notes.txt 2>>err.log"), ["notes.txt", "err.log"]);
        assert_eq!(targets("cat a > /dev/null 2>&1"), ["/dev/null"]);
    }

    #[test]
    fn run_time_words_and_globs_are_left_to_the_checks_after_the_session() {
        assert!(targets("rm \"$FILE\"").is_empty());
        assert!(targets("rm *.pyc").is_empty());
        assert!(targets("cargo test > $(mktemp)").is_empty());
        assert!(targets("git status").is_empty());
        assert_eq!(targets("sh -c 'rm notes.txt'"), ["notes.txt"]);
    }
}
