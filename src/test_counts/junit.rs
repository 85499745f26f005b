//! `JUnit` XML reports written by the test command, found by a glob relative to the repository root.

use super::{CountError, Outcome, TestCase, TestCounts, TestRun};
use globset::{GlobBuilder, GlobMatcher};
use roxmltree::Node;
use std::path::{Path, PathBuf};

/// Sums every report matching `glob`; finding none is an error, since then nothing ran.
pub(super) fn count(glob: &str, repo_root: &Path) -> Result<TestRun, CountError> {
    // `*` stays within one directory, as in a shell; `**` crosses directories.
    let matcher = GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| CountError::BadGlob {
            glob: glob.to_string(),
            kind: e.kind().clone(),
        })?;
    let mut reports = Vec::new();
    let start = repo_root.join(literal_prefix(glob));
    if start.is_file() {
        if matches(&start, repo_root, &matcher) {
            reports.push(start);
        }
    } else if start.is_dir() {
        // The start may itself be a symlink (a `reports` link into a build dir); follow it.
        walk_dir(&start, repo_root, &matcher, &mut reports);
    }
    if reports.is_empty() {
        return Err(CountError::NoReports {
            glob: glob.to_string(),
        });
    }
    reports.sort();
    let mut run = TestRun {
        tests: Some(Vec::new()),
        ..TestRun::default()
    };
    for path in reports {
        let xml = std::fs::read_to_string(&path).map_err(|source| CountError::ReadReport {
            path: path.clone(),
            source,
        })?;
        run.merge(parse(&xml).map_err(|problem| CountError::BadReport { path, problem })?);
    }
    Ok(run)
}

/// The directories before the first glob character: the walk starts there, not at the root,
/// so `target/nextest/ci/*.xml` does not read the whole repository.
fn literal_prefix(glob: &str) -> PathBuf {
    glob.split('/')
        .take_while(|part| !part.contains(['*', '?', '[', '{', '\\']))
        .collect()
}

/// Collects the files under `dir` whose path relative to `root` matches. Skips `.git` and
/// does not descend into symlinked directories, so a link cycle cannot make the walk endless.
fn walk_dir(dir: &Path, root: &Path, matcher: &GlobMatcher, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && entry.file_name() != ".git" {
            walk_dir(&path, root, matcher, found);
        } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
            && matches(&path, root, matcher)
        {
            found.push(path);
        }
    }
}

/// Matches the path relative to `root`, as the glob is written; an absolute glob matches
/// the whole path.
fn matches(path: &Path, root: &Path, matcher: &GlobMatcher) -> bool {
    match path.strip_prefix(root) {
        Ok(relative) => matcher.is_match(relative) || matcher.is_match(path),
        Err(_) => matcher.is_match(path),
    }
}

/// Why a file matched by the glob is not a `JUnit` report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportProblem {
    /// It is not well-formed XML.
    #[error("{0}")]
    NotXml(#[from] roxmltree::Error),
    /// Its root element is another one.
    #[error("the root element is `<{0}>`, not `<testsuites>`")]
    WrongRoot(String),
}

/// Whether `node` is the element `name`, in whatever namespace.
fn is(node: &Node, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name
}

/// Counts one report's `<testcase>` elements: `<failure>` or `<error>` fails one, `<skipped>`
/// skips it. Retried passes (`<flakyFailure>`, `<rerunFailure>`) still passed. Each is named
/// `classname::name` (`name` alone when it has no class).
fn parse(xml: &str) -> Result<TestRun, ReportProblem> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    if !is(&root, "testsuites") && !is(&root, "testsuite") {
        return Err(ReportProblem::WrongRoot(root.tag_name().name().to_string()));
    }
    let mut counts = TestCounts::default();
    let mut cases = 0u64;
    let mut tests = Vec::new();
    for case in root.descendants().filter(|n| is(n, "testcase")) {
        cases += 1;
        let has = |name: &str| case.children().any(|c| is(&c, name));
        let (slot, outcome) = if has("failure") || has("error") {
            (&mut counts.failed, Outcome::Failed)
        } else if has("skipped") {
            (&mut counts.skipped, Outcome::Skipped)
        } else {
            (&mut counts.passed, Outcome::Passed)
        };
        *slot = slot.saturating_add(1);
        let name = case.attribute("name").unwrap_or_default();
        let name = match case.attribute("classname").filter(|c| !c.is_empty()) {
            Some(class) => format!("{class}::{name}"),
            None => name.to_string(),
        };
        tests.push(TestCase::new(name, outcome));
    }
    if cases == 0 {
        // Some tools write only totals; read the root element's.
        let attr = |name: &str| {
            root.attribute(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let failed = attr("failures").saturating_add(attr("errors"));
        let skipped = attr("skipped").saturating_add(attr("disabled"));
        counts = TestCounts {
            passed: attr("tests").saturating_sub(failed).saturating_sub(skipped),
            failed,
            skipped,
        };
    }
    Ok(TestRun {
        counts,
        partial: None,
        tests: Some(tests),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create fixture dir");
        }
        std::fs::write(path, text).expect("write fixture");
    }

    #[test]
    fn glob_reads_and_sums_multiple_reports() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "reports/py/pytest.xml",
            include_str!("../../tests/fixtures/test-output/junit/pytest.xml"),
        );
        write(
            dir.path(),
            "reports/js/vitest.xml",
            include_str!("../../tests/fixtures/test-output/junit/vitest.xml"),
        );
        write(dir.path(), "reports/notes.txt", "not xml");
        write(
            dir.path(),
            "elsewhere/other.xml",
            include_str!("../../tests/fixtures/test-output/junit/vitest.xml"),
        );
        let counts = count("reports/**/*.xml", dir.path())
            .expect("reports found")
            .counts;
        // pytest 5/3/2 plus vitest 2/2/2.
        assert_eq!(
            counts,
            TestCounts {
                passed: 7,
                failed: 5,
                skipped: 4
            }
        );
        // `*` does not cross directories.
        assert!(matches!(
            count("reports/*.xml", dir.path()),
            Err(CountError::NoReports { .. })
        ));
    }

    #[test]
    fn bad_glob_and_bad_xml_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            count("reports/[.xml", dir.path()),
            Err(CountError::BadGlob { .. })
        ));
        write(dir.path(), "r/broken.xml", "<testsuite><testcase>");
        assert!(matches!(
            count("r/*.xml", dir.path()),
            Err(CountError::BadReport { .. })
        ));
        write(dir.path(), "s/page.xml", "<html/>");
        assert!(matches!(
            count("s/*.xml", dir.path()),
            Err(CountError::BadReport { .. })
        ));
    }

    #[test]
    fn testcases_are_named_by_class() {
        let xml = r#"<testsuites><testsuite><testcase classname="tests.test_a.T" name="test_x"/><testcase name="bare"><skipped/></testcase></testsuite></testsuites>"#;
        let tests = parse(xml)
            .map(|r| r.tests.unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(
            tests,
            vec![
                TestCase::new("tests.test_a.T::test_x", Outcome::Passed),
                TestCase::new("bare", Outcome::Skipped)
            ]
        );
    }

    #[test]
    fn totals_only_report() {
        let xml = r#"<testsuite tests="5" failures="1" errors="1" skipped="1"/>"#;
        assert_eq!(
            parse(xml).map(|r| r.counts),
            Ok(TestCounts {
                passed: 2,
                failed: 2,
                skipped: 1
            })
        );
    }
}
