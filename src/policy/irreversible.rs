//! The built-in set of irreversible commands behind `deny irreversible` (documented in
//! docs/irreversible.md). Command lines are read into simple commands by [`super::shell`];
//! [`super::commands`] matches each against this set.

use globset::{GlobBuilder, GlobMatcher};
use std::sync::OnceLock;

/// One built-in pattern.
#[derive(Debug, PartialEq, Eq)]
pub struct IrreversibleRule {
    /// What kind of harm, as the report names it.
    pub category: &'static str,
    /// A glob over the command line (`*` matches anything, spaces included; case-insensitive for database commands).
    pub pattern: &'static str,
    /// A command it must catch (tests, and the `irreversible-unrestricted` coverage check).
    pub example: &'static str,
}

macro_rules! rules {
    ($($category:literal: $pattern:literal => $example:literal;)*) => {
        /// The whole built-in set, by category.
        pub const BUILT_IN: &[IrreversibleRule] = &[
            $(IrreversibleRule { category: $category, pattern: $pattern, example: $example },)*
        ];
    };
}

rules! {
    "push": "git push*" => "git push origin main";
    "push": "hg push*" => "hg push";
    "push": "git send-email*" => "git send-email HEAD~1";
    "push": "git svn dcommit*" => "git svn dcommit";
    "push": "svn commit*" => "svn commit -m x";
    "push": "git subtree push*" => "git subtree push --prefix=dist origin gh-pages";
    "push": "hub push*" => "hub push origin main";
    "publish": "npm publish*" => "npm publish";
    "publish": "npm unpublish*" => "npm unpublish pkg@1.0.0";
    "publish": "yarn publish*" => "yarn publish";
    "publish": "yarn npm publish*" => "yarn npm publish";
    "publish": "pnpm publish*" => "pnpm publish";
    "publish": "pnpm * publish*" => "pnpm -r publish";
    "publish": "npm * publish*" => "npm --workspaces publish";
    "publish": "cargo publish*" => "cargo publish";
    "publish": "cargo yank*" => "cargo yank --version 1.0.0";
    "publish": "twine upload*" => "twine upload dist/*";
    "publish": "poetry publish*" => "poetry publish";
    "publish": "uv publish*" => "uv publish";
    "publish": "gem push*" => "gem push pkg.gem";
    "publish": "docker push*" => "docker push image:latest";
    "publish": "podman push*" => "podman push image";
    "publish": "mvn*deploy*" => "mvn deploy";
    "publish": "gradle*publish*" => "gradle publish";
    "publish": "dotnet nuget push*" => "dotnet nuget push pkg.nupkg";
    "publish": "gh release*" => "gh release create v1.0.0";
    "publish": "gh pr merge*" => "gh pr merge 12";
    "publish": "gh pr create*" => "gh pr create --fill";
    "publish": "glab mr create*" => "glab mr create --fill";
    "publish": "glab mr merge*" => "glab mr merge 12";
    "publish": "glab release create*" => "glab release create v1.0.0";
    "publish": "bun publish*" => "bun publish";
    "publish": "deno publish*" => "deno publish";
    "publish": "gh repo delete*" => "gh repo delete";
    "deploy": "kubectl apply*" => "kubectl apply -f deploy.yaml";
    "deploy": "kubectl delete*" => "kubectl delete pod web";
    "deploy": "kubectl*rollout*" => "kubectl rollout restart deploy/web";
    "deploy": "helm install*" => "helm install web ./chart";
    "deploy": "helm upgrade*" => "helm upgrade web ./chart";
    "deploy": "helm uninstall*" => "helm uninstall web";
    "deploy": "terraform apply*" => "terraform apply";
    "deploy": "terraform destroy*" => "terraform destroy";
    "deploy": "tofu apply*" => "tofu apply";
    "deploy": "pulumi up*" => "pulumi up";
    "deploy": "pulumi destroy*" => "pulumi destroy";
    "deploy": "cdk deploy*" => "cdk deploy";
    "deploy": "serverless deploy*" => "serverless deploy";
    "deploy": "sls deploy*" => "sls deploy";
    "deploy": "fly deploy*" => "fly deploy";
    "deploy": "flyctl deploy*" => "flyctl deploy";
    "deploy": "vercel*--prod*" => "vercel --prod";
    "deploy": "vercel deploy*" => "vercel deploy";
    "deploy": "vercel remove*" => "vercel remove app";
    "deploy": "netlify deploy*" => "netlify deploy --prod";
    "deploy": "firebase deploy*" => "firebase deploy";
    "deploy": "wrangler deploy*" => "wrangler deploy";
    "deploy": "wrangler publish*" => "wrangler publish";
    "deploy": "heroku*rollback*" => "heroku releases:rollback";
    "deploy": "heroku*destroy*" => "heroku apps:destroy app";
    "deploy": "heroku pg:reset*" => "heroku pg:reset DATABASE";
    "deploy": "heroku container:release*" => "heroku container:release web";
    "deploy": "git push heroku*" => "git push heroku main";
    "deploy": "gcloud*deploy*" => "gcloud app deploy";
    "deploy": "gcloud*delete*" => "gcloud compute instances delete vm";
    "deploy": "aws*delete*" => "aws s3api delete-bucket --bucket b";
    "deploy": "aws s3 rm*" => "aws s3 rm s3://bucket --recursive";
    "deploy": "aws*deploy*" => "aws cloudformation deploy";
    "deploy": "az*delete*" => "az group delete -n rg";
    "deploy": "ansible-playbook*" => "ansible-playbook site.yml";
    "deploy": "eb deploy*" => "eb deploy";
    "destructive git": "git reset --hard*" => "git reset --hard HEAD~3";
    "destructive git": "git clean*-*f*" => "git clean -fdx";
    "destructive git": "git checkout -- *" => "git checkout -- src/";
    "destructive git": "git checkout .*" => "git checkout .";
    "destructive git": "git checkout -f*" => "git checkout -f main";
    "destructive git": "git branch -D*" => "git branch -D feature";
    "destructive git": "git branch *-D*" => "git branch --force -D feature";
    "destructive git": "git branch --delete*" => "git branch --delete feature";
    "destructive git": "git stash drop*" => "git stash drop";
    "destructive git": "git stash clear*" => "git stash clear";
    "destructive git": "git update-ref -d*" => "git update-ref -d refs/heads/main";
    "destructive git": "git reflog expire*" => "git reflog expire --expire=now --all";
    "destructive git": "git gc*--prune*" => "git gc --prune=now";
    "destructive git": "git filter-branch*" => "git filter-branch --tree-filter x";
    "destructive git": "git filter-repo*" => "git filter-repo --path x";
    "destructive git": "git tag -d*" => "git tag -d v1";
    "destructive git": "git worktree remove*" => "git worktree remove ../wt";
    "delete outside the repository": "rm * /*" => "rm -rf /tmp/data";
    "delete outside the repository": "rm /*" => "rm /etc/hosts";
    "delete outside the repository": "rm * ~*" => "rm -rf ~/projects";
    "delete outside the repository": "rm ~*" => "rm ~/.bashrc";
    "delete outside the repository": "rm * ..*" => "rm -rf ../other";
    "delete outside the repository": "rm ..*" => "rm ../notes.txt";
    "delete outside the repository": "rm * $HOME*" => "rm -rf $HOME/x";
    "delete outside the repository": "rmdir /*" => "rmdir /tmp/x";
    "run as root": "sudo *" => "sudo rm -rf build";
    "delete outside the repository": "find / *-delete*" => "find / -name x -delete";
    "delete outside the repository": "find ~*-delete*" => "find ~ -name x -delete";
    "delete outside the repository": "shred*" => "shred -u secrets.txt";
    "delete outside the repository": "dd *of=/dev/*" => "dd if=/dev/zero of=/dev/sda";
    "delete outside the repository": "mkfs*" => "mkfs.ext4 /dev/sdb1";
    "mutating HTTP request": "curl* -X*" => "curl -X POST https://api.example.com/x";
    "mutating HTTP request": "curl* --request*" => "curl --request DELETE https://api.example.com/x";
    "mutating HTTP request": "curl* -d*" => "curl https://api.example.com -d '{}'";
    "mutating HTTP request": "curl* --data*" => "curl --data-binary @f https://api.example.com";
    "mutating HTTP request": "curl* -F*" => "curl -F file=@x https://api.example.com";
    "mutating HTTP request": "curl* --form*" => "curl --form file=@x https://api.example.com";
    "mutating HTTP request": "curl* -T*" => "curl -T file https://api.example.com";
    "mutating HTTP request": "curl* --upload-file*" => "curl --upload-file f https://api.example.com";
    "mutating HTTP request": "curl* --json*" => "curl --json '{}' https://api.example.com";
    "mutating HTTP request": "wget*--post*" => "wget --post-data x https://api.example.com";
    "mutating HTTP request": "wget*--method*" => "wget --method=DELETE https://api.example.com";
    "mutating HTTP request": "http POST*" => "http POST api.example.com/x";
    "mutating HTTP request": "http PUT*" => "http PUT api.example.com/x";
    "mutating HTTP request": "http PATCH*" => "http PATCH api.example.com/x";
    "mutating HTTP request": "http DELETE*" => "http DELETE api.example.com/x";
    "mutating HTTP request": "xh POST*" => "xh POST api.example.com/x";
    "mutating HTTP request": "xh DELETE*" => "xh DELETE api.example.com/x";
    "mutating HTTP request": "gh api*-X*" => "gh api -X POST repos/o/r/releases";
    "mutating HTTP request": "gh api*--method*" => "gh api --method DELETE repos/o/r";
    "remote command": "ssh * *" => "ssh deploy@example.com 'systemctl restart web'";
    "remote command": "scp * *:*" => "scp build.tar deploy@example.com:/srv/";
    "remote command": "rsync * *:*" => "rsync -a dist/ deploy@example.com:/srv/www/";
    "scheduled for later": "crontab*" => "crontab jobs.txt";
    "scheduled for later": "at *" => "at now + 1 minute";
    "scheduled for later": "batch*" => "batch";
    "scheduled for later": "systemd-run*" => "systemd-run --user --on-active=60 git push";
    "database drop": "psql*drop *" => "psql -c 'DROP DATABASE app'";
    "database drop": "psql*truncate*" => "psql -c 'TRUNCATE users'";
    "database drop": "psql*delete from*" => "psql app -c 'DELETE FROM users'";
    "database drop": "mysql*drop *" => "mysql -e 'drop table users'";
    "database drop": "mysql*truncate*" => "mysql -e 'truncate users'";
    "database drop": "mysql*delete from*" => "mysql -e 'delete from users'";
    "database drop": "mariadb*drop *" => "mariadb -e 'drop database app'";
    "database drop": "sqlite3*drop *" => "sqlite3 app.db 'drop table users'";
    "database drop": "sqlite3*delete from*" => "sqlite3 app.db 'delete from users'";
    "database drop": "dropdb*" => "dropdb app";
    "database drop": "mysqladmin*drop*" => "mysqladmin drop app";
    "database drop": "*db:drop*" => "rails db:drop";
    "database drop": "*db:reset*" => "rails db:reset";
    "database drop": "*migrate:fresh*" => "php artisan migrate:fresh";
    "database drop": "*migrate:reset*" => "php artisan migrate:reset";
    "database drop": "*migrate reset*" => "npx prisma migrate reset";
    "database drop": "*--force-reset*" => "npx prisma db push --force-reset";
    "database drop": "redis-cli*flushall*" => "redis-cli FLUSHALL";
    "database drop": "redis-cli*flushdb*" => "redis-cli flushdb";
    "database drop": "mongo*drop*" => "mongosh --eval 'db.dropDatabase()'";
    "database drop": "supabase db reset*" => "supabase db reset";
}

/// A compiled built-in rule.
pub struct CompiledRule {
    /// The rule.
    pub rule: &'static IrreversibleRule,
    matcher: GlobMatcher,
}

impl CompiledRule {
    /// Whether a simple command (whitespace folded or not) matches this rule.
    pub fn is_match(&self, simple_command: &str) -> bool {
        self.matcher.is_match(fold(simple_command).as_str())
    }
}

/// The built-in set, compiled once.
pub fn compiled() -> &'static [CompiledRule] {
    static COMPILED: OnceLock<Vec<CompiledRule>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        BUILT_IN
            .iter()
            .filter_map(|rule| Some(CompiledRule { rule, matcher: compile(rule)? }))
            .collect()
    })
}

fn compile(rule: &IrreversibleRule) -> Option<GlobMatcher> {
    // SQL and redis commands are case-insensitive; flags like `-X` and `-x` are not.
    let ignore_case = rule.category == "database drop";
    let glob = GlobBuilder::new(rule.pattern).case_insensitive(ignore_case).literal_separator(false).build().ok()?;
    Some(glob.compile_matcher())
}

/// The first built-in rule a simple command matches.
///
/// `night hook` calls this before every shell command the agent runs, so only the rules whose
/// literal head (the text before the first wildcard) the command starts with, ignoring case,
/// are compiled, each once, on first use: a command compiles a handful of globs, not the set.
pub fn matching_rule(simple_command: &str) -> Option<&'static IrreversibleRule> {
    static LAZY: OnceLock<Vec<OnceLock<Option<GlobMatcher>>>> = OnceLock::new();
    // Each rule's literal head, and its longest literal part, in lower case, made once: a
    // command that does not start with the head or contain the part cannot match.
    static LITERALS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let lazy = LAZY.get_or_init(|| BUILT_IN.iter().map(|_| OnceLock::new()).collect());
    let literals = LITERALS.get_or_init(|| BUILT_IN.iter().map(|rule| (literal_head(rule.pattern).to_lowercase(), longest_literal(rule.pattern).to_lowercase())).collect());
    let folded = fold(simple_command);
    let lower = folded.to_lowercase();
    BUILT_IN.iter().zip(lazy).zip(literals).find_map(|((rule, matcher), (head, part))| {
        if !lower.starts_with(head.as_str()) || !lower.contains(part.as_str()) {
            return None;
        }
        let matcher = matcher.get_or_init(|| compile(rule));
        matcher.as_ref().filter(|matcher| matcher.is_match(folded.as_str())).map(|_| rule)
    })
}

/// The longest run of a pattern without glob metacharacters (every match contains it).
fn longest_literal(pattern: &str) -> &str {
    if pattern.contains(['[', '{', '\\']) {
        return literal_head(pattern);
    }
    pattern.split(['*', '?']).max_by_key(|part| part.len()).unwrap_or("")
}

/// The text of a pattern before its first glob metacharacter.
fn literal_head(pattern: &str) -> &str {
    pattern.find(['*', '?', '[', '{', '\\']).map_or(pattern, |end| &pattern[..end])
}

/// Whitespace folded, and git's global options removed (`git -C repo push` → `git push`), so
/// patterns name the subcommand right after `git`.
fn fold(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first() != Some(&"git") {
        return words.join(" ");
    }
    let mut kept = vec!["git"];
    let mut index = 1;
    while index < words.len() {
        let word = words[index];
        if matches!(word, "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env") {
            index += 2;
        } else if word.starts_with('-') {
            index += 1;
        } else {
            break;
        }
    }
    kept.extend(&words[index.min(words.len())..]);
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_caught_by_its_own_rule() {
        assert_eq!(compiled().len(), BUILT_IN.len(), "every built-in pattern compiles");
        for rule in BUILT_IN {
            let found = matching_rule(rule.example).map(|r| r.category);
            assert!(found.is_some(), "`{}` is not caught", rule.example);
        }
    }

    #[test]
    fn the_lazy_prefilter_agrees_with_the_whole_set() {
        let mut commands: Vec<String> = BUILT_IN.iter().map(|rule| rule.example.to_string()).collect();
        commands.extend(BUILT_IN.iter().map(|rule| rule.example.to_uppercase()));
        commands.extend(["npm test", "git   push  origin main", "GIT PUSH", "rails db:drop", "ls", ""].map(String::from));
        for command in &commands {
            let eager = compiled().iter().find(|c| c.is_match(command)).map(|c| c.rule.pattern);
            assert_eq!(matching_rule(command).map(|rule| rule.pattern), eager, "`{command}`");
        }
    }
}
