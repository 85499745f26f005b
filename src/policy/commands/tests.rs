use super::*;

fn refused(line: &str) -> Option<Refusal> {
    CommandRules { deny: &[], allow: &[], irreversible: true }.refusal(line, &|_| None)
}

#[test]
fn the_spellings_of_the_issue_are_refused() {
    for line in [
        "git push origin main",
        "sh -c 'git push origin main'",
        "bash -c \"git push\"",
        "env git push",
        "command git push",
        "git  push",
        "docker push img",
        "git checkout -- .",
        "/usr/bin/git push origin main",
        "git -c alias.p=push p origin main",
        "eval 'git pu''sh origin main'",
        "$(echo git) push origin",
        "python3 -c \"import subprocess; subprocess.run(['git','push','origin','main'])\"",
        "perl -e 'system(\"git push\")'",
        "make deploy",
        "npx vercel --prod",
        "npm run publish:npm",
        "node -e \"require('child_process').execSync('npm publish')\"",
        "ruby -e 'system(\"cargo\", \"publish\")'",
        "find ~ -name '*.py' -delete",
        "find /srv -name x -exec rm {} +",
        "env -i PATH=/usr/bin git push origin HEAD:main",
        "GIT_SSH_COMMAND='ssh -i ~/.ssh/id_ed25519' git push",
        "nohup git push origin main &",
        "sleep 600 && git push &",
        "echo 'git push' | at now + 1 minute",
        "git -C ../other push --force",
        "curl -X POST -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:9/deploy",
        "ssh deploy@example.com 'git -C /srv/app pull'",
        // A here-document given to `cat` and piped into a shell, as agents write scripts.
        "cat <<'EOF' | sh\ngit push origin main\nEOF",
        "cat <<EOF | bash -s\nnpm publish\nEOF",
        "python3 -m twine upload dist/*",
        "python -u -m twine upload --repository pypi dist/*",
        "git subtree push --prefix=dist origin gh-pages",
        "hub push origin main",
        "gh pr create --fill",
        "glab mr merge 3",
        "bun publish --access public",
    ] {
        assert!(refused(line).is_some(), "`{line}` should be refused");
    }
}

#[test]
fn ordinary_commands_pass() {
    for line in ["npm test", "cargo test 2>&1 | tee log", "git commit -m 'fix push handling'", "echo 'git push'", "python3 -c 'print(1)'",
        "make test", "npm run build", "find . -name '*.pyc' -delete", "git log --oneline", "rm -rf target", "make release-notes.txt.orig-x",
        "python3 -m pytest -q", "cat <<'EOF' > notes.md\ngit push origin main\nEOF", "cat <<'EOF' | grep push\ngit push\nEOF"] {
        assert_eq!(refused(line), None, "`{line}`");
    }
}

#[test]
fn refusals_say_where_the_command_was_found() {
    let refusal = refused("python3 -c \"import subprocess; subprocess.run(['git','push'])\"").expect("refused");
    assert_eq!(refusal.command, "git push");
    assert_eq!(refusal.inside.as_deref(), Some("in a `python3` one-liner"));
    assert_eq!(refusal.why(), "irreversible (push, in a `python3` one-liner)");
    let refusal = refused("make -j4 deploy").expect("refused");
    assert_eq!(refusal.why(), "irreversible (deploy: `make` target `deploy`)");
}

#[test]
fn script_files_are_read_when_the_caller_can() {
    let rules = CommandRules { deny: &[], allow: &[], irreversible: true };
    let files = |path: &str| match path {
        "push.sh" | "./push.sh" => Some("#!/bin/sh\nset -e\ngit push origin main\n".to_string()),
        "push.py" => Some("import os\nos.system('git push')\n".to_string()),
        _ => None,
    };
    for line in ["sh push.sh", "bash push.sh", "./push.sh", "python3 push.py", ". ./push.sh"] {
        assert!(rules.refusal(line, &files).is_some(), "{line}");
    }
    assert!(rules.refusal("sh other.sh", &files).is_none());
}

#[test]
fn allow_exempts_one_command_and_deny_adds_patterns() {
    let allow = [CommandPattern::new("git push origin night/*").expect("pattern")];
    let deny = [CommandPattern::new("terraform *").expect("pattern")];
    let rules = CommandRules { deny: &deny, allow: &allow, irreversible: true };
    assert_eq!(rules.refusal("git push origin night/x", &|_| None), None);
    assert!(rules.refusal("git push origin night/x && git push origin main", &|_| None).is_some());
    let refusal = rules.refusal("/opt/bin/terraform plan", &|_| None).expect("denied");
    assert_eq!(refusal.rule, Rule::Denied("terraform *".into()));
}

#[test]
fn code_strings_join_argument_lists() {
    let lines = code_strings("subprocess.run(['git', 'push', '--force'], check=True); os.system('npm ' + 'publish')");
    assert!(lines.contains(&"git push --force".to_string()), "{lines:?}");
    assert!(lines.contains(&"npm publish".to_string()), "{lines:?}");
}

#[test]
fn ordinary_commands_have_nothing_of_the_built_in_set() {
    for command in ["npm test", "cargo test", "git commit -m 'x'", "git status", "rm -rf target", "rm build/x.o",
        "curl https://example.com", "git diff", "ls /", "git log --oneline", "grep -r 'delete from' src", "git restore src/x.rs",
        "git commit -m 'fix push handling'", "curl https://example.com/api-x", "curl -x proxy:80 https://example.com",
        "vercel build", "heroku logs --tail", "cargo test 2>&1"] {
        assert!(irreversible_in(command).is_none(), "`{command}` should be allowed");
    }
}

#[test]
fn compound_commands_are_split() {
    use crate::policy::shell::simple_commands;
    assert_eq!(simple_commands("npm test && git push || echo ok; ls | wc -l"),
        vec!["npm test", "git push", "echo ok", "ls", "wc -l"]);
    assert!(irreversible_in("npm test && git push").is_some());
    assert!(irreversible_in("FOO=1 nohup git push origin x").is_some());
    assert!(irreversible_in("echo $(git push)").is_some());
    assert!(irreversible_in("sh -c 'cd x && git push'").is_some());
    assert!(irreversible_in("(cd sub; npm publish)").is_some());
    assert!(irreversible_in("echo 'git push'").is_none(), "quoted text is not a command");
    assert!(irreversible_in("npm test # git push later").is_none(), "comments are not commands");
    assert!(irreversible_in("bash -lc 'git push'").is_some());
    assert!(irreversible_in("echo \"`git push`\"").is_some());
    assert!(irreversible_in("timeout 10s git push").is_some());
    assert!(irreversible_in("git -C repo push --force").is_some());
    assert!(irreversible_in("git -c user.name=x reset --hard").is_some());
    assert_eq!(simple_commands("cargo test 2>&1 | tee log; make >&2 &>/dev/null"),
        vec!["cargo test", "tee log", "make"]);
}
