//! A compatible `night` on the host. One that is at least this version is used as it is (night's
//! own copy under the night folder first, then one on the remote PATH); otherwise, when the
//! host runs the same OS and architecture, night copies its own binary to
//! `<night folder>/bin/night` over the SSH channel and checks that it starts there; otherwise
//! it says what to install.

use super::layout::Layout;
use super::probe::HostFacts;
use super::ssh::{quote, text, Input, Ssh};
use super::RemoteError;

/// This night's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The night the host will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteNight {
    /// Its path on the host.
    pub path: String,
    /// Its version line, e.g. `night 0.1.0`.
    pub version: String,
    /// What night did: `None` when it was there already, else why it copied itself.
    pub copied: Option<String>,
}

/// Use, or copy, a night on the host.
pub fn ensure(ssh: &Ssh, facts: &HostFacts, layout: &Layout) -> Result<RemoteNight, RemoteError> {
    let ours = parse_version(VERSION).unwrap_or_default();
    let usable = facts.nights.iter().find(|(_, line)| version_of(line).is_some_and(|theirs| theirs >= ours));
    if let Some((path, version)) = usable {
        return Ok(RemoteNight { path: path.clone(), version: version.clone(), copied: None });
    }
    let why = match facts.nights.first() {
        Some((path, line)) if !line.is_empty() => format!("the host had {line} at {path}, older than this {VERSION}"),
        Some((path, _)) => format!("{path} on the host does not say its version"),
        None => "the host had none".to_string(),
    };
    if !same_platform(&facts.os, &facts.arch) {
        return Err(RemoteError::Incompatible {
            host: ssh.host().to_string(),
            detail: format!(
                "no night {VERSION} or newer there ({why}), and this night is built for {} {}, not {} {}",
                std::env::consts::OS,
                std::env::consts::ARCH,
                facts.os,
                facts.arch
            ),
            help: format!("Install night {VERSION} or newer on the host (a build for {} {}) on the PATH of SSH commands, or at `{}`.", facts.os, facts.arch, layout.bin()),
        });
    }
    let exe = std::env::current_exe().map_err(|e| RemoteError::local(format!("cannot find night's own executable: {e}"), None))?;
    let night_dir = quote(&layout.night_dir());
    let script = format!(
        r#"cd {base} || exit 3
mkdir -p {night_dir}/bin || exit 3
tmp={night_dir}/bin/.night.$$
cat > "$tmp" && chmod 755 "$tmp" || {{ rm -f "$tmp"; exit 3; }}
if out=$("$tmp" --version 2>&1); then mv -f "$tmp" {night_dir}/bin/night && echo "$out"; else rm -f "$tmp"; echo "$out" >&2; exit 4; fi
"#,
        base = quote(&layout.base),
    );
    let output = ssh.run(&script, Input::File(exe))?;
    match output.status.code() {
        Some(0) => Ok(RemoteNight { path: layout.bin(), version: text(&output.stdout), copied: Some(why) }),
        Some(4) => Err(RemoteError::Incompatible {
            host: ssh.host().to_string(),
            detail: format!("this night, copied there, does not start: {}", text(&output.stderr)),
            help: format!("Build night {VERSION} on the host (e.g. `cargo install --path .` from night's source) and put it on the PATH of SSH commands, or at `{}`.", layout.bin()),
        }),
        _ => Err(RemoteError::Step {
            host: ssh.host().to_string(),
            message: format!("cannot copy night to `{}`: {}", layout.bin(), text(&output.stderr)),
            help: Some("Check that the remote user may write there and that the disk is not full.".into()),
        }),
    }
}

/// `(major, minor, patch)` of `0.1.0` (a pre-release suffix is ignored).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0), parts.next().flatten().unwrap_or(0)))
}

/// The version in a `night --version` line (`night 0.1.0`).
fn version_of(line: &str) -> Option<(u64, u64, u64)> {
    let mut words = line.split_whitespace();
    (words.next()? == "night").then_some(())?;
    parse_version(words.next()?)
}

/// Whether a host with this `uname -s` and `uname -m` runs this binary's platform.
fn same_platform(os: &str, arch: &str) -> bool {
    let os = match os {
        "Linux" => "linux",
        "Darwin" => "macos",
        "FreeBSD" => "freebsd",
        other => other,
    };
    let arch = match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    };
    os == std::env::consts::OS && arch == std::env::consts::ARCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("0.10.2"), Some((0, 10, 2)));
        assert!(parse_version("0.10.0") > parse_version("0.9.9"));
        assert_eq!(version_of("night 1.2.3-beta"), Some((1, 2, 3)));
        assert_eq!(version_of("other 1.2.3"), None);
        assert_eq!(version_of(""), None);
    }

    #[test]
    fn platforms_map_uname_names() {
        let os = match std::env::consts::OS {
            "linux" => "Linux",
            "macos" => "Darwin",
            other => other,
        };
        assert!(same_platform(os, std::env::consts::ARCH));
        assert!(!same_platform(os, "riscv128"));
        assert!(!same_platform("Plan9", std::env::consts::ARCH));
    }
}
