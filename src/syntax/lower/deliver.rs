//! Lowering `deliver { … }`: the push and the pull request night makes once the run has ended.

use super::{is_valid_ref_component, quoted_list, Args, Lowerer, DELIVER};
use crate::ast::{Deliver, Forge, Outcome, Push, PullRequest, Value};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::tree::{ArgumentKind, Statement};

/// The options of `push`, after the remote.
const PUSH_OPTIONS: &[&str] = &["on", "attempts"];
/// The options of `pull-request`, after the repository.
const PULL_REQUEST_OPTIONS: &[&str] = &["token", "base", "api", "on", "draft", "labels", "reviewers"];
/// The forges, as written after `pull-request`.
const FORGES: &[&str] = &["github", "gitlab", "gitea", "forgejo"];

impl Lowerer {
    pub(super) fn lower_deliver(&mut self, statement: &Statement) -> Option<Deliver> {
        let body = self.block(statement, "deliver { push \"origin\" }")?;
        let mut deliver = Deliver { span: statement.head.span, push: None, pull_request: None };
        for inner in body {
            match inner.head.value.as_str() {
                "push" => {
                    let push = self.lower_push(inner);
                    let first = deliver.push.as_ref().map(|p| p.span);
                    self.once(&mut deliver.push, push, inner, first);
                }
                "pull-request" => {
                    let pull_request = self.lower_pull_request(inner);
                    let first = deliver.pull_request.as_ref().map(|p| p.span);
                    self.once(&mut deliver.pull_request, pull_request, inner, first);
                }
                "merge-request" => self.push(
                    Diagnostic::error(Code::UnknownStatement, "unknown statement `merge-request` in `deliver`")
                        .label(inner.head.span, "not known here")
                        .help("GitLab merge requests are written `pull-request gitlab \"group/project\" token env.GITLAB_TOKEN`."),
                ),
                _ => {
                    self.unknown(inner, "deliver", DELIVER);
                }
            }
        }
        if !body.iter().any(|s| s.head.value == "push") {
            let diagnostic = Diagnostic::error(Code::MissingStatement, "the delivery has no `push`");
            let diagnostic = match &deliver.pull_request {
                Some(pull_request) => diagnostic.label(pull_request.span, "opened for a branch that night pushes"),
                None => diagnostic.label(statement.head.span, "this block"),
            };
            self.push(diagnostic.help("Say which remote the run branch goes to, like `push \"origin\"`; a `pull-request` is opened for that branch."));
        }
        Some(deliver)
    }

    fn lower_push(&mut self, statement: &Statement) -> Option<Spanned<Push>> {
        let mut args = Args::new(statement);
        let example = "push \"origin\" on success failed";
        let remote = self.string(&mut args, example).filter(|remote| self.valid_remote(remote));
        let mut on = None;
        let mut attempts: Option<Spanned<()>> = None;
        loop {
            if let Some(span) = args.take_word("on") {
                let outcomes = self.outcomes(&mut args, span, PUSH_OPTIONS, example);
                self.once_modifier(&mut on, outcomes, "on", statement);
            } else if let Some(span) = args.take_word("attempts") {
                self.once_modifier(&mut attempts, Some(Spanned::new((), span)), "attempts", statement);
            } else {
                break;
            }
        }
        self.finish_modifiers(&args, PUSH_OPTIONS, example);
        let push = Push { remote: remote?, on: on.map(|on| on.value).unwrap_or_default(), attempts: attempts.map(|a| a.span) };
        Some(Spanned::new(push, statement.span))
    }

    fn lower_pull_request(&mut self, statement: &Statement) -> Option<Spanned<PullRequest>> {
        let mut args = Args::new(statement);
        let example = "pull-request github \"owner/repo\" token env.GITHUB_TOKEN";
        let forge = self.choice(&mut args, FORGES, example).and_then(|f| Forge::from_name(f.value).map(|forge| Spanned::new(forge, f.span)));
        let repository = forge.as_ref().and_then(|forge| {
            self.string(&mut args, example).filter(|repository| self.valid_repository(forge.value, repository, &args))
        });
        let mut options = Options::default();
        let mut ok = forge.is_some() && repository.is_some();
        while let Some(word) = args.peek_word().filter(|word| PULL_REQUEST_OPTIONS.contains(word)) {
            let Some(argument) = args.next() else { break };
            let span = argument.span;
            match word {
                "token" => {
                    let token = self.token(&mut args, span);
                    ok &= token.is_some();
                    self.once_modifier(&mut options.token, token, "token", statement);
                }
                "base" => {
                    let base = self.string(&mut args, "pull-request github \"owner/repo\" token env.GITHUB_TOKEN base \"main\"");
                    let base = base.filter(|base| self.valid_base(base));
                    ok &= base.is_some();
                    self.once_modifier(&mut options.base, base, "base", statement);
                }
                "api" => {
                    let api = self.value(&mut args, "api \"https://ghe.example.com/api/v3\"").filter(|api| self.valid_api(api));
                    ok &= api.is_some();
                    self.once_modifier(&mut options.api, api, "api", statement);
                }
                "on" => {
                    let outcomes = self.outcomes(&mut args, span, PULL_REQUEST_OPTIONS, example);
                    ok &= outcomes.is_some();
                    self.once_modifier(&mut options.on, outcomes, "on", statement);
                }
                "draft" => self.once_modifier(&mut options.draft, Some(Spanned::new((), span)), "draft", statement),
                "labels" | "reviewers" => {
                    let names = self.strings(&mut args, &format!("{word} \"night\""));
                    let names: Vec<_> = names.into_iter().filter(|name| self.valid_name(word, name)).collect();
                    ok &= !names.is_empty();
                    let slot = if word == "labels" { &mut options.labels } else { &mut options.reviewers };
                    let value = names.first().map(|first| Spanned::new(names.clone(), first.span.to(names[names.len() - 1].span)));
                    self.once_modifier(slot, value, word, statement);
                }
                _ => break,
            }
        }
        self.finish_modifiers(&args, PULL_REQUEST_OPTIONS, example);
        let forge = forge?;
        if options.token.is_none() && !statement.arguments.iter().any(|a| matches!(&a.kind, ArgumentKind::Word(w) if w == "token")) {
            let at = args.missing_span();
            self.push(
                Diagnostic::error(Code::MissingArgument, "`pull-request` needs `token env.NAME`")
                    .label(at, "expected `token env.NAME`")
                    .help(format!(
                        "The {} API needs a token allowed to open pull requests, read from the environment, like `token env.{}_TOKEN`.",
                        forge_title(forge.value),
                        forge.value.name().to_uppercase()
                    )),
            );
            ok = false;
        }
        if forge.value.default_api().is_none() && options.api.is_none() && !statement.arguments.iter().any(|a| matches!(&a.kind, ArgumentKind::Word(w) if w == "api")) {
            self.push(
                Diagnostic::error(Code::MissingArgument, format!("`pull-request {}` needs `api \"URL\"`", forge.value))
                    .label(forge.span, "no public host to default to")
                    .help(format!(
                        "{} has no one public host: give your instance's API, like `api \"https://codeberg.org/api/v1\"`.",
                        forge_title(forge.value)
                    )),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        let pull_request = PullRequest {
            forge,
            repository: repository?,
            token: options.token?,
            base: options.base,
            api: options.api,
            on: options.on.map(|on| on.value).unwrap_or_default(),
            draft: options.draft.map(|d| d.span),
            labels: options.labels.map(|l| l.value).unwrap_or_default(),
            reviewers: options.reviewers.map(|r| r.value).unwrap_or_default(),
        };
        Some(Spanned::new(pull_request, statement.span))
    }

    /// `on OUTCOME …` after `on` (at `on_span`): run outcomes up to the next option word.
    fn outcomes(&mut self, args: &mut Args<'_>, on_span: Span, options: &[&str], example: &str) -> Option<Spanned<Vec<Spanned<Outcome>>>> {
        let mut outcomes = Vec::new();
        let mut ok = true;
        let mut last = on_span;
        while let Some(word) = args.peek_word().filter(|word| !options.contains(word)) {
            let Some(argument) = args.next() else { break };
            last = argument.span;
            match Outcome::from_name(word) {
                Some(outcome) if Outcome::DELIVERABLE.contains(&outcome) => outcomes.push(Spanned::new(outcome, argument.span)),
                Some(outcome) => {
                    ok = false;
                    let (label, help) = if outcome == Outcome::Crashed {
                        ("night itself failed", "A crashed run is continued with `night resume RUN`, which delivers it when it ends.")
                    } else {
                        ("the agent never worked", "Such a run made no commits: there is nothing to deliver. Remove it.")
                    };
                    self.push(
                        Diagnostic::error(Code::UnknownValue, format!("a `{word}` run is not delivered"))
                            .label(argument.span, label)
                            .help(help),
                    );
                }
                None => {
                    ok = false;
                    let names: Vec<&str> = Outcome::DELIVERABLE.iter().map(|o| o.name()).collect();
                    let help = match word {
                        "failure" => "`failure` is a `notify` event; delivery takes run outcomes: did you mean `failed`?".to_string(),
                        "rollback" => "`rollback` is a `notify` event; delivery takes run outcomes: did you mean `rolled-back`?".to_string(),
                        "end" => format!("`end` is a `notify` event; list the run outcomes to deliver: {}.", quoted_list(&names)),
                        _ => match did_you_mean(word, names.iter().copied()) {
                            Some(suggestion) => format!("Did you mean `{suggestion}`?"),
                            None => format!("Run outcomes are {}.", quoted_list(&names)),
                        },
                    };
                    self.push(
                        Diagnostic::error(Code::UnknownValue, format!("`{word}` is not a run outcome"))
                            .label(argument.span, "expected a run outcome")
                            .help(help),
                    );
                }
            }
        }
        if last == on_span {
            self.missing(args, "a run outcome", example);
            return None;
        }
        ok.then(|| Spanned::new(outcomes, on_span.to(last)))
    }

    /// `token env.NAME`: a secret is never written in the runbook.
    fn token(&mut self, args: &mut Args<'_>, token_span: Span) -> Option<Spanned<String>> {
        let example = "token env.GITHUB_TOKEN";
        let Some(argument) = args.next() else {
            self.missing(args, "`env.NAME`", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Env(name) => Some(Spanned::new(name.clone(), argument.span)),
            ArgumentKind::String(_) | ArgumentKind::BlockString(_) => {
                self.push(
                    Diagnostic::error(Code::WrongArgument, "`token` takes `env.NAME`, not a string")
                        .label(argument.span, "a secret written in the runbook")
                        .label(token_span, "the API token")
                        .help("Keep tokens out of the runbook and its history: export it in the shell that starts night and write `token env.GITHUB_TOKEN`."),
                );
                None
            }
            _ => {
                self.wrong(args, argument, "`env.NAME`", example);
                None
            }
        }
    }

    fn valid_remote(&mut self, remote: &Spanned<String>) -> bool {
        let name = &remote.value;
        if name.contains("://") || name.contains(':') || name.contains('@') {
            self.push(
                Diagnostic::error(Code::WrongArgument, "`push` takes the name of a remote, not its URL")
                    .label(remote.span, "a URL")
                    .help("Add the remote with `git remote add NAME URL` and write `push \"NAME\"`: night records its URL when the run starts."),
            );
            return false;
        }
        if name.is_empty() || !name.split('/').all(is_valid_ref_component) {
            self.push(
                Diagnostic::error(Code::BadRef, format!("`{name}` is not a valid remote name"))
                    .label(remote.span, "not a git remote name")
                    .help("Name a remote of the repository as `git remote` lists it, like `origin`."),
            );
            return false;
        }
        true
    }

    fn valid_base(&mut self, base: &Spanned<String>) -> bool {
        let name = base.value.strip_prefix("refs/heads/").unwrap_or(&base.value);
        let valid = !name.is_empty() && !name.contains('{') && name.split('/').all(is_valid_ref_component);
        if !valid {
            self.push(
                Diagnostic::error(Code::BadRef, format!("`{}` is not a valid branch name", base.value))
                    .label(base.span, "not a valid git branch")
                    .help("Name the branch the pull request merges into, like `base \"main\"`."),
            );
        }
        valid
    }

    fn valid_repository(&mut self, forge: Forge, repository: &Spanned<String>, args: &Args<'_>) -> bool {
        let parts: Vec<&str> = repository.value.split('/').collect();
        let well_formed = parts.iter().all(|part| !part.is_empty() && !part.contains(char::is_whitespace) && !part.starts_with('.'));
        let count_ok = match forge {
            Forge::Gitlab => parts.len() >= 2,
            _ => parts.len() == 2,
        };
        if well_formed && count_ok {
            return true;
        }
        let (what, example) = match forge {
            Forge::Gitlab => ("`GROUP/PROJECT`", "\"acme/backend/app\""),
            _ => ("`OWNER/REPO`", "\"acme/app\""),
        };
        let head = args.head();
        self.push(
            Diagnostic::error(Code::WrongArgument, format!("`{head}` expects {what}, found `{}`", repository.value))
                .label(repository.span, format!("expected {what}"))
                .help(format!("Name the repository as its web address does, like `{example}`.")),
        );
        false
    }

    fn valid_api(&mut self, api: &Spanned<Value>) -> bool {
        let Value::Literal(text) = &api.value else { return true };
        let parsed = reqwest::Url::parse(text.trim());
        if parsed.as_ref().is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some()) {
            return true;
        }
        self.push(
            Diagnostic::error(Code::WrongArgument, "`api` expects an `https://` URL")
                .label(api.span, "not an http or https URL")
                .help("Give the API's base address, like `api \"https://ghe.example.com/api/v3\"`."),
        );
        false
    }

    fn valid_name(&mut self, word: &str, name: &Spanned<String>) -> bool {
        let text = name.value.trim();
        let valid = !text.is_empty() && (word == "labels" || !text.contains(char::is_whitespace));
        if !valid {
            let what = if word == "labels" { "a label" } else { "a user name" };
            self.push(
                Diagnostic::error(Code::WrongArgument, format!("`{word}` expects {what}, found `{}`", name.value))
                    .label(name.span, format!("not {what}"))
                    .help(if word == "labels" {
                        "Write each label in its own string, like `labels \"night\" \"needs review\"`."
                    } else {
                        "Write each reviewer's user name in its own string, like `reviewers \"alice\" \"acme/backend\"` (a GitHub team is `org/team`)."
                    }),
            );
        }
        valid
    }
}

/// The options of one `pull-request` while it is read.
#[derive(Default)]
struct Options {
    token: Option<Spanned<String>>,
    base: Option<Spanned<String>>,
    api: Option<Spanned<Value>>,
    on: Option<Spanned<Vec<Spanned<Outcome>>>>,
    draft: Option<Spanned<()>>,
    labels: Option<Spanned<Vec<Spanned<String>>>>,
    reviewers: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `GitHub`, `GitLab`, `Gitea`, `Forgejo`.
fn forge_title(forge: Forge) -> &'static str {
    match forge {
        Forge::Github => "GitHub",
        Forge::Gitlab => "GitLab",
        Forge::Gitea => "Gitea",
        Forge::Forgejo => "Forgejo",
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;
    use crate::source::Source;

    /// The diagnostics of `deliver { body }` (the missing required blocks left out).
    fn problems(body: &str) -> Vec<(Code, String, Option<String>)> {
        let parsed = crate::syntax::parse(&Source::new("t.night", format!("deliver {{\n{body}\n}}\n")));
        parsed.diagnostics.into_iter().filter(|d| d.code != Code::MissingBlock).map(|d| (d.code, d.message, d.help)).collect()
    }

    #[test]
    fn a_valid_delivery_has_no_problem() {
        assert!(problems("push \"origin\" on success failed stuck rolled-back timeout budget interrupted attempts").is_empty());
        assert!(problems("push \"origin\"\npull-request gitlab \"a/b/c\" token env.T base \"main\" api env.API on success draft labels \"x y\" reviewers \"me\"").is_empty());
    }

    #[test]
    fn mistakes_are_named_with_a_way_out() {
        let cases: &[(&str, Code, &str)] = &[
            ("push \"git@github.com:a/b.git\"", Code::WrongArgument, "`push` takes the name of a remote, not its URL"),
            ("push \"origin\" on", Code::MissingArgument, "`push` needs a run outcome"),
            ("push \"origin\" on crashed", Code::UnknownValue, "a `crashed` run is not delivered"),
            ("push \"origin\" on nothing-to-do", Code::UnknownValue, "a `nothing-to-do` run is not delivered"),
            ("push \"origin\" on sucess", Code::UnknownValue, "`sucess` is not a run outcome"),
            ("push \"origin\" on success on failed", Code::DuplicateStatement, "`on` is written twice in one `push`"),
            ("push \"origin\" atempts", Code::UnknownValue, "unknown option `atempts` for `push`"),
            ("push \"origin\"\npush \"upstream\"", Code::DuplicateStatement, "`push` is written twice"),
            ("push \"origin\"\nmerge-request gitlab \"a/b\" token env.T", Code::UnknownStatement, "unknown statement `merge-request` in `deliver`"),
            ("push \"origin\"\npull-request bitbucket \"a/b\" token env.T", Code::UnknownValue, "`bitbucket` is not a choice for `pull-request`"),
            ("push \"origin\"\npull-request github \"a/b/c\" token env.T", Code::WrongArgument, "`pull-request` expects `OWNER/REPO`, found `a/b/c`"),
            ("push \"origin\"\npull-request github \"a/b\"", Code::MissingArgument, "`pull-request` needs `token env.NAME`"),
            ("push \"origin\"\npull-request github \"a/b\" token env.T api \"ftp://x\"", Code::WrongArgument, "`api` expects an `https://` URL"),
            ("push \"origin\"\npull-request github \"a/b\" token env.T base \"a..b\"", Code::BadRef, "`a..b` is not a valid branch name"),
            ("push \"origin\"\npull-request github \"a/b\" token env.T reviewers \"two words\"", Code::WrongArgument, "`reviewers` expects a user name, found `two words`"),
            ("push \"origin\"\npull-request github \"a/b\" token env.T draft draft", Code::DuplicateStatement, "`draft` is written twice in one `pull-request`"),
            ("push \"origin\" on end", Code::UnknownValue, "`end` is not a run outcome"),
        ];
        for (body, code, message) in cases {
            let found = problems(body);
            assert!(found.iter().any(|(c, m, _)| c == code && m == message), "{body:?} gave {found:?}");
        }
        let (_, _, help) = &problems("push \"origin\" on sucess")[0];
        assert_eq!(help.as_deref(), Some("Did you mean `success`?"));
    }
}
