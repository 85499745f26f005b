//! Byte offsets ↔ LSP positions. LSP counts columns in UTF-16 code units, night's spans are
//! byte ranges in UTF-8: every conversion goes through here.

use crate::source::Span;
use tower_lsp_server::ls_types::{Position, Range};

/// The line starts of one text, for converting in both directions.
#[derive(Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Index `text`; `\n`, `\r\n` and a lone `\r` end a line, as LSP says.
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
        }
        Self { text, starts }
    }

    /// The position of a byte offset (clamped to the text, floored to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= offset) - 1;
        let column: usize = self.text[self.starts[line]..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(column))
    }

    /// The byte offset of a position; a column past the end of its line means the line's end.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return self.text.len() };
        let end = self.line_end(position.line as usize);
        let mut units = 0;
        for (i, c) in self.text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The range of a byte span.
    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The position just past the last character.
    pub fn end(&self) -> Position {
        self.position(self.text.len())
    }

    /// The offset where a line's text ends (before its line break).
    fn line_end(&self, line: usize) -> usize {
        let next = self.starts.get(line + 1).copied().unwrap_or(self.text.len());
        let content = &self.text[self.starts[line]..next];
        self.starts[line] + content.trim_end_matches(['\n', '\r']).len()
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units_on_a_non_ascii_line() {
        // `é` is 2 bytes and 1 unit; `🌙` is 4 bytes and 2 units.
        let text = "name \"x\"\r\nprompt \"é🌙\" # ok\nlast";
        let index = LineIndex::new(text);
        let hash = text.find('#').expect("a #");
        assert_eq!(index.position(hash), Position::new(1, 13));
        assert_eq!(index.offset(Position::new(1, 13)), hash);
        let moon = text.find('🌙').expect("a moon");
        assert_eq!(index.position(moon), Position::new(1, 9));
        assert_eq!(index.position(moon + 4), Position::new(1, 11));
        // Inside the surrogate pair, or inside the UTF-8 bytes: the character's start.
        assert_eq!(index.position(moon + 2), Position::new(1, 9));
        assert_eq!(index.offset(Position::new(2, 99)), text.len());
        assert_eq!(index.offset(Position::new(0, 99)), text.find('\r').expect("cr"));
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.end(), Position::new(2, 4));
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        let index = LineIndex::new("a\rb");
        assert_eq!(index.position(2), Position::new(1, 0));
    }
}
