//! What `night check --on` prints: the host's checklist, with `git-dirty` as judged on this
//! machine and a line saying what was judged where (text), or the host's JSON document with
//! the same facts added (`--format json`, docs/check-json.md).

use super::payload::Answer;
use super::travel::Travel;
use crate::diagnostic::{render, JsonDiagnostic, RenderOptions};
use crate::source::Source;
use std::io::Write as _;

/// What the host answered to a check: its output and answer lines, and where it checked.
pub(super) struct HostCheck<'a> {
    /// The host's `night check` output.
    pub stdout: &'a str,
    /// Its answers (the agent's presence).
    pub answers: &'a [Answer],
    /// The host's checkout.
    pub checkout: &'a str,
    /// The host, as named.
    pub host: &'a str,
}

/// The first 7 characters of a commit id.
pub(super) fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// The text form.
pub(super) fn print_check_text(sent: &HostCheck<'_>, travel: &Travel, read: &[(Source, crate::syntax::Parsed)], options: RenderOptions) {
    let host = sent.host;
    let mut out = String::new();
    out.push_str(&format!("{host}: checked in {} at {} ({})\n", sent.checkout, short(&travel.commit), travel.branch));
    if let Some((source, _)) = read.first() {
        for diagnostic in &travel.dirty {
            out.push_str(&render(diagnostic, source, options));
            out.push('\n');
        }
    }
    out.push_str(sent.stdout);
    let dirty = if travel.dirty.is_empty() { "ok" } else { "FAIL" };
    let uncommitted = &travel.uncommitted;
    let travelling = if uncommitted.is_empty() { String::new() } else { format!("; uncommitted, travelling with it: {}", uncommitted.join(", ")) };
    out.push_str(&format!("judged on this machine: [{dirty:4}] git-dirty — its commit {} travels{travelling}\n", short(&travel.commit)));
    out.push_str(&format!("judged on {host}: command-not-found, env-unset (with {}), read-missing, and the agent:\n", secret_note(&travel.env_names)));
    let mut agent_missing = false;
    for answer in sent.answers {
        if let Answer::Agent { found, message } = answer {
            agent_missing |= !found;
            out.push_str(&format!("  [{}] agent  {message}\n", if *found { "ok  " } else { "FAIL" }));
        }
    }
    if !travel.dirty.is_empty() || agent_missing {
        out.push_str("not ready: fix what failed on this machine or the host above\n");
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
}

fn secret_note(names: &[String]) -> String {
    let sent: Vec<&String> = names.iter().filter(|name| std::env::var(name).is_ok_and(|v| !v.is_empty())).collect();
    match sent.as_slice() {
        [] => "the host's own environment".to_string(),
        names => format!("{} sent from here in memory", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// The JSON form.
pub(super) fn print_check_json(sent: &HostCheck<'_>, travel: &Travel, read: &[(Source, crate::syntax::Parsed)]) {
    let host = sent.host;
    let mut document: serde_json::Value = serde_json::from_str(sent.stdout).unwrap_or_else(|_| serde_json::json!({ "version": 1, "files": [] }));
    if let (Some(files), Some((source, _))) = (document.get_mut("files").and_then(|f| f.as_array_mut()), read.first()) {
        for file in files {
            let laptop: Vec<serde_json::Value> = travel.dirty.iter().filter_map(|d| serde_json::to_value(JsonDiagnostic::new(d, source)).ok()).collect();
            if let Some(items) = file.get_mut("checklist").and_then(|c| c.as_array_mut()) {
                for item in items.iter_mut().filter(|item| item["code"] == "git-dirty") {
                    *item = if laptop.is_empty() {
                        serde_json::json!({ "code": "git-dirty", "title": "git is clean", "status": "passed", "judged": "laptop" })
                    } else {
                        serde_json::json!({ "code": "git-dirty", "title": "git is clean", "status": "failed", "severity": "error", "judged": "laptop" })
                    };
                }
            }
            if let Some(errors) = file.get("errors").and_then(serde_json::Value::as_u64) {
                file["errors"] = serde_json::json!(errors + laptop.len() as u64);
            }
            if let Some(diagnostics) = file.get_mut("diagnostics").and_then(|d| d.as_array_mut()) {
                diagnostics.extend(laptop);
            }
        }
    }
    let agents: Vec<serde_json::Value> = sent
        .answers
        .iter()
        .filter_map(|answer| match answer {
            Answer::Agent { found, message } => Some(serde_json::json!({ "found": found, "message": message })),
            Answer::Started { .. } | Answer::Batch { .. } => None,
        })
        .collect();
    document["remote"] = serde_json::json!({
        "host": host,
        "checkout": sent.checkout,
        "commit": travel.commit,
        "branch": travel.branch,
        "judged_on_host": ["command-not-found", "env-unset", "read-missing", "agent"],
        "judged_here": ["git-dirty"],
        "agents": agents,
    });
    println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
}

