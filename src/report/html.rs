//! `report.html`: one self-contained file (no script, no external asset) with the summary of
//! `report.md`, an inline SVG timeline of the night, and the details. Written as XHTML-
//! compatible HTML5 (every element closed, every text escaped) so that an XML parser reads it.

use super::markdown::{attempts_row, changes_row, duration_row, notifications_row, permissions_row, usage_row};
use super::timeline::{Mark, Span, Timeline};
use super::{check_result, continue_commands, duration_text, short, word, ReportData};
use std::fmt::Write as _;

/// Lanes of the timeline, top to bottom: (name shown, which marks go there).
const LANES: &[(&str, &[&str])] = &[
    ("attempts", &[]),
    ("sessions", &[]),
    ("commits", &["commit"]),
    ("checks", &["baseline", "checks"]),
    ("limits", &["limit"]),
    ("notifications", &["notification"]),
    ("events", &["violation", "rollback", "resume", "end"]),
];

const WIDTH: f64 = 960.0;
const LABELS: f64 = 110.0;
const RIGHT: f64 = 40.0;
const LANE: f64 = 30.0;
const TOP: f64 = 10.0;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}code,pre{font-family:ui-monospace,monospace}\
pre{background:#f4f4f4;padding:.6em}.outcome-success{color:#1a7f37}.outcome-bad{color:#b42318}\
svg text{font:11px system-ui,sans-serif;fill:#444}svg .lane-bg{fill:#fafafa;stroke:#eee}svg .tick{stroke:#ddd}\
svg .attempt{fill:#c8d7f0}svg .attempt.passed{fill:#9fd8a8}svg .attempt.failed{fill:#f3b0a8}\
svg .session{fill:#6c8ebf}svg .session.exited{fill:#4f7cc0}svg .session.died{fill:#999}\
svg .down{fill:#ddd;opacity:.8}svg .mark.passed,svg .mark.delivered{fill:#1a7f37}svg .mark.failed,svg .mark.undelivered{fill:#b42318}\
svg .mark.neutral{fill:#555}svg .mark.commit{fill:#7a4fb0}.legend{color:#666;font-size:12px}";

/// Escape text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in XML.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `report.html`.
pub fn html(data: &ReportData, timeline: &Timeline) -> String {
    let mut out = String::new();
    let outcome = data.outcome_name();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\" xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n<meta charset=\"utf-8\" />\n<meta name=\"viewport\" content=\"width=device-width\" />\n<title>night run {}: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&data.run_id),
        esc(outcome)
    );
    let class = if outcome == "success" { "outcome-success" } else { "outcome-bad" };
    let _ = writeln!(out, "<h1>night run <code>{}</code>: <span class=\"{class}\">{}</span></h1>", esc(&data.run_id), esc(outcome));
    if let Some(reason) = &data.reason {
        let _ = writeln!(out, "<p><strong>{}</strong> — {}.</p>", esc(outcome), esc(reason));
    }
    out.push_str("<table class=\"summary\">\n");
    let mut rows = vec![
        ("duration", duration_row(data)),
        ("attempts", attempts_row(data)),
        ("changes", changes_row(data)),
        ("permissions", permissions_row(data)),
        ("tokens and cost", usage_row(data)),
    ];
    for rollback in &data.rollbacks {
        rows.push(("rolled back", format!("attempt {} reset to {} {}, work kept at {}", rollback.attempt, word(&rollback.to), short(&rollback.target), rollback.kept_ref)));
    }
    rows.push(("notifications", notifications_row(data)));
    for (key, value) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(key), esc(&value.replace('`', "")));
    }
    out.push_str("</table>\n<pre class=\"next\">");
    for (command, comment) in continue_commands(data) {
        let _ = writeln!(out, "{}    # {}", esc(&command), esc(&comment));
    }
    out.push_str("</pre>\n<h2>The night</h2>\n");
    svg(&mut out, timeline);
    out.push_str("<p class=\"legend\">Bars: attempts (green passed, red failed) and agent sessions (grey: its supervisor died). \u{25c6} the baseline and each attempt's checks, \u{25b2} limits, \u{25a0} notifications, \u{25cf} commits and other events (violations, rollbacks, resumes, the end). Shaded: no supervisor was alive. Hover for details.</p>\n");
    details(&mut out, data);
    out.push_str("</body>\n</html>\n");
    out
}

fn x(ms: u64, length: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let fraction = if length == 0 { 0.0 } else { ms as f64 / length as f64 };
    LABELS + fraction.clamp(0.0, 1.0) * (WIDTH - LABELS - RIGHT)
}

fn lane_y(index: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let index = index as f64;
    TOP + index * LANE
}

/// The timeline as inline SVG; every drawn item has a `<title>` shown on hover.
fn svg(out: &mut String, timeline: &Timeline) {
    let height = lane_y(LANES.len()) + 28.0;
    // An axis of at least a second, so that a run of a moment still spreads out.
    let length = timeline.length_ms.max(1000);
    let _ = writeln!(
        out,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"timeline of the run\">"
    );
    for (index, (name, _)) in LANES.iter().enumerate() {
        let y = lane_y(index);
        let _ = writeln!(
            out,
            "<rect class=\"lane-bg\" x=\"{LABELS}\" y=\"{y}\" width=\"{}\" height=\"{}\" /><text x=\"4\" y=\"{}\">{name}</text>",
            WIDTH - LABELS - RIGHT,
            LANE - 4.0,
            y + LANE / 2.0 + 3.0
        );
    }
    axis(out, timeline, length, lane_y(LANES.len()));
    for span in &timeline.down {
        let (from, to) = (x(span.from_ms, length), x(span.to_ms.unwrap_or(length), length));
        let _ = writeln!(out, "<rect class=\"down\" x=\"{from:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{}\"><title>{}</title></rect>", (to - from).max(2.0), lane_y(LANES.len()) - TOP, esc(&span.label));
    }
    for span in &timeline.attempts {
        span_rect(out, span, "attempt", lane_y(0), length);
    }
    for span in &timeline.sessions {
        span_rect(out, span, "session", lane_y(1), length);
    }
    for (index, (_, kinds)) in LANES.iter().enumerate() {
        for mark in timeline.marks.iter().filter(|m| kinds.contains(&m.kind.as_str())) {
            mark_shape(out, mark, lane_y(index), length);
        }
    }
    out.push_str("</svg>\n");
}

fn span_rect(out: &mut String, span: &Span, class: &str, y: f64, length: u64) {
    let from = x(span.from_ms, length);
    let to = x(span.to_ms.unwrap_or(length), length);
    let _ = writeln!(
        out,
        "<rect class=\"{class} {}\" data-attempt=\"{}\" data-session=\"{}\" x=\"{from:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\"><title>{}</title></rect>",
        esc(&span.status),
        span.attempt,
        span.session,
        y + 3.0,
        (to - from).max(3.0),
        LANE - 10.0,
        esc(&span.label)
    );
}

fn mark_shape(out: &mut String, mark: &Mark, y: f64, length: u64) {
    let cx = x(mark.at_ms, length);
    let cy = y + LANE / 2.0 - 2.0;
    let class = format!("mark {} {}", esc(&mark.kind), esc(&mark.status));
    let title = esc(&mark.label);
    match mark.kind.as_str() {
        // A triangle for limits: something stopped.
        "limit" => {
            let _ = writeln!(
                out,
                "<polygon class=\"{class}\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"><title>{title}</title></polygon>",
                cx,
                cy - 7.0,
                cx - 7.0,
                cy + 6.0,
                cx + 7.0,
                cy + 6.0
            );
        }
        // A diamond for check results.
        "checks" | "baseline" => {
            let _ = writeln!(
                out,
                "<polygon class=\"{class}\" points=\"{cx:.1},{:.1} {:.1},{cy:.1} {cx:.1},{:.1} {:.1},{cy:.1}\"><title>{title}</title></polygon>",
                cy - 7.0,
                cx + 7.0,
                cy + 7.0,
                cx - 7.0
            );
        }
        "notification" => {
            let _ = writeln!(out, "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"><title>{title}</title></rect>", cx - 5.0, cy - 5.0);
        }
        _ => {
            let _ = writeln!(out, "<circle class=\"{class}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"5\"><title>{title}</title></circle>");
        }
    }
}

/// Ticks every round interval (1 s … 3 h) so that about ten fit, labelled with UTC clock time.
fn axis(out: &mut String, timeline: &Timeline, length: u64, y: f64) {
    const STEPS: [u64; 15] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800];
    let seconds = length / 1000 + 1;
    // About ten ticks, however long the axis: a journal's times are not trusted to be sane.
    let step = STEPS.iter().copied().find(|s| seconds / s <= 10).unwrap_or_else(|| seconds.div_ceil(10).max(21_600));
    let start = chrono::DateTime::parse_from_rfc3339(&timeline.start).ok();
    let mut at: u64 = 0;
    while at.saturating_mul(1000) <= length {
        let tick_x = x(at.saturating_mul(1000), length);
        let time = start.and_then(|start| start.checked_add_signed(chrono::Duration::seconds(i64::try_from(at).ok()?)));
        let label = match time {
            Some(time) if step >= 60 => time.format("%H:%M").to_string(),
            Some(time) => time.format("%H:%M:%S").to_string(),
            None => format!("+{}", duration_text(at.saturating_mul(1000))),
        };
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{tick_x:.1}\" y1=\"{TOP}\" x2=\"{tick_x:.1}\" y2=\"{:.1}\" /><text x=\"{tick_x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            y + 4.0,
            y + 18.0
        );
        at = at.saturating_add(step);
        if at == u64::MAX {
            break;
        }
    }
}

fn details(out: &mut String, data: &ReportData) {
    out.push_str("<h2>Attempts</h2>\n");
    if data.attempts.is_empty() {
        out.push_str("<p>The agent never started.</p>\n");
    }
    for attempt in &data.attempts {
        let verdict = attempt.verdict();
        let why = attempt.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
        let _ = writeln!(out, "<h3>Attempt {}: {}{}</h3>", attempt.number, verdict, esc(&why));
        let sessions: Vec<String> =
            attempt.sessions.iter().map(|s| format!("session {}: {} after {}", s.number, s.reason.name().replace("supervisor-died", "its supervisor died"), duration_text(s.duration_ms))).collect();
        if !sessions.is_empty() {
            let _ = writeln!(out, "<p>{}.</p>", esc(&sessions.join("; ")));
        }
        if !attempt.checks.is_empty() {
            out.push_str("<table><tr><th>check</th><th>baseline</th><th>after this attempt</th></tr>\n");
            for check in &attempt.checks {
                let baseline = data.baseline.iter().find(|b| b.index == check.index).map(check_result).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    esc(&check.statement),
                    esc(&baseline.replace("\\|", "|")),
                    esc(&check_result(check).replace("\\|", "|"))
                );
            }
            out.push_str("</table>\n");
        }
    }
    let _ = writeln!(out, "<h2>Commits on <code>{}</code></h2>\n<ul>", esc(&data.branch));
    for commit in &data.commits {
        let _ = writeln!(out, "<li><code>{}</code> {} (+{} −{})</li>", esc(&commit.short), esc(&commit.summary), commit.insertions, commit.deletions);
    }
    out.push_str("</ul>\n");
    if !data.violations.is_empty() || !data.denied.is_empty() {
        out.push_str("<h2>Violations and denied commands</h2>\n<ul>\n");
        for violation in &data.violations {
            let _ = writeln!(out, "<li>attempt {}: {} ({})</li>", violation.attempt, esc(&violation.paths.join(", ")), esc(&word(&violation.action)));
        }
        for denied in &data.denied {
            let _ = writeln!(out, "<li>denied {} <code>{}</code></li>", esc(&denied.tool), esc(&denied.what));
        }
        out.push_str("</ul>\n");
    }
    if !data.notifications.is_empty() {
        out.push_str("<h2>Notifications</h2>\n<ul>\n");
        for n in &data.notifications {
            let status = if n.delivered { "sent".to_string() } else { format!("FAILED after {} tries: {}", n.tries, n.error.as_deref().unwrap_or("")) };
            let _ = writeln!(out, "<li><code>{}</code> to {}: {}</li>", esc(n.event.name()), esc(&n.notifier), esc(&status));
        }
        out.push_str("</ul>\n");
    }
    if !data.waivers.is_empty() {
        out.push_str("<h2>Waived checklist rules</h2>\n<ul>\n");
        for (code, reason) in &data.waivers {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(code), esc(reason));
        }
        out.push_str("</ul>\n");
    }
}
