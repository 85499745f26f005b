//! The typed AST of a runbook. Every node carries its span; values are already parsed.
//!
//! Over 600 lines on purpose: it is the runbook's whole shape, one type per block and statement,
//! read by every part that takes a runbook; split by block it would be read across a dozen files.

use crate::source::{Span, Spanned};
pub use crate::test_counts::TestFormat;
use std::fmt;
use std::time::Duration;

/// A whole runbook as written. Blocks are optional here so that one pass can report
/// everything; the checker turns a complete, valid runbook into a [`crate::plan::Plan`].
#[derive(Debug, Clone, Default)]
pub struct Runbook {
    /// `name "…"`.
    pub name: Option<Spanned<String>>,
    /// `task { … }`.
    pub task: Option<Task>,
    /// `success { … }`.
    pub success: Option<Success>,
    /// `permissions { … }`.
    pub permissions: Option<Permissions>,
    /// `limits { … }`.
    pub limits: Option<Limits>,
    /// `rollback { … }`.
    pub rollback: Option<Rollback>,
    /// `notify { … }`.
    pub notify: Option<Notify>,
    /// `deliver { … }`.
    pub deliver: Option<Deliver>,
    /// `waive CODE "reason"` statements.
    pub waivers: Vec<Waiver>,
    /// Statements written — or misspelt as a known keyword — that could not be read, as
    /// `block.keyword` (a top-level block as its keyword alone, e.g. `success`, `task.agent`),
    /// sorted.
    /// Their own errors are reported; the rules that would call them missing stay quiet.
    pub unresolved: Vec<String>,
}

impl Runbook {
    /// Whether `path` (`success`, `task.agent`, `notify.command` …) was written but not read.
    pub fn is_unresolved(&self, path: &str) -> bool {
        self.unresolved.iter().any(|p| p == path)
    }

    /// Whether anything in `block` (or the block itself) was written but not read.
    pub fn is_unresolved_in(&self, block: &str) -> bool {
        self.unresolved.iter().any(|p| p == block || p.strip_prefix(block).is_some_and(|rest| rest.starts_with('.')))
    }
}

// ------------------------------------------------------------------ task ----

/// `task { … }`.
#[derive(Debug, Clone)]
pub struct Task {
    /// The `task` keyword.
    pub span: Span,
    /// `prompt …`.
    pub prompt: Option<Spanned<Prompt>>,
    /// `agent …`; default `claude`.
    pub agent: Option<Spanned<Agent>>,
    /// `repo "path"`.
    pub repo: Option<Spanned<String>>,
    /// `branch "…"`.
    pub branch: Option<Spanned<String>>,
    /// `worktree on|off`.
    pub worktree: Option<Spanned<bool>>,
}

/// Where the task text comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// `prompt "…"` or `prompt """…"""`.
    Inline(String),
    /// `prompt file "path.md"`, relative to the runbook.
    File(Spanned<String>),
}

/// The agent kinds night knows.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentKind {
    /// Claude Code.
    Claude,
    /// OpenAI Codex CLI.
    Codex,
    /// aider.
    Aider,
    /// Gemini CLI.
    Gemini,
    /// goose.
    Goose,
    /// Any program, run through `sh -c`.
    Command(Spanned<String>),
}

impl AgentKind {
    /// The names accepted after `agent`.
    pub const NAMES: &'static [&'static str] = &["claude", "codex", "aider", "gemini", "goose", "command"];

    /// The kind's name.
    pub fn name(&self) -> &'static str {
        match self {
            AgentKind::Claude => "claude",
            AgentKind::Codex => "codex",
            AgentKind::Aider => "aider",
            AgentKind::Gemini => "gemini",
            AgentKind::Goose => "goose",
            AgentKind::Command(_) => "command",
        }
    }

    /// Whether the agent reports token usage and cost night can count.
    pub fn reports_usage(&self) -> bool {
        matches!(self, AgentKind::Claude | AgentKind::Codex | AgentKind::Gemini)
    }
}

/// `agent KIND { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// Which agent.
    pub kind: AgentKind,
    /// `model "…"`.
    pub model: Option<Spanned<String>>,
    /// `max_turns N`.
    pub max_turns: Option<Spanned<u64>>,
    /// `args "…" …`.
    pub args: Vec<Spanned<String>>,
    /// `bin "path"`.
    pub bin: Option<Spanned<String>>,
}

impl Agent {
    /// An agent of `kind` with no settings.
    pub fn new(kind: AgentKind) -> Self {
        Self { kind, model: None, max_turns: None, args: Vec::new(), bin: None }
    }
}

/// Whether a block has a statement with this keyword, even one with errors (so a typo in a
/// value does not also report the statement as missing).
pub fn wrote(written: &[String], keyword: &str) -> bool {
    written.iter().any(|w| w == keyword)
}

// --------------------------------------------------------------- success ----

/// `success { … }`.
#[derive(Debug, Clone)]
pub struct Success {
    /// The `success` keyword.
    pub span: Span,
    /// The keyword of every statement written in the block, valid or not.
    pub written: Vec<String>,
    /// The checks, in order.
    pub checks: Vec<Spanned<SuccessCheck>>,
}

/// One success statement.
#[derive(Debug, Clone)]
pub enum SuccessCheck {
    /// `run "cmd" [matches /re/] [within D]`.
    Run {
        /// The shell command.
        command: Spanned<String>,
        /// Standard output must match.
        matches: Option<Spanned<Regex>>,
        /// Time limit (default 30m).
        within: Option<Spanned<Duration>>,
    },
    /// `tests "cmd" [format F] [within D] [allow lost N]`.
    Tests {
        /// The shell command.
        command: Spanned<String>,
        /// How to count.
        format: Spanned<TestFormat>,
        /// Time limit (default 30m).
        within: Option<Spanned<Duration>>,
        /// `allow lost N`: how many tests of the baseline may stop running (default 0).
        allow_lost: Option<Spanned<u64>>,
    },
    /// `count /re/ in "cmd" OP N`.
    Count {
        /// What to count.
        regex: Spanned<Regex>,
        /// The shell command whose output is searched.
        command: Spanned<String>,
        /// How the count compares.
        comparison: Spanned<Comparison>,
        /// What it compares with.
        target: Spanned<Target>,
    },
    /// `exists "path"`.
    Exists(Spanned<String>),
    /// `absent "path"`.
    Absent(Spanned<String>),
    /// `changed "glob" …`.
    Changed(Vec<Spanned<Glob>>),
    /// `committed`.
    Committed,
}

impl SuccessCheck {
    /// The statement keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            SuccessCheck::Run { .. } => "run",
            SuccessCheck::Tests { .. } => "tests",
            SuccessCheck::Count { .. } => "count",
            SuccessCheck::Exists(_) => "exists",
            SuccessCheck::Absent(_) => "absent",
            SuccessCheck::Changed(_) => "changed",
            SuccessCheck::Committed => "committed",
        }
    }

    /// The shell command the check runs, if any.
    pub fn command(&self) -> Option<&Spanned<String>> {
        match self {
            SuccessCheck::Run { command, .. } | SuccessCheck::Tests { command, .. } | SuccessCheck::Count { command, .. } => Some(command),
            _ => None,
        }
    }
}

/// A regex and the text it was written as. Its syntax is checked when it is read (so a bad
/// regex is a `night check` error), and it is compiled the first time it is needed: a check
/// compiles none, and `night run` compiles them all before it changes anything
/// ([`crate::plan::Plan::compile_regexes`]), where one too large to compile refuses the run.
#[derive(Debug, Clone)]
pub struct Regex {
    /// As written between the slashes, with flags, e.g. `/passed/i`.
    pub source: String,
    /// The pattern as the regex engine reads it (`\/` unescaped).
    pattern: String,
    /// `i`, `m` and `s`, as written (already checked).
    flags: String,
    /// Compiled on first use, or why it could not be.
    compiled: std::sync::OnceLock<Result<regex::Regex, regex::Error>>,
}

/// The largest compiled regex night builds (the regex crate's own default is 10 MiB).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Regex {
    /// A regex whose syntax was checked with these flags (`i`, `m`, `s`).
    pub fn checked(source: String, pattern: String, flags: String) -> Self {
        Self { source, pattern, flags, compiled: std::sync::OnceLock::new() }
    }

    /// Compile it (once), or say why it cannot be.
    pub fn compile(&self) -> Result<&regex::Regex, &regex::Error> {
        self.compiled
            .get_or_init(|| {
                let mut builder = regex::RegexBuilder::new(&self.pattern);
                builder
                    .case_insensitive(self.flags.contains('i'))
                    .multi_line(self.flags.contains('m'))
                    .dot_matches_new_line(self.flags.contains('s'))
                    .size_limit(REGEX_SIZE_LIMIT);
                builder.build()
            })
            .as_ref()
    }

    /// The compiled regex. `night run` compiles every regex before it starts, so this never
    /// sees one that does not compile; if it did, the regex would match nothing.
    pub fn regex(&self) -> &regex::Regex {
        static NOTHING: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        self.compile().unwrap_or_else(|_| NOTHING.get_or_init(|| regex::Regex::new(r"[^\s\S]").expect("a valid constant regex")))
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Comparison {
    /// `<`
    #[serde(rename = "<")]
    Less,
    /// `<=`
    #[serde(rename = "<=")]
    LessOrEqual,
    /// `>`
    #[serde(rename = ">")]
    Greater,
    /// `>=`
    #[serde(rename = ">=")]
    GreaterOrEqual,
    /// `==`
    #[serde(rename = "==")]
    Equal,
}

impl Comparison {
    /// Parse `<`, `<=`, `>`, `>=`, `==`.
    pub fn from_symbol(symbol: &str) -> Option<Self> {
        Some(match symbol {
            "<" => Comparison::Less,
            "<=" => Comparison::LessOrEqual,
            ">" => Comparison::Greater,
            ">=" => Comparison::GreaterOrEqual,
            "==" => Comparison::Equal,
            _ => return None,
        })
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Equal => "==",
        }
    }

    /// Whether `left OP right` holds.
    pub fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Greater => left > right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Equal => left == right,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A fixed number.
    Number(u64),
    /// The value measured before the agent starts.
    Baseline,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Number(n) => write!(f, "{n}"),
            Target::Baseline => f.write_str("baseline"),
        }
    }
}

/// A compiled glob, anchored at the repository root. A pattern without wildcards names a path:
/// the file itself, or everything under it when it is a folder (`write "src"` is `src/**`), as
/// git's pathspecs do; the hook, the after-session audit and the sandbox all read it so.
#[derive(Clone)]
pub struct Glob {
    /// As written.
    pub pattern: String,
    /// Anchored form actually compiled: `./src/` → `src/**`, `.` → `**`.
    pub normalized: String,
    /// How a path is matched.
    matcher: GlobMatcher,
}

/// A literal path, or a pattern compiled on first use.
#[derive(Debug, Clone)]
enum GlobMatcher {
    /// No wildcard: the path and everything under it.
    Path,
    /// Parsed (`*` stays within a folder; `**` crosses folders), compiled on first use.
    Pattern(LazyMatcher),
}

/// A glob checked when it is read (so a bad pattern is an error there) and compiled into a
/// matcher the first time it is asked about a text that could match: `night hook`, which
/// starts before every tool call, and `night check` compile only the globs they need. The
/// pattern's text stays with its owner ([`Glob::normalized`], [`CommandPattern::pattern`]),
/// which hands it to every call.
#[derive(Debug, Clone)]
struct LazyMatcher {
    /// What the pattern matches.
    kind: PatternKind,
    /// The length of the pattern's leading characters up to its first wildcard, class,
    /// alternation or escape. A glob matches a whole text, and these match only themselves (a
    /// `/` before `**` stays in every form globset gives `**`), so a text that does not start
    /// with them cannot match and is answered without compiling.
    head: usize,
    matcher: std::sync::OnceLock<Option<globset::GlobMatcher>>,
}

/// What a [`LazyMatcher`] matches, and so how globset reads its pattern.
#[derive(Debug, Clone, Copy)]
enum PatternKind {
    /// Repository paths: `*` stays within a folder, `\\` escapes.
    Path,
    /// Command lines: `*` matches anything, spaces and `/` included.
    Command,
}

impl LazyMatcher {
    /// Check `pattern`. Only a class, an alternation or an escape can make globset refuse a
    /// pattern (`[`, `{`, `}`, `\`): a pattern with none of them is not parsed until it is
    /// compiled, since a runbook may have thousands.
    fn new(pattern: &str, kind: PatternKind) -> Result<Self, globset::Error> {
        if pattern.contains(['[', '{', '}', '\\']) {
            Self::builder(pattern, kind).build()?;
        }
        let head = pattern.find(['*', '?', '[', '{', '\\']).unwrap_or(pattern.len());
        Ok(Self { kind, head, matcher: std::sync::OnceLock::new() })
    }

    fn builder(pattern: &str, kind: PatternKind) -> globset::GlobBuilder<'_> {
        let mut builder = globset::GlobBuilder::new(pattern);
        match kind {
            PatternKind::Path => builder.literal_separator(true).backslash_escape(true),
            PatternKind::Command => builder.literal_separator(false),
        };
        builder
    }

    /// Whether `text` matches `pattern`, the text this matcher was made from.
    fn is_match(&self, pattern: &str, text: &str) -> bool {
        let compile = || Self::builder(pattern, self.kind).build().ok().map(|glob| glob.compile_matcher());
        // `get`: the owner's field is public; a pattern changed since is only compiled, never sliced wrong.
        text.starts_with(pattern.get(..self.head).unwrap_or_default()) && self.matcher.get_or_init(compile).as_ref().is_some_and(|matcher| matcher.is_match(text))
    }
}

impl Glob {
    /// Compile a runbook glob. A trailing `/` means everything under that folder, and so does
    /// a path without wildcards that names a folder.
    pub fn new(pattern: &str) -> Result<Self, globset::Error> {
        let normalized = normalize_glob(pattern);
        let matcher = if is_literal_path(&normalized) {
            GlobMatcher::Path
        } else {
            GlobMatcher::Pattern(LazyMatcher::new(&normalized, PatternKind::Path)?)
        };
        Ok(Self { pattern: pattern.to_string(), normalized, matcher })
    }

    /// Whether a repository-relative path (with `/` separators) matches.
    pub fn is_match(&self, path: &str) -> bool {
        match &self.matcher {
            GlobMatcher::Path => path.strip_prefix(self.normalized.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            GlobMatcher::Pattern(matcher) => matcher.is_match(&self.normalized, path),
        }
    }

    /// The same glob in the forms a gitignore-style matcher needs (Claude Code's permission
    /// rules): a path without wildcards also as `path/**`, a trailing `/` as `/**`.
    pub fn gitignore_forms(&self) -> Vec<String> {
        match self.matcher {
            GlobMatcher::Path => vec![self.normalized.clone(), format!("{}/**", self.normalized)],
            GlobMatcher::Pattern(_) => vec![self.normalized.clone()],
        }
    }

    /// The longest leading part without wildcards: the folder the glob lies under.
    pub fn literal_prefix(&self) -> &str {
        let normalized = self.normalized.as_str();
        let end = normalized.find(['*', '?', '[', '{']).unwrap_or(normalized.len());
        let prefix = &normalized[..end];
        match prefix.rfind('/') {
            Some(slash) if end < normalized.len() => &prefix[..slash],
            _ if end < normalized.len() => "",
            _ => prefix,
        }
    }
}

// The compiled matcher's own `Debug` prints its whole automaton.
impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Glob").field("pattern", &self.pattern).field("normalized", &self.normalized).finish_non_exhaustive()
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// Whether a normalized glob has no wildcard, class, alternation or escape.
fn is_literal_path(normalized: &str) -> bool {
    !normalized.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

fn normalize_glob(pattern: &str) -> String {
    let trimmed = pattern.trim_start_matches("./").trim_start_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        "**".to_string()
    } else if let Some(folder) = trimmed.strip_suffix('/') {
        format!("{folder}/**")
    } else {
        trimmed.to_string()
    }
}

// ----------------------------------------------------------- permissions ----

/// `permissions { … }`.
#[derive(Debug, Clone)]
pub struct Permissions {
    /// The `permissions` keyword.
    pub span: Span,
    /// `read` globs (empty: default `"**"`).
    pub read: Vec<Spanned<Glob>>,
    /// `write` globs; `None` when no `write` statement.
    pub write: Option<Spanned<Vec<Spanned<Glob>>>>,
    /// `deny "pattern"` (and the patterns after `deny irreversible`).
    pub deny: Vec<Spanned<CommandPattern>>,
    /// `deny irreversible` was written here.
    pub deny_irreversible: Option<Span>,
    /// `allow "pattern"`.
    pub allow: Vec<Spanned<CommandPattern>>,
    /// `pass env.NAME …`: variables handed to the agent despite the environment allowlist.
    pub pass: Vec<Spanned<String>>,
    /// `reveal "~/.npmrc" …`: credential stores left visible to the agent.
    pub reveal: Vec<Spanned<String>>,
    /// `network …`.
    pub network: Option<Spanned<Network>>,
    /// `sandbox …`.
    pub sandbox: Option<Spanned<Sandbox>>,
    /// `on violation …`.
    pub on_violation: Option<Spanned<OnViolation>>,
}

/// A glob over a shell command line, e.g. `"git push*"`.
#[derive(Clone)]
pub struct CommandPattern {
    /// As written.
    pub pattern: String,
    /// Parsed (`*` matches anything, spaces included), compiled on first use.
    matcher: LazyMatcher,
}

impl CommandPattern {
    /// Compile a command pattern.
    pub fn new(pattern: &str) -> Result<Self, globset::Error> {
        Ok(Self { pattern: pattern.to_string(), matcher: LazyMatcher::new(pattern.trim(), PatternKind::Command)? })
    }

    /// Whether a command line (whitespace folded) matches.
    pub fn is_match(&self, command: &str) -> bool {
        let folded = command.split_whitespace().collect::<Vec<_>>().join(" ");
        self.matcher.is_match(self.pattern.trim(), folded.as_str())
    }
}

impl fmt::Debug for CommandPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandPattern").field("pattern", &self.pattern).finish_non_exhaustive()
    }
}

impl PartialEq for CommandPattern {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// `network …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// `network auto` (the default): for agents whose model API night knows (claude, codex,
    /// gemini), that API and the package registries through night's proxy; for the others `on`.
    Auto,
    /// `network off`.
    Off,
    /// `network on`.
    On,
    /// `network allow "host" …`.
    Allow(Vec<String>),
}

/// `sandbox …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sandbox {
    /// Use it where the kernel allows.
    Auto,
    /// Refuse to run without it.
    On,
    /// Never.
    Off,
}

/// `on violation …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnViolation {
    /// Restore the offending paths; the attempt fails.
    Revert,
    /// End the run.
    Stop,
}

// ---------------------------------------------------------------- limits ----

/// `limits { … }`.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// The `limits` keyword.
    pub span: Span,
    /// The keyword of every statement written in the block, valid or not.
    pub written: Vec<String>,
    /// `timeout D`.
    pub timeout: Option<Spanned<Duration>>,
    /// `session D`.
    pub session: Option<Spanned<Duration>>,
    /// `attempts N`.
    pub attempts: Option<Spanned<u64>>,
    /// `stuck N`.
    pub stuck: Option<Spanned<u64>>,
    /// `idle D`.
    pub idle: Option<Spanned<Duration>>,
    /// `silence D`.
    pub silence: Option<Spanned<Duration>>,
    /// `tokens N`.
    pub tokens: Option<Spanned<u64>>,
    /// `cost $X`.
    pub cost: Option<Spanned<Money>>,
    /// `quota wait D`.
    pub quota_wait: Option<Spanned<Duration>>,
}

/// US dollars, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Money {
    /// Whole cents.
    pub cents: u64,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}.{:02}", self.cents / 100, self.cents % 100)
    }
}

// -------------------------------------------------------------- rollback ----

/// `rollback { … }`.
#[derive(Debug, Clone)]
pub struct Rollback {
    /// The `rollback` keyword.
    pub span: Span,
    /// `when failing|passing OP baseline|N`.
    pub when: Option<Spanned<RollbackWhen>>,
    /// `to start|last-green`; default `last-green`.
    pub to: Option<Spanned<RollbackTo>>,
    /// `then stop|retry`; default `stop`.
    pub then: Option<Spanned<RollbackThen>>,
}

/// The regression condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackWhen {
    /// Which count.
    pub metric: TestMetric,
    /// How it compares.
    pub comparison: Comparison,
    /// With what.
    pub target: Target,
}

/// A count from the `tests` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestMetric {
    /// Failed tests.
    Failing,
    /// Passed tests.
    Passing,
}

/// Where rollback resets to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackTo {
    /// The start commit.
    Start,
    /// The newest run commit where the condition did not hold.
    LastGreen,
}

/// What happens after a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RollbackThen {
    /// End the run as `rolled-back`.
    Stop,
    /// Go on with the next attempt.
    Retry,
}

// ---------------------------------------------------------------- notify ----

/// `notify { … }`.
#[derive(Debug, Clone)]
pub struct Notify {
    /// The `notify` keyword.
    pub span: Span,
    /// The notifiers, in order.
    pub notifiers: Vec<Spanned<Notifier>>,
}

/// One notifier statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Notifier {
    /// Where it sends.
    pub channel: Channel,
    /// `on EVENT …`; default `[end]`.
    pub events: Vec<Spanned<Event>>,
}

impl Notifier {
    /// The events this notifier is sent, with the default `end`.
    pub fn wants(&self, event: Event) -> bool {
        if self.events.is_empty() {
            event == Event::End
        } else {
            self.events.iter().any(|e| e.value == event)
        }
    }
}

/// A literal string or an environment reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Written in the runbook.
    Literal(String),
    /// `env.NAME`: read when the run starts; a secret.
    Env(String),
}

/// Where a notifier sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Channel {
    /// `webhook URL`.
    Webhook { url: Spanned<Value> },
    /// `slack URL`.
    Slack { url: Spanned<Value> },
    /// `discord URL`.
    Discord { url: Spanned<Value> },
    /// `ntfy "topic" [server URL]`.
    Ntfy { topic: Spanned<Value>, server: Option<Spanned<Value>> },
    /// `email "to@…" via URL`.
    Email { to: Spanned<String>, via: Spanned<Value> },
    /// `sms "+n" via twilio SID TOKEN from "+n"`.
    Sms { to: Spanned<String>, sid: Spanned<Value>, token: Spanned<Value>, from: Spanned<String> },
    /// `command "cmd"`.
    Command { command: Spanned<String> },
}

impl Channel {
    /// The statement keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Slack { .. } => "slack",
            Channel::Discord { .. } => "discord",
            Channel::Ntfy { .. } => "ntfy",
            Channel::Email { .. } => "email",
            Channel::Sms { .. } => "sms",
            Channel::Command { .. } => "command",
        }
    }

    /// Every value of the channel, for env look-ups.
    pub fn values(&self) -> Vec<&Spanned<Value>> {
        match self {
            Channel::Webhook { url } | Channel::Slack { url } | Channel::Discord { url } => vec![url],
            Channel::Ntfy { topic, server } => std::iter::once(topic).chain(server.as_ref()).collect(),
            Channel::Email { via, .. } => vec![via],
            Channel::Sms { sid, token, .. } => vec![sid, token],
            Channel::Command { .. } => Vec::new(),
        }
    }
}

/// A run event a notifier can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The run started (after the baseline).
    Start,
    /// An attempt ended.
    Attempt,
    /// The agent committed.
    Commit,
    /// The run succeeded.
    Success,
    /// The run ended without success.
    Failure,
    /// The run stopped as stuck.
    Stuck,
    /// Work was rolled back.
    Rollback,
    /// A permission violation.
    Violation,
    /// Every end, success included.
    End,
}

impl Event {
    /// Every event, in order.
    pub const ALL: &'static [Event] = &[
        Event::Start,
        Event::Attempt,
        Event::Commit,
        Event::Success,
        Event::Failure,
        Event::Stuck,
        Event::Rollback,
        Event::Violation,
        Event::End,
    ];

    /// The event's name.
    pub fn name(self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Attempt => "attempt",
            Event::Commit => "commit",
            Event::Success => "success",
            Event::Failure => "failure",
            Event::Stuck => "stuck",
            Event::Rollback => "rollback",
            Event::Violation => "violation",
            Event::End => "end",
        }
    }

    /// The event with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Event::ALL.iter().copied().find(|event| event.name() == name)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// --------------------------------------------------------------- deliver ----

/// `deliver { … }`: what night pushes and opens once the run has ended.
#[derive(Debug, Clone)]
pub struct Deliver {
    /// The `deliver` keyword.
    pub span: Span,
    /// `push "REMOTE" …`.
    pub push: Option<Spanned<Push>>,
    /// `pull-request FORGE "OWNER/REPO" …`.
    pub pull_request: Option<Spanned<PullRequest>>,
}

/// `push "REMOTE" [on OUTCOME…] [attempts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// The remote's name in the repository's config, e.g. `origin`.
    pub remote: Spanned<String>,
    /// `on OUTCOME …`; default `[success]`.
    pub on: Vec<Spanned<Outcome>>,
    /// `attempts`: push the attempt refs (`refs/night/<run-id>/…`) too.
    pub attempts: Option<Span>,
}

/// `pull-request FORGE "OWNER/REPO" token env.X [base "B"] [api URL] [on …] [draft] [labels …] [reviewers …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    /// Which forge's API.
    pub forge: Spanned<Forge>,
    /// `OWNER/REPO` (GitLab: the project's full path, groups included).
    pub repository: Spanned<String>,
    /// `token env.NAME`: the API token, always from the environment.
    pub token: Spanned<String>,
    /// `base "B"`; default: the branch the run started from.
    pub base: Option<Spanned<String>>,
    /// `api URL`; default: the forge's public API (required for Gitea and Forgejo).
    pub api: Option<Spanned<Value>>,
    /// `on OUTCOME …`; default `[success]`.
    pub on: Vec<Spanned<Outcome>>,
    /// `draft`: always a draft (without it: a draft when the run did not succeed).
    pub draft: Option<Span>,
    /// `labels "…" …`.
    pub labels: Vec<Spanned<String>>,
    /// `reviewers "…" …` (user names; `org/team` for a GitHub team).
    pub reviewers: Vec<Spanned<String>>,
}

/// The forges whose pull-request API night speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    /// GitHub and GitHub Enterprise (REST v3).
    Github,
    /// GitLab (REST v4): merge requests.
    Gitlab,
    /// Gitea (API v1).
    Gitea,
    /// Forgejo, Codeberg (Gitea's API v1).
    Forgejo,
}

impl Forge {
    /// Every forge, in the order of the docs.
    pub const ALL: &'static [Forge] = &[Forge::Github, Forge::Gitlab, Forge::Gitea, Forge::Forgejo];

    /// The forge's name, as written after `pull-request`.
    pub fn name(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
            Forge::Gitea => "gitea",
            Forge::Forgejo => "forgejo",
        }
    }

    /// The forge with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Forge::ALL.iter().copied().find(|forge| forge.name() == name)
    }

    /// The public API, when the forge has one canonical host.
    pub fn default_api(self) -> Option<&'static str> {
        match self {
            Forge::Github => Some("https://api.github.com"),
            Forge::Gitlab => Some("https://gitlab.com/api/v4"),
            Forge::Gitea | Forge::Forgejo => None,
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a run ends, as the language names it (`deliver … on OUTCOME`) and the journal, the
/// report and notifications spell it (`record::Outcome` is this type, with its exit status);
/// `deliver … on` accepts the seven ends that leave work to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every success check held, verified by night.
    Success,
    /// Attempts used up without success.
    Failed,
    /// The same failure `stuck` times in a row.
    Stuck,
    /// Work regressed, was rolled back, and the run stopped.
    RolledBack,
    /// The wall clock ran out.
    Timeout,
    /// The token or cost budget ran out.
    Budget,
    /// The user stopped it.
    Interrupted,
    /// night itself failed.
    Crashed,
    /// Every success check held at the baseline; the agent never started.
    NothingToDo,
    /// The check or the preflight failed; nothing was changed.
    Refused,
}

impl Outcome {
    /// Every outcome, in the order of docs/run.md.
    pub const ALL: &'static [Outcome] = &[
        Outcome::Success,
        Outcome::Failed,
        Outcome::Stuck,
        Outcome::RolledBack,
        Outcome::Timeout,
        Outcome::Budget,
        Outcome::Interrupted,
        Outcome::Crashed,
        Outcome::NothingToDo,
        Outcome::Refused,
    ];

    /// The outcomes `deliver … on` accepts: the ends that can leave verified work behind.
    pub const DELIVERABLE: &'static [Outcome] = &[
        Outcome::Success,
        Outcome::Failed,
        Outcome::Stuck,
        Outcome::RolledBack,
        Outcome::Timeout,
        Outcome::Budget,
        Outcome::Interrupted,
    ];

    /// The outcome's name, as the journal, the report and the runbook spell it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Stuck => "stuck",
            Outcome::RolledBack => "rolled-back",
            Outcome::Timeout => "timeout",
            Outcome::Budget => "budget",
            Outcome::Interrupted => "interrupted",
            Outcome::Crashed => "crashed",
            Outcome::NothingToDo => "nothing-to-do",
            Outcome::Refused => "refused",
        }
    }

    /// The outcome with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Outcome::ALL.iter().copied().find(|outcome| outcome.name() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// --------------------------------------------------------------- waivers ----

/// `waive CODE "reason"`.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// The rule silenced.
    pub code: Spanned<crate::diagnostic::Code>,
    /// Why; repeated in the report.
    pub reason: Spanned<String>,
}

#[cfg(test)]
mod tests {
    use super::{CommandPattern, Glob};

    /// A pattern is refused when it is read exactly when globset refuses it, though most are
    /// not parsed until they are asked.
    #[test]
    fn patterns_are_refused_as_globset_refuses_them() {
        let patterns = [
            "[", "src/[", "[]", "[!]", "src/[z-a].rs", "{a,b", "src/{a,{b,c}", "a,b}", "{a,b}}", "src/x\\", "\\", "src/**", "**/x",
            "src/*.{rs,toml}", "src/[ab]/**", "a\\*b", "a,b", "src/?", "***", "a/**/b/**", "}", "{", "git push*", "rm -rf /*",
        ];
        for pattern in patterns {
            let path = globset::GlobBuilder::new(&super::normalize_glob(pattern)).literal_separator(true).backslash_escape(true).build();
            assert_eq!(Glob::new(pattern).is_err(), path.is_err(), "glob `{pattern}`");
            let command = globset::GlobBuilder::new(pattern.trim()).literal_separator(false).build();
            assert_eq!(CommandPattern::new(pattern).is_err(), command.is_err(), "command pattern `{pattern}`");
        }
    }

    /// The head test answers without compiling only where the compiled glob says no.
    #[test]
    fn the_literal_head_never_changes_an_answer() {
        let patterns = [
            "src/**", "src/**/x.rs", "**/x.rs", "**", "src/*.rs", "src/m1/*.py", "{src,lib}/**", "s[rt]c/**", "src/\\*.rs",
            "a/**b", "a**", "src/?.rs", "./src/", "src", "docs/", "git push*", "tool1 plan*", "rm -rf /srv/s1*", "*push*",
        ];
        let texts = [
            "", "src", "src/", "src/a.rs", "src/m1/x.rs", "src/m1/t.py", "x.rs", "a/x.rs", "lib/y", "stc/z", "src/*.rs", "a/b",
            "ab", "a/xb", "src/b.rs", "docs", "docs/a.md", "git push origin night/x", "git push", "tool1 plan -x", "tool2 plan",
            "rm -rf /srv/s1/x", "git  push",
        ];
        for pattern in patterns {
            let glob = Glob::new(pattern).expect("a glob");
            let command = CommandPattern::new(pattern).expect("a command pattern");
            let path_matcher = globset::GlobBuilder::new(&glob.normalized).literal_separator(true).backslash_escape(true).build().expect("glob").compile_matcher();
            let command_matcher = globset::GlobBuilder::new(pattern.trim()).literal_separator(false).build().expect("glob").compile_matcher();
            for text in texts {
                if !super::is_literal_path(&glob.normalized) {
                    assert_eq!(glob.is_match(text), path_matcher.is_match(text), "glob `{pattern}` on `{text}`");
                }
                let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
                assert_eq!(command.is_match(text), command_matcher.is_match(folded.as_str()), "command pattern `{pattern}` on `{text}`");
            }
        }
    }
}
