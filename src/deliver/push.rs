//! The push, with the system's `git`, from a scratch repository that borrows the run
//! repository's objects (`objects/info/alternates`) and has nothing else of it: not its config
//! (a `credential.helper`, `core.sshCommand`, `url.*.insteadOf` or remote the agent may have
//! written there), not its hooks, not its remotes. The URL is the one recorded when the run
//! started; the commits are named by their ids.

use super::error::{DeliverError, PushFailure};
use super::git::GitCommand;
use super::remote::{scrub_credentials, RecordedRemote};
use super::Settings;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the remote ref must hold for the update to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// Nothing: a plain push (fast-forward or new).
    None,
    /// The ref must not exist yet (`--force-with-lease=REF:`): night never writes a branch it
    /// did not create.
    Absent,
    /// The ref must hold this commit, the one this run pushed before: then it may be replaced,
    /// even by a commit that does not descend from it (after a rollback).
    Expect(String),
}

/// One ref to write on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The commit id.
    pub commit: String,
    /// The full ref on the remote, e.g. `refs/heads/night/x`.
    pub target: String,
    /// What it must hold first.
    pub lease: Lease,
}

/// How one ref fared, from `git push --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefStatus {
    /// Created.
    New,
    /// Moved forward.
    FastForward,
    /// Replaced (under a lease).
    Forced,
    /// Already there.
    UpToDate,
    /// Refused, with git's reason (`stale info`, `non-fast-forward`, a hook's message).
    Rejected(String),
}

/// The result of a push that ran to the end (some refs may still have been rejected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    /// Each ref asked for, in order, with its status (`None`: git did not mention it).
    pub refs: Vec<(String, Option<RefStatus>)>,
    /// How many tries it took.
    pub tries: u32,
}

/// Push `updates` to `remote`; every try in a fresh scratch repository. `Err` carries the
/// error and the number of tries made.
pub async fn push(repo: &Path, remote: &RecordedRemote, updates: &[RefUpdate], dry_run: bool, settings: &Settings) -> Result<PushResult, (DeliverError, u32)> {
    let objects = objects_of(repo).map_err(|e| (e, 0))?;
    let tries = settings.tries();
    let mut n = 0;
    loop {
        n += 1;
        match push_once(&objects, remote, updates, dry_run, settings).await {
            Ok(refs) => return Ok(PushResult { refs, tries: n }),
            Err(error) if !error.is_transient() || n >= tries => return Err((error, n)),
            Err(_) => tokio::time::sleep(settings.backoff.get(n as usize - 1).copied().unwrap_or_default()).await,
        }
    }
}

/// The repository's object store, its shallow list and its object format.
struct Objects {
    dir: PathBuf,
    shallow: Option<PathBuf>,
    sha256: bool,
}

fn objects_of(repo: &Path) -> Result<Objects, DeliverError> {
    let repository = git2::Repository::open(repo).map_err(|e| DeliverError::Repository { message: e.message().to_string() })?;
    let common = repository.commondir().to_path_buf();
    let common = common.canonicalize().unwrap_or(common);
    let shallow = Some(common.join("shallow")).filter(|p| p.is_file());
    let sha256 = repository
        .config()
        .and_then(|c| c.get_string("extensions.objectformat"))
        .is_ok_and(|format| format.eq_ignore_ascii_case("sha256"));
    Ok(Objects { dir: common.join("objects"), shallow, sha256 })
}

async fn push_once(objects: &Objects, remote: &RecordedRemote, updates: &[RefUpdate], dry_run: bool, settings: &Settings) -> Result<Vec<(String, Option<RefStatus>)>, DeliverError> {
    let scratch = Scratch::new(objects, settings).await?;
    let mut args: Vec<String> = vec!["push".into(), "--porcelain".into(), "--no-verify".into()];
    if dry_run {
        args.push("--dry-run".into());
    }
    for update in updates {
        match &update.lease {
            Lease::None => {}
            Lease::Absent => args.push(format!("--force-with-lease={}:", update.target)),
            Lease::Expect(commit) => args.push(format!("--force-with-lease={}:{commit}", update.target)),
        }
    }
    args.push("--".into());
    args.push(remote.url.clone());
    args.extend(updates.iter().map(|u| format!("{}:{}", u.commit, u.target)));
    let command = GitCommand::new(&scratch.dir).envs(&settings.git_env).args(&args);
    let Some(output) = command.output(settings.push_timeout).await? else {
        return Err(DeliverError::Push {
            failure: PushFailure::Timeout,
            remote: remote.name.clone(),
            message: format!("no answer within {}", crate::time::format_duration(settings.push_timeout)),
        });
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let statuses = porcelain(&stdout);
    if statuses.is_empty() && !output.status.success() {
        let (failure, message) = classify(&stderr);
        return Err(DeliverError::Push { failure, remote: remote.name.clone(), message });
    }
    Ok(updates.iter().map(|u| (u.target.clone(), statuses.iter().find(|(t, _)| *t == u.target).map(|(_, s)| s.clone()))).collect())
}

/// The refs of `git push --porcelain`: `<flag>\t<from>:<to>\t<summary>`.
fn porcelain(stdout: &str) -> Vec<(String, RefStatus)> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let flag = fields.next()?;
            let refs = fields.next()?;
            let summary = fields.next().unwrap_or("").trim();
            let target = refs.rsplit_once(':').map_or(refs, |(_, to)| to).to_string();
            let status = match flag {
                "*" => RefStatus::New,
                " " => RefStatus::FastForward,
                "+" => RefStatus::Forced,
                "=" => RefStatus::UpToDate,
                "!" => RefStatus::Rejected(rejection(summary)),
                _ => return None,
            };
            Some((target, status))
        })
        .collect()
}

/// `[rejected] (stale info)` → `stale info`; `[remote rejected] (hook declined)` → `hook declined`.
fn rejection(summary: &str) -> String {
    let reason = summary.split_once('(').map_or(summary, |(_, rest)| rest.trim_end_matches(')'));
    scrub_credentials(reason.trim())
}

/// What kind of failure git's standard error describes, and its last meaningful lines.
fn classify(stderr: &str) -> (PushFailure, String) {
    let lower = stderr.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let failure = if has(&["could not read username", "could not read password", "terminal prompts disabled", "unable to get password", "unable to get username"]) {
        return (
            PushFailure::Auth,
            "the remote asked for a user name and password, and night never waits for one: give git a credential helper or an SSH key that works without a prompt".into(),
        );
    } else if has(&["permission denied", "authentication failed", "access denied", "host key verification failed", "returned error: 401", "returned error: 403", "invalid username or password"]) {
        PushFailure::Auth
    } else if has(&["does not appear to be a git repository", "repository not found", "not found", "returned error: 404", "no such file or directory"]) {
        PushFailure::NotFound
    } else if has(&["could not resolve", "connection refused", "connection timed out", "timed out", "network is unreachable", "connection reset", "hung up unexpectedly", "early eof", "could not connect", "failed to connect"]) {
        PushFailure::Network
    } else {
        PushFailure::Other
    };
    (failure, tail(stderr))
}

/// git's words that say nothing about this failure.
const BOILERPLATE: &[&str] = &["could not read from remote repository", "please make sure you have the correct access rights", "and the repository exists"];

/// The last few lines of git's output that are not hints or boilerplate, on one line,
/// credentials removed.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:") && !l.starts_with("To ") && *l != "Done")
        .filter(|l| !BOILERPLATE.iter().any(|b| l.to_lowercase().contains(b)))
        .collect();
    let start = lines.len().saturating_sub(3);
    let text = scrub_credentials(&lines[start..].join(" "));
    crate::notify::render::truncate(&text, 400)
}

/// A bare repository of its own in the temporary folder, listing the run repository's objects
/// as alternates; removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    async fn new(objects: &Objects, settings: &Settings) -> Result<Self, DeliverError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "night-deliver-{}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(unique);
        let io = |what: &str, e: std::io::Error| DeliverError::Git { message: format!("cannot {what} {}: {e}", dir.display()) };
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| io("create", e))?;
        }
        let scratch = Scratch { dir: dir.clone() };
        let mut init = vec!["init", "--bare", "--quiet", "--template="];
        if objects.sha256 {
            init.push("--object-format=sha256");
        }
        init.push(".");
        let made = GitCommand::new(&dir).envs(&settings.git_env).args(init).output(settings.push_timeout).await?;
        match made {
            Some(output) if output.status.success() => {}
            Some(output) => return Err(DeliverError::Git { message: format!("`git init` failed: {}", tail(&String::from_utf8_lossy(&output.stderr))) }),
            None => return Err(DeliverError::Git { message: "`git init` did not finish".into() }),
        }
        std::fs::create_dir_all(dir.join("objects/info")).map_err(|e| io("prepare", e))?;
        std::fs::write(dir.join("objects/info/alternates"), format!("{}\n", objects.dir.display())).map_err(|e| io("prepare", e))?;
        if let Some(shallow) = &objects.shallow {
            std::fs::copy(shallow, dir.join("shallow")).map_err(|e| io("prepare", e))?;
        }
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lines_are_read() {
        let out = "To file:///x\n*\tabc:refs/heads/a\t[new branch]\n!\tdef:refs/heads/b\t[rejected] (stale info)\n=\tabc:refs/night/r/attempt-1\t[up to date]\n+\tabc:refs/heads/c\t1...2 (forced update)\nDone\n";
        assert_eq!(
            porcelain(out),
            vec![
                ("refs/heads/a".to_string(), RefStatus::New),
                ("refs/heads/b".to_string(), RefStatus::Rejected("stale info".into())),
                ("refs/night/r/attempt-1".to_string(), RefStatus::UpToDate),
                ("refs/heads/c".to_string(), RefStatus::Forced),
            ]
        );
    }

    #[test]
    fn failures_are_classified_without_hints_or_credentials() {
        let (failure, message) = classify("fatal: could not read Username for 'https://example.com': terminal prompts disabled\n");
        assert_eq!(failure, PushFailure::Auth);
        assert!(message.contains("never waits"), "{message}");
        let (failure, message) = classify("git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nhint: x\n");
        assert_eq!(failure, PushFailure::Auth);
        assert!(!message.contains("hint"), "{message}");
        let (failure, _) = classify("ssh: connect to host 127.0.0.1 port 1: Connection refused\nfatal: Could not read from remote repository.");
        assert_eq!(failure, PushFailure::Network);
        let (failure, message) = classify("fatal: unable to access 'https://u:tok-123@h/x.git/': Could not resolve host: h");
        assert_eq!(failure, PushFailure::Network);
        assert!(!message.contains("tok-123"), "{message}");
        let (failure, _) = classify("fatal: '/nope.git' does not appear to be a git repository");
        assert_eq!(failure, PushFailure::NotFound);
    }
}
