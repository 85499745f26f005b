//! `--on HOST`: night on a machine that stays awake, reached over the system `ssh` (the user's
//! config, agent and known_hosts; `NIGHT_SSH` replaces it) with git moving the work.
//!
//! ```text
//! laptop                                         host (~/.night, or PATH/.night)
//! travel::gather   runbook, prompt files,
//!                  env names, git-dirty here
//! probe            ─── sh script ──────────────▶ uname, night?, git?, tar?, df; mkdir, mirror
//! install          ─── night's binary ─────────▶ .night/bin/night (when none or older)
//! git push         ─── commit ─────────────────▶ .night/repos/<key>.git
//! client::send     ─── JSON on stdin ──────────▶ night remote-host (host.rs): checkout, files,
//!                      (secrets in memory)        then `night run … --detach` / `night check …`
//! on_host::pass_through ───────────────────────▶ night status|log|list|stop|report there
//! on_host::resume, ── secrets on stdin ───────▶ night resume|deliver there (names read from
//!   on_host::deliver                             the run's or batch's runbook copies there)
//! pull::pull       ◀── git fetch, tar ────────── run branch, refs/night/<run>/*, run folder
//!                                                (a batch: each run, then its batch folder)
//! ```
//!
//! A batch (`night run a.night b.night --on HOST`) travels as one run does: every runbook and
//! prompt file in one request, `night run … --detach` there with the batch's options; the
//! host answers with the batch id (the new folder under `.night/batches/`).

mod check_view;
pub mod client;
mod error;
pub mod host;
pub mod install;
pub mod on_host;
pub mod layout;
pub mod payload;
pub mod probe;
pub mod pull;
pub mod secrets;
pub mod ssh;
mod target;
pub mod travel;

pub use error::RemoteError;
pub use target::Target;
