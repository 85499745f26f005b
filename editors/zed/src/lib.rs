//! Zed extension for .night runbooks: starts `night lsp` for .night files.
//!
//! The binary is, in order: `lsp.night-lsp.binary.path` from Zed's settings,
//! or `night` found on the worktree's PATH.

use zed_extension_api::{self as zed, settings::LspSettings, LanguageServerId, Result};

struct NightExtension;

impl zed::Extension for NightExtension {
    fn new() -> Self {
        NightExtension
    }

    fn language_server_command(
        &mut self,
        language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(language_server_id.as_ref(), worktree)
            .ok()
            .and_then(|settings| settings.binary);
        let configured_path = binary.as_ref().and_then(|b| b.path.clone());
        let args = binary
            .as_ref()
            .and_then(|b| b.arguments.clone())
            .unwrap_or_else(|| vec!["lsp".to_string()]);
        let command = match configured_path {
            Some(path) => path,
            None => worktree.which("night").ok_or_else(|| {
                "`night` is not on PATH: install night, or set lsp.night-lsp.binary.path in Zed's settings"
                    .to_string()
            })?,
        };
        Ok(zed::Command {
            command,
            args,
            env: worktree.shell_env(),
        })
    }
}

zed::register_extension!(NightExtension);
