//! What `network` means for an agent kind. `network auto`, the default, is what the agent
//! needs and no more where night knows it: for claude, codex and gemini, their model API
//! (always let through, see `sandbox::network::api_host`) and the package registries below,
//! through night's proxy; for aider, goose and `command`, whose provider night cannot know,
//! `on`. Registries are also where packages are published, and the proxy cannot see a method
//! inside HTTPS: what stops a publish is that the agent holds no registry credential
//! ([`super::credentials`]), not this list.

use crate::ast::{AgentKind, Network};

/// The public package registries `network auto` lets through (host, or `host:port`).
pub const REGISTRIES: &[&str] = &[
    // npm, Yarn, pnpm
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    // crates.io
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    // PyPI
    "pypi.org",
    "files.pythonhosted.org",
    // Go modules
    "proxy.golang.org",
    "sum.golang.org",
    // Maven and Gradle
    "repo.maven.apache.org",
    "repo1.maven.org",
    "plugins.gradle.org",
    // RubyGems, NuGet, Packagist, Hex, pub.dev
    "rubygems.org",
    "index.rubygems.org",
    "api.nuget.org",
    "repo.packagist.org",
    "hex.pm",
    "repo.hex.pm",
    "pub.dev",
];

/// Whether night knows the model API of this kind (so `auto` can be a host list).
pub fn knows_api(kind: &AgentKind) -> bool {
    matches!(kind, AgentKind::Claude | AgentKind::Codex | AgentKind::Gemini)
}

/// `network` with `auto` resolved for `kind`: `allow` of the registries, or `on`. The model
/// API host is added where the network is enforced (it depends on the base-URL variables).
pub fn resolve(network: &Network, kind: &AgentKind) -> Network {
    match network {
        Network::Auto if knows_api(kind) => Network::Allow(REGISTRIES.iter().map(|h| (*h).to_string()).collect()),
        Network::Auto => Network::On,
        other => other.clone(),
    }
}
