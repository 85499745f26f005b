//! `night log [RUN] [-f]`: the agent's output (`agent.log`); `-f` follows it while the run's
//! supervisor is alive, then prints what is left and stops.

use super::error::{CliError, Done};
use super::{locate, out};
use super::LogArgs;
use crate::record::Exit;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::time::Duration;

pub fn run(args: &LogArgs) -> Done {
    let dir = locate::live_or_newest(args.run.as_deref())?;
    let path = dir.agent_log();
    let mut offset = 0;
    loop {
        // Whether the run was live before reading, so that output written just before the end is still printed.
        let live = args.follow && dir.is_live();
        match copy_from(&path, &mut offset) {
            Ok(()) if out::closed() => return Ok(Exit::Success),
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && live => {}
            Err(source) => return Err(CliError::File { doing: "read", path, source }),
        }
        if !live {
            return Ok(Exit::Success);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Print what the file holds past `offset`, in bounded pieces (the log can be large).
fn copy_from(path: &std::path::Path, offset: &mut u64) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(*offset))?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 || out::closed() {
            return Ok(());
        }
        out::print_bytes(&buffer[..read])?;
        *offset += read as u64;
    }
}
