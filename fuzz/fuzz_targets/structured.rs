//! A grammar-aware generator: `arbitrary` builds a runbook from the language's real blocks,
//! statements and values (durations, money, regexes, globs, block strings, comments, env
//! references …), mostly valid and sometimes not (typos, stray statements, bad values), renders
//! it to text in any layout the grammar allows, and feeds it to the same parse → check → fmt
//! path as `parse_check`.
//!
//! `NIGHT_FUZZ_RENDER_TO=DIR` also writes each rendered runbook to DIR, to seed `parse_check`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use night::keywords::KEYWORDS;
use std::fmt::Write as _;

fuzz_target!(|runbook: Runbook| {
    let text = runbook.render();
    if let Some(dir) = std::env::var_os("NIGHT_FUZZ_RENDER_TO") {
        let name = format!("{:016x}.night", fnv1a(text.as_bytes()));
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), &text);
    }
    night::fuzzing::check_text(&text);
});

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

// ------------------------------------------------------------------- model --

#[derive(Arbitrary, Debug)]
struct Runbook {
    header: Option<Comment>,
    items: Vec<Item>,
    trailing_newline: bool,
}

#[derive(Arbitrary, Debug)]
enum Item {
    Name(Str),
    Task(Block<TaskStatement>),
    Success(Block<SuccessStatement>),
    Permissions(Block<PermissionStatement>),
    Limits(Block<LimitStatement>),
    Rollback(Block<RollbackStatement>),
    Notify(Block<NotifyStatement>),
    Waive(Pick, Str),
    Comment(Comment),
    Raw(Raw),
}

/// A block: its statements, each with what ends it, laid out on lines or on one line.
#[derive(Arbitrary, Debug)]
struct Block<T> {
    statements: Vec<(T, End)>,
    one_line: bool,
    end: End,
}

/// What follows a statement.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum End {
    Newline,
    Semicolon,
    BlankLine,
    Comment(Pick),
    CarriageReturn,
}

#[derive(Arbitrary, Debug)]
struct Comment(Pick);

#[derive(Arbitrary, Debug)]
enum TaskStatement {
    Prompt(Text),
    PromptFile(Str),
    Agent(Pick, Option<Block<AgentSetting>>),
    AgentCommand(Command, Option<Block<AgentSetting>>),
    Repo(Str),
    Branch(Str),
    Worktree(bool),
}

#[derive(Arbitrary, Debug)]
enum AgentSetting {
    Model(Str),
    MaxTurns(Integer),
    Args(Vec<Str>),
    Bin(Str),
}

#[derive(Arbitrary, Debug)]
enum SuccessStatement {
    Run(Command, Option<Regex>, Option<Duration>),
    Tests(Command, Option<Format>, Option<Duration>),
    Count(Regex, Command, Pick, Target),
    Exists(Str),
    Absent(Str),
    Changed(Vec<Glob>),
    Committed,
}

#[derive(Arbitrary, Debug)]
enum Format {
    Named(Pick),
    Junit(Glob),
}

#[derive(Arbitrary, Debug)]
enum Target {
    Number(Integer),
    Baseline,
}

#[derive(Arbitrary, Debug)]
enum PermissionStatement {
    Read(Vec<Glob>),
    Write(Vec<Glob>),
    Deny(Vec<Command>),
    DenyIrreversible(Vec<Command>),
    Allow(Vec<Command>),
    NetworkOff,
    NetworkOn,
    NetworkAllow(Vec<Str>),
    Sandbox(Pick),
    OnViolation(bool),
}

#[derive(Arbitrary, Debug)]
enum LimitStatement {
    Timeout(Duration),
    Session(Duration),
    Attempts(Integer),
    Stuck(Integer),
    Idle(Duration),
    Silence(Duration),
    Tokens(Integer),
    Cost(Money),
    QuotaWait(Duration),
}

#[derive(Arbitrary, Debug)]
enum RollbackStatement {
    When(bool, Pick, Target),
    To(bool),
    Then(bool),
}

#[derive(Arbitrary, Debug)]
struct NotifyStatement {
    channel: Channel,
    events: Option<Vec<Pick>>,
}

#[derive(Arbitrary, Debug)]
enum Channel {
    Webhook(Value),
    Slack(Value),
    Discord(Value),
    Ntfy(Str, Option<Value>),
    Email(Str, Value),
    Sms(Str, Value, Value, Str),
    Command(Command),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Literal(Str),
    Env(Pick),
}

/// Any keyword (or a typo of one) with any arguments and maybe a block: the schema's errors.
#[derive(Arbitrary, Debug)]
struct Raw {
    head: Head,
    arguments: Vec<Argument>,
    block: Option<Vec<(Raw, End)>>,
}

#[derive(Arbitrary, Debug)]
enum Head {
    Keyword(Pick),
    Typo(Pick, u8),
    Capitalised(Pick),
}

#[derive(Arbitrary, Debug)]
enum Argument {
    Keyword(Pick),
    Str(Str),
    Text(Text),
    Integer(Integer),
    Duration(Duration),
    Money(Money),
    Regex(Regex),
    Env(Pick),
    Comparison(Pick),
}

// ------------------------------------------------------------------ values --

/// An index into one of the word lists below.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Pick(u8);

impl Pick {
    fn of<'a>(self, list: &[&'a str]) -> &'a str {
        list[usize::from(self.0) % list.len()]
    }
}

#[derive(Arbitrary, Debug)]
enum Str {
    Sample(Pick),
    Any(String),
    Escapes(Vec<Escape>),
}

#[derive(Arbitrary, Debug)]
enum Escape {
    Plain(Pick),
    Quote,
    Backslash,
    Newline,
    Tab,
    Unicode(u32),
    Unknown(char),
}

/// A block string's lines, indented.
#[derive(Arbitrary, Debug)]
enum Text {
    Inline(Str),
    Block { lines: Vec<(u8, Pick)>, indent: u8, same_line: bool },
}

#[derive(Arbitrary, Debug)]
enum Command {
    Sample(Pick),
    Any(Str),
}

#[derive(Arbitrary, Debug)]
enum Integer {
    Plain(u64),
    Underscored(u32),
    Thousands(u16),
    Millions(u16),
    Odd(Pick),
}

#[derive(Arbitrary, Debug)]
enum Duration {
    Parts(Vec<(u16, Pick)>),
    Odd(Pick),
}

#[derive(Arbitrary, Debug)]
enum Money {
    Dollars(u32),
    Cents(u32, u8),
    Odd(Pick),
}

#[derive(Arbitrary, Debug)]
struct Regex {
    pieces: Vec<Pick>,
    flags: Pick,
}

#[derive(Arbitrary, Debug)]
struct Glob(Vec<Pick>);

const STRINGS: &[&str] = &[
    "auth-jwt", "src/auth", "task.md", "prompt.md", "night/{name}/{date}", "sonnet", "--verbose", "/usr/bin/claude",
    "+15551234567", "me@example.com", "smtps://user:pass@host:465", "https://example.com/hook", "night-topic",
    "api.github.com", "crates.io", "", " ", "ü", "🌙", "警告", "a b", "..", "../other", "/abs", ".", "bad ref", "x..y",
    "feature/x", "@{", "lock.", "HEAD",
];
const WORDS_IN_STRINGS: &[&str] = &["fix", "the", "tests", "improve", "explore", "clean up", "wherever", "as needed", "😀", "é", "\u{0}", "\u{7f}", "\r"];
const COMMANDS: &[&str] = &[
    "cargo test", "npm test", "pytest -q", "go test ./...", "true", "echo ok", "exit 0", "make check || true",
    "git push", "git push --force origin main", "sh -c 'git push'", "FOO=1 nohup git push", "$(git push)",
    "curl -X POST https://x", "rm -rf /", "rm -rf ./build", "./scripts/test.sh", "~/bin/check", "npm publish",
    "cargo publish", "git reset --hard", "git clean -fdx", "psql -c 'DROP DATABASE x'", "redis-cli FLUSHALL",
    "kubectl apply -f k.yaml", "terraform apply", "a && b || c; d | e &", "`git push`", "(cd x && git push)",
    "env X=1 time xargs git push", "npx tsc --noEmit", "git -C repo push", "claude -p", "{prompt_file}",
    "", "'unclosed", "\"quoted\"", "<in >out", "$HOME/x", "git*", "npm publish *", "*",
];
const AGENTS: &[&str] = &["claude", "codex", "aider", "gemini", "goose", "command", "cursor"];
const FORMATS: &[&str] = &["auto", "cargo", "nextest", "pytest", "unittest", "go", "jest", "vitest", "mocha", "tap", "xunit"];
const COMPARISONS: &[&str] = &["<", "<=", ">", ">=", "=="];
const SANDBOXES: &[&str] = &["auto", "on", "off", "maybe"];
const EVENTS: &[&str] = &["start", "attempt", "commit", "success", "failure", "stuck", "rollback", "violation", "end", "never"];
const ENV_NAMES: &[&str] = &["SLACK_WEBHOOK_URL", "TWILIO_SID", "TWILIO_TOKEN", "HOME", "_X", "A1", "PATH"];
const UNITS: &[&str] = &["h", "m", "s", "d", "ms", "", "H"];
const ODD_NUMBERS: &[&str] = &["0", "1_", "1__0", "18446744073709551616", "99999999999999999999M", "1.5", "3MM", "1k5", "0x10", "1e3", "5K"];
const ODD_DURATIONS: &[&str] = &["0s", "30m2h", "1h1h", "99999999999999999999h", "1.5h", "h", "1hh", "18446744073709551615s", "0h0m0s"];
const ODD_MONEY: &[&str] = &["$", "$.5", "$1.234", "$1,000", "$1_000.00", "$99999999999999999999", "$0", "$1.", "$.", "$1.2.3"];
const REGEX_PIECES: &[&str] = &[
    "error", "TS", r"\d+", "(a|b)", "[0-9]", ".*", r"\/", "(", ")", "x{2,3}", r"\bword\b", "^", "$", "passed", " ", "ü", r"\\",
    "[", "a{99999}", r"\p{L}", "(?P<n>x)", "*", "?",
];
const REGEX_FLAGS: &[&str] = &["", "i", "m", "s", "ims", "x", "ii", "I"];
const GLOB_PIECES: &[&str] = &[
    "src", "/", "**", "*", "?", "[ab]", "{a,b}", ".rs", "tests", ".", "..", "[", "]", "{", "\\", "auth", "package.json", "./", "[!x]",
];
const COMMENTS: &[&str] = &["# note", "#", "# ünïcödé — ok", "# 警告 wide", "# a \"quoted\" {brace} ; semi", "#tight", "# } {"];
const CODES: &[&str] = &[
    "success-missing", "success-unverifiable", "command-not-found", "read-missing", "write-unbounded", "write-matches-nothing",
    "git-dirty", "notify-missing", "irreversible-unrestricted", "env-unset", "no-stuck-limit", "no-budget", "long-session",
    "no-rollback", "open-ended-task", "side-effects-in-checks", "success-already-holds", "remote-missing", "push-target-unsafe",
    "syntax", "bad-regex", "nonsense",
];

// --------------------------------------------------------------- rendering --

/// Renders the model, one line at a time, at the current depth.
struct Writer {
    out: String,
    depth: usize,
}

impl Runbook {
    fn render(&self) -> String {
        let mut writer = Writer { out: String::new(), depth: 0 };
        if let Some(Comment(pick)) = &self.header {
            writer.out.push_str(pick.of(COMMENTS));
            writer.out.push_str("\n\n");
        }
        for item in &self.items {
            writer.item(item);
            writer.out.push('\n');
        }
        if !self.trailing_newline && writer.out.ends_with('\n') {
            writer.out.pop();
        }
        writer.out
    }
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn word(&mut self, word: &str) {
        if !self.out.is_empty() && !self.out.ends_with([' ', '\n', '\r', '{']) {
            self.out.push(' ');
        }
        self.out.push_str(word);
    }

    fn end(&mut self, end: End, one_line: bool) {
        match end {
            _ if one_line => self.out.push_str("; "),
            End::Newline => self.out.push('\n'),
            End::Semicolon => self.out.push_str(";\n"),
            End::BlankLine => self.out.push_str("\n\n"),
            End::Comment(pick) => {
                self.out.push_str("  ");
                self.out.push_str(pick.of(COMMENTS));
                self.out.push('\n');
            }
            End::CarriageReturn => self.out.push_str("\r\n"),
        }
    }

    fn keyword_block<T>(&mut self, keyword: &str, block: &Block<T>, statement: impl FnMut(&mut Self, &T)) {
        self.word(keyword);
        self.block(block, statement);
    }

    /// `{`, the statements, `}`.
    fn block<T>(&mut self, block: &Block<T>, mut statement: impl FnMut(&mut Self, &T)) {
        self.word("{");
        if block.one_line {
            self.out.push(' ');
        } else {
            self.end(block.end, false);
        }
        self.depth += 1;
        for (item, end) in &block.statements {
            if !block.one_line {
                self.indent();
            }
            statement(self, item);
            self.end(*end, block.one_line);
        }
        self.depth -= 1;
        if !block.one_line {
            self.indent();
        }
        self.out.push('}');
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Name(name) => {
                self.word("name");
                self.str(name);
            }
            Item::Task(block) => self.keyword_block("task", block, Self::task),
            Item::Success(block) => self.keyword_block("success", block, Self::success),
            Item::Permissions(block) => self.keyword_block("permissions", block, Self::permission),
            Item::Limits(block) => self.keyword_block("limits", block, Self::limit),
            Item::Rollback(block) => self.keyword_block("rollback", block, Self::rollback),
            Item::Notify(block) => self.keyword_block("notify", block, Self::notify),
            Item::Waive(code, reason) => {
                self.word("waive");
                self.word(code.of(CODES));
                self.str(reason);
            }
            Item::Comment(Comment(pick)) => self.out.push_str(pick.of(COMMENTS)),
            Item::Raw(raw) => self.raw(raw),
        }
    }

    fn task(&mut self, statement: &TaskStatement) {
        match statement {
            TaskStatement::Prompt(text) => {
                self.word("prompt");
                self.text(text);
            }
            TaskStatement::PromptFile(path) => {
                self.word("prompt file");
                self.str(path);
            }
            TaskStatement::Agent(kind, settings) => {
                self.word("agent");
                self.word(kind.of(AGENTS));
                self.agent_settings(settings.as_ref());
            }
            TaskStatement::AgentCommand(command, settings) => {
                self.word("agent command");
                self.command(command);
                self.agent_settings(settings.as_ref());
            }
            TaskStatement::Repo(path) => {
                self.word("repo");
                self.str(path);
            }
            TaskStatement::Branch(branch) => {
                self.word("branch");
                self.str(branch);
            }
            TaskStatement::Worktree(on) => self.word(if *on { "worktree on" } else { "worktree off" }),
        }
    }

    fn agent_settings(&mut self, settings: Option<&Block<AgentSetting>>) {
        let Some(block) = settings else { return };
        self.block(block, |writer, setting| match setting {
            AgentSetting::Model(model) => {
                writer.word("model");
                writer.str(model);
            }
            AgentSetting::MaxTurns(turns) => {
                writer.word("max_turns");
                writer.integer(turns);
            }
            AgentSetting::Args(args) => {
                writer.word("args");
                args.iter().for_each(|arg| writer.str(arg));
            }
            AgentSetting::Bin(bin) => {
                writer.word("bin");
                writer.str(bin);
            }
        });
    }

    fn success(&mut self, statement: &SuccessStatement) {
        match statement {
            SuccessStatement::Run(command, matches, within) => {
                self.word("run");
                self.command(command);
                if let Some(regex) = matches {
                    self.word("matches");
                    self.regex(regex);
                }
                self.within(within.as_ref());
            }
            SuccessStatement::Tests(command, format, within) => {
                self.word("tests");
                self.command(command);
                match format {
                    Some(Format::Named(name)) => {
                        self.word("format");
                        self.word(name.of(FORMATS));
                    }
                    Some(Format::Junit(glob)) => {
                        self.word("format junit");
                        self.glob(glob);
                    }
                    None => {}
                }
                self.within(within.as_ref());
            }
            SuccessStatement::Count(regex, command, comparison, target) => {
                self.word("count");
                self.regex(regex);
                self.word("in");
                self.command(command);
                self.word(comparison.of(COMPARISONS));
                self.target(target);
            }
            SuccessStatement::Exists(path) => {
                self.word("exists");
                self.str(path);
            }
            SuccessStatement::Absent(path) => {
                self.word("absent");
                self.str(path);
            }
            SuccessStatement::Changed(globs) => {
                self.word("changed");
                globs.iter().for_each(|glob| self.glob(glob));
            }
            SuccessStatement::Committed => self.word("committed"),
        }
    }

    fn within(&mut self, within: Option<&Duration>) {
        if let Some(duration) = within {
            self.word("within");
            self.duration(duration);
        }
    }

    fn target(&mut self, target: &Target) {
        match target {
            Target::Number(number) => self.integer(number),
            Target::Baseline => self.word("baseline"),
        }
    }

    fn permission(&mut self, statement: &PermissionStatement) {
        let (keyword, commands) = match statement {
            PermissionStatement::Read(globs) | PermissionStatement::Write(globs) => {
                self.word(if matches!(statement, PermissionStatement::Read(_)) { "read" } else { "write" });
                globs.iter().for_each(|glob| self.glob(glob));
                return;
            }
            PermissionStatement::Deny(commands) => ("deny", commands),
            PermissionStatement::DenyIrreversible(commands) => ("deny irreversible", commands),
            PermissionStatement::Allow(commands) => ("allow", commands),
            PermissionStatement::NetworkOff => return self.word("network off"),
            PermissionStatement::NetworkOn => return self.word("network on"),
            PermissionStatement::NetworkAllow(hosts) => {
                self.word("network allow");
                hosts.iter().for_each(|host| self.str(host));
                return;
            }
            PermissionStatement::Sandbox(mode) => {
                self.word("sandbox");
                return self.word(mode.of(SANDBOXES));
            }
            PermissionStatement::OnViolation(revert) => return self.word(if *revert { "on violation revert" } else { "on violation stop" }),
        };
        self.word(keyword);
        commands.iter().for_each(|command| self.command(command));
    }

    fn limit(&mut self, statement: &LimitStatement) {
        match statement {
            LimitStatement::Timeout(d) => self.keyword_duration("timeout", d),
            LimitStatement::Session(d) => self.keyword_duration("session", d),
            LimitStatement::Idle(d) => self.keyword_duration("idle", d),
            LimitStatement::Silence(d) => self.keyword_duration("silence", d),
            LimitStatement::QuotaWait(d) => self.keyword_duration("quota wait", d),
            LimitStatement::Attempts(n) => self.keyword_integer("attempts", n),
            LimitStatement::Stuck(n) => self.keyword_integer("stuck", n),
            LimitStatement::Tokens(n) => self.keyword_integer("tokens", n),
            LimitStatement::Cost(money) => {
                self.word("cost");
                self.money(money);
            }
        }
    }

    fn keyword_duration(&mut self, keyword: &str, duration: &Duration) {
        self.word(keyword);
        self.duration(duration);
    }

    fn keyword_integer(&mut self, keyword: &str, integer: &Integer) {
        self.word(keyword);
        self.integer(integer);
    }

    fn rollback(&mut self, statement: &RollbackStatement) {
        match statement {
            RollbackStatement::When(failing, comparison, target) => {
                self.word(if *failing { "when failing" } else { "when passing" });
                self.word(comparison.of(COMPARISONS));
                self.target(target);
            }
            RollbackStatement::To(start) => self.word(if *start { "to start" } else { "to last-green" }),
            RollbackStatement::Then(stop) => self.word(if *stop { "then stop" } else { "then retry" }),
        }
    }

    fn notify(&mut self, statement: &NotifyStatement) {
        match &statement.channel {
            Channel::Webhook(url) => self.keyword_value("webhook", url),
            Channel::Slack(url) => self.keyword_value("slack", url),
            Channel::Discord(url) => self.keyword_value("discord", url),
            Channel::Ntfy(topic, server) => {
                self.word("ntfy");
                self.str(topic);
                if let Some(server) = server {
                    self.keyword_value("server", server);
                }
            }
            Channel::Email(to, via) => {
                self.word("email");
                self.str(to);
                self.keyword_value("via", via);
            }
            Channel::Sms(to, sid, token, from) => {
                self.word("sms");
                self.str(to);
                self.word("via twilio");
                self.value(sid);
                self.value(token);
                self.word("from");
                self.str(from);
            }
            Channel::Command(command) => {
                self.word("command");
                self.command(command);
            }
        }
        if let Some(events) = &statement.events {
            self.word("on");
            events.iter().for_each(|event| self.word(event.of(EVENTS)));
        }
    }

    fn keyword_value(&mut self, keyword: &str, value: &Value) {
        self.word(keyword);
        self.value(value);
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Literal(text) => self.str(text),
            Value::Env(name) => self.word(&format!("env.{}", name.of(ENV_NAMES))),
        }
    }

    fn raw(&mut self, raw: &Raw) {
        let keyword = |pick: Pick| KEYWORDS[usize::from(pick.0) % KEYWORDS.len()].word;
        let head = match raw.head {
            Head::Keyword(pick) => keyword(pick).to_string(),
            Head::Typo(pick, at) => {
                let mut word = keyword(pick).to_string();
                if word.len() > 2 {
                    word.remove(usize::from(at) % word.len());
                }
                word
            }
            Head::Capitalised(pick) => {
                let word = keyword(pick);
                word[..1].to_uppercase() + &word[1..]
            }
        };
        self.word(&head);
        for argument in &raw.arguments {
            match argument {
                Argument::Keyword(pick) => self.word(keyword(*pick)),
                Argument::Str(text) => self.str(text),
                Argument::Text(text) => self.text(text),
                Argument::Integer(integer) => self.integer(integer),
                Argument::Duration(duration) => self.duration(duration),
                Argument::Money(money) => self.money(money),
                Argument::Regex(regex) => self.regex(regex),
                Argument::Env(name) => self.word(&format!("env.{}", name.of(ENV_NAMES))),
                Argument::Comparison(pick) => self.word(pick.of(COMPARISONS)),
            }
        }
        if let Some(statements) = &raw.block {
            if self.depth < 3 {
                let block = Block { statements: statements.iter().map(|(raw, end)| (raw, *end)).collect(), one_line: false, end: End::Newline };
                self.block(&block, |writer, raw| writer.raw(raw));
            }
        }
    }

    // ---------------------------------------------------------- values --

    fn str(&mut self, text: &Str) {
        let mut quoted = String::from("\"");
        match text {
            Str::Sample(pick) => quoted.push_str(&escape(pick.of(STRINGS))),
            Str::Any(any) => quoted.push_str(&escape(any)),
            Str::Escapes(pieces) => {
                for piece in pieces {
                    match piece {
                        Escape::Plain(pick) => quoted.push_str(&escape(pick.of(WORDS_IN_STRINGS))),
                        Escape::Quote => quoted.push_str("\\\""),
                        Escape::Backslash => quoted.push_str("\\\\"),
                        Escape::Newline => quoted.push_str("\\n"),
                        Escape::Tab => quoted.push_str("\\t"),
                        Escape::Unicode(code) => {
                            // A few past the last code point, and the surrogates, are bad escapes.
                            let _ = write!(quoted, "\\u{{{:x}}}", code % 0x11_0010);
                        }
                        Escape::Unknown(c) if *c != '\n' && *c != '\r' => {
                            quoted.push('\\');
                            quoted.push(*c);
                        }
                        Escape::Unknown(_) => {}
                    }
                }
            }
        }
        quoted.push('"');
        self.word(&quoted);
    }

    fn text(&mut self, text: &Text) {
        match text {
            Text::Inline(text) => self.str(text),
            Text::Block { lines, indent, same_line } => {
                let pad = " ".repeat(usize::from(indent % 8));
                let mut block = String::from("\"\"\"");
                if !same_line {
                    block.push('\n');
                }
                for (depth, pick) in lines {
                    block.push_str(&pad);
                    block.push_str(&" ".repeat(usize::from(depth % 4)));
                    block.push_str(pick.of(WORDS_IN_STRINGS).trim_matches('\r'));
                    block.push('\n');
                }
                block.push_str(&pad);
                block.push_str("\"\"\"");
                self.word(&block);
            }
        }
    }

    fn command(&mut self, command: &Command) {
        match command {
            Command::Sample(pick) => self.word(&format!("\"{}\"", escape(pick.of(COMMANDS)))),
            Command::Any(text) => self.str(text),
        }
    }

    fn integer(&mut self, integer: &Integer) {
        let text = match integer {
            Integer::Plain(n) => n.to_string(),
            Integer::Underscored(n) => {
                let digits = n.to_string();
                let mut grouped = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 {
                        grouped.push('_');
                    }
                    grouped.push(c);
                }
                grouped
            }
            Integer::Thousands(n) => format!("{n}k"),
            Integer::Millions(n) => format!("{n}M"),
            Integer::Odd(pick) => pick.of(ODD_NUMBERS).to_string(),
        };
        self.word(&text);
    }

    fn duration(&mut self, duration: &Duration) {
        let text = match duration {
            Duration::Parts(parts) if !parts.is_empty() => {
                parts.iter().take(4).map(|(n, unit)| format!("{n}{}", unit.of(UNITS))).collect::<String>()
            }
            Duration::Parts(_) => "45m".to_string(),
            Duration::Odd(pick) => pick.of(ODD_DURATIONS).to_string(),
        };
        self.word(&text);
    }

    fn money(&mut self, money: &Money) {
        let text = match money {
            Money::Dollars(n) => format!("${n}"),
            Money::Cents(n, cents) => format!("${n}.{:02}", cents % 100),
            Money::Odd(pick) => pick.of(ODD_MONEY).to_string(),
        };
        self.word(&text);
    }

    fn regex(&mut self, regex: &Regex) {
        let mut pattern: String = regex.pieces.iter().take(8).map(|p| p.of(REGEX_PIECES)).collect();
        if pattern.is_empty() {
            pattern.push_str("error");
        }
        self.word(&format!("/{pattern}/{}", regex.flags.of(REGEX_FLAGS)));
    }

    fn glob(&mut self, glob: &Glob) {
        let pattern: String = glob.0.iter().take(8).map(|p| p.of(GLOB_PIECES)).collect();
        self.word(&format!("\"{}\"", escape(&pattern)));
    }
}

/// Text as the inside of a one-line string.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\u{d}"),
            c => escaped.push(c),
        }
    }
    escaped
}
