//! `night lsp` driven over stdio by a small JSON-RPC client, as an editor drives it: the real
//! binary, Content-Length framing, a temporary git repository for the checker to look at.

use serde_json::{json, Value};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A runbook that passes `night check` in the test repository.
const GOOD: &str = r#"name "fix"

task {
  prompt "Fix the failing parser tests in src/."
  agent claude
}

success {
  tests "cargo test --no-fail-fast" format cargo
}

permissions {
  write "src/**"
  deny irreversible
}

limits {
  timeout 6h
  session 2h
  attempts 5
  stuck 3
  idle 45m
  cost $10
}

rollback {
  when failing > baseline
}

notify {
  command "echo done" on end
}
"#;

/// A client speaking JSON-RPC to a `night lsp` child.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications read while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start(repo: &Repo) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_night"))
            .args(["lsp", "--stdio"])
            .current_dir(repo.path())
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", repo.bin.display()))
            .env("HOME", repo.path())
            // The agent-version cache, outside the repository (it would be uncommitted work).
            .env("XDG_CACHE_HOME", repo.path().join(".stub-bin/cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("night lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let message: Value = serde_json::from_slice(&body).expect("the body is JSON");
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        let mut client = Client { child, stdin, incoming, pending: Vec::new(), next_id: 1 };
        let result = client.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
        assert_eq!(result["serverInfo"]["name"], "night");
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn receive(&mut self, deadline: Instant) -> Value {
        match self.incoming.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in time; pending: {:?}", self.pending),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// Send a request and return its result, keeping notifications that arrive meanwhile.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.receive(deadline);
            if message["id"] == json!(id) && message.get("method").is_none() {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
            if message.get("id").is_some() && message.get("method").is_some() {
                // A request from the server (e.g. registering capabilities): answer it.
                let reply = json!({ "jsonrpc": "2.0", "id": message["id"], "result": null });
                self.send(&reply);
            } else {
                self.pending.push(message);
            }
        }
    }

    /// The next `publishDiagnostics` for `uri` that satisfies `accept`.
    fn diagnostics(&mut self, uri: &str, accept: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let found = self.pending.iter().position(|m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri && accept(&m["params"])
            });
            if let Some(index) = found {
                let message = self.pending.remove(index);
                return message["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
            let message = self.receive(deadline);
            self.pending.push(message);
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        let document = json!({ "uri": uri, "languageId": "night", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": document }));
    }

    fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "night lsp exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "night lsp did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A clean git repository with a stub `cargo` on PATH and a prompt file.
struct Repo {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            ("Cargo.toml", "[package]\nname = \"sample\"\n"),
            ("src/lib.rs", "pub fn f() {}\n"),
            ("task.md", "Fix the failing parser tests in src/.\n"),
            (".gitignore", ".stub-bin/\n"),
        ] {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        let bin = root.join(".stub-bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::write(bin.join("cargo"), "#!/bin/sh\nexit 0\n").expect("write");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["commit", "-q", "-m", "initial"]] {
            let status = Command::new("git")
                .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
                .args(args)
                .current_dir(root)
                .status()
                .expect("git runs");
            assert!(status.success());
        }
        Repo { dir, bin }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The URI of a runbook in the repository (the file itself need not exist).
    fn uri(&self, name: &str) -> String {
        format!("file://{}", self.path().canonicalize().expect("canonical").join(name).display())
    }
}

/// The UTF-16 column of byte `offset` on its line, computed independently of the server.
fn utf16_position(text: &str, offset: usize) -> (u64, u64) {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..offset].matches('\n').count();
    let column = text[line_start..offset].encode_utf16().count();
    (line as u64, column as u64)
}

fn range_of(text: &str, needle: &str) -> Value {
    let start = text.find(needle).unwrap_or_else(|| panic!("`{needle}` is in the text"));
    let (line, character) = utf16_position(text, start);
    let (end_line, end_character) = utf16_position(text, start + needle.len());
    json!({ "start": { "line": line, "character": character }, "end": { "line": end_line, "character": end_character } })
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics.iter().map(|d| d["code"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn diagnostics_on_open_and_cleared_on_change() {
    let repo = Repo::new();
    let mut client = Client::start(&repo);
    let uri = repo.uri("fix.night");
    // A non-ASCII line before the mistakes: ranges are in UTF-16 units, not bytes or chars.
    let bad = GOOD
        .replace("prompt \"Fix the failing parser tests in src/.\"", "prompt \"Fix 🌙 the naïve failing parser tests.\"; modle \"x\"")
        .replace("attempts 5", "atempts 5")
        .replace("timeout 6h", "timeout 6")
        .replace("cargo test --no-fail-fast", "cargo test");
    client.open(&uri, &bad);
    let diagnostics = client.diagnostics(&uri, |_| true);
    let found = codes(&diagnostics);
    for code in ["unknown-statement", "bad-duration", "tests-stop-early"] {
        assert!(found.contains(&code.to_string()), "no `{code}` in {found:?}");
    }
    // One typo, one error: the misspelt `atempts` is not also a missing limit.
    assert!(!found.contains(&"no-stuck-limit".to_string()), "{found:?}");
    let attempts = diagnostics.iter().find(|d| d["message"].as_str().is_some_and(|m| m.contains("`atempts`"))).expect("atempts");
    assert_eq!(attempts["range"], range_of(&bad, "atempts"));
    assert_eq!(attempts["severity"], 1);
    assert_eq!(attempts["source"], "night");
    assert_eq!(attempts["message"], "unknown statement `atempts` in `limits`\nhelp: Did you mean `attempts`?");
    let modle = diagnostics.iter().find(|d| d["message"].as_str().is_some_and(|m| m.contains("`modle`"))).expect("modle");
    assert_eq!(modle["range"], range_of(&bad, "modle"), "the column after 🌙 and ï counts UTF-16 units");
    let stops = diagnostics.iter().find(|d| d["code"] == "tests-stop-early").expect("warning");
    assert_eq!(stops["severity"], 2);

    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": GOOD }] }),
    );
    let cleared = client.diagnostics(&uri, |params| params["version"] == 2);
    assert!(cleared.is_empty(), "still reported after the fix: {cleared:?}");
    client.shutdown();
}

#[test]
fn hover_completion_formatting_and_definition() {
    let repo = Repo::new();
    let mut client = Client::start(&repo);
    let uri = repo.uri("edit.night");
    let text = "limits {  }\ntask {\n  prompt file \"task.md\"\n}\nlimits2 { timeout 7h }\n";
    client.open(&uri, text);
    let at = |line: u64, character: u64| json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });

    let hover = client.request("textDocument/hover", at(4, 12));
    let doc = hover["contents"]["value"].as_str().expect("markdown");
    assert!(doc.contains("`timeout`") && doc.contains("Wall-clock limit"), "{doc}");

    let completion = client.request("textDocument/completion", at(0, 9));
    let labels: Vec<&str> = completion.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"attempts") && labels.contains(&"timeout"), "{labels:?}");
    assert!(!labels.contains(&"prompt") && !labels.contains(&"task"), "{labels:?}");

    let edits = client.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }));
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], night::fmt::format(text).expect("formats"));
    assert_eq!(edits[0]["range"]["end"], json!({ "line": 5, "character": 0 }));

    let definition = client.request("textDocument/definition", at(2, 17));
    let target = definition["uri"].as_str().expect("a location");
    assert!(target.starts_with("file://") && target.ends_with("/task.md"), "{definition}");
    assert_eq!(client.request("textDocument/definition", at(0, 2)), Value::Null);
    client.shutdown();
}

#[test]
fn formatting_a_syntax_error_changes_nothing_and_close_clears() {
    let repo = Repo::new();
    let mut client = Client::start(&repo);
    let uri = repo.uri("broken.night");
    client.open(&uri, "limits {\n");
    let diagnostics = client.diagnostics(&uri, |_| true);
    assert_eq!(codes(&diagnostics), ["syntax"]);
    let edits = client.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }));
    assert_eq!(edits, Value::Null);
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    assert!(client.diagnostics(&uri, |params| params["diagnostics"] == json!([])).is_empty());
    client.shutdown();
}
