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
    ] {
        assert!(refused(line).is_some(), "`{line}` should be refused");
    }
}

#[test]
fn ordinary_commands_pass() {
    for line in ["npm test", "cargo test 2>&1 | tee log", "git commit -m 'fix push handling'", "echo 'git push'", "python3 -c 'print(1)'",
        "make test", "npm run build", "find . -name '*.pyc' -delete", "git log --oneline", "rm -rf target", "make release-notes.txt.orig-x"] {
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
