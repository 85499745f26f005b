//! What the permissions of a runbook mean, in one place: the hook, the sandbox, the agents'
//! adapters, the checklist and the audit all ask here.
//!
//! - [`shell`]: command lines read as a shell reads them (brush-parser), word by [`word`], with
//!   [`wrappers`] saying what `env`, `nohup`, `sh -c`, `eval`, `xargs` … really run;
//! - [`irreversible`]: the built-in set behind `deny irreversible`;
//! - [`commands`]: `deny`, `allow` and the built-in set applied to a command line;
//! - [`credentials`]: the credential stores and variables the agent is not given, and git's
//!   refusal to push;
//! - [`network`]: what `network auto` lets through;
//! - [`decide`]: the hook's policy and its decision about one tool call;
//! - [`audit`]: the audit trail the hook (and night's other layers) write.

pub mod audit;
pub mod commands;
pub mod credentials;
pub mod decide;
pub mod irreversible;
pub mod network;
pub mod shell;
mod word;
mod wrappers;

pub use decide::{CompiledPolicy, Decision, Policy, PolicyError, PolicyNetwork};
