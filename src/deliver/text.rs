//! What the pull request says: its title from the run's name and outcome, its body the
//! report's first screen, within every forge's size limit.

use crate::ast::Outcome;

/// The longest body sent, in characters: under GitHub's 65 536 and Gitea's limits, with room
/// for the footer.
const LONGEST_BODY: usize = 60_000;

/// `night: auth-jwt (success)`.
pub fn title(name: &str, outcome: Outcome) -> String {
    format!("night: {name} ({outcome})")
}

/// The report's first screen, then a footer saying who opened it and after which run; a hidden
/// marker names the run for people and tools reading the raw text.
pub fn body(report: &str, run_id: &str, outcome: Outcome) -> String {
    let report = report.trim_end();
    let report = if report.chars().count() > LONGEST_BODY {
        let cut: String = report.chars().take(LONGEST_BODY).collect();
        format!("{cut}\n\n… (cut here: the whole report is in `.night/runs/{run_id}/report.md`)")
    } else {
        report.to_string()
    };
    format!(
        "{report}\n\n---\n*Pushed and opened by night after run `{run_id}` ended `{outcome}`: the agent could not push, and night verified the success checks itself.*\n<!-- night-run: {run_id} -->\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reports_are_cut_with_a_pointer_to_the_whole() {
        let body = body(&"x".repeat(70_000), "r-1", Outcome::Failed);
        assert!(body.chars().count() < 61_000);
        assert!(body.contains(".night/runs/r-1/report.md"));
        assert!(body.ends_with("<!-- night-run: r-1 -->\n"));
        assert_eq!(title("auth-jwt", Outcome::RolledBack), "night: auth-jwt (rolled-back)");
    }
}
