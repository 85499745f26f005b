//! What the agent (and every command night runs from its work) is not given under `deny
//! irreversible`: the user's credential stores and any variable not on an allowlist. A push, a
//! publish or a deploy needs a credential; without one, no spelling of the command succeeds.
//!
//! - [`HOME_STORES`] and [`REPO_STORES`]: files and folders hidden by the sandbox (docs/sandbox.md
//!   lists them); `reveal "~/.npmrc"` hands one back.
//! - [`passes`]: the environment is built from an allowlist (paths, locale, terminal, the
//!   toolchains' own variables, the agent kind's own API key), so `GH_TOKEN`, `*_API_KEY`,
//!   `SSH_AUTH_SOCK` or `GIT_ASKPASS` are gone without being named; `pass env.X` hands one over.
//! - [`git_refusal`]: git configuration through the environment that makes every push fail at
//!   once, whatever the remote, with a reason night records.

use crate::ast::AgentKind;
use std::path::{Path, PathBuf};

/// Credential stores under the home folder, with what they hold.
pub const HOME_STORES: &[(&str, &str)] = &[
    (".ssh", "SSH keys"),
    (".gnupg", "GPG keys"),
    (".git-credentials", "git's stored passwords"),
    (".config/git/credentials", "git's stored passwords"),
    (".config/gh", "the GitHub CLI's token"),
    (".config/hub", "hub's token"),
    (".config/glab-cli", "the GitLab CLI's token"),
    (".netrc", "logins for git, curl and Heroku"),
    (".npmrc", "npm tokens"),
    (".yarnrc.yml", "Yarn's npm tokens"),
    (".cargo/credentials", "crates.io token"),
    (".cargo/credentials.toml", "crates.io token"),
    (".pypirc", "PyPI tokens"),
    (".gem/credentials", "RubyGems key"),
    (".m2/settings.xml", "Maven server passwords"),
    (".gradle/gradle.properties", "Gradle publishing credentials"),
    (".docker", "Docker registry logins"),
    (".kube", "Kubernetes clusters"),
    (".aws", "AWS keys"),
    (".azure", "Azure logins"),
    (".config/gcloud", "Google Cloud logins"),
    (".config/doctl", "DigitalOcean token"),
    (".fly", "Fly.io token"),
    (".netlify", "Netlify token"),
    (".local/share/com.vercel.cli", "Vercel token"),
    (".config/configstore/firebase-tools.json", "Firebase token"),
    (".wrangler", "Cloudflare token"),
    (".config/.wrangler", "Cloudflare token"),
    (".pulumi", "Pulumi token"),
    (".terraform.d/credentials.tfrc.json", "Terraform Cloud token"),
    (".vault-token", "Vault token"),
    (".password-store", "pass passwords"),
    (".local/share/keyrings", "the desktop keyring"),
    (".config/composer/auth.json", "Composer tokens"),
    (".composer/auth.json", "Composer tokens"),
    (".pgpass", "PostgreSQL passwords"),
    (".my.cnf", "MySQL passwords"),
    (".s3cfg", "S3 keys"),
    (".boto", "Google Cloud Storage keys"),
];

/// Credential stores in folders that a passed variable can move out of the home folder (the
/// official Rust image's `CARGO_HOME=/usr/local/cargo`, a custom `XDG_CONFIG_HOME`): the
/// variable, the store beneath it, what it holds.
pub const MOVED_STORES: &[(&str, &str, &str)] = &[
    ("XDG_CONFIG_HOME", "gh", "the GitHub CLI's token"),
    ("XDG_CONFIG_HOME", "hub", "hub's token"),
    ("XDG_CONFIG_HOME", "glab-cli", "the GitLab CLI's token"),
    ("XDG_CONFIG_HOME", "git/credentials", "git's stored passwords"),
    ("XDG_CONFIG_HOME", "gcloud", "Google Cloud logins"),
    ("XDG_CONFIG_HOME", "doctl", "DigitalOcean token"),
    ("XDG_CONFIG_HOME", "configstore/firebase-tools.json", "Firebase token"),
    ("XDG_CONFIG_HOME", ".wrangler", "Cloudflare token"),
    ("XDG_CONFIG_HOME", "composer/auth.json", "Composer tokens"),
    ("XDG_DATA_HOME", "keyrings", "the desktop keyring"),
    ("XDG_DATA_HOME", "com.vercel.cli", "Vercel token"),
    ("CARGO_HOME", "credentials", "crates.io token"),
    ("CARGO_HOME", "credentials.toml", "crates.io token"),
    ("GRADLE_USER_HOME", "gradle.properties", "Gradle publishing credentials"),
];

/// Credential files inside the repository that are hidden when git does not track them (a
/// tracked one's content is in the history anyway, where hiding the file would not hide it).
pub const REPO_STORES: &[&str] = &[".npmrc", ".pypirc", ".netrc", ".yarnrc.yml"];

/// Variables every agent and command keeps: paths, identity, locale, terminal, and the
/// toolchains' own settings (none of which holds a credential).
const PASSED: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "HOSTNAME", "TZ", "LANG", "LANGUAGE", "TERM", "COLORTERM", "TERMINFO",
    "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "EDITOR", "VISUAL", "PAGER", "CI",
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
    "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "RUSTFLAGS", "RUSTDOCFLAGS", "RUST_BACKTRACE", "RUST_LOG", "RUST_MIN_STACK",
    "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "CARGO_INCREMENTAL", "CARGO_TERM_COLOR",
    "GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN", "GO111MODULE", "CGO_ENABLED",
    "NODE_PATH", "NODE_ENV", "NVM_DIR", "NVM_BIN", "NVM_INC", "PNPM_HOME", "VOLTA_HOME", "BUN_INSTALL", "DENO_DIR", "COREPACK_HOME",
    "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "VIRTUAL_ENV", "PYENV_ROOT",
    "PYENV_VERSION", "PYENV_SHELL", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE", "PIPX_HOME", "PIPX_BIN_DIR", "UV_CACHE_DIR",
    "UV_PYTHON", "POETRY_HOME", "POETRY_VIRTUALENVS_IN_PROJECT", "PIP_CACHE_DIR", "PIP_INDEX_URL", "PIP_NO_INPUT",
    "JAVA_HOME", "JAVA_TOOL_OPTIONS", "MAVEN_HOME", "M2_HOME", "GRADLE_USER_HOME", "GRADLE_HOME", "ANDROID_HOME", "ANDROID_SDK_ROOT",
    "GEM_HOME", "GEM_PATH", "RBENV_ROOT", "RBENV_VERSION", "BUNDLE_PATH", "BUNDLE_GEMFILE", "RUBYOPT",
    "DOTNET_ROOT", "DOTNET_CLI_TELEMETRY_OPTOUT", "NUGET_PACKAGES", "ASDF_DIR", "ASDF_DATA_DIR", "MISE_DATA_DIR",
    "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "LIBRARY_PATH", "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH",
    "CC", "CXX", "AR", "LD", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS", "CMAKE_GENERATOR",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH",
    "PIP_CERT", "NIX_SSL_CERT_FILE", "AWS_CA_BUNDLE", "HTTPLIB2_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", "DENO_CERT", "CARGO_HTTP_CAINFO",
];

/// Prefixes of passed variables: locale and XDG folders.
const PASSED_PREFIXES: &[&str] = &["LC_", "XDG_"];

/// Variables an agent kind reads for its own model API and settings: its own key passes, no
/// other kind's. `aider` and `goose` talk to any provider, so the providers' keys pass for them.
fn own_variables(kind: &AgentKind, name: &str) -> bool {
    const PROVIDER_KEYS: &[&str] = &[
        "OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
        "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "COHERE_API_KEY", "XAI_API_KEY",
        "OLLAMA_API_BASE", "OLLAMA_HOST", "AZURE_API_KEY", "AZURE_API_BASE", "AZURE_API_VERSION",
    ];
    let prefixed = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    match kind {
        AgentKind::Claude => prefixed(&["ANTHROPIC_", "CLAUDE_", "DISABLE_"]) || matches!(name, "MAX_THINKING_TOKENS" | "MCP_TIMEOUT"),
        AgentKind::Codex => prefixed(&["OPENAI_", "CODEX_"]),
        AgentKind::Gemini => {
            prefixed(&["GEMINI_", "GOOGLE_GEMINI_", "GOOGLE_GENAI_"]) || matches!(name, "GOOGLE_API_KEY" | "GOOGLE_CLOUD_PROJECT" | "GOOGLE_CLOUD_LOCATION")
        }
        AgentKind::Aider => prefixed(&["AIDER_"]) || PROVIDER_KEYS.contains(&name),
        AgentKind::Goose => prefixed(&["GOOSE_"]) || PROVIDER_KEYS.contains(&name),
        AgentKind::Command(_) => false,
    }
}

/// Whether a variable of night's environment reaches the agent of `kind` (and the commands
/// night runs from its work, `kind` then being the run's agent too).
pub fn passes(name: &str, kind: &AgentKind) -> bool {
    PASSED.contains(&name) || PASSED_PREFIXES.iter().any(|p| name.starts_with(p)) || own_variables(kind, name)
}

/// The variables of `environment` that do not reach the agent: every name that [`passes`]
/// refuses and the runbook does not `pass`, sorted.
pub fn withheld<'a>(environment: impl Iterator<Item = &'a str>, kind: &AgentKind, passed: &[String]) -> Vec<String> {
    let mut names: Vec<String> = environment.filter(|name| !passes(name, kind) && !passed.iter().any(|p| p == name)).map(str::to_string).collect();
    names.sort();
    names.dedup();
    names
}

/// One credential store that exists on this machine and is hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub holds: &'static str,
}

/// The credential stores to hide: those of [`HOME_STORES`] that exist under `home`, and the
/// untracked ones of [`REPO_STORES`] in `work_dir` (`tracked` says whether git tracks a
/// repository-relative path), less what the runbook reveals (`~/x`, absolute, or relative to
/// the work dir).
pub fn stores(home: Option<&Path>, work_dir: &Path, tracked: &dyn Fn(&str) -> bool, revealed: &[String], env: &dyn Fn(&str) -> Option<String>) -> Vec<Store> {
    let revealed = revealed_paths(revealed, home, work_dir);
    let mut found = Vec::new();
    if let Some(home) = home {
        for (relative, holds) in HOME_STORES {
            let path = home.join(relative);
            if std::fs::symlink_metadata(&path).is_ok() {
                found.push(Store { path, holds });
            }
        }
    }
    for (variable, relative, holds) in MOVED_STORES {
        let Some(folder) = env(variable).map(PathBuf::from).filter(|f| f.is_absolute()) else { continue };
        let path = folder.join(relative);
        if std::fs::symlink_metadata(&path).is_ok() && !found.iter().any(|s| s.path == path) {
            found.push(Store { path, holds });
        }
    }
    for name in REPO_STORES {
        let path = work_dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok() && !tracked(name) {
            found.push(Store { path, holds: "credentials for package registries" });
        }
    }
    found.retain(|store| !revealed.iter().any(|r| store.path.starts_with(r)));
    found
}

/// Git configuration files that may hold credentials in their text (a remote URL with a token,
/// `http.extraHeader` with an `Authorization` header, as CI checkouts write): the repository's
/// own, the user's global ones. Git needs them, so they cannot be hidden like a store: the mount
/// layer binds a copy without the credentials over each ([`git_config_without_credentials`]).
pub fn git_configs(common_dir: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = vec![common_dir.join("config")];
    if let Some(home) = home {
        paths.push(home.join(".gitconfig"));
        let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute()).unwrap_or_else(|| home.join(".config"));
        paths.push(xdg.join("git/config"));
    }
    paths
}

/// Of [`git_configs`], those whose text holds a credential, less what the runbook reveals:
/// each with what it holds.
pub fn git_configs_with_credentials(common_dir: &Path, work_dir: &Path, home: Option<&Path>, revealed: &[String]) -> Vec<Store> {
    let revealed = revealed_paths(revealed, home, work_dir);
    git_configs(common_dir, home)
        .into_iter()
        .filter(|path| !revealed.iter().any(|r| path.starts_with(r)))
        .filter(|path| std::fs::read_to_string(path).is_ok_and(|text| git_config_without_credentials(&text) != text))
        .map(|path| Store { path, holds: "credentials in git's configuration (URLs, `http.extraHeader`)" })
        .collect()
}

/// A git configuration's text without the credentials it may hold: an `http(s)` URL's user
/// name and password (a token is often the user name), any other URL's password, and every
/// `extraHeader` line. The rest, comments and layout included, stays as it is.
pub fn git_config_without_credentials(text: &str) -> String {
    static PATTERNS: std::sync::OnceLock<Option<(regex::Regex, regex::Regex, regex::Regex)>> = std::sync::OnceLock::new();
    let Some((http, other, header)) = PATTERNS.get_or_init(|| {
        Some((
            regex::Regex::new(r#"(?i)\b(https?://)[^\s/@"]*@"#).ok()?,
            regex::Regex::new(r#"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:"]*):[^\s/@"]*@"#).ok()?,
            regex::Regex::new(r"(?im)^([ \t]*)extraheader[ \t]*=.*$").ok()?,
        ))
    }) else {
        return String::new();
    };
    let text = http.replace_all(text, "${1}");
    let text = other.replace_all(&text, "${1}@");
    header.replace_all(&text, "${1}# extraHeader removed by night (deny irreversible)").into_owned()
}

/// The paths `reveal` names: `~/x` in the home folder, a relative path in the work dir.
fn revealed_paths(revealed: &[String], home: Option<&Path>, work_dir: &Path) -> Vec<PathBuf> {
    revealed.iter().map(|r| work_dir.join(expand_home(r, home))).collect()
}

/// `~/x` → `<home>/x`; other paths as they are.
pub fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/").or_else(|| (path == "~").then_some("")), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// The transport git is sent to instead of any remote when it pushes: night's helper
/// `git-remote-night-refused` records the attempt and fails.
pub const REFUSED_TRANSPORT: &str = "night-refused";

/// Git configuration given through the environment (`GIT_CONFIG_COUNT`), read by every git the
/// agent runs whatever its spelling (a path, an alias, a script, an interpreter): every push
/// URL is rewritten to [`REFUSED_TRANSPORT`], the user's credential helpers are not called,
/// and git never prompts for a password. `push_urls` are the remotes' explicit push URLs
/// (`remote.<name>.pushurl`), which git pushes to without `pushInsteadOf`: each is rewritten
/// by its own `insteadOf`, which git applies to push URLs too.
pub fn git_refusal(push_urls: &[String]) -> Vec<(String, String)> {
    let config = git_config_lines(push_urls);
    let mut env = vec![("GIT_CONFIG_COUNT".to_string(), config.len().to_string())];
    for (index, (key, value)) in config.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{index}"), key));
        env.push((format!("GIT_CONFIG_VALUE_{index}"), value));
    }
    env.push(("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()));
    env
}

/// The configuration of [`git_refusal`], as key and value.
fn git_config_lines(push_urls: &[String]) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = [
        // An empty prefix matches every URL: each push goes to night's helper instead.
        ("url.night-refused::.pushInsteadOf", ""),
        // An empty helper empties the list: the user's helpers (store, keychain, gh) are not asked.
        ("credential.helper", ""),
        ("protocol.ext.allow", "never"),
    ]
    .iter()
    .map(|(key, value)| ((*key).to_string(), (*value).to_string()))
    .collect();
    // The whole URL is the longest prefix there is: no other `insteadOf` of the user's wins.
    lines.extend(push_urls.iter().map(|url| (format!("url.{REFUSED_TRANSPORT}::{url}.insteadOf"), url.clone())));
    lines
}

/// The same configuration in git's file syntax, appended to the system configuration the
/// agent sees (the mount layer binds it over `/etc/gitconfig`), so that `env -i git push`,
/// which drops the environment, still goes to night's helper.
pub fn git_refusal_file(push_urls: &[String]) -> String {
    let quoted = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let mut text = "\n# Added by night for the agent's sandbox (docs/irreversible.md): no push, no credential helper.\n\
     [url \"night-refused::\"]\n\tpushInsteadOf =\n[credential]\n\thelper =\n[protocol \"ext\"]\n\tallow = never\n"
        .to_string();
    for url in push_urls.iter().filter(|url| !url.contains('\n')) {
        text.push_str(&format!("[url \"{REFUSED_TRANSPORT}::{}\"]\n\tinsteadOf = \"{}\"\n", quoted(url), quoted(url)));
    }
    text
}

/// The helper git runs for [`REFUSED_TRANSPORT`] (`git-remote-night-refused <remote> <url>`):
/// it records the refusal in the run's audit trail through `night hook RefusedPush` and fails
/// with a reason the agent can act on.
pub fn refused_push_helper(night_exe: &Path) -> String {
    let exe = night_exe.display().to_string().replace('\'', "'\\''");
    format!(
        "#!/bin/sh\n# Written by night: git sends every push here during the run (docs/irreversible.md).\n\
         printf '%s\\n' \"${{2:-$1}}\" | '{exe}' hook RefusedPush >/dev/null 2>&1\n\
         echo \"night: pushing is refused during this run (to ${{2:-$1}}): commit your work on the run branch; the user pushes it.\" >&2\n\
         exit 1\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_keeps_paths_and_the_own_key_only() {
        let claude = AgentKind::Claude;
        for name in ["PATH", "HOME", "LANG", "LC_ALL", "TERM", "CARGO_HOME", "ANTHROPIC_API_KEY", "XDG_CONFIG_HOME"] {
            assert!(passes(name, &claude), "{name}");
        }
        for name in ["GH_TOKEN", "GITHUB_TOKEN", "GH_PAT", "NPM_TOKEN", "OPENAI_API_KEY", "SSH_AUTH_SOCK", "GIT_ASKPASS", "AWS_SECRET_ACCESS_KEY", "DEPLOY_TOKEN", "CARGO_REGISTRY_TOKEN"] {
            assert!(!passes(name, &claude), "{name}");
        }
        assert!(passes("OPENAI_API_KEY", &AgentKind::Codex));
        assert!(passes("ANTHROPIC_API_KEY", &AgentKind::Aider), "aider talks to any provider");
        for name in ["SSL_CERT_FILE", "PIP_CERT", "AWS_CA_BUNDLE", "NIX_SSL_CERT_FILE", "CARGO_HTTP_CAINFO"] {
            assert!(passes(name, &claude), "a CA bundle passes, behind a company's proxy too: {name}");
        }
        assert!(!passes("ANTHROPIC_API_KEY", &AgentKind::Codex));
        let withheld = withheld(["PATH", "GH_TOKEN", "NPM_TOKEN"].into_iter(), &claude, &["NPM_TOKEN".to_string()]);
        assert_eq!(withheld, ["GH_TOKEN"]);
    }

    #[test]
    fn stores_that_exist_are_hidden_unless_revealed_or_tracked() {
        let dir = tempfile::tempdir().expect("temp");
        let home = dir.path().join("home");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(home.join(".ssh")).expect("mkdir");
        std::fs::create_dir_all(home.join(".aws")).expect("mkdir");
        std::fs::create_dir_all(&repo).expect("mkdir");
        std::fs::write(repo.join(".npmrc"), "//r/:_authToken=x").expect("write");
        std::fs::write(repo.join(".pypirc"), "x").expect("write");
        let none = |_: &str| None;
        let found = stores(Some(&home), &repo, &|name| name == ".pypirc", &["~/.aws".to_string()], &none);
        let paths: Vec<_> = found.iter().map(|s| s.path.clone()).collect();
        assert_eq!(paths, [home.join(".ssh"), repo.join(".npmrc")]);
        let found = stores(Some(&home), &repo, &|_| false, &[".npmrc".to_string()], &none);
        assert!(!found.iter().any(|s| s.path == repo.join(".npmrc")), "a path relative to the repository is revealed");
        // A toolchain's folder moved out of the home folder takes its stores along.
        let cargo = dir.path().join("usr-local-cargo");
        std::fs::create_dir_all(&cargo).expect("mkdir");
        std::fs::write(cargo.join("credentials.toml"), "[registry]\ntoken = \"x\"\n").expect("write");
        let moved = |name: &str| (name == "CARGO_HOME").then(|| cargo.display().to_string());
        let found = stores(Some(&home), &repo, &|_| false, &[], &moved);
        assert!(found.iter().any(|s| s.path == cargo.join("credentials.toml")), "{found:?}");
    }

    #[test]
    fn credentials_leave_git_configuration_and_the_rest_stays() {
        let text = "[user]\n\tname = Ann\n[remote \"origin\"]\n\turl = https://x-access-token:ghs_abc@github.com/a/b.git\n\tpushurl = https://ghp_tok@github.com/a/b.git\n\
                    [remote \"up\"]\n\turl = ssh://git@host/a.git\n\tpushurl = ftp://me:pw@host/x\n\
                    [http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3M=\n[url \"https://tok@github.com/\"]\n\tinsteadOf = https://github.com/\n";
        let clean = git_config_without_credentials(text);
        for secret in ["ghs_abc", "ghp_tok", "pw@", "eC1hY2Nlc3M", "tok@"] {
            assert!(!clean.contains(secret), "{secret}: {clean}");
        }
        for kept in ["name = Ann", "url = https://github.com/a/b.git", "ssh://git@host/a.git", "ftp://me@host/x", "[url \"https://github.com/\"]"] {
            assert!(clean.contains(kept), "{kept}: {clean}");
        }
        let plain = "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:a/b.git\n";
        assert_eq!(git_config_without_credentials(plain), plain);
    }

    #[test]
    fn git_configuration_counts_its_entries() {
        let env = git_refusal(&[]);
        assert_eq!(env[0], ("GIT_CONFIG_COUNT".to_string(), "3".to_string()));
        assert!(env.iter().any(|(k, v)| k == "GIT_CONFIG_KEY_0" && v == "url.night-refused::.pushInsteadOf"));
        let env = git_refusal(&["ssh://git@host/a.git".to_string()]);
        assert_eq!(env[0], ("GIT_CONFIG_COUNT".to_string(), "4".to_string()));
        assert!(env.iter().any(|(k, v)| k == "GIT_CONFIG_KEY_3" && v == "url.night-refused::ssh://git@host/a.git.insteadOf"));
        assert!(env.iter().any(|(k, v)| k == "GIT_CONFIG_VALUE_3" && v == "ssh://git@host/a.git"));
        assert!(git_refusal_file(&["a\"b".to_string()]).contains("[url \"night-refused::a\\\"b\"]\n\tinsteadOf = \"a\\\"b\""));
    }
}
