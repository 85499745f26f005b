//! What the laptop asks of `night remote-host`, the host's side of `--on`: one JSON object on
//! the SSH channel's standard input (never on a command line, since it may carry secrets), and
//! the lines the host answers with on standard output.

use super::secrets::Secrets;
use super::travel::{GitRemote, TravelFile};
use serde::{Deserialize, Serialize};

/// The protocol's version: the host refuses a request of another one.
pub const VERSION: u32 = 1;
/// Lines the host prints for the laptop (the laptop never shows them) start with this.
pub const MARK: &str = "night-remote:";

/// One request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// [`VERSION`].
    pub version: u32,
    /// How the user named the host (`--on` as given), for the host's messages.
    pub on: String,
    /// Bring the checkout to the laptop's commit, with the files that travel.
    pub prepare: Prepare,
    /// Then run this night command in the checkout.
    pub then: Then,
}

/// The checkout the laptop wants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepare {
    /// The bare mirror the laptop pushed to.
    pub mirror: String,
    /// The checkout.
    pub work: String,
    /// The folder locked while preparing.
    pub lock: String,
    /// The branch name (the laptop's).
    pub branch: String,
    /// The commit.
    pub commit: String,
    /// The runbooks (paths in the repository).
    pub runbooks: Vec<String>,
    /// The runbooks and prompt files.
    pub files: Vec<TravelFile>,
    /// `user.name` and `user.email` for commits made there.
    pub identity: Option<(String, String)>,
    /// The laptop's remotes (for `deliver`, which pushes from the host).
    pub remotes: Vec<GitRemote>,
}

/// The night command to run once the checkout is ready.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Then {
    /// Its arguments (`run t.night --detach`, `check t.night`).
    pub args: Vec<String>,
    /// The runbook's `env.X` values, handed on in memory.
    #[serde(default)]
    pub secrets: Secrets,
}

/// A line the host prints for the laptop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The run started: its id and supervisor pid (0 when it already ended).
    Started {
        /// The run id.
        run_id: String,
        /// The supervisor's pid.
        pid: u32,
    },
    /// A batch started: its id, its supervisor's pid, how many runbooks it holds.
    Batch {
        /// The batch id.
        batch_id: String,
        /// The batch supervisor's pid.
        pid: u32,
        /// Its runbooks.
        runs: usize,
    },
    /// Whether the runbook's agent can be started there, in one sentence.
    Agent {
        /// Found.
        found: bool,
        /// What was found, or the error.
        message: String,
    },
}

impl Answer {
    /// The line.
    pub fn line(&self) -> String {
        match self {
            Answer::Started { run_id, pid } => format!("{MARK}started\t{run_id}\t{pid}"),
            Answer::Batch { batch_id, pid, runs } => format!("{MARK}batch\t{batch_id}\t{pid}\t{runs}"),
            Answer::Agent { found, message } => format!("{MARK}agent\t{}\t{message}", if *found { "found" } else { "missing" }),
        }
    }

    /// Read a line; `None` for anything else.
    pub fn parse(line: &str) -> Option<Answer> {
        let rest = line.strip_prefix(MARK)?;
        let mut fields = rest.splitn(3, '\t');
        match fields.next()? {
            "started" => Some(Answer::Started { run_id: fields.next()?.to_string(), pid: fields.next()?.parse().ok()? }),
            "batch" => {
                let batch_id = fields.next()?.to_string();
                let (pid, runs) = fields.next()?.split_once('\t')?;
                Some(Answer::Batch { batch_id, pid: pid.parse().ok()?, runs: runs.parse().ok()? })
            }
            "agent" => Some(Answer::Agent { found: fields.next()? == "found", message: fields.next().unwrap_or_default().to_string() }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        for answer in [Answer::Started { run_id: "t-20250101-000000".into(), pid: 42 }, Answer::Batch { batch_id: "batch-20250101-000000".into(), pid: 7, runs: 3 }, Answer::Agent { found: false, message: "`claude` was not found: install it".into() }] {
            assert_eq!(Answer::parse(&answer.line()), Some(answer));
        }
        assert_eq!(Answer::parse("night: run x started"), None);
    }
}
