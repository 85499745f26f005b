//! Reading a child's output by whole lines: what a consumer gets never ends in the middle of a
//! line (so two streams written to one place never tear each other's lines), and a line longer
//! than the bound is passed on in pieces, so memory stays bounded whatever the child prints.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes read at a time; also the longest piece of a line held while waiting for its end.
pub const CHUNK: usize = 64 * 1024;

/// A stream's bytes cut into whole lines.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Add `bytes`; the whole lines now complete (or a piece of `CHUNK` bytes or more of one
    /// line with no end yet), if any.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.pending.extend_from_slice(bytes);
        let cut = match self.pending.iter().rposition(|b| *b == b'\n') {
            Some(last_newline) => last_newline + 1,
            None if self.pending.len() >= CHUNK => self.pending.len(),
            None => return None,
        };
        Some(self.pending.drain(..cut).collect())
    }

    /// The unfinished last line, if any.
    pub fn rest(&mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

/// Read `reader` to its end: `on_read` is told how many bytes each read brought, `on_lines`
/// gets whole lines as they complete. Returns the unfinished last line (empty when the output
/// ended with a newline).
pub async fn pump(mut reader: impl AsyncRead + Unpin, mut on_read: impl FnMut(usize), mut on_lines: impl FnMut(&[u8])) -> Vec<u8> {
    let mut buffer = vec![0u8; CHUNK];
    let mut lines = Lines::default();
    loop {
        let read = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        on_read(read);
        if let Some(complete) = lines.push(&buffer[..read]) {
            on_lines(&complete);
        }
    }
    lines.rest().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_for_their_end_unless_too_long() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(b"a\nb"), Some(b"a\n".to_vec()));
        assert_eq!(lines.push(b"c"), None);
        assert_eq!(lines.push(b"\nd\ne"), Some(b"bc\nd\n".to_vec()));
        assert_eq!(lines.rest(), Some(b"e".to_vec()));
        assert_eq!(lines.rest(), None);
        let long = vec![b'x'; CHUNK];
        assert_eq!(lines.push(&long).map(|piece| piece.len()), Some(CHUNK));
    }

    #[tokio::test]
    async fn pump_hands_on_whole_lines_and_returns_the_rest() {
        let input: &[u8] = b"one\ntwo\nthree";
        let (mut read, mut seen) = (0, Vec::new());
        let rest = pump(input, |n| read += n, |lines| seen.extend_from_slice(lines)).await;
        assert_eq!((read, seen, rest), (13, b"one\ntwo\n".to_vec(), b"three".to_vec()));
    }
}
