//! The limits of LANGUAGE.md §7 as deadlines and counters, all on monotonic time. Pure
//! bookkeeping: the supervisor sleeps until the next deadline and asks which one fired.

use crate::plan::PlanLimits;
use crate::time::format_duration;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::record::{Ends, Limit};

/// A limit as written in the plan, e.g. `45m`, `$25.00`, `3`.
pub fn value(limit: Limit, limits: &PlanLimits) -> String {
    let duration = |d: Option<Duration>| d.map(format_duration).unwrap_or_default();
    match limit {
        Limit::Timeout => format_duration(limits.timeout),
        Limit::Session => duration(limits.session),
        Limit::Idle => duration(limits.idle),
        Limit::Silence => duration(limits.silence),
        Limit::Attempts => limits.attempts.map(|n| n.to_string()).unwrap_or_default(),
        Limit::Stuck | Limit::ToolLoop => limits.stuck.map(|n| n.to_string()).unwrap_or_default(),
        Limit::Tokens => limits.tokens.map(|n| n.to_string()).unwrap_or_default(),
        Limit::Cost => limits.cost.map(|c| c.to_string()).unwrap_or_default(),
        Limit::Quota => limits.quota_wait.map_or_else(|| "no `quota wait`".into(), format_duration),
    }
}

/// A phrase for messages and the next prompt.
pub fn explain(limit: Limit, limits: &PlanLimits) -> String {
    let value = value(limit, limits);
    match limit {
        Limit::Timeout => format!("the run's `timeout {value}` was reached"),
        Limit::Session => format!("the session reached `session {value}`"),
        Limit::Attempts if value == "1" => "the one attempt used up without success".to_string(),
        Limit::Attempts => format!("{value} attempts used up without success"),
        Limit::Stuck if value == "1" => "a failed attempt, with `stuck 1`".to_string(),
        Limit::Stuck => format!("the same failure {value} attempts in a row"),
        Limit::Idle => format!("no new commit on the run branch for `idle {value}`"),
        Limit::Silence => format!("the agent printed nothing for `silence {value}` and was treated as hung"),
        Limit::ToolLoop => format!("the agent repeated the same tool call {value} times in a row"),
        Limit::Tokens => format!("the token budget `tokens {value}` was used up"),
        // No `cost` in the runbook: the agent's own budget or the batch's pool (a note says which).
        Limit::Cost if value.is_empty() => "a cost budget was used up (the agent's own, or the batch's `--budget`)".to_string(),
        Limit::Cost => format!("the cost budget `cost {value}` was used up"),
        Limit::Quota => format!("the provider's usage limit stopped the agent ({value})"),
    }
}

/// The deadlines of one session.
#[derive(Debug, Clone)]
pub struct SessionClock {
    limits: PlanLimits,
    run_deadline: Instant,
    started: Instant,
    last_commit: Instant,
    last_tool: Option<String>,
    tool_repeats: u64,
}

impl SessionClock {
    /// A session starting now, inside a run that must end by `run_deadline`.
    pub fn new(limits: PlanLimits, run_deadline: Instant, now: Instant) -> Self {
        Self { limits, run_deadline, started: now, last_commit: now, last_tool: None, tool_repeats: 0 }
    }

    /// The earliest deadline, given when the agent last printed.
    pub fn next_deadline(&self, last_output: Instant) -> (Instant, Limit) {
        self.deadlines(last_output).into_iter().min_by_key(|(at, _)| *at).unwrap_or((self.run_deadline, Limit::Timeout))
    }

    /// The limit that has fired by `now`, if any; `timeout` first, and the limits that say
    /// the agent is doing nothing before the session limit, which would only refresh it.
    pub fn fired(&self, now: Instant, last_output: Instant) -> Option<Limit> {
        let due: Vec<Limit> = self.deadlines(last_output).into_iter().filter(|(at, _)| *at <= now).map(|(_, l)| l).collect();
        [Limit::Timeout, Limit::Idle, Limit::Silence, Limit::Session].into_iter().find(|l| due.contains(l))
    }

    /// The run branch gained a commit.
    pub fn on_commit(&mut self, now: Instant) {
        self.last_commit = now;
    }

    /// The agent made a tool call; `Some(ToolLoop)` when it is the `stuck`-th identical one in a row.
    pub fn on_tool_call(&mut self, signature: &str) -> Option<Limit> {
        if self.last_tool.as_deref() == Some(signature) {
            self.tool_repeats += 1;
        } else {
            self.last_tool = Some(signature.to_string());
            self.tool_repeats = 1;
        }
        match self.limits.stuck {
            Some(n) if n > 0 && self.tool_repeats >= n => Some(Limit::ToolLoop),
            _ => None,
        }
    }

    fn deadlines(&self, last_output: Instant) -> Vec<(Instant, Limit)> {
        let mut all = vec![(self.run_deadline, Limit::Timeout)];
        if let Some(session) = self.limits.session {
            all.push((self.started + session, Limit::Session));
        }
        if let Some(idle) = self.limits.idle {
            all.push((self.last_commit + idle, Limit::Idle));
        }
        if let Some(silence) = self.limits.silence {
            all.push((last_output.max(self.started) + silence, Limit::Silence));
        }
        all
    }
}

/// Tokens and cost across the whole run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// Tokens so far.
    pub tokens: u64,
    /// US dollars so far.
    pub cost_usd: f64,
}

impl Budget {
    /// Add a usage report; the limit it exceeds, if any.
    pub fn add(&mut self, tokens: u64, cost_usd: f64, limits: &PlanLimits) -> Option<Limit> {
        self.tokens = self.tokens.saturating_add(tokens);
        self.cost_usd += cost_usd;
        if limits.tokens.is_some_and(|max| self.tokens >= max) {
            return Some(Limit::Tokens);
        }
        #[allow(clippy::cast_precision_loss)]
        if limits.cost.is_some_and(|max| self.cost_usd * 100.0 >= max.cents as f64) {
            return Some(Limit::Cost);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PlanLimits {
        PlanLimits {
            timeout: Duration::from_secs(100),
            session: Some(Duration::from_secs(50)),
            attempts: Some(3),
            stuck: Some(2),
            idle: Some(Duration::from_secs(20)),
            silence: Some(Duration::from_secs(10)),
            tokens: Some(1000),
            cost: Some(crate::ast::Money { cents: 250 }),
            quota_wait: None,
        }
    }

    #[test]
    fn one_attempt_is_said_in_the_singular() {
        let one = PlanLimits { attempts: Some(1), stuck: Some(1), ..limits() };
        assert_eq!(explain(Limit::Attempts, &one), "the one attempt used up without success");
        assert_eq!(explain(Limit::Stuck, &one), "a failed attempt, with `stuck 1`");
        assert_eq!(explain(Limit::Attempts, &limits()), "3 attempts used up without success");
        assert_eq!(explain(Limit::Stuck, &limits()), "the same failure 2 attempts in a row");
    }

    #[test]
    fn the_earliest_deadline_wins_and_output_defers_silence() {
        let now = Instant::now();
        let clock = SessionClock::new(limits(), now + Duration::from_secs(100), now);
        assert_eq!(clock.next_deadline(now), (now + Duration::from_secs(10), Limit::Silence));
        let (at, limit) = clock.next_deadline(now + Duration::from_secs(15));
        assert_eq!((at, limit), (now + Duration::from_secs(20), Limit::Idle));
        assert_eq!(clock.fired(now + Duration::from_secs(12), now + Duration::from_secs(5)), None);
        assert_eq!(clock.fired(now + Duration::from_secs(16), now + Duration::from_secs(5)), Some(Limit::Silence));
    }

    #[test]
    fn a_commit_defers_idle_and_timeout_comes_first() {
        let now = Instant::now();
        let mut clock = SessionClock::new(limits(), now + Duration::from_secs(30), now);
        clock.on_commit(now + Duration::from_secs(15));
        let later = now + Duration::from_secs(25);
        assert_eq!(clock.fired(later, later), None);
        assert_eq!(clock.fired(now + Duration::from_secs(40), now + Duration::from_secs(40)), Some(Limit::Timeout));
    }

    #[test]
    fn repeated_tool_calls_are_counted_in_a_row() {
        let now = Instant::now();
        let mut clock = SessionClock::new(limits(), now, now);
        assert_eq!(clock.on_tool_call("read a"), None);
        assert_eq!(clock.on_tool_call("read b"), None);
        assert_eq!(clock.on_tool_call("read b"), Some(Limit::ToolLoop));
    }

    #[test]
    fn budgets_fire_at_the_limit() {
        let mut budget = Budget::default();
        assert_eq!(budget.add(400, 1.0, &limits()), None);
        assert_eq!(budget.add(400, 1.5, &limits()), Some(Limit::Cost));
        assert_eq!(budget.add(400, 0.0, &limits()), Some(Limit::Tokens));
    }
}
