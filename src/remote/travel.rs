//! What goes to the host with a runbook, read on the laptop: the repository and its current
//! commit and branch, the runbook and its prompt files (they travel even when they are not
//! committed), the names of the `env.X` the runbook reads (their values travel in memory,
//! [`super::secrets`]), the git identity and remotes the host's checkout should have, and the
//! laptop's own `git-dirty` judgement: the commit is what travels, so uncommitted work here
//! would silently stay behind.

use crate::ast::Prompt;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};
use crate::syntax::{ArgumentKind, Parsed, Statement};
use super::RemoteError;
use std::path::{Component, Path, PathBuf};

/// A file that travels: the runbook or a prompt file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TravelFile {
    /// Its path in the repository (`/`-separated).
    pub path: String,
    /// Its text.
    pub text: String,
    /// Whether the commit has a file at that path (then the host must not hide it from git).
    pub in_commit: bool,
}

/// A git remote of the laptop's repository, for the host's checkout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GitRemote {
    /// Its name (`origin`).
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its push URL, when different.
    pub push_url: Option<String>,
}

/// Everything read on the laptop.
#[derive(Debug, Clone)]
pub struct Travel {
    /// The repository's work tree.
    pub repo: PathBuf,
    /// The branch the laptop is on (the host's checkout gets the same name).
    pub branch: String,
    /// The commit that travels.
    pub commit: String,
    /// The runbooks, relative to the repository.
    pub runbooks: Vec<String>,
    /// The runbooks and their prompt files.
    pub files: Vec<TravelFile>,
    /// Every `env.X` name the runbooks read.
    pub env_names: Vec<String>,
    /// `user.name` and `user.email`, so that commits made on the host are the user's.
    pub identity: Option<(String, String)>,
    /// The remotes with a URL the host can reach (not local paths).
    pub remotes: Vec<GitRemote>,
    /// Remotes left out because their URL is a path on this machine.
    pub local_remotes: Vec<String>,
    /// The `git-dirty` findings, judged here (rendered against the first runbook).
    pub dirty: Vec<Diagnostic>,
    /// The travelling files whose text is not the commit's (absent from it, or changed).
    pub uncommitted: Vec<String>,
}

/// Read what travels with `runbooks` (each parsed); they must share one repository.
pub fn gather(runbooks: &[(&Source, &Parsed)]) -> Result<Travel, RemoteError> {
    let Some((first, first_parsed)) = runbooks.first() else {
        return Err(RemoteError::local("no runbook given", None));
    };
    let runbook_path = |source: &Source| std::path::absolute(source.path()).map(|p| p.canonicalize().unwrap_or(p)).unwrap_or_else(|_| source.path().to_path_buf());
    let first_path = runbook_path(first);
    let first_dir = first_path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let repo_start = match first_parsed.runbook.task.as_ref().and_then(|t| t.repo.as_ref()) {
        Some(repo) => first_dir.join(&repo.value),
        None => first_dir.clone(),
    };
    let repository = git2::Repository::discover(&repo_start).map_err(|_| {
        RemoteError::local(format!("`{}` is not inside a git repository", repo_start.display()), Some("night moves the work to the host with git: run it from a git checkout."))
    })?;
    let root = repository.workdir().map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())).ok_or_else(|| RemoteError::local("the repository has no work tree", None))?;
    let repo_span = first_parsed.runbook.task.as_ref().and_then(|t| t.repo.as_ref()).map(|r| r.span);

    let mut dirty = Vec::new();
    let (branch, commit) = head(&repository, repo_span, &mut dirty);
    let head_tree = repository.head().ok().and_then(|h| h.peel_to_tree().ok());
    let in_commit = |path: &str| head_tree.as_ref().is_some_and(|tree| tree.get_path(Path::new(path)).is_ok());

    let mut travel = Travel {
        repo: root.clone(),
        branch,
        commit,
        runbooks: Vec::new(),
        files: Vec::new(),
        env_names: Vec::new(),
        identity: identity(&repository),
        remotes: Vec::new(),
        local_remotes: Vec::new(),
        dirty: Vec::new(),
        uncommitted: Vec::new(),
    };
    for (source, parsed) in runbooks {
        let path = runbook_path(source);
        let relative = inside(&root, &path).ok_or_else(|| {
            RemoteError::local(
                format!("`{}` is outside the repository it runs on (`{}`)", source.path().display(), root.display()),
                Some("With `--on`, keep the runbook inside the repository: it travels with the commit."),
            )
        })?;
        travel.runbooks.push(relative.clone());
        travel.files.push(TravelFile { in_commit: in_commit(&relative), path: relative, text: source.text.clone() });
        let dir = path.parent().map_or_else(|| root.clone(), Path::to_path_buf);
        if let Some(Prompt::File(file)) = parsed.runbook.task.as_ref().and_then(|t| t.prompt.as_ref()).map(|p| &p.value) {
            let prompt = normalize(&dir.join(&file.value));
            let Some(relative) = inside(&root, &prompt) else {
                return Err(RemoteError::local(
                    format!("the prompt file `{}` is outside the repository, so it cannot travel with the run", file.value),
                    Some("Move it into the repository (committed or not, it travels with the runbook)."),
                ));
            };
            // A missing prompt file is the host's `read-missing` to report, as at home.
            if let Ok(text) = std::fs::read_to_string(&prompt) {
                if !travel.files.iter().any(|f| f.path == relative) {
                    travel.files.push(TravelFile { in_commit: in_commit(&relative), path: relative, text });
                }
            }
        }
        env_names(&parsed.statements, &mut travel.env_names);
    }
    travel.env_names.sort();
    travel.env_names.dedup();
    let committed = |path: &str| head_tree.as_ref()?.get_path(Path::new(path)).ok()?.to_object(&repository).ok()?.into_blob().ok().map(|blob| blob.content().to_vec());
    travel.uncommitted = travel.files.iter().filter(|f| committed(&f.path).is_none_or(|text| text != f.text.as_bytes())).map(|f| f.path.clone()).collect();
    let travelling: Vec<String> = travel.files.iter().map(|f| f.path.clone()).collect();
    judge_dirty(&repository, &travelling, repo_span, &mut dirty);
    travel.dirty = dirty;
    (travel.remotes, travel.local_remotes) = remotes(&repository);
    Ok(travel)
}

/// The branch and commit of HEAD; a detached HEAD or no commit is a `git-dirty` finding.
fn head(repository: &git2::Repository, span: Option<Span>, dirty: &mut Vec<Diagnostic>) -> (String, String) {
    let finding = |message: &str, help: &str| with_span(Diagnostic::error(Code::GitDirty, message).help(help), span);
    let head = match repository.head() {
        Ok(head) => head,
        Err(_) => {
            dirty.push(finding("the repository has no commits yet", "Make a first commit; it is what travels to the host."));
            return (String::new(), String::new());
        }
    };
    let commit = head.peel_to_commit().map(|c| c.id().to_string()).unwrap_or_default();
    if !head.is_branch() {
        dirty.push(finding("HEAD is detached: the checkout is not on a branch", "Switch to a branch first, e.g. `git switch main`; the host's checkout takes its name."));
        return (String::new(), commit);
    }
    (head.shorthand().unwrap_or_default().to_string(), commit)
}

/// `git-dirty` as at home, except that the runbooks and prompt files travel uncommitted.
fn judge_dirty(repository: &git2::Repository, travelling: &[String], span: Option<Span>, dirty: &mut Vec<Diagnostic>) {
    if repository.state() != git2::RepositoryState::Clean {
        dirty.push(with_span(
            Diagnostic::error(Code::GitDirty, format!("a git operation is in progress ({:?})", repository.state()).to_lowercase())
                .help("Finish or abort the merge, rebase or cherry-pick first."),
            span,
        ));
    }
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
    let Ok(statuses) = repository.statuses(Some(&mut options)) else { return };
    let left_behind: Vec<String> = statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT && !entry.status().is_ignored())
        .filter_map(|entry| entry.path().map(str::to_string))
        .filter(|path| !travelling.contains(path) && !path.starts_with(".night/") && path != ".night")
        .collect();
    if left_behind.is_empty() {
        return;
    }
    let shown: Vec<String> = left_behind.iter().take(5).map(|p| format!("`{p}`")).collect();
    let more = if left_behind.len() > 5 { format!(" and {} more", left_behind.len() - 5) } else { String::new() };
    dirty.push(with_span(
        Diagnostic::error(Code::GitDirty, format!("the repository has uncommitted changes: {}{more}", shown.join(", "))).help(
            "Only the commit travels to the host (with the runbook and its prompt files): commit or stash the rest first (`git stash -u`), or it would silently stay behind.",
        ),
        span,
    ));
}

fn with_span(diagnostic: Diagnostic, span: Option<Span>) -> Diagnostic {
    match span {
        Some(span) => diagnostic.label(span, "this repository"),
        None => diagnostic,
    }
}

/// Every `env.X` anywhere in the runbook, whatever block reads it (`notify` today, `deliver`
/// tomorrow): the statement tree sees them all.
pub fn env_names(statements: &[Statement], names: &mut Vec<String>) {
    for statement in statements {
        for argument in &statement.arguments {
            if let ArgumentKind::Env(name) = &argument.kind {
                names.push(name.clone());
            }
        }
        if let Some(block) = &statement.block {
            env_names(&block.value, names);
        }
    }
}

fn identity(repository: &git2::Repository) -> Option<(String, String)> {
    let config = repository.config().ok()?;
    Some((config.get_string("user.name").ok()?, config.get_string("user.email").ok()?))
}

/// The remotes whose URLs mean the same on the host, and the names of those that do not.
fn remotes(repository: &git2::Repository) -> (Vec<GitRemote>, Vec<String>) {
    let mut reachable = Vec::new();
    let mut local = Vec::new();
    let names = repository.remotes().map(|names| names.iter().flatten().map(str::to_string).collect::<Vec<_>>()).unwrap_or_default();
    for name in names {
        let Ok(remote) = repository.find_remote(&name) else { continue };
        let Some(url) = remote.url().map(str::to_string) else { continue };
        if !is_network_url(&url) {
            local.push(name);
            continue;
        }
        reachable.push(GitRemote { name, url, push_url: remote.pushurl().map(str::to_string).filter(|u| is_network_url(u)) });
    }
    (reachable, local)
}

/// `https://…`, `ssh://…`, `git@host:path`: a URL that names another machine.
fn is_network_url(url: &str) -> bool {
    if let Some((scheme, _)) = url.split_once("://") {
        return scheme != "file";
    }
    // scp form: `host:path`, where the part before `:` has no `/` (a path with a colon does).
    url.split_once(':').is_some_and(|(host, _)| host.len() > 1 && !host.contains('/'))
}

/// `path` relative to `root`, `/`-separated, when it lies inside.
fn inside(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let text = relative.to_string_lossy().replace('\\', "/");
    (!text.is_empty()).then_some(text)
}

/// `a/./b/../c` → `a/c`, without touching the file system (the file may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    // Resolve links where the file exists, as the runbook's own path was.
    out.canonicalize().unwrap_or(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_urls_and_local_paths() {
        for url in ["https://github.com/a/b.git", "git@github.com:a/b.git", "ssh://h/x", "night-ci:/home/x.git"] {
            assert!(is_network_url(url), "{url}");
        }
        for url in ["/srv/x.git", "../x", "file:///srv/x.git", "C:/x", "./a:b"] {
            assert!(!is_network_url(url), "{url}");
        }
    }

    #[test]
    fn env_names_anywhere() {
        let source = Source::new("t.night", "notify {\n  slack env.HOOK\n  email \"a@b.c\" via env.SMTP_URL\n}\n");
        let parsed = crate::syntax::parse(&source);
        let mut names = Vec::new();
        env_names(&parsed.statements, &mut names);
        assert_eq!(names, ["HOOK", "SMTP_URL"]);
    }

    #[test]
    fn normalize_drops_dot_segments() {
        assert_eq!(normalize(Path::new("/nonexistent-night/a/./b/../c")), PathBuf::from("/nonexistent-night/a/c"));
    }
}
