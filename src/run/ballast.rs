//! Room kept free for the end of the run. When the disk fills (an agent printing without end
//! into `agent.log`), night still has to journal why the run ended and write the report: a
//! reserve file, made at the start, is deleted once the agent is stopped, and its room holds
//! those last writes. Best effort: without it, a full disk loses only the end's lines.

use crate::record::RunDir;

/// Enough for the journal's last lines and `report.md`/`report.json`.
const SIZE: usize = 256 * 1024;

/// Make the reserve (written out, so the room is really taken on every file system).
pub fn reserve(run_dir: &RunDir) {
    let path = run_dir.reserve();
    if std::fs::write(&path, vec![0u8; SIZE]).is_err() {
        let _ = std::fs::remove_file(&path);
    }
}

/// Give the reserve's room back.
pub fn release(run_dir: &RunDir) {
    let _ = std::fs::remove_file(run_dir.reserve());
}
