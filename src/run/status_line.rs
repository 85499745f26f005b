//! What a run is doing now, folded from its journal: the live status line of `night run` and
//! the answer of `night status` are both this, so they cannot disagree. [`JournalTail`] reads
//! a journal as it grows (whole lines only; a torn line waits for its end).

use crate::run::journal::{Entry, Event};
use chrono::{DateTime, Utc};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

/// The step a run is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Before the baseline's result.
    Baseline,
    /// The agent is working.
    Agent {
        /// Since when (RFC 3339).
        since: String,
        /// Its pid.
        pid: Option<u32>,
    },
    /// After the attempt's sessions: keeping its state, permissions, checks.
    Checking,
    /// Between attempts.
    Between,
    /// The journal has the end; the supervisor may still be notifying.
    Ended {
        /// The outcome.
        outcome: String,
        /// Why.
        reason: String,
    },
}

/// A run's live state.
#[derive(Debug, Clone)]
pub struct LiveState {
    /// The run id.
    pub run_id: String,
    /// The run branch.
    pub branch: String,
    /// When it started.
    pub started_at: Option<String>,
    /// The current attempt (0: none yet).
    pub attempt: u64,
    /// The most attempts.
    pub max_attempts: Option<u64>,
    /// The current session within the attempt.
    pub session: u64,
    /// What it is doing.
    pub phase: Phase,
    /// The `timeout` limit, as written.
    pub timeout: Option<String>,
    /// Supervised time before the last resume, and when that supervisor started.
    segment: (u64, Option<String>),
    /// Tokens so far.
    pub tokens: u64,
    /// Cost so far.
    pub cost_usd: f64,
    /// Whether the agent reports usage.
    pub usage_reported: bool,
    /// `tokens` as written.
    pub token_limit: Option<String>,
    /// `cost` as written.
    pub cost_limit: Option<String>,
    /// Commits seen on the run branch.
    pub commits: u64,
    /// The last commit: short id and summary.
    pub last_commit: Option<(String, String)>,
    /// The last checks: attempt, held, of, passed.
    pub last_checks: Option<(u64, usize, usize, bool)>,
    /// The baseline: held, of.
    pub baseline: Option<(usize, usize)>,
    /// Limits that fired, as `name value`.
    pub limits_fired: Vec<String>,
    /// Resumes.
    pub resumes: u64,
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            run_id: String::new(),
            branch: String::new(),
            started_at: None,
            attempt: 0,
            max_attempts: None,
            session: 0,
            phase: Phase::Baseline,
            timeout: None,
            segment: (0, None),
            tokens: 0,
            cost_usd: 0.0,
            usage_reported: false,
            token_limit: None,
            cost_limit: None,
            commits: 0,
            last_commit: None,
            last_checks: None,
            baseline: None,
            limits_fired: Vec::new(),
            resumes: 0,
        }
    }
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&Utc))
}

fn since(at: &str, now: DateTime<Utc>) -> std::time::Duration {
    parse(at).and_then(|t| (now - t).to_std().ok()).unwrap_or_default()
}

/// `1h02m03s`-style, at second resolution.
fn clock(duration: std::time::Duration) -> String {
    crate::time::format_duration(duration)
}

impl LiveState {
    /// Fold every entry.
    pub fn from_entries(entries: &[Entry]) -> Self {
        let mut state = Self::default();
        for entry in entries {
            state.apply(entry);
        }
        state
    }

    /// Fold one entry.
    pub fn apply(&mut self, entry: &Entry) {
        match &entry.event {
            Event::RunStart(start) => {
                self.run_id.clone_from(&start.run_id);
                self.branch.clone_from(&start.branch);
                self.started_at = Some(entry.at.clone());
                self.segment = (0, Some(entry.at.clone()));
                let limit = |name: &str| start.limits.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                self.timeout = limit("timeout");
                self.max_attempts = limit("attempts").and_then(|n| n.parse().ok());
                self.token_limit = limit("tokens");
                self.cost_limit = limit("cost");
            }
            Event::Baseline { checks } => {
                self.baseline = Some((checks.iter().filter(|c| c.passed).count(), checks.len()));
                self.phase = Phase::Between;
            }
            Event::AttemptStart { attempt, of } => {
                self.attempt = *attempt;
                self.max_attempts = of.or(self.max_attempts);
                self.session = 0;
            }
            Event::SessionStart { attempt, session, pid, .. } => {
                self.attempt = *attempt;
                self.session = *session;
                self.phase = Phase::Agent { since: entry.at.clone(), pid: *pid };
            }
            Event::SessionEnd { .. } | Event::AttemptKept { .. } => self.phase = Phase::Checking,
            Event::AttemptEnd { .. } => self.phase = Phase::Between,
            Event::Commit(commit) => {
                self.commits += 1;
                self.last_commit = Some((commit.short.clone(), commit.summary.clone()));
            }
            Event::Usage { total_tokens, total_cost_usd, .. } => {
                self.usage_reported = true;
                self.tokens = *total_tokens;
                self.cost_usd = *total_cost_usd;
            }
            Event::Checks { attempt, passed, checks, .. } => {
                self.last_checks = Some((*attempt, checks.iter().filter(|c| c.passed).count(), checks.len(), *passed));
            }
            Event::Limit { limit, value, .. } => self.limits_fired.push(format!("{limit} {value}")),
            Event::Resume(resume) => {
                self.resumes += 1;
                self.segment = (resume.elapsed_ms, Some(entry.at.clone()));
                self.phase = Phase::Between;
            }
            Event::RunEnd(end) => {
                self.phase = Phase::Ended { outcome: end.outcome.clone(), reason: end.reason.clone() };
                if end.tokens > 0 || end.cost_usd > 0.0 {
                    self.tokens = end.tokens;
                    self.cost_usd = end.cost_usd;
                }
            }
            _ => {}
        }
    }

    /// Supervised time at `now`: what earlier supervisors counted plus this one's.
    pub fn elapsed(&self, now: DateTime<Utc>) -> std::time::Duration {
        let (before, from) = &self.segment;
        std::time::Duration::from_millis(*before) + from.as_deref().map(|at| since(at, now)).unwrap_or_default()
    }

    /// What it is doing, in a phrase.
    pub fn doing(&self, now: DateTime<Utc>) -> String {
        match &self.phase {
            Phase::Baseline => "measuring the baseline".into(),
            Phase::Agent { since: at, pid } => {
                let pid = pid.map(|p| format!(", pid {p}")).unwrap_or_default();
                format!("the agent is working (session {}, {}{pid})", self.session, clock(since(at, now)))
            }
            Phase::Checking => format!("checking attempt {}", self.attempt),
            Phase::Between if self.attempt == 0 => "starting the first attempt".into(),
            Phase::Between => format!("between attempts {} and {}", self.attempt, self.attempt + 1),
            Phase::Ended { outcome, .. } => format!("ended ({outcome}); writing the report and notifying"),
        }
    }

    /// One line for a terminal: attempt n/N · session time · elapsed/timeout · tokens/cost ·
    /// commits · last checks.
    pub fn line(&self, now: DateTime<Utc>) -> String {
        let mut parts = Vec::new();
        let of = self.max_attempts.map(|n| format!("/{n}")).unwrap_or_default();
        parts.push(if self.attempt == 0 { "baseline".to_string() } else { format!("attempt {}{of}", self.attempt) });
        match &self.phase {
            Phase::Agent { since: at, .. } => parts.push(format!("session {} {}", self.session, clock(since(at, now)))),
            Phase::Checking => parts.push("checking".into()),
            _ => {}
        }
        let timeout = self.timeout.as_ref().map(|t| format!("/{t}")).unwrap_or_default();
        parts.push(format!("{}{timeout}", clock(self.elapsed(now))));
        if self.usage_reported || self.token_limit.is_some() || self.cost_limit.is_some() {
            parts.push(self.usage());
        }
        parts.push(match self.commits {
            1 => "1 commit".into(),
            n => format!("{n} commits"),
        });
        if let Some((attempt, held, of, _)) = self.last_checks {
            parts.push(format!("checks {held}/{of} after attempt {attempt}"));
        } else if let Some((held, of)) = self.baseline {
            parts.push(format!("baseline {held}/{of}"));
        }
        parts.join(" · ")
    }

    /// Tokens and cost against the budget.
    pub fn usage(&self) -> String {
        if !self.usage_reported {
            return "usage not reported".into();
        }
        let tokens = match &self.token_limit {
            Some(max) => format!("{}/{max} tokens", self.tokens),
            None => format!("{} tokens", self.tokens),
        };
        let cost = match &self.cost_limit {
            Some(max) => format!("${:.2}/{max}", self.cost_usd),
            None => format!("${:.2}", self.cost_usd),
        };
        format!("{tokens} {cost}")
    }
}

/// A journal read as it grows.
pub struct JournalTail {
    path: PathBuf,
    offset: u64,
    pending: Vec<u8>,
}

impl JournalTail {
    /// Tail the journal at `path` from its start.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), offset: 0, pending: Vec::new() }
    }

    /// The entries appended since the last call; a line without its newline yet waits.
    pub fn poll(&mut self) -> Vec<Entry> {
        let Ok(mut file) = std::fs::File::open(&self.path) else { return Vec::new() };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        let Ok(read) = file.read_to_end(&mut bytes) else { return Vec::new() };
        self.offset += read as u64;
        self.pending.extend_from_slice(&bytes);
        let Some(last_newline) = self.pending.iter().rposition(|b| *b == b'\n') else { return Vec::new() };
        let complete: Vec<u8> = self.pending.drain(..=last_newline).collect();
        complete.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice::<Entry>(line).ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::journal::{Journal, SCHEMA_VERSION};

    fn at(entry_at: &str, event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: entry_at.into(), event }
    }

    #[test]
    fn the_line_says_attempt_session_time_budget_commits_and_checks() {
        let start = crate::run::journal::RunStart {
            schema: 1,
            night_version: "0".into(),
            run_id: "t-1".into(),
            name: "t".into(),
            runbook: "t.night".into(),
            repo: "/r".into(),
            work_dir: "/r".into(),
            branch: "night/t".into(),
            original_branch: None,
            start_commit: "0".into(),
            worktree: false,
            agent: "command".into(),
            agent_command: None,
            limits: vec![("timeout".into(), "8h".into()), ("attempts".into(), "3".into()), ("tokens".into(), "5000".into()), ("cost".into(), "$2.00".into())],
            checks: vec![],
            waivers: vec![],
            pid: 1,
        };
        let entries = vec![
            at("2025-01-01T00:00:00Z", Event::RunStart(start)),
            at("2025-01-01T00:00:10Z", Event::AttemptStart { attempt: 2, of: Some(3) }),
            at("2025-01-01T00:00:10Z", Event::SessionStart { attempt: 2, session: 1, pid: Some(42), prompt_file: "p".into(), prompt_kind: "task".into() }),
            at("2025-01-01T00:00:20Z", Event::Usage { attempt: 2, tokens: 1200, cost_usd: 0.5, total_tokens: 1200, total_cost_usd: 0.5 }),
        ];
        let state = LiveState::from_entries(&entries);
        let now = parse("2025-01-01T00:01:10Z").expect("time");
        assert_eq!(state.line(now), "attempt 2/3 · session 1 1m · 1m10s/8h · 1200/5000 tokens $0.50/$2.00 · 0 commits");
        assert_eq!(state.doing(now), "the agent is working (session 1, 1m, pid 42)");
    }

    #[test]
    fn the_tail_returns_whole_lines_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let mut tail = JournalTail::new(&path);
        assert!(tail.poll().is_empty(), "no file yet");
        let journal = Journal::open(&path, Vec::new()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        assert_eq!(tail.poll().len(), 1);
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).expect("append");
        file.write_all(b"{\"v\":1,\"at\":\"x\",\"event\":\"attempt-start\",\"attempt\":2").expect("half");
        assert!(tail.poll().is_empty(), "half a line waits");
        file.write_all(b",\"of\":null}\n").expect("rest");
        assert_eq!(tail.poll().len(), 1);
    }
}
