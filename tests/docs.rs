//! The documentation keeps up with the code: a page for every diagnostic code, every
//! built-in irreversible pattern in docs/irreversible.md, every grammar keyword in
//! docs/language.md.

use night::diagnostic::Code;
use night::irreversible::BUILT_IN;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The contents of the fenced code blocks of a Markdown text, one string per block.
fn fenced_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// The text of inline code spans (`…`) outside fenced blocks.
fn inline_code(markdown: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Backtick runs of any length open and close a span (``a `b` c``).
        let mut rest = line;
        while let Some(open) = rest.find('`') {
            let ticks = rest[open..].chars().take_while(|c| *c == '`').count();
            let fence = "`".repeat(ticks);
            let after = &rest[open + ticks..];
            let Some(close) = after.find(&fence) else {
                break;
            };
            spans.push(after[..close].to_string());
            rest = &after[close + ticks..];
        }
    }
    spans
}

/// Every word (`[A-Za-z0-9_-]+`) written as code: in fenced blocks or inline code spans.
fn code_words(markdown: &str) -> BTreeSet<String> {
    fenced_blocks(markdown)
        .into_iter()
        .chain(inline_code(markdown))
        .flat_map(|text| {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .filter(|word| !word.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The quoted strings of the `keyword = { … }` rule of grammar/night.pest.
fn grammar_keywords() -> Vec<String> {
    let grammar = read(&root().join("grammar/night.pest"));
    let start = grammar
        .find("\nkeyword = {")
        .expect("grammar/night.pest has a `keyword` rule");
    let rule = &grammar[start..];
    let body = &rule[..rule.find("\n}").expect("the `keyword` rule is closed")];
    let mut keywords = Vec::new();
    for line in body.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut parts = code.split('"');
        parts.next();
        while let (Some(word), Some(_)) = (parts.next(), parts.next()) {
            keywords.push(word.to_string());
        }
    }
    assert!(
        keywords.len() > 50,
        "expected the whole keyword list, found {keywords:?}"
    );
    keywords
}

#[test]
fn every_code_has_a_page_with_an_example() {
    let dir = root().join("docs/codes");
    let mut problems = Vec::new();
    for code in Code::ALL {
        let name = code.name();
        let path = dir.join(format!("{name}.md"));
        let Ok(page) = fs::read_to_string(&path) else {
            problems.push(format!("{name}: no page docs/codes/{name}.md"));
            continue;
        };
        let title = format!("# `{name}`");
        if page.lines().next().map(str::trim) != Some(title.as_str()) {
            problems.push(format!(
                "{name}: the page does not start with the title \"# `{name}`\""
            ));
        }
        if !fenced_blocks(&page)
            .iter()
            .any(|block| !block.trim().is_empty())
        {
            problems.push(format!("{name}: the page has no example code block"));
        }
        let waivable = page.contains(&format!("waive {name} \""));
        if code.is_checklist_rule() && !waivable {
            problems.push(format!(
                "{name}: a checklist rule's page should show `waive {name} \"…\"`"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/codes is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_code_index_lists_every_code_and_no_page_is_stale() {
    let dir = root().join("docs/codes");
    let index = read(&dir.join("README.md"));
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.name())
        .filter(|name| !index.contains(&format!("]({name}.md)")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/codes/README.md does not link: {missing:?}"
    );
    let stale: Vec<String> = fs::read_dir(&dir)
        .expect("docs/codes")
        .filter_map(|entry| entry.ok()?.path().file_stem()?.to_str().map(str::to_string))
        .filter(|stem| stem != "README" && Code::from_name(stem).is_none())
        .collect();
    assert!(
        stale.is_empty(),
        "pages for codes that do not exist: {stale:?}"
    );
}

#[test]
fn irreversible_page_lists_every_built_in_pattern() {
    let page = read(&root().join("docs/irreversible.md"));
    let missing: Vec<String> = BUILT_IN
        .iter()
        .filter(|rule| {
            !page.contains(&format!("`{}`", rule.pattern))
                || !page.contains(&format!("`{}`", rule.example))
        })
        .map(|rule| {
            format!(
                "{} ({}; e.g. {})",
                rule.pattern, rule.category, rule.example
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/irreversible.md misses built-in patterns:\n{}",
        missing.join("\n")
    );
    let categories: BTreeSet<&str> = BUILT_IN.iter().map(|rule| rule.category).collect();
    for category in categories {
        assert!(
            page.contains(&format!("### {category}")),
            "docs/irreversible.md has no section `### {category}`"
        );
    }
}

#[test]
fn language_guide_shows_every_keyword() {
    let guide = read(&root().join("docs/language.md"));
    let words = code_words(&guide);
    let missing: Vec<String> = grammar_keywords()
        .into_iter()
        .filter(|keyword| !words.contains(keyword))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/language.md never shows these keywords as code: {missing:?}"
    );
}

#[test]
fn the_helpers_read_markdown_as_expected() {
    let text = "a `tests` b ``x `y` z``\n```night\nlimits { quota wait 5h }\n```\n";
    let words = code_words(text);
    for word in ["tests", "x", "y", "z", "limits", "quota", "wait", "5h"] {
        assert!(words.contains(word), "{word} in {words:?}");
    }
    assert!(!words.contains("a") && !words.contains("b"));
}
