//! `agent command "…"`: any program through `sh -c`. The prompt arrives on standard input
//! and in `$NIGHT_PROMPT_FILE`; `{prompt_file}` in the command is that path. It reports no
//! usage, no tool calls and no quota, and night cannot deny its commands before they run.

use super::{Adapter, Launch, LaunchContext};

/// A shell command agent.
#[derive(Debug, Clone)]
pub struct CommandAdapter {
    command: String,
}

impl CommandAdapter {
    /// An adapter for this command line.
    pub fn new(command: String) -> Self {
        Self { command }
    }
}

impl Adapter for CommandAdapter {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn launch(&self, context: &LaunchContext<'_>) -> Launch {
        let command = self.command.replace("{prompt_file}", &context.prompt_file.to_string_lossy());
        Launch {
            program: "sh".to_string(),
            args: vec!["-c".to_string(), command],
            env: Vec::new(),
            stdin: context.prompt.as_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_prompt_file_placeholder_is_replaced() {
        let adapter = CommandAdapter::new("./agent.sh --prompt {prompt_file}".into());
        let context = LaunchContext {
            prompt: "fix it",
            prompt_file: Path::new("/r/.night/runs/x/prompt-1-1.md"),
            work_dir: Path::new("/r"),
            run_dir: Path::new("/r/.night/runs/x"),
            run_id: "x",
            attempt: 1,
            session: 1,
        };
        let launch = adapter.launch(&context);
        assert_eq!(launch.program, "sh");
        assert_eq!(launch.args, ["-c", "./agent.sh --prompt /r/.night/runs/x/prompt-1-1.md"]);
        assert_eq!(launch.stdin, b"fix it");
        assert!(!adapter.reports_usage() && !adapter.enforces_deny());
    }
}
