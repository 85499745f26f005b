//! Every keyword of the language with a one-paragraph doc and an example: the one source for
//! the language server's hover and completion, and for `docs/keywords.md` (generated from it).

use std::fmt::Write as _;

/// One keyword's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// The word as written.
    pub word: &'static str,
    /// Where it is used, e.g. "statement in `limits`".
    pub place: &'static str,
    /// One paragraph: what it means.
    pub doc: &'static str,
    /// A line of a runbook using it.
    pub example: &'static str,
}

macro_rules! keywords {
    ($( $word:literal, $place:literal, $doc:literal, $example:literal; )*) => {
        /// Every keyword of `grammar/night.pest`'s `keyword` rule, in its order.
        pub const KEYWORDS: &[Keyword] = &[$(Keyword { word: $word, place: $place, doc: $doc, example: $example }),*];
    };
}

keywords! {
    // ---- top level
    "name", "top-level statement",
        "The run's name, used in the run branch and the run id. It must be a valid git ref component. Default: the file name without `.night`.",
        "name \"auth-jwt\"";
    "task", "top-level block (required)",
        "What the agent does: exactly one `prompt`, and optionally `agent`, `repo`, `branch` and `worktree`.",
        "task { prompt file \"task.md\" }";
    "success", "top-level block (required); also a `notify` event and a run outcome",
        "How night verifies the result itself, after each attempt, in the repository: every statement must hold. As an event after `on`, sent when the run ends in success; after `on` in `deliver`, the outcome of a run whose checks all held (the default of `push` and `pull-request`).",
        "success { tests \"cargo test\" format cargo }";
    "permissions", "top-level block (required)",
        "What the agent may read, write and run: `read`, `write` (required), `deny`, `allow`, `network`, `sandbox` and `on violation`. Enforced through the agent's own permissions, night's check of every changed path, and the sandbox where it is on.",
        "permissions { write \"src/**\" }";
    "limits", "top-level block (required)",
        "When night stops the agent: `timeout` (required), `session`, `attempts`, `stuck`, `idle`, `silence`, `tokens`, `cost` and `quota wait`.",
        "limits { timeout 7h }";
    "rollback", "top-level block; also a `notify` event",
        "What night undoes when work regresses: `when` compares the `tests` counts with the baseline, `to` says where to reset, `then` whether to stop or retry. Nothing is lost: every attempt is kept under `refs/night/`. As an event after `on`, sent when night rolls back.",
        "rollback { when failing > baseline }";
    "notify", "top-level block (required unless waived)",
        "Who is told, on which events: `webhook`, `slack`, `discord`, `ntfy`, `email`, `sms` or `command`, each optionally followed by `on EVENT …` (default `on end`). A failing notifier never stops the run.",
        "notify { slack env.SLACK_WEBHOOK_URL }";
    "waive", "top-level statement",
        "Silence one checklist rule of `night check`, with a reason that the morning report repeats.",
        "waive no-rollback \"the branch is thrown away anyway\"";

    // ---- task
    "prompt", "statement in `task`",
        "The task text: inline in a string or a block string, or read from a file relative to the runbook with `prompt file`. Exactly one per task; say what to do and when it is done.",
        "prompt \"Fix the failing tests in src/parser\"";
    "file", "word after `prompt`",
        "Read the prompt from a file, relative to the runbook. The file must exist and lie inside `read`.",
        "prompt file \"task.md\"";
    "agent", "statement in `task`",
        "Which agent runs the task: `claude` (default), `codex`, `aider`, `gemini`, `goose` or `command \"…\"`, with an optional block of settings (`model`, `max_turns`, `args`, `bin`).",
        "agent claude { model \"sonnet\" }";
    "repo", "statement in `task`",
        "The git repository to work in, relative to the runbook. Default: the repository that contains the runbook.",
        "repo \"../service\"";
    "branch", "statement in `task`",
        "The branch the run works on, created from HEAD; it must not exist yet. `{name}` and `{date}` (UTC, `YYYYMMDD-HHMM`) are expanded. Default `night/{name}/{date}`.",
        "branch \"night/{name}/{date}\"";
    "worktree", "statement in `task`",
        "`worktree on` works in a separate git worktree instead of the checkout itself. Default `off`.",
        "worktree on";
    "claude", "agent kind",
        "Claude Code, the default agent. It reports its token usage, so a budget (`tokens` or `cost`) is required.",
        "agent claude { model \"sonnet\" }";
    "codex", "agent kind",
        "OpenAI's Codex CLI.",
        "agent codex";
    "aider", "agent kind",
        "The aider coding assistant.",
        "agent aider";
    "gemini", "agent kind",
        "Google's Gemini CLI.",
        "agent gemini";
    "goose", "agent kind",
        "Block's goose agent.",
        "agent goose";
    "command", "agent kind; statement in `notify`",
        "After `agent`: any program, run through `sh -c`; the prompt arrives on standard input and in the file named by `$NIGHT_PROMPT_FILE`, and `{prompt_file}` in the command is replaced by that path. In `notify`: a command run with `NIGHT_EVENT`, `NIGHT_OUTCOME`, `NIGHT_RUN_ID` and `NIGHT_REPORT` set.",
        "command \"./notify-me.sh\" on end";
    "model", "statement in an `agent` block",
        "The model the agent uses, as the agent names it.",
        "model \"sonnet\"";
    "max_turns", "statement in an `agent` block",
        "The most turns the agent may take in one session.",
        "max_turns 300";
    "args", "statement in an `agent` block",
        "Extra command-line arguments for the agent, one string each.",
        "args \"--verbose\" \"--no-color\"";
    "bin", "statement in an `agent` block",
        "The agent's executable. Default: the kind's usual name, found on PATH.",
        "bin \"/usr/local/bin/claude\"";

    // ---- success
    "run", "statement in `success`",
        "Holds when the command exits 0 (within 30 minutes unless `within` says otherwise); with `matches /re/`, its standard output must match too.",
        "run \"make lint\" within 10m";
    "within", "word after `run` or `tests`",
        "How long the check's command may take before it counts as failed. Default `30m`.",
        "tests \"cargo test\" within 20m";
    "matches", "word after `run`",
        "The command's standard output must match this regex for the check to hold.",
        "run \"./status.sh\" matches /ready/i";
    "tests", "statement in `success`",
        "Runs the test command; night counts passed and failed tests from its output: it holds when none failed, at least one passed, and no test of the baseline stopped running (deleted, skipped or no longer collected; `allow lost N` relaxes that). `rollback` compares these counts with the baseline.",
        "tests \"npm test\" format jest";
    "format", "word after `tests`",
        "How to read the test output: `auto` (default), `cargo`, `nextest`, `pytest`, `unittest`, `go`, `jest`, `vitest`, `mocha`, `tap`, or `junit \"glob\"` for JUnit XML reports.",
        "tests \"pytest -q\" format pytest";
    "count", "statement in `success`",
        "Counts the matches of a regex in a command's output (stdout and stderr) and compares the number with an integer or the `baseline`.",
        "count /error TS\\d+/ in \"npx tsc --noEmit\" <= baseline";
    "in", "word in `count`",
        "Introduces the command whose output `count` searches.",
        "count /warning/ in \"cargo build\" <= baseline";
    "baseline", "value in `count` and `when`",
        "The value measured once on the start commit, before the agent starts.",
        "count /warning/ in \"cargo build\" <= baseline";
    "exists", "statement in `success`",
        "Holds when the path exists in the repository.",
        "exists \"src/auth/jwt.ts\"";
    "absent", "statement in `success`",
        "Holds when the path does not exist in the repository.",
        "absent \"src/auth/session.ts\"";
    "changed", "statement in `success`",
        "Holds when at least one file matching one of the globs changed since the run started.",
        "changed \"src/**\" \"docs/**\"";
    "committed", "statement in `success`",
        "Holds when the working tree is clean and the run made at least one commit.",
        "committed";
    "auto", "test format; `sandbox` and `network` mode",
        "As a test format (the default): recognise the summary lines of every known runner, and fail with a clear message when none is found. As a sandbox mode (the default): enforce `write` and `network` in the kernel where it allows, and say so. As a network mode (the default): the agent's model API and the package registries for claude, codex and gemini, `on` for the other kinds.",
        "tests \"make test\" format auto";
    "cargo", "test format",
        "Read `cargo test` output.",
        "tests \"cargo test\" format cargo";
    "nextest", "test format",
        "Read `cargo nextest run` output.",
        "tests \"cargo nextest run\" format nextest";
    "pytest", "test format",
        "Read pytest's summary line.",
        "tests \"pytest -q\" format pytest";
    "unittest", "test format",
        "Read Python `unittest` output.",
        "tests \"python -m unittest\" format unittest";
    "go", "test format",
        "Read `go test` output.",
        "tests \"go test ./...\" format go";
    "jest", "test format",
        "Read Jest's summary.",
        "tests \"npx jest\" format jest";
    "vitest", "test format",
        "Read Vitest's summary.",
        "tests \"npx vitest run\" format vitest";
    "mocha", "test format",
        "Read Mocha's summary.",
        "tests \"npx mocha\" format mocha";
    "tap", "test format",
        "Read TAP (Test Anything Protocol) output.",
        "tests \"prove -r t\" format tap";
    "junit", "test format",
        "Read the JUnit XML reports the command writes, found by the glob that follows.",
        "tests \"mvn test\" format junit \"target/surefire-reports/*.xml\"";
    "lost", "word after `allow` in `tests`",
        "`allow lost N`: up to N tests that ran at the baseline may stop running (deleted, skipped or no longer collected) without failing the check, for tasks that remove tests on purpose. Default 0.",
        "tests \"pytest -rA\" allow lost 3";

    // ---- permissions
    "read", "statement in `permissions`",
        "Globs of what the agent may read. Default `\"**\"`.",
        "read \"src/**\" \"docs/**\"";
    "write", "statement in `permissions` (required)",
        "Globs of what the agent may create, change or delete, relative to the repository root. Required, and not `\"**\"`: a write outside it is reverted (or stops the run, with `on violation stop`).",
        "write \"src/**\" \"tests/**\"";
    "deny", "statement in `permissions`",
        "Shell commands the agent may not run, as globs over the command line. `deny irreversible` adds the built-in set of irreversible commands.",
        "deny \"git push*\"";
    "irreversible", "word after `deny`",
        "The built-in set of irreversible commands: pushing, publishing, deploying, destructive git, deleting outside the repository, mutating HTTP requests, database drops. More patterns may follow.",
        "deny irreversible \"terraform apply*\"";
    "allow", "statement in `permissions`; word after `network`; `allow lost` in `tests`",
        "As a statement: commands exempted from `deny`. After `network`: the only hosts the agent may reach. In `tests`, `allow lost N` lets N tests of the baseline stop running.",
        "allow \"terraform plan*\"";
    "network", "statement in `permissions`",
        "Outbound network for the agent and the commands it runs (the success checks too): `auto` (default), `off`, `on`, or `allow \"host\" …`. `auto` is the agent's model API and the package registries through night's proxy for claude, codex and gemini, and `on` for the other kinds.",
        "network allow \"registry.npmjs.org\"";
    "pass", "statement in `permissions`",
        "Hand variables of night's environment to the agent and the success checks. Under `deny irreversible` they get only an allowlist (paths, locale, terminal, toolchains' settings, the agent's own API key); `pass` adds the ones named, e.g. a cache folder or a profile name. A token passed this way can push or publish.",
        "pass env.NPM_CONFIG_CACHE";
    "reveal", "statement in `permissions`",
        "Leave a credential store visible to the agent and the success checks. Under `deny irreversible` night hides `~/.ssh`, `~/.npmrc`, `~/.aws` and the rest of the list in docs/sandbox.md; `reveal` names one to keep (`~/` is the home folder, a relative path is in the repository), or a git configuration to read with its credentials. What it holds can then push, publish or deploy.",
        "reveal \"~/.config/tool\"";
    "sandbox", "statement in `permissions`",
        "OS-level enforcement of `write` and `network`: `auto` (default: where the kernel allows), `on` or `off`.",
        "sandbox auto";
    "violation", "word after `on` in `permissions`",
        "A write outside `write`; `on violation` says what it causes. As a `notify` event, sent when one happens.",
        "on violation revert";
    "revert", "word after `on violation`",
        "Restore the offending paths and fail the attempt, with the violation as feedback (the default).",
        "on violation revert";
    "stop", "word after `on violation` or `then`",
        "End the run: after a permission violation, or after a rollback.",
        "then stop";
    "off", "value of `network`, `sandbox`, `worktree`",
        "Turns the setting off.",
        "network off";
    "on", "statement in `permissions`; value; word before events and outcomes",
        "`on violation …` in `permissions` says what a write outside `write` causes; `network on`, `sandbox on`, `worktree on` turn a setting on; after a notifier, `on EVENT …` lists the events it is sent; in `deliver`, `on OUTCOME …` lists the run outcomes that push or open the pull request (default `on success`).",
        "webhook \"https://example.com/night\" on stuck failure";

    // ---- limits
    "timeout", "statement in `limits` (required); run outcome",
        "Wall-clock limit for the whole run, across sessions and `night resume`. After `on` in `deliver`, the outcome of a run whose wall clock ran out.",
        "timeout 7h";
    "session", "statement in `limits`",
        "Longest single agent session; at the limit night commits leftover work on the run branch and starts a fresh session with a summary of progress. At most 4h keeps the context from running out.",
        "session 2h30m";
    "attempts", "statement in `limits`; word after `push`",
        "Most attempts; an attempt ends when the agent exits and night's success checks run. After `push` in `deliver`: push the attempt refs (`refs/night/<run-id>/attempt-N`) too.",
        "attempts 5";
    "stuck", "statement in `limits`; `notify` event; run outcome",
        "Stop when the same failure repeats this many attempts in a row, or the agent repeats the same tool call this many times. As an event, sent when the run ends stuck; after `on` in `deliver`, the outcome of such a run.",
        "stuck 3";
    "idle", "statement in `limits`",
        "No new commit on the run branch for this long: the session is ended as stuck.",
        "idle 45m";
    "silence", "statement in `limits`",
        "The agent printed nothing for this long: it is treated as hung and ended.",
        "silence 20m";
    "tokens", "statement in `limits`",
        "Token budget for the whole run, from the usage the agent reports (`k` = thousand, `M` = million).",
        "tokens 3M";
    "cost", "statement in `limits`",
        "Spending budget for the whole run in US dollars, from the usage the agent reports.",
        "cost $25";
    "quota", "statement in `limits`",
        "`quota wait DURATION`: when the agent stops on its provider's usage limit, wait for the reset at most this long, once, then go on with a fresh session. Without it such a stop ends the run as `budget`.",
        "quota wait 5h";
    "wait", "word after `quota`",
        "How long to wait for the provider's usage limit to reset.",
        "quota wait 5h";

    // ---- rollback
    "when", "statement in `rollback`",
        "The regression that triggers a rollback: the `failing` or `passing` count of the first `tests` check compared with the baseline.",
        "when failing > baseline";
    "failing", "word after `when`",
        "The number of failing tests in the first `tests` check.",
        "when failing > baseline";
    "passing", "word after `when`",
        "The number of passing tests in the first `tests` check.",
        "when passing < baseline";
    "to", "statement in `rollback`",
        "Where to reset the run branch: `last-green` (the newest run commit where the condition did not hold) or `start`.",
        "to last-green";
    "start", "word after `to`; `notify` event",
        "After `to`: reset the run branch to the start commit. As an event: sent when the run starts.",
        "to start";
    "last-green", "word after `to`",
        "Reset the run branch to the newest run commit where the rollback condition did not hold.",
        "to last-green";
    "then", "statement in `rollback`",
        "What follows a rollback: `stop` the run, or `retry` with another attempt.",
        "then retry";
    "retry", "word after `then`",
        "After a rollback, go on with another attempt.",
        "then retry";

    // ---- notify
    "webhook", "statement in `notify`",
        "POST the event as JSON to the URL (a string or an env reference).",
        "webhook \"https://example.com/night\" on end";
    "slack", "statement in `notify`",
        "Send to a Slack incoming webhook.",
        "slack env.SLACK_WEBHOOK_URL";
    "discord", "statement in `notify`",
        "Send to a Discord webhook.",
        "discord env.DISCORD_WEBHOOK_URL on end";
    "ntfy", "statement in `notify`",
        "Publish to an ntfy topic, on ntfy.sh or on the `server` given.",
        "ntfy \"my-night-runs\"";
    "server", "word after an `ntfy` topic",
        "The ntfy server to publish to. Default `https://ntfy.sh`.",
        "ntfy \"night\" server \"https://ntfy.example.com\"";
    "email", "statement in `notify`",
        "Send an email through SMTP; the `via` URL looks like `smtps://user:pass@host:465`.",
        "email \"me@example.com\" via env.SMTP_URL";
    "via", "word in `email` and `sms`",
        "Introduces how the message is sent: an SMTP URL for `email`, `twilio` for `sms`.",
        "email \"me@example.com\" via env.SMTP_URL";
    "sms", "statement in `notify`",
        "Send a text message through Twilio's messages API.",
        "sms \"+15550100\" via twilio env.TWILIO_SID env.TWILIO_TOKEN from \"+15550199\"";
    "twilio", "word after `sms … via`",
        "Twilio, followed by the account SID and auth token (strings or env references).",
        "sms \"+15550100\" via twilio env.TWILIO_SID env.TWILIO_TOKEN from \"+15550199\"";
    "from", "word in `sms`",
        "The sending phone number.",
        "sms \"+15550100\" via twilio env.TWILIO_SID env.TWILIO_TOKEN from \"+15550199\"";
    "attempt", "`notify` event",
        "Sent after each attempt.",
        "slack env.SLACK_WEBHOOK_URL on attempt";
    "commit", "`notify` event",
        "Sent when the agent makes a commit on the run branch.",
        "ntfy \"night\" on commit";
    "failure", "`notify` event",
        "Sent when the run ends without success.",
        "command \"./page-me.sh\" on failure";
    "end", "`notify` event (the default)",
        "Sent when the run ends, however it ends, success included. A notifier without `on` is sent `end`.",
        "slack env.SLACK_WEBHOOK_URL on end";

    // ---- deliver
    "deliver", "top-level block",
        "What night does with the work once the run has ended, never the agent: `push` the run branch to a remote and open (or update) a `pull-request`. Delivery never changes the run's outcome; a failure is retried, reported and notified (docs/deliver.md).",
        "deliver { push \"origin\" }";
    "push", "statement in `deliver` (required there)",
        "Push the run branch to this remote of the repository (its URL recorded when the run starts), on the outcomes after `on` (default `on success`); `attempts` pushes the attempt refs too. Never to the branch the run started from, never forced except onto the run's own branch.",
        "push \"origin\" on success failed";
    "pull-request", "statement in `deliver`",
        "Open, or on a resumed run update, a pull request for the pushed run branch: `github`, `gitlab` (a merge request), `gitea` or `forgejo`, the repository, `token env.NAME`, then optionally `base`, `api`, `on`, `draft`, `labels` and `reviewers`. Its title is the run's name and outcome, its body the report's first screen; it is a draft when the run did not succeed.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN";
    "github", "forge after `pull-request`",
        "GitHub or GitHub Enterprise (with `api \"https://HOST/api/v3\"`), through its REST API.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN";
    "gitlab", "forge after `pull-request`",
        "GitLab.com or a GitLab instance (with `api \"https://HOST/api/v4\"`): a merge request; the repository is the project's full path.",
        "pull-request gitlab \"acme/backend/app\" token env.GITLAB_TOKEN";
    "gitea", "forge after `pull-request`",
        "A Gitea instance, through its API v1; `api` is required.",
        "pull-request gitea \"acme/app\" token env.GITEA_TOKEN api \"https://git.example.com/api/v1\"";
    "forgejo", "forge after `pull-request`",
        "A Forgejo instance such as Codeberg, through Gitea's API v1; `api` is required.",
        "pull-request forgejo \"acme/app\" token env.CODEBERG_TOKEN api \"https://codeberg.org/api/v1\"";
    "token", "word in `pull-request` (required)",
        "The API token, always `env.NAME`: a secret, never written in the runbook, the logs, the journal, the report or the agent's environment.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN";
    "base", "word in `pull-request`",
        "The branch the pull request merges into. Default: the branch the run started from.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN base \"main\"";
    "api", "word in `pull-request`",
        "The forge API's base URL (a string or `env.NAME`). Default: `https://api.github.com`, `https://gitlab.com/api/v4`; required for Gitea and Forgejo.",
        "pull-request github \"acme/app\" token env.GHE_TOKEN api \"https://ghe.example.com/api/v3\"";
    "draft", "word in `pull-request`",
        "Always open a draft. Without it the pull request is a draft when the run did not succeed, and ready for review when it did.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN draft";
    "labels", "word in `pull-request`",
        "Labels to add, one string each; they must exist on Gitea and Forgejo.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN labels \"night\" \"needs review\"";
    "reviewers", "word in `pull-request`",
        "Reviewers to request, one user name each; `org/team` requests a GitHub team.",
        "pull-request github \"acme/app\" token env.GITHUB_TOKEN reviewers \"alice\" \"acme/backend\"";
    "failed", "run outcome after `on` in `deliver`",
        "The run used its attempts without success.",
        "push \"origin\" on success failed";
    "rolled-back", "run outcome after `on` in `deliver`",
        "Work regressed past the baseline, was rolled back, and the run stopped.",
        "push \"origin\" on success rolled-back";
    "budget", "run outcome after `on` in `deliver`",
        "The token or cost budget ran out.",
        "push \"origin\" on success budget";
    "interrupted", "run outcome after `on` in `deliver`",
        "The run was stopped by its user (Ctrl-C, `night stop`).",
        "push \"origin\" on success interrupted";

    // ---- values
    "env", "value",
        "`env.NAME` reads the variable from the environment when the run starts. Its value is a secret: never logged, reported or passed to the agent.",
        "slack env.SLACK_WEBHOOK_URL";
}

/// The keyword's entry, if `word` is a keyword.
pub fn lookup(word: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|keyword| keyword.word == word)
}

impl Keyword {
    /// The entry as Markdown, for hover and completion docs.
    pub fn markdown(&self) -> String {
        format!("**`{}`** — {}\n\n{}\n\n```night\n{}\n```", self.word, self.place, self.doc, self.example)
    }
}

/// The reference page `docs/keywords.md`, generated from the table.
pub fn reference_page() -> String {
    let mut page = String::from(
        "# Keywords\n\n<!-- Generated from src/keywords.rs: edit the table there, then `NIGHT_BLESS=1 cargo test --lib keywords`. -->\n\n\
         Every keyword of the `.night` language, as `night lsp` shows it on hover.\n",
    );
    for keyword in KEYWORDS {
        let _ = write!(page, "\n## `{}`\n\n*{}*\n\n{}\n\n```night\n{}\n```\n", keyword.word, keyword.place, keyword.doc, keyword.example);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of the grammar's `keyword` rule.
    fn grammar_keywords() -> Vec<String> {
        let grammar = include_str!("../grammar/night.pest");
        let start = grammar.find("keyword = {").expect("the grammar has a keyword rule");
        let rule = &grammar[start..];
        let rule = &rule[..rule.find("\n}").expect("the rule ends")];
        rule.lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .flat_map(|line| line.split('"').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn every_grammar_keyword_has_an_entry_and_nothing_else_does() {
        let grammar = grammar_keywords();
        assert!(grammar.len() > 90, "read {} keywords from the grammar", grammar.len());
        let missing: Vec<&String> = grammar.iter().filter(|word| lookup(word).is_none()).collect();
        assert!(missing.is_empty(), "keywords without docs: {missing:?}");
        let extra: Vec<&str> = KEYWORDS.iter().map(|k| k.word).filter(|w| !grammar.iter().any(|g| g == w)).collect();
        assert!(extra.is_empty(), "docs for words that are not keywords: {extra:?}");
        let words: Vec<&str> = KEYWORDS.iter().map(|k| k.word).collect();
        assert_eq!(words, grammar, "the table follows the grammar's order");
    }

    #[test]
    fn every_example_uses_its_keyword_and_parses() {
        for keyword in KEYWORDS {
            let words: Vec<&str> = keyword.example.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).collect();
            assert!(words.contains(&keyword.word), "the example of `{}` does not use it", keyword.word);
            assert!(crate::syntax::parse_statements(keyword.example).is_ok(), "the example of `{}` does not parse", keyword.word);
            assert!(keyword.doc.ends_with('.'), "the doc of `{}` is not a sentence", keyword.word);
        }
    }

    #[test]
    fn the_reference_page_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keywords.md");
        let page = reference_page();
        if std::env::var_os("NIGHT_BLESS").is_some() {
            std::fs::write(&path, &page).expect("write docs/keywords.md");
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(written == page, "docs/keywords.md is out of date: run `NIGHT_BLESS=1 cargo test --lib keywords`");
    }
}
