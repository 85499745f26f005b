//! The run's journal, `journal.jsonl`: one JSON [`Entry`] a line, appended and flushed to disk
//! as it happens; secrets never reach it. Read leniently: a torn last line (a kill mid-write),
//! a line edited by hand or written by a newer night is skipped, and the reader says which.

use crate::record::event::{Entry, Event, SCHEMA_VERSION};
use crate::secrets::Secrets;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read as _, Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// An append-only journal file, shareable between the supervisor and notification tasks.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
}

struct Inner {
    file: File,
    secrets: Secrets,
    /// The first write that failed, until someone asks.
    failure: Option<String>,
    failed: bool,
}

impl Journal {
    /// Create (or append to) the journal at `path`, scrubbing `secrets` from every line.
    pub fn open(path: &Path, secrets: Secrets) -> io::Result<Self> {
        drop_torn_tail(path)?;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let inner = Inner { file, secrets, failure: None, failed: false };
        Ok(Self { inner: Arc::new(Mutex::new(inner)), path: path.to_path_buf() })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry and flush it to disk; the entry as written (secrets scrubbed). A
    /// journal that cannot be written does not stop the run: the first failure is kept for
    /// [`Journal::take_failure`].
    pub fn append(&self, entry: &Entry) -> Entry {
        let Ok(mut inner) = self.inner.lock() else { return entry.clone() };
        let (line, as_written) = match serde_json::to_value(entry) {
            Ok(mut value) => {
                inner.secrets.scrub_json(&mut value);
                let line = value.to_string();
                (line, serde_json::from_value(value).unwrap_or_else(|_| entry.clone()))
            }
            Err(e) => {
                let note = Entry { v: SCHEMA_VERSION, at: entry.at, event: Event::Note { topic: "journal".into(), message: format!("cannot encode an event: {e}") } };
                (serde_json::to_string(&note).unwrap_or_default(), note)
            }
        };
        // One write of the whole line and its newline: a kill can tear it only at the end of
        // the file, where readers skip it and `open` cuts it.
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let length = inner.file.metadata().map(|m| m.len());
        let written = inner.file.write_all(&bytes).and_then(|()| inner.file.flush()).and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            // A write cut short (a full disk) must not leave half a line for the next one to
            // be glued to: cut the file back to where the line began.
            if let Ok(length) = length {
                let _ = inner.file.set_len(length);
            }
            if !inner.failed {
                inner.failure = Some(format!("cannot write the journal {}: {e}", self.path.display()));
            }
            inner.failed = true;
        }
        as_written
    }

    /// Append `event`, stamped now.
    pub fn record(&self, event: Event) {
        self.append(&Entry::now(event));
    }

    /// The first failed write, once: the caller tells the user.
    pub fn take_failure(&self) -> Option<String> {
        self.inner.lock().ok().and_then(|mut inner| inner.failure.take())
    }

    /// False once a write failed.
    pub fn healthy(&self) -> bool {
        self.inner.lock().is_ok_and(|inner| !inner.failed)
    }
}

/// A journal as read: its well-formed entries, in order, and the lines that were not.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    /// Every entry that could be read.
    pub entries: Vec<Entry>,
    /// The lines skipped, and why.
    pub skipped: Vec<Skipped>,
}

/// A journal line that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based.
    pub line: usize,
    /// Why, in a phrase.
    pub why: String,
}

/// Read a journal. A torn last line, even one cut inside a UTF-8 character, is skipped, and so
/// is any line that is not an entry night knows; nothing in a line can make the read fail.
pub fn read(path: &Path) -> io::Result<Lines> {
    let mut reader = io::BufReader::new(File::open(path)?);
    let mut lines = Lines::default();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        // Bytes, not `lines()`: a line torn mid-character is not UTF-8 and must not fail the read.
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        parse_line(&line, number, &mut lines);
    }
    Ok(lines)
}

fn parse_line(line: &[u8], number: usize, into: &mut Lines) {
    let torn = !line.ends_with(b"\n");
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match serde_json::from_slice::<Entry>(line) {
        Ok(entry) => into.entries.push(entry),
        Err(_) if torn => into.skipped.push(Skipped { line: number, why: "the last line was cut short (night stopped while writing it)".into() }),
        Err(e) => into.skipped.push(Skipped { line: number, why: e.to_string() }),
    }
}

/// Cut a torn last line (the supervisor was killed mid-write) before appending to a journal
/// again, so that the next event starts on a line of its own.
fn drop_torn_tail(path: &Path) -> io::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    OpenOptions::new().write(true).open(path)?.set_len(keep as u64)
}

/// A journal read as it grows (the live status line): whole lines only, a torn line waits for
/// its end.
pub struct Tail {
    path: PathBuf,
    offset: u64,
    pending: Vec<u8>,
    lines: usize,
}

impl Tail {
    /// Tail the journal at `path` from its start.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), offset: 0, pending: Vec::new(), lines: 0 }
    }

    /// What was appended since the last call.
    pub fn poll(&mut self) -> Lines {
        let mut read = Lines::default();
        let Ok(mut file) = File::open(&self.path) else { return read };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return read;
        }
        let mut bytes = Vec::new();
        let Ok(count) = file.read_to_end(&mut bytes) else { return read };
        self.offset += count as u64;
        self.pending.extend_from_slice(&bytes);
        let Some(last_newline) = self.pending.iter().rposition(|b| *b == b'\n') else { return read };
        let complete: Vec<u8> = self.pending.drain(..=last_newline).collect();
        for line in complete.split_inclusive(|b| *b == b'\n') {
            self.lines += 1;
            parse_line(line, self.lines, &mut read);
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_versioned_tagged_and_scrubbed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, Secrets::new(&["hunter2-secret"])).expect("open");
        journal.record(Event::Note { topic: "t".into(), message: "token hunter2-secret here".into() });
        journal.record(Event::AttemptStart { attempt: 1, of: Some(3) });
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("hunter2-secret"), "{text}");
        let first: serde_json::Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(first["v"], 1);
        assert_eq!(first["event"], "note");
        assert_eq!(first["message"], "token [redacted] here");
        let read = read(&path).expect("read back");
        assert_eq!(read.entries.len(), 2);
        assert_eq!(read.entries[1].event, Event::AttemptStart { attempt: 1, of: Some(3) });
        assert!(read.skipped.is_empty());
    }

    #[test]
    fn torn_edited_and_unknown_lines_are_skipped_and_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, Secrets::default()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        file.write_all(b"{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"from-the-future\"}\nnot json\n\n").expect("write");
        write!(file, "{{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"attem").expect("write");
        let read = read(&path).expect("read");
        assert_eq!(read.entries.len(), 1);
        let lines: Vec<usize> = read.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert!(read.skipped[0].why.contains("from-the-future"), "{:?}", read.skipped);
        assert!(read.skipped[2].why.contains("cut short"), "{:?}", read.skipped);
    }

    #[test]
    fn a_line_torn_inside_a_character_is_skipped_and_cut_before_appending() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, Secrets::default()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        // "é" is two bytes: the line ends after the first.
        file.write_all(b"{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"note\",\"topic\":\"\xc3").expect("write");
        drop(file);
        assert_eq!(read(&path).expect("read").entries.len(), 1);
        let journal = Journal::open(&path, Secrets::default()).expect("reopen");
        journal.record(Event::AttemptStart { attempt: 2, of: None });
        let read = read(&path).expect("read");
        assert_eq!(read.entries.len(), 2);
        assert_eq!(read.entries[1].event, Event::AttemptStart { attempt: 2, of: None });
        let text = std::fs::read_to_string(&path).expect("every line is whole");
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn the_tail_returns_whole_lines_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let mut tail = Tail::new(&path);
        assert!(tail.poll().entries.is_empty(), "no file yet");
        let journal = Journal::open(&path, Secrets::default()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        assert_eq!(tail.poll().entries.len(), 1);
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        file.write_all(b"{\"v\":1,\"at\":\"2025-01-01T00:00:00Z\",\"event\":\"attempt-start\",\"attempt\":2").expect("half");
        assert!(tail.poll().entries.is_empty(), "half a line waits");
        file.write_all(b",\"of\":null}\n").expect("rest");
        assert_eq!(tail.poll().entries.len(), 1);
    }
}
