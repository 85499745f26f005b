//! `night run`: the supervisor and everything it drives.

pub mod agent;
pub mod ballast;
pub mod checks;
pub mod feedback;
pub mod git;
pub mod journal;
pub mod keep_awake;
pub mod limits;
pub mod lock;
pub mod outcome;
pub mod process;
pub mod ref_watch;
pub mod resume;
pub mod status_line;
pub mod runs;
pub mod sandboxing;
pub mod supervisor;

pub use outcome::Outcome;
pub use supervisor::{run, Finished, Refused, RunOptions};
