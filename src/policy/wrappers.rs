//! Programs that run other programs: what a shell's simple command really runs.
//!
//! `FOO=1 nohup timeout 10 env -i git push` runs `git push`; `sh -c 'git push'` and `eval
//! 'git push'` hand a script to a shell; `xargs git` runs git with arguments read at run time;
//! `find . -exec rm {} +` runs `rm`; `npx vercel --prod` runs `vercel`. [`unwrap`] peels the
//! wrappers off one command and says which scripts and commands it hands on.

use super::word::Word;

/// One command with its wrappers peeled off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unwrapped {
    /// What finally runs: the program and its arguments.
    pub words: Vec<Word>,
    /// `NAME=value` given through `env`.
    pub assignments: Vec<(String, Word)>,
    /// The wrappers, as written (`env -i`, `nohup`, `timeout 10`).
    pub wrappers: Vec<String>,
    /// Scripts this command hands to a shell (`sh -c`, `eval`, `watch`, `su -c`, `flock -c`).
    pub scripts: Vec<String>,
    /// It is a shell (or `at`) that reads its script from standard input.
    pub reads_script_from_input: bool,
    /// Commands it runs from its arguments (`find -exec`), with who runs them.
    pub runs: Vec<(String, Vec<Word>)>,
    /// Its last arguments come from standard input (`xargs`).
    pub more_from_input: bool,
}

/// Shells whose `-c` takes a script.
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox"];

/// Peel the wrappers off a command.
pub fn unwrap(words: Vec<Word>) -> Unwrapped {
    let mut out = Unwrapped::default();
    let mut words = words;
    // Enough rounds for any real stack of wrappers; each round removes at least one word.
    for _ in 0..16 {
        let Some(name) = words.first().and_then(|w| w.value.as_deref()).map(|p| p.rsplit('/').next().unwrap_or(p).to_string()) else {
            break;
        };
        let text = |i: usize, words: &[Word]| words.get(i).map(|w| w.text().to_string()).unwrap_or_default();
        let skip = match name.as_str() {
            "env" => {
                let mut i = 1;
                let mut shown = String::from("env");
                while i < words.len() {
                    let word = text(i, &words);
                    match word.as_str() {
                        "-i" | "--ignore-environment" | "-" => {
                            shown.push_str(" -i");
                            i += 1;
                        }
                        "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                        "-S" | "--split-string" => {
                            // `env -S 'git push origin'`: the string is split into words.
                            let split: Vec<Word> = text(i + 1, &words).split_whitespace().map(Word::literal).collect();
                            let rest = words.split_off((i + 2).min(words.len()));
                            words.truncate(i);
                            words.extend(split);
                            words.extend(rest);
                        }
                        "--" => {
                            i += 1;
                            break;
                        }
                        w if w.starts_with('-') => i += 1,
                        w if is_assignment(w) => {
                            if let Some((name, value)) = w.split_once('=') {
                                out.assignments.push((name.to_string(), Word::literal(value)));
                            }
                            i += 1;
                        }
                        _ => break,
                    }
                }
                Some((i, shown))
            }
            "nohup" | "builtin" | "unbuffer" | "catchsegv" => Some((1, name.clone())),
            "time" => Some((1 + flags(&words, 1, &["-f", "--format", "-o", "--output"]), name.clone())),
            "nice" => Some((1 + flags(&words, 1, &["-n", "--adjustment"]), name.clone())),
            "command" if matches!(text(1, &words).as_str(), "-v" | "-V") => None,
            "command" => Some((1 + flags(&words, 1, &[]), name.clone())),
            "exec" => Some((1 + flags(&words, 1, &["-a"]), name.clone())),
            "timeout" => {
                let i = 1 + flags(&words, 1, &["-s", "--signal", "-k", "--kill-after"]);
                Some((i + 1, format!("timeout {}", text(i, &words))))
            }
            "stdbuf" => Some((1 + flags(&words, 1, &["-i", "-o", "-e", "--input", "--output", "--error"]), name.clone())),
            "setsid" | "ionice" => Some((1 + flags(&words, 1, &["-c", "-n", "--class", "--classdata"]), name.clone())),
            "taskset" => {
                let i = 1 + flags(&words, 1, &[]);
                Some((i + 1, name.clone()))
            }
            "chrt" => {
                let i = 1 + flags(&words, 1, &[]);
                Some((i + 1, name.clone()))
            }
            "flock" => {
                let i = 1 + flags(&words, 1, &["-w", "--timeout", "-E", "--conflict-exit-code"]);
                if matches!(text(i + 1, &words).as_str(), "-c" | "--command") {
                    out.scripts.push(text(i + 2, &words));
                    None
                } else {
                    Some((i + 1, name.clone()))
                }
            }
            "xargs" => {
                out.more_from_input = true;
                let i = 1 + flags(&words, 1, &["-I", "-n", "-L", "-P", "-d", "-a", "-E", "-s", "--max-args", "--max-procs", "--delimiter", "--arg-file", "--eof", "--max-chars", "--max-lines", "--replace"]);
                if i >= words.len() {
                    // `xargs` alone runs `echo`.
                    None
                } else {
                    Some((i, name.clone()))
                }
            }
            "npx" | "bunx" | "pnpx" => {
                let i = 1 + flags(&words, 1, &["-p", "--package"]);
                if matches!(text(1, &words).as_str(), "-c" | "--call") {
                    out.scripts.push(text(2, &words));
                    None
                } else {
                    Some((i, name.clone()))
                }
            }
            "uvx" => Some((1 + flags(&words, 1, &["--from", "--with", "--python", "-p"]), name.clone())),
            "pnpm" | "yarn" if text(1, &words) == "dlx" => Some((2 + flags(&words, 2, &["-p", "--package"]), format!("{name} dlx"))),
            "npm" if matches!(text(1, &words).as_str(), "exec" | "x") => {
                Some((2 + flags(&words, 2, &["-p", "--package", "-w", "--workspace"]), "npm exec".to_string()))
            }
            "pipx" if text(1, &words) == "run" => Some((2 + flags(&words, 2, &["--spec"]), "pipx run".to_string())),
            "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye" if text(1, &words) == "run" => {
                Some((2 + flags(&words, 2, &["--with", "--python", "-p", "--env", "-e", "--package", "--directory"]), format!("{name} run")))
            }
            "bundle" if text(1, &words) == "exec" => Some((2, "bundle exec".to_string())),
            "direnv" if text(1, &words) == "exec" => Some((3, "direnv exec".to_string())),
            "watch" => {
                // `watch` runs its arguments joined, through `sh -c`.
                let i = 1 + flags(&words, 1, &["-n", "--interval", "-d", "--differences"]);
                out.scripts.push(words[i.min(words.len())..].iter().map(Word::text).collect::<Vec<_>>().join(" "));
                None
            }
            "eval" => {
                out.scripts.push(words[1..].iter().map(Word::text).collect::<Vec<_>>().join(" "));
                None
            }
            "su" | "runuser" | "script" => {
                if let Some(at) = words.iter().position(|w| matches!(w.text(), "-c" | "--command")) {
                    out.scripts.push(text(at + 1, &words));
                }
                None
            }
            "at" | "batch" => {
                out.reads_script_from_input = true;
                None
            }
            "find" => {
                let mut i = 1;
                while i < words.len() {
                    if matches!(words[i].text(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                        let by = format!("find {}", words[i].text());
                        let end = words[i + 1..].iter().position(|w| matches!(w.text(), ";" | "+")).map_or(words.len(), |p| i + 1 + p);
                        out.runs.push((by, words[i + 1..end].to_vec()));
                        i = end;
                    }
                    i += 1;
                }
                None
            }
            shell if SHELLS.contains(&shell) => {
                let mut i = 1;
                if shell == "busybox" {
                    if !SHELLS.contains(&text(1, &words).as_str()) {
                        break;
                    }
                    i = 2;
                }
                let mut script = None;
                let mut file = false;
                while i < words.len() {
                    let word = text(i, &words);
                    if word == "--" || word == "-" {
                        break;
                    } else if (word.starts_with('-') || word.starts_with('+')) && !word.starts_with("--") {
                        if word.contains('c') {
                            script = Some(text(i + 1, &words));
                            break;
                        }
                        // `-o pipefail`, `-O extglob`.
                        i += if matches!(word.as_str(), "-o" | "+o" | "-O" | "+O") { 2 } else { 1 };
                    } else if word.starts_with("--") {
                        i += 1;
                    } else {
                        file = true;
                        break;
                    }
                }
                match script {
                    Some(script) => out.scripts.push(script),
                    None if !file => out.reads_script_from_input = true,
                    None => {}
                }
                None
            }
            _ => None,
        };
        match skip {
            Some((count, shown)) if count > 0 => {
                out.wrappers.push(shown);
                words.drain(..count.min(words.len()));
                // Assignments right after `env`'s options were taken above; others (`nohup
                // FOO=1 x` runs a program named `FOO=1`) are the program.
            }
            _ => break,
        }
    }
    out.words = words;
    out
}

/// How many words from `start` are options: flags, `--name=value`, and the options named in
/// `with_value` together with their value (`-n 5`, or `-n5`). Numbers right after an option
/// that takes none are not consumed: `timeout 10 cmd` leaves `10` to the caller.
fn flags(words: &[Word], start: usize, with_value: &[&str]) -> usize {
    let mut i = start;
    while let Some(word) = words.get(i).map(Word::text) {
        if word == "--" {
            return i + 1 - start;
        }
        if !word.starts_with('-') || word == "-" {
            break;
        }
        let takes_value = with_value.contains(&word);
        i += if takes_value { 2 } else { 1 };
    }
    i - start
}

/// `NAME=value` with a valid name.
pub fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
