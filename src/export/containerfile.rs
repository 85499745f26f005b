//! `night export containerfile`: an image with night, git and the runbook's agent CLI (the
//! `AGENT` build argument, whose default is the runbook's agent), for the Kubernetes Job and
//! the workflow. night itself is copied from the build context (a Linux build of night, the
//! same binary `night run --on` copies to a host): night is not fetched from anywhere.

use super::Facts;
use std::fmt::Write as _;

/// The Containerfile.
pub fn containerfile(facts: &Facts, image: &str) -> String {
    let agent = if facts.agent == "command" { "none" } else { facts.agent.as_str() };
    let mut out = String::new();
    let _ = writeln!(out, "# night export containerfile {}: night, git and the agent CLI `{agent}`.", facts.runbook);
    let _ = writeln!(out, "# Build it with a Linux build of night next to this file, e.g.:");
    let _ = writeln!(out, "#   cp \"$(command -v night)\" ./night");
    let _ = writeln!(out, "#   podman build -f Containerfile --build-arg AGENT={agent} -t {image} .");
    let _ = writeln!(out, "# AGENT: claude, codex, gemini, aider, goose or none; AGENT_VERSION pins its release.");
    let _ = writeln!(out, "# The user has uid 1001, as GitHub's hosted runners do, so that their checkout is writable.");
    out.push_str(&format!(
        r#"FROM node:20-bookworm-slim

ARG AGENT={agent}
ARG AGENT_VERSION=latest
ARG NIGHT_VERSION={version}

LABEL org.opencontainers.image.title="night" \
      org.opencontainers.image.description="night {version} with git and an agent CLI, to run .night runbooks unattended" \
      org.opencontainers.image.version="{version}"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's current git and certificates; the base image pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/*

# The agent's CLI, from its own registry.
# hadolint ignore=DL3008,DL3013,DL3016
RUN case "$AGENT" in \
      claude) npm install -g "@anthropic-ai/claude-code@$AGENT_VERSION" ;; \
      codex) npm install -g "@openai/codex@$AGENT_VERSION" ;; \
      gemini) npm install -g "@google/gemini-cli@$AGENT_VERSION" ;; \
      aider) apt-get update && apt-get install -y --no-install-recommends pipx && rm -rf /var/lib/apt/lists/* \
             && if [ "$AGENT_VERSION" = latest ]; then spec=aider-chat; else spec="aider-chat==$AGENT_VERSION"; fi \
             && PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install "$spec" ;; \
      goose) apt-get update && apt-get install -y --no-install-recommends bzip2 curl && rm -rf /var/lib/apt/lists/* \
             && curl -fsSL https://github.com/block/goose/releases/download/stable/download_cli.sh \
                | CONFIGURE=false GOOSE_BIN_DIR=/usr/local/bin bash ;; \
      none) ;; \
      *) echo "unknown AGENT=$AGENT: claude, codex, gemini, aider, goose or none" >&2; exit 1 ;; \
    esac \
 && npm cache clean --force

COPY --chmod=755 night /usr/local/bin/night

RUN useradd --create-home --uid 1001 night
USER 1001:1001
WORKDIR /home/night
CMD ["night", "--help"]
"#,
        version = env!("CARGO_PKG_VERSION"),
    ));
    out
}
