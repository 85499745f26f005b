//! Fault injection for tests/faults.rs: pause points where a test SIGKILLs the supervisor.

use crate::record::RunDir;
use crate::run::EnvReader;
use std::time::Duration;

/// `NIGHT_TEST_PAUSE_AT=<point>`: the fault-injection tests (tests/faults.rs) SIGKILL the
/// supervisor at a point with no natural pause (`preflight`, `rollback`). Once per run folder,
/// night writes `paused-at-<point>` there and waits (a minute at most) to be killed; a resumed
/// supervisor finds the file and goes on. Unset, it costs one environment lookup.
pub(super) fn test_pause(env: &EnvReader, run_dir: &RunDir, point: &str) {
    if env("NIGHT_TEST_PAUSE_AT").as_deref() != Some(point) {
        return;
    }
    let marker = run_dir.paused_at(point);
    if marker.exists() || std::fs::write(&marker, "").is_err() {
        return;
    }
    std::thread::sleep(Duration::from_secs(60));
}
