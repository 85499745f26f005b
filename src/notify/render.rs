//! The human text of a notification, shared by the chat, push, mail and SMS channels.

use super::Message;
use crate::ast::Event;
use std::time::Duration;

/// `auth-jwt: success after 2 attempts in 1h12m`: the one line a message leads with.
pub fn summary_line(name: &str, outcome: &str, attempts: u64, elapsed: Duration) -> String {
    let attempts = if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") };
    format!("{name}: {outcome} after {attempts} in {}", crate::time::format_duration(elapsed))
}

/// What the message is about in one or two words: the outcome at an end, else the event.
pub fn headline(message: &Message) -> String {
    match (&message.outcome, message.event, message.attempt) {
        (Some(outcome), _, _) => outcome.clone(),
        (None, Event::Attempt, Some(n)) => format!("attempt {n}"),
        (None, event, _) => event.name().to_string(),
    }
}

/// `night: auth-jwt success`: a mail subject, a push title.
pub fn title(message: &Message) -> String {
    format!("night: {} {}", message.name, headline(message))
}

/// Whether the message reports something that went wrong.
pub fn is_bad(message: &Message) -> bool {
    match message.outcome.as_deref() {
        Some(outcome) => !matches!(outcome, "success"),
        None => matches!(message.event, Event::Failure | Event::Stuck | Event::Rollback | Event::Violation),
    }
}

/// The lines after the summary: detail, checks, facts, report path.
pub fn detail_lines(message: &Message) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(detail) = message.detail.as_deref().filter(|d| !d.trim().is_empty()) {
        lines.push(detail.trim().to_string());
    }
    if !message.checks.is_empty() {
        let passed = message.checks.iter().filter(|c| c.passed).count();
        let failing: Vec<String> = message.checks.iter().filter(|c| !c.passed).map(|c| c.check.clone()).collect();
        let mut line = format!("checks: {passed} of {} passed", message.checks.len());
        if !failing.is_empty() {
            line.push_str(&format!(" (failing: {})", failing.join(", ")));
        }
        lines.push(line);
    }
    let mut facts = Vec::new();
    if !message.branch.is_empty() {
        facts.push(format!("branch {}", message.branch));
    }
    facts.push(if message.attempts == 1 { "1 attempt".to_string() } else { format!("{} attempts", message.attempts) });
    facts.push(crate::time::format_duration(Duration::from_secs(message.elapsed_seconds)));
    if message.tokens > 0 {
        facts.push(format!("{} tokens", group_thousands(message.tokens)));
    }
    if message.cost_usd > 0.0 {
        facts.push(format!("${:.2}", message.cost_usd));
    }
    lines.push(facts.join(" · "));
    if let Some(url) = &message.pull_request {
        lines.push(format!("pull request: {url}"));
    }
    if let Some(report) = &message.report {
        lines.push(format!("report: {report}"));
    }
    lines
}

/// The whole plain-text body: summary, then the detail lines.
pub fn plain_text(message: &Message) -> String {
    let mut lines = vec![message.summary.clone()];
    lines.extend(detail_lines(message));
    lines.join("\n")
}

/// At most `max` characters, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::notify::{CheckSummary, Message};

    pub(crate) fn sample() -> Message {
        Message {
            event: Event::End,
            outcome: Some("failed".into()),
            run_id: "auth-jwt-20250101-010203".into(),
            name: "auth-jwt".into(),
            branch: "night/auth-jwt/20250101-0102".into(),
            started_at: "2025-01-01T01:02:03Z".into(),
            at: "2025-01-01T02:14:03Z".into(),
            elapsed_seconds: 4320,
            attempt: Some(3),
            attempts: 3,
            checks: vec![
                CheckSummary { check: "tests `cargo test`".into(), passed: false, detail: Some("2 failed".into()) },
                CheckSummary { check: "exists `src/jwt.rs`".into(), passed: true, detail: None },
            ],
            tokens: 1_234_567,
            cost_usd: 3.5,
            report: Some(".night/runs/auth-jwt-20250101-010203/report.md".into()),
            summary: "auth-jwt: failed after 3 attempts in 1h12m".into(),
            detail: Some("attempts used up".into()),
            pull_request: None,
        }
    }

    #[test]
    fn plain_text_reads_well() {
        assert_eq!(
            plain_text(&sample()),
            "auth-jwt: failed after 3 attempts in 1h12m\n\
             attempts used up\n\
             checks: 1 of 2 passed (failing: tests `cargo test`)\n\
             branch night/auth-jwt/20250101-0102 · 3 attempts · 1h12m · 1,234,567 tokens · $3.50\n\
             report: .night/runs/auth-jwt-20250101-010203/report.md"
        );
        assert_eq!(title(&sample()), "night: auth-jwt failed");
        assert!(is_bad(&sample()));
    }

    #[test]
    fn summary_line_counts() {
        assert_eq!(summary_line("auth-jwt", "success", 2, Duration::from_secs(4320)), "auth-jwt: success after 2 attempts in 1h12m");
        assert_eq!(summary_line("x", "failed", 1, Duration::from_secs(5)), "x: failed after 1 attempt in 5s");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(999), "999");
    }
}
