//! A batch's bound on success checks running at once (docs/batches.md, "Success checks"): a run
//! of a batch takes one of `--checks N` turns — a lock on a folder `<batch>/check-slots/<k>` —
//! before its checks run, and gives it back when they end (or when it dies: the kernel drops
//! the lock). A run outside a batch never waits.

use crate::os::lock::DirLock;
use crate::record::BatchDir;
use crate::run::BatchMember;
use std::time::Duration;

/// How often a run waiting for a turn looks again.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// Wait for a turn; `None` outside a batch (or when the slots cannot be made: never block a run
/// on that). `waiting` is told once when the run has to wait.
pub(super) async fn take(member: Option<&BatchMember>, waiting: impl FnOnce()) -> Option<DirLock> {
    let member = member?;
    let slots = BatchDir::new(&member.batch_dir).check_slots();
    let folders: Vec<std::path::PathBuf> = (0..member.check_slots.max(1)).map(|k| slots.join(k.to_string())).collect();
    for folder in &folders {
        std::fs::create_dir_all(folder).ok()?;
    }
    let mut waiting = Some(waiting);
    loop {
        if let Some(turn) = folders.iter().find_map(|folder| DirLock::acquire(folder, Duration::ZERO).ok()) {
            return Some(turn);
        }
        if let Some(tell) = waiting.take() {
            tell();
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}
