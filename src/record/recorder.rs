//! Recording a run as it happens: every event is appended to the journal and folded into the
//! history in one call, so that the history a supervisor decides from is, line for line, the
//! one a resumed supervisor would read back (secrets scrubbed alike).

use crate::record::event::{Entry, Event};
use crate::record::history::History;
use crate::record::journal::Journal;

/// A journal and the history of what was written to it.
pub struct Recorder {
    journal: Journal,
    history: History,
}

impl Recorder {
    /// Record into `journal`, whose entries so far fold to `history`.
    pub fn new(journal: Journal, history: History) -> Self {
        Self { journal, history }
    }

    /// Append `event`, stamped now, and fold it in.
    pub fn record(&mut self, event: Event) {
        let written = self.journal.append(&Entry::now(event));
        self.history.apply(&written);
    }

    /// The history of everything recorded. Events other tasks append to the journal directly
    /// (heartbeats, notification results) decide nothing and are not in it.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The journal, for tasks that append on their own.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}
