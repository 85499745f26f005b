//! What a run is doing now, read off its history: the live status line of `night run` and
//! the answer of `night status` are both this, so they cannot disagree.

use crate::record::history::{History, Phase};
use crate::time::format_duration;
use chrono::{DateTime, Utc};

/// A run's live status at a moment.
pub struct Status<'a> {
    history: &'a History,
    now: DateTime<Utc>,
}

impl<'a> Status<'a> {
    /// `history` as it stands at `now`.
    pub fn new(history: &'a History, now: DateTime<Utc>) -> Self {
        Self { history, now }
    }

    fn since(&self, at: DateTime<Utc>) -> std::time::Duration {
        (self.now - at).to_std().unwrap_or_default()
    }

    /// The attempt under way or last ended (0: none yet), and its last session (0: none yet).
    fn position(&self) -> (u64, u64) {
        let attempt = self.history.current_attempt();
        let session = attempt.and_then(|a| a.sessions.iter().rev().find(|s| s.started_at.is_some())).map_or(0, |s| s.number);
        (attempt.map_or(0, |a| a.number), session)
    }

    /// The most attempts, as the last attempt was told or the runbook says.
    fn max_attempts(&self) -> Option<u64> {
        self.history.current_attempt().and_then(|a| a.of).or_else(|| self.history.max_attempts())
    }

    /// What it is doing, in a phrase.
    pub fn doing(&self) -> String {
        let (attempt, session) = self.position();
        match &self.history.phase {
            Phase::Baseline => "measuring the baseline".into(),
            Phase::Agent { since, pid } => {
                let pid = pid.map(|p| format!(", pid {p}")).unwrap_or_default();
                format!("the agent is working (session {session}, {}{pid})", format_duration(self.since(*since)))
            }
            Phase::Checking => format!("checking attempt {attempt}"),
            Phase::Between if attempt == 0 => "starting the first attempt".into(),
            Phase::Between => format!("between attempts {attempt} and {}", attempt.saturating_add(1)),
            Phase::Ended { outcome, .. } => format!("ended ({outcome}); writing the report and notifying"),
        }
    }

    /// One line for a terminal: attempt n/N · session time · elapsed/timeout · tokens/cost ·
    /// commits · last checks.
    pub fn line(&self) -> String {
        let (attempt, session) = self.position();
        let mut parts = Vec::new();
        let of = self.max_attempts().map(|n| format!("/{n}")).unwrap_or_default();
        parts.push(if attempt == 0 { "baseline".to_string() } else { format!("attempt {attempt}{of}") });
        match &self.history.phase {
            Phase::Agent { since, .. } => parts.push(format!("session {session} {}", format_duration(self.since(*since)))),
            Phase::Checking => parts.push("checking".into()),
            _ => {}
        }
        let timeout = self.history.limit("timeout").map(|t| format!("/{t}")).unwrap_or_default();
        parts.push(format!("{}{timeout}", format_duration(self.history.elapsed_at(self.now))));
        if self.history.usage_reported || self.history.limit("tokens").is_some() || self.history.limit("cost").is_some() {
            parts.push(self.usage());
        }
        parts.push(match self.history.commits.len() {
            1 => "1 commit".into(),
            n => format!("{n} commits"),
        });
        if let Some((attempt, verified)) = self.history.last_verified() {
            let held = verified.results.iter().filter(|c| c.passed).count();
            parts.push(format!("checks {held}/{} after attempt {attempt}", verified.results.len()));
        } else if let Some(baseline) = &self.history.baseline {
            parts.push(format!("baseline {}/{}", baseline.iter().filter(|c| c.passed).count(), baseline.len()));
        }
        parts.join(" · ")
    }

    /// Tokens and cost against the budget.
    pub fn usage(&self) -> String {
        if !self.history.usage_reported {
            return "usage not reported".into();
        }
        let tokens = match self.history.limit("tokens") {
            Some(max) => format!("{}/{max} tokens", self.history.tokens),
            None => format!("{} tokens", self.history.tokens),
        };
        let cost = match self.history.limit("cost") {
            Some(max) => format!("${:.2}/{max}", self.history.cost_usd),
            None => format!("${:.2}", self.history.cost_usd),
        };
        format!("{tokens} {cost}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Entry, Event, PromptKind, RunStart, SCHEMA_VERSION};

    fn at(entry_at: &str, event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: entry_at.parse().expect("a time"), event }
    }

    #[test]
    fn the_line_says_attempt_session_time_budget_commits_and_checks() {
        let start = RunStart::example(&[("timeout", "8h"), ("attempts", "3"), ("tokens", "5000"), ("cost", "$2.00")]);
        let entries = vec![
            at("2025-01-01T00:00:00Z", Event::RunStart(start)),
            at("2025-01-01T00:00:10Z", Event::AttemptStart { attempt: 2, of: Some(3) }),
            at("2025-01-01T00:00:10Z", Event::SessionStart { attempt: 2, session: 1, pid: Some(42), prompt_file: "p".into(), prompt_kind: PromptKind::Task }),
            at("2025-01-01T00:00:20Z", Event::Usage { attempt: 2, tokens: 1200, cost_usd: 0.5, total_tokens: 1200, total_cost_usd: 0.5 }),
        ];
        let history = History::from_entries(&entries);
        let now = "2025-01-01T00:01:10Z".parse().expect("time");
        let status = Status::new(&history, now);
        assert_eq!(status.line(), "attempt 2/3 · session 1 1m · 1m10s/8h · 1200/5000 tokens $0.50/$2.00 · 0 commits");
        assert_eq!(status.doing(), "the agent is working (session 1, 1m, pid 42)");
    }
}
