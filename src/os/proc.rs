//! Reading `/proc` (Linux): a process's state, group and start time, the boot's id, and which
//! process holds a file open. Every reader returns `None` where `/proc` cannot tell.

use std::path::Path;

/// The fields of `/proc/<pid>/stat` night uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `Z` …
    pub state: char,
    /// The process group.
    pub pgrp: u32,
    /// When it started, in clock ticks after boot (field 22).
    pub start_ticks: Option<u64>,
}

impl Stat {
    /// A zombie or a dead process: it runs no more, whether or not it was reaped.
    pub fn is_gone(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// `/proc/<pid>/stat`, parsed.
pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The command name (field 2) may hold spaces and parentheses: the fields are counted after
/// its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next();
    let pgrp = fields.next()?.parse().ok()?;
    // Fields 6 to 21 lie between the group (field 5) and the start time (field 22).
    let start_ticks = fields.nth(16).and_then(|ticks| ticks.parse().ok());
    Some(Stat { state, pgrp, start_ticks })
}

/// Every process id in `/proc` (`None` without `/proc`).
pub fn pids() -> Option<Vec<u32>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(entries.flatten().filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse().ok())).collect())
}

/// `/proc/sys/kernel/random/boot_id`: it changes at every boot.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|id| id.trim().to_string())
}

/// Whether process `pid` holds `path` open (`None`: `/proc` cannot tell).
pub fn holds_open(pid: u32, path: &Path) -> Option<bool> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path)))
}

/// A process that holds `path` open: `Some(None)` when none does; `None` without `/proc`.
/// Another user's processes stay unseen.
pub fn holder_of(path: &Path) -> Option<Option<u32>> {
    Some(pids()?.into_iter().find(|pid| holds_open(*pid, path) == Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_after_the_last_parenthesis() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(line), Some(Stat { state: 'S', pgrp: 42, start_ticks: Some(123_456) }));
        assert_eq!(parse_stat("garbage"), None);
        let me = stat(std::process::id()).expect("this process");
        assert!(!me.is_gone() && me.start_ticks.is_some());
    }
}
