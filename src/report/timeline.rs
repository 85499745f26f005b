//! The night on one time axis, from the journal: attempts and sessions as spans; commits,
//! check results, limits, notifications, violations, rollbacks and resumes as moments.
//! [`super::html`] draws it as SVG.

use crate::run::journal::{Entry, Event};
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

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&Utc))
}

impl Timeline {
    /// Lay the journal's events on one axis starting at `run-start`.
    pub fn from_journal(entries: &[Entry]) -> Self {
        let Some(start) = entries.iter().find_map(|e| parse(&e.at)) else {
            return Self::default();
        };
        let offset = |at: &str| parse(at).map_or(0, |t| u64::try_from((t - start).num_milliseconds()).unwrap_or(0));
        let mut timeline = Timeline { start: start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), ..Self::default() };
        let mut last_ms = 0;
        let mut baseline: Vec<(usize, Option<u64>)> = Vec::new();
        for entry in entries {
            let at = offset(&entry.at);
            match &entry.event {
                Event::AttemptStart { attempt, of } => {
                    let of = of.map(|n| format!(" of {n}")).unwrap_or_default();
                    timeline.attempts.push(Span { from_ms: at, to_ms: None, label: format!("attempt {attempt}{of}"), status: "open".into(), attempt: *attempt, session: 0 });
                }
                Event::AttemptEnd { attempt, passed, reason, .. } => {
                    if let Some(span) = timeline.attempts.iter_mut().rev().find(|s| s.attempt == *attempt) {
                        span.to_ms = Some(at);
                        span.status = if *passed { "passed".into() } else { "failed".into() };
                        span.label = format!("{}: {} ({reason})", span.label, span.status);
                    }
                }
                Event::SessionStart { attempt, session, prompt_kind, .. } => timeline.sessions.push(Span {
                    from_ms: at,
                    to_ms: None,
                    label: format!("attempt {attempt}, session {session} ({prompt_kind} prompt)"),
                    status: "open".into(),
                    attempt: *attempt,
                    session: *session,
                }),
                Event::SessionEnd { attempt, session, reason, duration_ms, .. } => {
                    let open = timeline.sessions.iter_mut().rev().find(|s| s.attempt == *attempt && s.session == *session && s.to_ms.is_none());
                    if let Some(span) = open {
                        span.to_ms = Some(at.max(span.from_ms));
                        span.status.clone_from(reason);
                        span.label = format!("{}: ended by {reason} after {}", span.label, super::duration_text(*duration_ms));
                    } else {
                        // Seconds in `at` are coarse; the duration places a session whose start is missing.
                        let from = at.saturating_sub(*duration_ms);
                        timeline.sessions.push(Span { from_ms: from, to_ms: Some(at), label: format!("attempt {attempt}, session {session}: {reason}"), status: reason.clone(), attempt: *attempt, session: *session });
                    }
                }
                Event::Commit(commit) => timeline.marks.push(Mark { at_ms: at, kind: "commit".into(), label: format!("commit {} {}", commit.short, commit.summary), status: "neutral".into() }),
                Event::Baseline { checks } => {
                    baseline = checks.iter().map(|c| (c.index, c.tests.map(|t| t.failed))).collect();
                    let held = checks.iter().filter(|c| c.passed).count();
                    timeline.marks.push(Mark { at_ms: at, kind: "baseline".into(), label: format!("baseline: {held}/{} checks hold", checks.len()), status: "neutral".into() });
                }
                Event::Checks { attempt, passed, checks, .. } => {
                    let held = checks.iter().filter(|c| c.passed).count();
                    let mut label = format!("checks after attempt {attempt}: {held}/{} hold", checks.len());
                    for check in checks {
                        if let Some(tests) = check.tests {
                            let base = baseline.iter().find(|(i, _)| *i == check.index).and_then(|(_, f)| *f);
                            let against = base.map(|b| format!(" (baseline {b})")).unwrap_or_default();
                            label.push_str(&format!("; {} failing{against}", tests.failed));
                        }
                    }
                    timeline.marks.push(Mark { at_ms: at, kind: "checks".into(), label, status: if *passed { "passed".into() } else { "failed".into() } });
                }
                Event::Limit { limit, value, ends, .. } => {
                    timeline.marks.push(Mark { at_ms: at, kind: "limit".into(), label: format!("limit `{limit} {value}` fired; it ends the {ends}"), status: "failed".into() });
                }
                Event::Notification { notifier, on, delivered, error, .. } => {
                    let how = if *delivered { "sent".to_string() } else { format!("FAILED: {}", error.as_deref().unwrap_or("no answer")) };
                    let status = if *delivered { "delivered" } else { "undelivered" };
                    timeline.marks.push(Mark { at_ms: at, kind: "notification".into(), label: format!("notification `{on}` to {notifier}: {how}"), status: status.into() });
                }
                Event::Violation { attempt, paths, .. } => {
                    timeline.marks.push(Mark { at_ms: at, kind: "violation".into(), label: format!("attempt {attempt} wrote outside `write`: {}", paths.join(", ")), status: "failed".into() });
                }
                Event::Rollback { attempt, condition, kept_ref, .. } => {
                    timeline.marks.push(Mark { at_ms: at, kind: "rollback".into(), label: format!("rollback after attempt {attempt}: `{condition}`; kept at {kept_ref}"), status: "failed".into() });
                }
                Event::Resume(resume) => {
                    timeline.down.push(Span { from_ms: last_ms, to_ms: Some(at), label: "no supervisor alive".into(), status: "down".into(), attempt: resume.continues_attempt.unwrap_or(0), session: 0 });
                    // The dead supervisor's open spans end where it was last heard of.
                    for span in timeline.attempts.iter_mut().chain(timeline.sessions.iter_mut()).filter(|s| s.to_ms.is_none()) {
                        if span.session > 0 || resume.continues_attempt != Some(span.attempt) {
                            span.to_ms = Some(last_ms.max(span.from_ms));
                            span.status = "died".into();
                        }
                    }
                    timeline.marks.push(Mark { at_ms: at, kind: "resume".into(), label: format!("night resume: {}", resume.leftover), status: "neutral".into() });
                }
                Event::RunEnd(end) => {
                    let status = if end.outcome == "success" { "passed" } else { "failed" };
                    timeline.marks.push(Mark { at_ms: at, kind: "end".into(), label: format!("{}: {}", end.outcome, end.reason), status: status.into() });
                }
                _ => {}
            }
            last_ms = last_ms.max(at);
        }
        timeline.length_ms = last_ms;
        timeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::journal::{Resume, SCHEMA_VERSION};

    fn at(time: &str, event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: format!("2025-01-01T{time}Z"), event }
    }

    #[test]
    fn a_resume_closes_the_dead_session_and_shades_the_time_without_a_supervisor() {
        let entries = vec![
            at("23:00:00", Event::AttemptStart { attempt: 1, of: Some(3) }),
            at("23:00:01", Event::SessionStart { attempt: 1, session: 1, pid: Some(9), prompt_file: "p".into(), prompt_kind: "task".into() }),
            at("23:10:00", Event::Heartbeat { elapsed_ms: 600_000 }),
            at("23:40:00", Event::Resume(Resume { pid: 2, previous_pid: Some(1), elapsed_ms: 600_000, attempts: 1, continues_attempt: Some(1), leftover: "ended".into() })),
            at("23:40:01", Event::SessionStart { attempt: 1, session: 2, pid: Some(10), prompt_file: "p".into(), prompt_kind: "continue".into() }),
        ];
        let timeline = Timeline::from_journal(&entries);
        assert_eq!(timeline.length_ms, 2_401_000);
        assert_eq!(timeline.down.len(), 1);
        assert_eq!((timeline.down[0].from_ms, timeline.down[0].to_ms), (600_000, Some(2_400_000)));
        assert_eq!(timeline.sessions[0].status, "died");
        assert_eq!(timeline.sessions[0].to_ms, Some(600_000));
        assert_eq!(timeline.sessions[1].to_ms, None, "the new session is still open");
        assert_eq!(timeline.attempts[0].to_ms, None, "the attempt goes on across the resume");
        assert!(timeline.marks.iter().any(|m| m.kind == "resume"));
    }
}
