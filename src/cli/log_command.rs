//! `night log [RUN] [-f]`: the agent's output (`agent.log`); `-f` follows it while the run's
//! supervisor is alive, then prints what is left and stops.

use super::locate;
use super::LogArgs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::time::Duration;

pub fn run(args: &LogArgs) -> u8 {
    let dir = match locate::live_or_newest(args.run.as_deref()) {
        Ok(dir) => dir,
        Err(message) => return locate::fail(&message),
    };
    let path = dir.join("agent.log");
    let mut offset = 0;
    loop {
        // Whether the run was live before reading, so that output written just before the end is still printed.
        let live = args.follow && crate::run::lock::is_live(&dir);
        match copy_from(&path, &mut offset) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && live => {}
            Err(e) => return locate::fail(&format!("cannot read `{}`: {e}", path.display())),
        }
        if !live {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Print what the file holds past `offset`, in bounded pieces (the log can be large).
fn copy_from(path: &std::path::Path, offset: &mut u64) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(*offset))?;
    let mut stdout = std::io::stdout().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        stdout.write_all(&buffer[..read])?;
        *offset += read as u64;
    }
    stdout.flush()
}
