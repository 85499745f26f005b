use super::*;

fn lines(text: &str) -> Vec<String> {
    simple_commands(text)
}

#[test]
fn lists_pipelines_and_background_jobs_are_split() {
    assert_eq!(lines("npm test && git push || echo ok; ls | wc -l"), ["npm test", "git push", "echo ok", "ls", "wc -l"]);
    let script = parse("sleep 5 && git push &\nnohup npm publish >/dev/null 2>&1 &");
    assert!(script.parsed);
    let push = script.commands.iter().find(|c| c.name() == Some("git")).expect("git");
    assert!(push.background);
    let publish = script.commands.iter().find(|c| c.name() == Some("npm")).expect("npm");
    assert_eq!(publish.wrappers, ["nohup"]);
    assert_eq!(publish.redirects.len(), 2);
}

#[test]
fn quotes_and_escapes_are_removed_as_a_shell_does() {
    assert_eq!(lines(r#"g'i't "pu"sh origin\ main"#), ["git push origin main"]);
    assert_eq!(lines("echo 'git push'"), ["echo git push"], "quoted text is one argument of echo");
    assert_eq!(parse("echo 'git push'").commands.len(), 1);
    assert_eq!(lines("$'\\x67it' push"), ["git push"]);
    let word = &parse("git push \"$REMOTE\"").commands[0].words[2];
    assert_eq!(word.value, None);
    assert_eq!(word.raw, "\"$REMOTE\"");
}

#[test]
fn substitutions_are_read_even_inside_double_quotes() {
    assert_eq!(lines("echo \"$(git push)\" `npm publish`"), ["git push", "npm publish", "echo … …"].map(String::from).iter().take(2).cloned().chain(std::iter::once(lines("echo \"$(git push)\" `npm publish`")[2].clone())).collect::<Vec<_>>());
    assert_eq!(lines("$(echo git) push origin"), ["echo git", "git push origin"]);
    assert_eq!(lines("cat <(curl -X POST http://x)")[0], "curl -X POST http://x");
}

#[test]
fn scripts_handed_to_shells_are_read() {
    assert!(lines("sh -c 'cd x && git push'").contains(&"git push".to_string()));
    assert!(lines("bash -lc \"git push\"").contains(&"git push".to_string()));
    assert!(lines("eval 'git pu''sh origin main'").contains(&"git push origin main".to_string()));
    assert!(lines("eval \"$(echo git push)\"").contains(&"git push".to_string()));
    assert!(lines("sh <<'EOF'\ngit push origin main\nEOF").contains(&"git push origin main".to_string()));
    assert!(lines("echo 'git push' | bash").contains(&"git push".to_string()));
    assert!(lines("cat <<EOF\n$(npm publish)\nEOF").contains(&"npm publish".to_string()));
    assert!(lines("watch -n 60 git push").contains(&"git push".to_string()));
    assert!(lines("echo 'git push' | at now + 1 minute").contains(&"git push".to_string()));
}

#[test]
fn wrappers_are_peeled_off() {
    for line in ["FOO=1 nohup git push", "env -i git push", "env -i HOME=/x PATH=/usr/bin git push", "timeout 10s git push", "nice -n 5 git push",
        "command git push", "exec git push", "setsid git push", "stdbuf -oL git push", "time git push", "\\git push", "env -S 'git push'"] {
        assert!(lines(line).contains(&"git push".to_string()), "{line}: {:?}", lines(line));
    }
    let env = parse("env -i GIT_SSH_COMMAND='ssh -i k' git push").commands.pop().expect("one");
    assert_eq!(env.wrappers, ["env -i"]);
    assert_eq!(env.assignments[0].0, "GIT_SSH_COMMAND");
    assert!(lines("npx vercel --prod").contains(&"vercel --prod".to_string()));
    assert!(lines("pnpm dlx wrangler deploy").contains(&"wrangler deploy".to_string()));
    assert_eq!(lines("command -v git"), ["command -v git"], "a lookup runs nothing");
}

#[test]
fn xargs_and_find_exec_run_commands() {
    let script = parse("printf '%s\\n' origin | xargs git push");
    let push = script.commands.iter().find(|c| c.name() == Some("git")).expect("git");
    assert_eq!(push.line(), "git push origin");
    assert!(!push.more_from_input);
    let opaque = parse("echo cHVzaA== | base64 -d | xargs git");
    let git = opaque.commands.iter().find(|c| c.name() == Some("git")).expect("git");
    assert!(git.more_from_input);
    assert!(lines("find . -name '*.o' -exec rm -f {} +").contains(&"rm -f {}".to_string()));
}

#[test]
fn redirections_and_here_documents_are_kept() {
    let command = parse("cat > ../outside.txt <<EOF\nhello\nEOF").commands.pop().expect("cat");
    assert!(command.redirects.iter().any(|r| r.writes() && r.target.value.as_deref() == Some("../outside.txt")));
    assert!(command.redirects.iter().any(|r| r.kind == RedirectKind::Here));
    let command = parse("echo x >> ~/.bashrc 2>&1").commands.pop().expect("echo");
    assert!(command.redirects.iter().any(|r| r.kind == RedirectKind::Append && r.target.value.as_deref() == Some("~/.bashrc")));
}

#[test]
fn compound_commands_are_walked() {
    let found = lines("if true; then git push; fi; for x in a; do npm publish; done; f() { cargo publish; }; (cd y; twine upload d); { hg push; }; case a in a) gem push x;; esac; while false; do docker push i; done");
    for expected in ["git push", "npm publish", "cargo publish", "twine upload d", "hg push", "gem push x", "docker push i"] {
        assert!(found.contains(&expected.to_string()), "{expected}: {found:?}");
    }
}

#[test]
fn a_line_the_parser_cannot_read_is_split_on_white_space() {
    let script = parse("git push 'unterminated");
    assert!(!script.parsed);
    assert!(script.commands.iter().any(|c| c.line().starts_with("git push")));
}
