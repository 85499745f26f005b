//! `night lsp`: the language server. It renders what the library already knows: the checker's
//! diagnostics, the keyword docs of [`crate::keywords`], `night fmt`, and `prompt file` paths.
//!
//! Built on `tower-lsp-server`, the maintained community fork of tower-lsp: it runs on the
//! tokio runtime night already uses, and gives typed, async handlers with cancellation.

mod completion;
mod position;

pub use completion::{cursor, offers, word_at, Cursor, Offer, Token};
pub use position::LineIndex;

use crate::checklist::{check, CHECKLIST};
use crate::diagnostic::{self, Code, Severity};
use crate::keywords;
use crate::source::Source;
use crate::syntax::{self, ArgumentKind, Statement};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, CompletionParams, CompletionResponse, Diagnostic,
    DiagnosticRelatedInformation, DiagnosticSeverity, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams, DocumentFormattingParams,
    Documentation, GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents, HoverParams, HoverProviderCapability,
    InitializeParams, InitializeResult, Location, MarkupContent, MarkupKind, NumberOrString, OneOf, Position, Range,
    SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Uri,
};
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

/// How long typing must pause before the file is checked again.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Serve over standard input and output until the client exits; returns the exit code.
pub fn serve_stdio() -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the language server: {error}");
            return 2;
        }
    };
    runtime.block_on(async {
        let (service, socket) = LspService::new(Backend::new);
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket).serve(service).await;
    });
    0
}

/// An open document.
#[derive(Debug, Clone)]
struct Document {
    uri: Uri,
    text: String,
    version: Option<i32>,
    /// Bumped on every change; a check publishes only if it is still current.
    generation: u64,
}

/// The server's state: the open documents, by URI.
#[derive(Debug)]
struct Backend {
    client: Client,
    documents: Arc<Mutex<HashMap<String, Document>>>,
}

impl Backend {
    fn new(client: Client) -> Self {
        Self { client, documents: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn document(&self, uri: &Uri) -> Option<Document> {
        self.documents.lock().ok()?.get(uri.as_str()).cloned()
    }

    /// Store the new text and return its generation.
    fn update(&self, uri: Uri, text: String, version: Option<i32>) -> u64 {
        let Ok(mut documents) = self.documents.lock() else { return 0 };
        let generation = documents.get(uri.as_str()).map_or(0, |d| d.generation + 1);
        documents.insert(uri.as_str().to_string(), Document { uri, text, version, generation });
        generation
    }

    /// Check the document (after `delay`) and publish, unless it changed meanwhile.
    fn schedule_check(&self, uri: &Uri, generation: u64, delay: Duration) {
        let client = self.client.clone();
        let documents = Arc::clone(&self.documents);
        let key = uri.as_str().to_string();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let current = |documents: &Mutex<HashMap<String, Document>>| {
                documents.lock().ok().and_then(|d| d.get(&key).cloned()).filter(|d| d.generation == generation)
            };
            let Some(document) = current(&documents) else { return };
            // The checker reads files and asks git: keep it off the async workers.
            let uri = document.uri.clone();
            let text = document.text.clone();
            let Ok(diagnostics) = tokio::task::spawn_blocking(move || diagnostics(&uri, &text)).await else { return };
            if current(&documents).is_some() {
                client.publish_diagnostics(document.uri, diagnostics, document.version).await;
            }
        });
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::FULL),
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(true) })),
                    ..TextDocumentSyncOptions::default()
                })),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![" ".to_string(), "{".to_string()]),
                    ..CompletionOptions::default()
                }),
                document_formatting_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo { name: "night".to_string(), version: Some(env!("CARGO_PKG_VERSION").to_string()) }),
            ..InitializeResult::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let generation = self.update(document.uri.clone(), document.text, Some(document.version));
        self.schedule_check(&document.uri, generation, Duration::ZERO);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().last() else { return };
        let uri = params.text_document.uri;
        let generation = self.update(uri.clone(), change.text, Some(params.text_document.version));
        self.schedule_check(&uri, generation, DEBOUNCE);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(document) = self.document(&uri) else { return };
        let text = params.text.unwrap_or(document.text);
        let generation = self.update(uri.clone(), text, document.version);
        self.schedule_check(&uri, generation, Duration::ZERO);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut documents) = self.documents.lock() {
            documents.remove(uri.as_str());
        }
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn did_change_watched_files(&self, _: DidChangeWatchedFilesParams) {
        // A prompt file or the repository changed: what the checker says may have changed too.
        let open: Vec<Document> = self.documents.lock().map(|d| d.values().cloned().collect()).unwrap_or_default();
        for document in open {
            let generation = self.update(document.uri.clone(), document.text, document.version);
            self.schedule_check(&document.uri, generation, DEBOUNCE);
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let position = params.text_document_position_params;
        let Some(document) = self.document(&position.text_document.uri) else { return Ok(None) };
        Ok(hover(&document.text, position.position))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let position = params.text_document_position;
        let Some(document) = self.document(&position.text_document.uri) else { return Ok(None) };
        Ok(completion(&document.text, position.position).map(CompletionResponse::Array))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(document) = self.document(&params.text_document.uri) else { return Ok(None) };
        Ok(formatting(&document.text))
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let position = params.text_document_position_params;
        let Some(document) = self.document(&position.text_document.uri) else { return Ok(None) };
        let Some(dir) = document_path(&document.uri).parent().map(Path::to_path_buf) else { return Ok(None) };
        Ok(definition(&document.text, position.position, &dir).map(GotoDefinitionResponse::Scalar))
    }
}

// ------------------------------------------------------------- features --
// Plain functions of the text, so they are tested without a client.

/// The file a document stands for: its path for `file:` URIs; otherwise (an unsaved buffer) a
/// name in the current folder, so the checker still finds a repository around it.
pub fn document_path(uri: &Uri) -> PathBuf {
    let file = uri.as_str().starts_with("file:").then(|| uri.to_file_path().map(std::borrow::Cow::into_owned)).flatten();
    file.unwrap_or_else(|| {
        let name = uri.as_str().rsplit(['/', ':']).next().filter(|n| !n.is_empty()).unwrap_or("untitled.night");
        std::env::current_dir().unwrap_or_default().join(name)
    })
}

/// The checker's diagnostics for a document's current text, as LSP diagnostics.
pub fn diagnostics(uri: &Uri, text: &str) -> Vec<Diagnostic> {
    let source = Source::new(document_path(uri), text);
    let env = |name: &str| std::env::var(name).ok();
    let outcome = check(&source, &env);
    let index = LineIndex::new(text);
    outcome.diagnostics.iter().map(|d| to_lsp(d, &index, uri)).collect()
}

/// One diagnostic: the message as `night check` prints it, the help on the next line, and the
/// labels as related information (the first one is where the range points).
pub fn to_lsp(diagnostic: &diagnostic::Diagnostic, index: &LineIndex<'_>, uri: &Uri) -> Diagnostic {
    let range = diagnostic.span().map_or_else(|| Range::new(Position::new(0, 0), Position::new(0, 0)), |span| index.range(span));
    let message = match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .labels
        .iter()
        .filter(|label| !label.text.is_empty())
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), index.range(label.span)),
            message: label.text.clone(),
        })
        .collect();
    Diagnostic {
        range,
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.name().to_string())),
        source: Some("night".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}

/// The doc of the keyword (or rule code after `waive`) under the cursor.
pub fn hover(text: &str, position: Position) -> Option<Hover> {
    let index = LineIndex::new(text);
    let (word, start, end) = word_at(text, index.offset(position))?;
    let value = if word.starts_with("env.") {
        keywords::lookup("env")?.markdown()
    } else if let Some(keyword) = keywords::lookup(&word) {
        keyword.markdown()
    } else {
        rule_markdown(Code::from_name(&word).filter(|code| code.is_checklist_rule())?)
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(index.range(crate::source::Span::new(start, end))),
    })
}

fn rule_markdown(code: Code) -> String {
    let title = CHECKLIST.iter().find(|(c, _)| *c == code).map_or("", |(_, title)| title);
    format!("**`{}`** — checklist rule of `night check`\n\nChecks that {title}. `waive {} \"reason\"` silences it; the morning report repeats the reason.", code.name(), code.name())
}

/// The keywords valid at the cursor, with their docs.
pub fn completion(text: &str, position: Position) -> Option<Vec<CompletionItem>> {
    let index = LineIndex::new(text);
    let cursor = cursor(text, index.offset(position))?;
    let items = offers(&cursor)
        .into_iter()
        .map(|offer| {
            let (label, kind) = match offer {
                Offer::Statement(word) => (word.to_string(), CompletionItemKind::KEYWORD),
                Offer::Value(word) => (word.to_string(), CompletionItemKind::ENUM_MEMBER),
                Offer::Rule(code) => {
                    return CompletionItem {
                        label: code.name().to_string(),
                        kind: Some(CompletionItemKind::CONSTANT),
                        detail: CHECKLIST.iter().find(|(c, _)| *c == code).map(|(_, title)| (*title).to_string()),
                        documentation: Some(markdown(rule_markdown(code))),
                        ..CompletionItem::default()
                    };
                }
            };
            let keyword = keywords::lookup(&label);
            CompletionItem {
                detail: keyword.map(|k| k.place.to_string()),
                documentation: keyword.map(|k| markdown(k.markdown())),
                label,
                kind: Some(kind),
                ..CompletionItem::default()
            }
        })
        .collect();
    Some(items)
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value })
}

/// `night fmt` as one edit over the whole document; none when it is formatted or does not parse.
pub fn formatting(text: &str) -> Option<Vec<TextEdit>> {
    let formatted = crate::fmt::format(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let index = LineIndex::new(text);
    Some(vec![TextEdit::new(Range::new(Position::new(0, 0), index.end()), formatted)])
}

/// The file named by the `prompt file "…"` string under the cursor, relative to `dir`.
pub fn definition(text: &str, position: Position, dir: &Path) -> Option<Location> {
    let offset = LineIndex::new(text).offset(position);
    let path = prompt_file_at(text, offset)?;
    let target = dir.join(path);
    target.is_file().then_some(())?;
    let uri = Uri::from_file_path(&target)?;
    Some(Location::new(uri, Range::new(Position::new(0, 0), Position::new(0, 0))))
}

/// The path of a `prompt file` statement whose string holds `offset`.
fn prompt_file_at(text: &str, offset: usize) -> Option<String> {
    fn find(statements: &[Statement], offset: usize) -> Option<String> {
        for statement in statements {
            if let Some(block) = &statement.block {
                if let Some(found) = find(&block.value, offset) {
                    return Some(found);
                }
            }
            if let [file, path] = statement.arguments.as_slice() {
                let is_file = matches!(&file.kind, ArgumentKind::Word(w) if w == "file");
                if statement.head.value == "prompt" && is_file && path.span.start <= offset && offset <= path.span.end {
                    if let ArgumentKind::String(value) = &path.kind {
                        return Some(value.clone());
                    }
                }
            }
        }
        None
    }
    match syntax::parse_statements(text) {
        Ok((statements, _)) => find(&statements, offset),
        // Elsewhere a syntax error: read the cursor's line on its own.
        Err(_) => {
            let start = text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
            let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let (statements, _) = syntax::parse_statements(&text[start..end]).ok()?;
            find(&statements, offset - start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hover_on_a_keyword_and_a_rule_code() {
        let text = "limits {\n  timeout 7h\n}\nwaive no-rollback \"x\"\n";
        let hover = hover(text, Position::new(1, 4)).expect("a hover");
        let HoverContents::Markup(markup) = hover.contents else { panic!("markdown") };
        assert!(markup.value.contains("Wall-clock limit"), "{}", markup.value);
        assert_eq!(hover.range, Some(Range::new(Position::new(1, 2), Position::new(1, 9))));
        let rule = super::hover(text, Position::new(3, 8)).expect("a hover");
        let HoverContents::Markup(markup) = rule.contents else { panic!("markdown") };
        assert!(markup.value.contains("cascading errors are undone"), "{}", markup.value);
        assert!(super::hover(text, Position::new(1, 10)).is_none());
    }

    #[test]
    fn hover_on_the_delivery_words() {
        let text = "deliver {\n  pull-request github \"a/b\" token env.T on rolled-back\n}\n";
        let at = |line: u32, character: u32| {
            let hover = hover(text, Position::new(line, character)).expect("a hover");
            let HoverContents::Markup(markup) = hover.contents else { panic!("markdown") };
            markup.value
        };
        assert!(at(1, 6).starts_with("**`pull-request`**"), "{}", at(1, 6));
        assert!(at(1, 18).contains("GitHub Enterprise"), "{}", at(1, 18));
        assert!(at(1, 32).contains("always `env.NAME`"), "{}", at(1, 32));
        assert!(at(1, 52).contains("rolled back"), "{}", at(1, 52));
        let rule = super::hover("waive push-target-unsafe \"x\"\n", Position::new(0, 10)).expect("a hover");
        let HoverContents::Markup(markup) = rule.contents else { panic!("markdown") };
        assert!(markup.value.contains("the delivery pushes only the run branch"), "{}", markup.value);
    }

    #[test]
    fn prompt_file_under_the_cursor() {
        let text = "task {\n  prompt file \"task.md\"\n}\n";
        let inside = text.find("task.md").expect("found") + 2;
        assert_eq!(prompt_file_at(text, inside).as_deref(), Some("task.md"));
        assert_eq!(prompt_file_at(text, 3), None);
        let broken = "task {\n  prompt file \"task.md\"\n";
        assert_eq!(prompt_file_at(broken, inside).as_deref(), Some("task.md"));
    }

    #[test]
    fn formatting_is_one_whole_document_edit() {
        let edits = formatting("limits { timeout 1h }").expect("parses");
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].range.end, Position::new(0, 21));
        assert_eq!(formatting("limits {\n  timeout 1h\n}\n"), Some(Vec::new()));
        assert_eq!(formatting("limits {"), None);
    }
}
