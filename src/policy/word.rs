//! One word of a shell command, as written and as the program receives it: what
//! [`super::shell`] reads and [`super::wrappers`] looks through.

/// One word of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// As written, quotes included.
    pub raw: String,
    /// As the program receives it, when nothing in it is expanded at run time (quotes and
    /// escapes removed). A leading `~` is kept as written.
    pub value: Option<String>,
}

impl Word {
    /// A word whose value is known.
    pub fn literal(text: &str) -> Word {
        Word { raw: text.to_string(), value: Some(text.to_string()) }
    }

    /// The value when known, else the text as written.
    pub fn text(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.raw)
    }
}
