//! What the host has, asked in one SSH round trip by a plain `sh` script (before night itself
//! is there): its OS and architecture, the absolute night folder, the `night` binaries it has
//! and their versions, `git`, `tar` and free space. With `ensure`, the same script makes
//! night's folders and the repository's bare mirror when git is there and space suffices.

use super::layout::Layout;
use super::ssh::{quote, text, Input, Ssh};
use super::RemoteError;

/// The least free space night asks for under the host's night folder: the journal, logs and
/// reports of a run and a small checkout (git says so itself when a larger one does not fit).
pub const NEED_KIB: u64 = 64 * 1024;

/// What the probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The base folder, absolute (`pwd -P` there).
    pub base: String,
    /// `uname -s`.
    pub os: String,
    /// `uname -m`.
    pub arch: String,
    /// Each `night` found (night's folder first, then PATH): its path and `--version` line.
    pub nights: Vec<(String, String)>,
    /// `git`'s path, when installed.
    pub git: Option<String>,
    /// `tar`'s path, when installed.
    pub tar: Option<String>,
    /// Free space under the base, in KiB.
    pub free_kib: Option<u64>,
    /// Whether the night folder and the mirror are now there.
    pub ensured: bool,
}

/// Ask the host; with `ensure`, also make the night folder and the mirror of `layout.key`.
pub fn probe(ssh: &Ssh, layout: &Layout, ensure: bool) -> Result<HostFacts, RemoteError> {
    let script = format!(
        r#"base={base}
cd "$base" 2>/dev/null || {{ echo "missing-base"; exit 0; }}
base=$(pwd -P)
echo "base $base"
echo "os $(uname -s) $(uname -m)"
for n in "$base/.night/bin/night" "$(command -v night 2>/dev/null)"; do
  if [ -n "$n" ] && [ -f "$n" ] && [ -x "$n" ]; then printf 'night %s\t%s\n' "$n" "$("$n" --version 2>/dev/null | head -n 1)"; fi
done
git=$(command -v git 2>/dev/null) && echo "git $git"
command -v tar >/dev/null 2>&1 && echo "tar $(command -v tar)"
free=$(df -Pk . 2>/dev/null | awk 'NR==2 {{print $4}}')
echo "free $free"
[ {ensure} = 1 ] && [ -n "$git" ] && {{ [ -z "$free" ] || [ "$free" -ge {need} ]; }} || exit 0
mkdir -p .night/bin .night/repos .night/work .night/locks || exit 5
[ -d .night/repos/{key}.git ] || git init -q --bare .night/repos/{key}.git || exit 6
echo "ensured"
"#,
        base = quote(layout.base.as_str()),
        ensure = u8::from(ensure),
        need = NEED_KIB,
        key = quote(&layout.key),
    );
    let output = ssh.run(&script, Input::Nothing)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.lines().any(|line| line == "missing-base") {
        return Err(RemoteError::NoBase { host: ssh.host().to_string(), path: layout.base.clone() });
    }
    if !output.status.success() {
        return Err(RemoteError::Step {
            host: ssh.host().to_string(),
            message: format!("cannot create night's folder under `{}`: {}", layout.base, text(&output.stderr)),
            help: Some("Check that the remote user may write there and that the disk is not full; nothing else was changed.".into()),
        });
    }
    Ok(parse(&stdout))
}

fn parse(stdout: &str) -> HostFacts {
    let mut facts = HostFacts::default();
    for line in stdout.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "base" => facts.base = value.to_string(),
            "os" => {
                let (os, arch) = value.split_once(' ').unwrap_or((value, ""));
                facts.os = os.to_string();
                facts.arch = arch.to_string();
            }
            "night" => {
                let (path, version) = value.split_once('\t').unwrap_or((value, ""));
                if !facts.nights.iter().any(|(known, _)| known == path) {
                    facts.nights.push((path.to_string(), version.trim().to_string()));
                }
            }
            "git" => facts.git = Some(value.to_string()),
            "tar" => facts.tar = Some(value.to_string()),
            "free" => facts.free_kib = value.trim().parse().ok(),
            "ensured" => facts.ensured = true,
            _ => {}
        }
    }
    facts
}

impl HostFacts {
    /// The errors that stop a run or a check before anything changes: no git, no tar, a full disk.
    pub fn require(&self, host: &str, layout: &Layout) -> Result<(), RemoteError> {
        let missing = |tool: &str, why: &str| RemoteError::MissingTool { host: host.to_string(), tool: tool.to_string(), why: why.to_string() };
        if self.git.is_none() {
            return Err(missing("git", "night moves the work there with git, and runs on a git branch"));
        }
        if self.tar.is_none() {
            return Err(missing("tar", "`night pull` brings the run folder back with it"));
        }
        if let Some(free) = self.free_kib.filter(|free| *free < NEED_KIB) {
            return Err(RemoteError::DiskFull { host: host.to_string(), path: layout.night_dir(), free: kib(free), need: kib(NEED_KIB) });
        }
        Ok(())
    }
}

/// `12.0 MiB`.
fn kib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    if mib >= 1024.0 { format!("{:.1} GiB", mib / 1024.0) } else { format!("{mib:.1} MiB") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_the_script_output() {
        let facts = parse("base /home/u\nos Linux x86_64\nnight /home/u/.night/bin/night\tnight 0.1.0\nnight /usr/bin/night\t\ngit /usr/bin/git\nfree 123\nensured\n");
        assert_eq!(facts.base, "/home/u");
        assert_eq!((facts.os.as_str(), facts.arch.as_str()), ("Linux", "x86_64"));
        assert_eq!(facts.nights.len(), 2);
        assert_eq!(facts.nights[0].1, "night 0.1.0");
        assert_eq!(facts.git.as_deref(), Some("/usr/bin/git"));
        assert_eq!(facts.tar, None);
        assert_eq!(facts.free_kib, Some(123));
        assert!(facts.ensured);
        let layout = Layout { base: "/home/u".into(), key: "k".into() };
        let error = facts.require("box", &layout).expect_err("no tar");
        assert!(error.to_string().contains("`tar`"), "{error}");
    }

    #[test]
    fn sizes_in_words() {
        assert_eq!(kib(512), "0.5 MiB");
        assert_eq!(kib(3 * 1024 * 1024), "3.0 GiB");
    }
}
