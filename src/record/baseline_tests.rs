//! `baseline-tests-<index>.jsonl`: the tests a `tests` check of the baseline ran, by name, one
//! `{"name":…,"outcome":…}` a line — what every attempt must keep running (lost tests, issue 13).
//!
//! They are kept beside the journal, not in it: a suite of 100 000 tests would make the
//! baseline's line megabytes long, read again by every `night status`, `night list` and report,
//! and held in every history. The journal's check record names the file and how many tests it
//! holds ([`NamesFile`]); the supervisor reads it when it judges an attempt, a resumed one too,
//! and lets it go after. Secrets are scrubbed from it as from the journal.
//!
//! Read as the journal is, trusting nothing: a file name that is not a plain name of the run
//! folder, a line that is not a test, or a count that differs from the journal's makes the
//! whole file unreadable (the attempt is then judged by counts, and a note says why); no number
//! in it sizes anything.

use crate::record::payloads::NamesFile;
use crate::record::RunDir;
use crate::secrets::Secrets;
use crate::test_counts::TestCase;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// Why the baseline's tests could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The journal names something other than a file of the run folder.
    #[error("`{0}` is not a file of the run folder")]
    NotInRunFolder(String),
    /// The file cannot be opened or read.
    #[error("cannot read `{file}`: {error}")]
    Io {
        /// Its name.
        file: String,
        /// The system's words.
        error: String,
    },
    /// A line is not a test.
    #[error("`{file}` line {line} is not a test: {error}")]
    Line {
        /// Its name.
        file: String,
        /// 1-based.
        line: usize,
        /// Why.
        error: String,
    },
    /// It holds another number of tests than the baseline measured.
    #[error("`{file}` holds {found} tests, the baseline measured {expected}")]
    Count {
        /// Its name.
        file: String,
        /// What the journal says.
        expected: u64,
        /// What the file holds.
        found: u64,
    },
}

/// Write check `index`'s tests into the run folder (to a temporary name, synced, then renamed,
/// so that a kill never leaves half a file under the real name), secrets scrubbed; what the
/// journal records of it.
///
/// # Errors
///
/// When the file cannot be written (a full disk): the caller keeps the names in the journal.
pub fn write(dir: &RunDir, index: usize, tests: &[TestCase], secrets: &Secrets) -> io::Result<NamesFile> {
    let path = dir.baseline_tests(index);
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = dir.path().join(format!(".{file}.partial"));
    let written = (|| {
        let mut out = BufWriter::new(File::create(&partial)?);
        for test in tests {
            let mut value = serde_json::to_value(test).map_err(io::Error::other)?;
            secrets.scrub_json(&mut value);
            serde_json::to_writer(&mut out, &value).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&partial, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|()| NamesFile { file, count: tests.len() as u64 })
}

/// The tests `names` holds, read from the run folder.
///
/// # Errors
///
/// When the file is not a plain file of the run folder, cannot be read, has a line that is not
/// a test, or holds another number of tests than the journal says.
pub fn read(dir: &RunDir, names: &NamesFile) -> Result<Vec<TestCase>, ReadError> {
    let plain = Path::new(&names.file).file_name().is_some_and(|n| n == names.file.as_str()) && !names.file.starts_with('.');
    if !plain {
        return Err(ReadError::NotInRunFolder(names.file.clone()));
    }
    let io = |e: io::Error| ReadError::Io { file: names.file.clone(), error: e.to_string() };
    let reader = BufReader::new(File::open(dir.path().join(&names.file)).map_err(io)?);
    let mut tests = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let test = serde_json::from_str::<TestCase>(&line).map_err(|e| ReadError::Line { file: names.file.clone(), line: number + 1, error: e.to_string() })?;
        tests.push(test);
    }
    let found = tests.len() as u64;
    if found != names.count {
        return Err(ReadError::Count { file: names.file.clone(), expected: names.count, found });
    }
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_counts::Outcome;

    #[test]
    fn written_and_read_back_whole_with_secrets_scrubbed() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = RunDir::new(temp.path());
        let tests: Vec<TestCase> = (0..100_000).map(|i| TestCase::new(format!("tests/test_big.py::test_{i}[hunter2]"), if i % 7 == 0 { Outcome::Failed } else { Outcome::Passed })).collect();
        let file = write(&dir, 3, &tests, &Secrets::new(&["hunter2"])).expect("write");
        assert_eq!(file, NamesFile { file: "baseline-tests-3.jsonl".into(), count: 100_000 });
        let text = std::fs::read_to_string(temp.path().join("baseline-tests-3.jsonl")).expect("file");
        assert!(!text.contains("hunter2"), "secrets are scrubbed as in the journal");
        assert!(!temp.path().join(".baseline-tests-3.jsonl.partial").exists());
        let read_back = read(&dir, &file).expect("read");
        assert_eq!(read_back.len(), 100_000);
        let scrubbed = Secrets::new(&["hunter2"]).scrub("tests/test_big.py::test_7[hunter2]").into_owned();
        assert_eq!(read_back[7], TestCase::new(scrubbed, Outcome::Failed));
    }

    #[test]
    fn anything_but_the_file_as_written_is_unreadable() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = RunDir::new(temp.path());
        let tests = vec![TestCase::new("a", Outcome::Passed), TestCase::new("b", Outcome::Failed)];
        let file = write(&dir, 0, &tests, &Secrets::default()).expect("write");
        assert_eq!(read(&dir, &file), Ok(tests));

        let outside = NamesFile { file: "../journal.jsonl".into(), count: 2 };
        assert_eq!(read(&dir, &outside), Err(ReadError::NotInRunFolder("../journal.jsonl".into())));
        let fewer = NamesFile { count: 3, ..file.clone() };
        assert!(matches!(read(&dir, &fewer), Err(ReadError::Count { expected: 3, found: 2, .. })));
        std::fs::write(temp.path().join("baseline-tests-0.jsonl"), "{\"name\":\"a\",\"outcome\":\"passed\"}\nnot json\n").expect("write");
        assert!(matches!(read(&dir, &file), Err(ReadError::Line { line: 2, .. })));
        std::fs::remove_file(temp.path().join("baseline-tests-0.jsonl")).expect("rm");
        assert!(matches!(read(&dir, &file), Err(ReadError::Io { .. })));
    }
}
