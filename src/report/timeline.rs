//! The night on one time axis, from the run's history: attempts and sessions as spans;
//! commits, check results, limits, notifications, violations, rollbacks and resumes as
//! moments. [`super::html`] draws it as SVG.

use crate::record::event::seconds;
use crate::record::history::{History, Session};
use crate::record::{Outcome, SessionEndReason};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A span of time on the axis, in milliseconds after the run's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Start.
    pub from_ms: u64,
    /// End (`None`: still open when the journal ends).
    pub to_ms: Option<u64>,
    /// Shown on hover.
    pub label: String,
    /// `passed`, `failed`, `open`, or a session's end reason.
    pub status: String,
    /// The attempt.
    pub attempt: u64,
    /// The session within the attempt (0 for an attempt span).
    pub session: u64,
}

/// A moment on the axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    /// When, in milliseconds after the run's start.
    pub at_ms: u64,
    /// `commit`, `checks`, `baseline`, `limit`, `notification`, `violation`, `rollback`, `resume`, `end`.
    pub kind: String,
    /// Shown on hover.
    pub label: String,
    /// Good or bad news: `passed`, `failed`, `delivered`, `undelivered`, `neutral`.
    pub status: String,
}

/// Everything drawn, plus the axis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// When the run started (RFC 3339).
    pub start: String,
    /// The axis length: the run's end, or its last event.
    pub length_ms: u64,
    /// One per attempt.
    pub attempts: Vec<Span>,
    /// One per agent session.
    pub sessions: Vec<Span>,
    /// Periods when no supervisor was alive (between a death and `night resume`).
    pub down: Vec<Span>,
    /// Everything else.
    pub marks: Vec<Mark>,
}

impl Timeline {
    /// Lay the run's history on one axis starting at `run-start`.
    pub fn new(history: &History) -> Self {
        let Some(start) = history.started_at() else { return Self::default() };
        let offset = |at: DateTime<Utc>| u64::try_from((at - start).num_milliseconds()).unwrap_or(0);
        let mut timeline = Timeline { start: seconds::text(&start), length_ms: history.last_at.map_or(0, offset), ..Self::default() };
        for attempt in &history.attempts {
            let Some(from) = attempt.started_at else { continue };
            let of = attempt.of.map(|n| format!(" of {n}")).unwrap_or_default();
            let mut span = Span { from_ms: offset(from), to_ms: None, label: format!("attempt {}{of}", attempt.number), status: "open".into(), attempt: attempt.number, session: 0 };
            if let Some(end) = &attempt.end {
                span.to_ms = Some(offset(end.at));
                span.status = if end.passed { "passed".into() } else { "failed".into() };
                span.label = format!("{}: {} ({})", span.label, span.status, end.reason);
            }
            timeline.attempts.push(span);
            for session in &attempt.sessions {
                timeline.sessions.push(session_span(attempt.number, session, &offset));
            }
        }
        // The dead supervisor's open spans end where it was last heard of; the attempt a
        // resume goes on with stays open.
        for resume in &history.resumes {
            let (at, heard) = (offset(resume.at), resume.last_heard.map_or(0, offset));
            timeline.down.push(Span { from_ms: heard, to_ms: Some(at), label: "no supervisor alive".into(), status: "down".into(), attempt: resume.resume.continues_attempt.unwrap_or(0), session: 0 });
            let open = timeline.attempts.iter_mut().chain(timeline.sessions.iter_mut()).filter(|s| s.to_ms.is_none() && s.from_ms < at);
            for span in open {
                if span.session > 0 || resume.resume.continues_attempt != Some(span.attempt) {
                    span.to_ms = Some(heard.max(span.from_ms));
                    span.status = "died".into();
                }
            }
            timeline.marks.push(Mark { at_ms: at, kind: "resume".into(), label: format!("night resume: {}", resume.resume.leftover), status: "neutral".into() });
        }
        timeline.marks.extend(marks(history, &offset));
        timeline.marks.sort_by_key(|mark| mark.at_ms);
        timeline
    }
}

fn session_span(attempt: u64, session: &Session, offset: &impl Fn(DateTime<Utc>) -> u64) -> Span {
    let kind = session.prompt_kind.map(|k| format!(" ({} prompt)", k.name())).unwrap_or_default();
    let label = format!("attempt {attempt}, session {}{kind}", session.number);
    let (from, end) = match (session.started_at, &session.end) {
        (Some(from), end) => (offset(from), end.as_ref()),
        // Seconds in the stamps are coarse; the duration places a session whose start is missing.
        (None, Some(end)) => (offset(end.at).saturating_sub(end.duration_ms), Some(end)),
        (None, None) => (0, None),
    };
    let mut span = Span { from_ms: from, to_ms: None, label, status: "open".into(), attempt, session: session.number };
    match end {
        // Closed by `night resume`: it ran as long as its supervisor was heard of.
        Some(end) if end.reason == SessionEndReason::SupervisorDied => {
            span.to_ms = Some(from.saturating_add(end.duration_ms));
            span.status = "died".into();
        }
        Some(end) => {
            span.to_ms = Some(offset(end.at).max(from));
            span.status = end.reason.name().into();
            span.label = format!("{}: ended by {} after {}", span.label, end.reason, super::duration_text(end.duration_ms));
        }
        None => {}
    }
    span
}

/// Every moment: commits, check results, limits, notifications, violations, rollbacks, the end.
fn marks(history: &History, offset: &impl Fn(DateTime<Utc>) -> u64) -> Vec<Mark> {
    let mark = |at: DateTime<Utc>, kind: &str, label: String, status: &str| Mark { at_ms: offset(at), kind: kind.into(), label, status: status.into() };
    let mut marks = Vec::new();
    for (commit, at) in &history.commits {
        marks.push(mark(*at, "commit", format!("commit {} {}", commit.short, commit.summary), "neutral"));
    }
    if let (Some(checks), Some(at)) = (&history.baseline, history.baseline_at) {
        let held = checks.iter().filter(|c| c.passed).count();
        marks.push(mark(at, "baseline", format!("baseline: {held}/{} checks hold", checks.len()), "neutral"));
    }
    for attempt in &history.attempts {
        if let Some(verified) = &attempt.verified {
            let held = verified.results.iter().filter(|c| c.passed).count();
            let mut label = format!("checks after attempt {}: {held}/{} hold", attempt.number, verified.results.len());
            for check in &verified.results {
                if let Some(tests) = check.tests {
                    let base = history.baseline_check(check.index).and_then(|b| b.tests).map(|b| format!(" (baseline {})", b.failed)).unwrap_or_default();
                    label.push_str(&format!("; {} failing{base}", tests.failed));
                }
            }
            marks.push(mark(verified.at, "checks", label, if verified.passed { "passed" } else { "failed" }));
        }
        for limit in &attempt.limits {
            marks.push(mark(limit.at, "limit", format!("limit `{} {}` fired; it ends the {}", limit.limit, limit.value, limit.ends.name()), "failed"));
        }
        for violation in &attempt.violations {
            marks.push(mark(violation.at, "violation", format!("attempt {} wrote outside `write`: {}", violation.attempt, violation.paths.join(", ")), "failed"));
        }
        if let Some((rollback, at)) = &attempt.rollback {
            marks.push(mark(*at, "rollback", format!("rollback after attempt {}: `{}`; kept at {}", rollback.attempt, rollback.condition, rollback.kept_ref), "failed"));
        }
    }
    for n in &history.notifications {
        let how = if n.delivered { "sent".to_string() } else { format!("FAILED: {}", n.error.as_deref().unwrap_or("no answer")) };
        marks.push(mark(n.at, "notification", format!("notification `{}` to {}: {how}", n.on, n.notifier), if n.delivered { "delivered" } else { "undelivered" }));
    }
    if let Some((end, at)) = &history.end {
        marks.push(mark(*at, "end", format!("{}: {}", end.outcome, end.reason), if end.outcome == Outcome::Success { "passed" } else { "failed" }));
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Entry, Event, PromptKind, Resume, RunStart, SessionEndReason, SCHEMA_VERSION};

    fn at(time: &str, event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: format!("2025-01-01T{time}Z").parse().expect("a time"), event }
    }

    #[test]
    fn a_resume_closes_the_dead_session_and_shades_the_time_without_a_supervisor() {
        let entries = vec![
            at("23:00:00", Event::RunStart(RunStart::example(&[]))),
            at("23:00:00", Event::AttemptStart { attempt: 1, of: Some(3) }),
            at("23:00:01", Event::SessionStart { attempt: 1, session: 1, pid: Some(9), prompt_file: "p".into(), prompt_kind: PromptKind::Task }),
            at("23:10:00", Event::Heartbeat { elapsed_ms: 600_000 }),
            at("23:40:00", Event::Resume(Resume { pid: 2, previous_pid: Some(1), elapsed_ms: 600_000, attempts: 1, continues_attempt: Some(1), leftover: "ended".into() })),
            at("23:40:00", Event::SessionEnd { attempt: 1, session: 1, reason: SessionEndReason::SupervisorDied, exit_code: None, signal: None, duration_ms: 599_000, output_bytes: 0, killed: false, wakeups: None }),
            at("23:40:01", Event::SessionStart { attempt: 1, session: 2, pid: Some(10), prompt_file: "p".into(), prompt_kind: PromptKind::Continue }),
        ];
        let timeline = Timeline::new(&crate::record::History::from_entries(&entries));
        assert_eq!(timeline.length_ms, 2_401_000);
        assert_eq!(timeline.down.len(), 1);
        assert_eq!((timeline.down[0].from_ms, timeline.down[0].to_ms), (600_000, Some(2_400_000)));
        assert_eq!(timeline.sessions[0].status, "died");
        assert_eq!(timeline.sessions[0].to_ms, Some(600_000));
        assert_eq!(timeline.sessions.len(), 2, "the dead session is one span");
        assert_eq!(timeline.sessions[1].to_ms, None, "the new session is still open");
        assert_eq!(timeline.attempts[0].to_ms, None, "the attempt goes on across the resume");
        assert!(timeline.marks.iter().any(|m| m.kind == "resume"));
    }
}
