//! What night asks of the operating system, knowing nothing of runs: process groups (who is
//! in one, whether it lives, ending it with a grace period, reading its output by lines),
//! `/proc`, file locks and keeping the machine awake. It takes pids and paths; the run decides
//! what they mean.

pub mod group;
pub mod keep_awake;
pub mod lock;
pub mod output;
pub mod proc;
