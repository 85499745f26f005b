//! A scripted model server for tests: an HTTP server on 127.0.0.1 that speaks enough of the
//! Anthropic Messages API for the real Claude Code CLI, answering each conversation turn from a
//! per-test script. Every request is logged so that tests can assert on what the CLI sent.
//!
//! Only `std` is used: one thread accepts, one thread per connection, HTTP/1.1 with keep-alive.
//! Requests to `/v1/messages` that carry tools (the agent loop) consume the script in order;
//! side requests without tools (titles, summaries, quota probes) get a short text answer and do
//! not consume it.

#![allow(dead_code)]

use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Token counts reported for one response.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Self { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
    }
}

/// One tool call in a turn.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ToolCall {
    /// The tool, e.g. `Bash`, `Edit`, `Write`.
    pub name: String,
    /// Its input object.
    pub input: Value,
}

/// One scripted answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Turn {
    /// The model calls tools (stop reason `tool_use`), with optional text before them.
    Tools {
        /// Text before the calls.
        #[serde(default)]
        text: Option<String>,
        /// The calls.
        calls: Vec<ToolCall>,
        /// Usage reported.
        #[serde(default)]
        usage: Usage,
    },
    /// The model answers with text and ends its turn.
    Text {
        /// The text.
        text: String,
        /// Usage reported.
        #[serde(default)]
        usage: Usage,
    },
    /// An HTTP error, e.g. a 429 rate or usage limit.
    Error {
        /// HTTP status.
        status: u16,
        /// The JSON body.
        body: Value,
        /// Extra response headers.
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// Wait this long (milliseconds) before answering with the next turn: the model is slow.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
}

/// A script of turns, consumed one per agent-loop request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Script {
    /// The turns, in order.
    pub turns: Vec<Turn>,
    /// What to answer once the script is used up (default: the text "Done.").
    #[serde(default)]
    pub then: Option<Box<Turn>>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a turn.
    pub fn turn(mut self, turn: Turn) -> Self {
        self.turns.push(turn);
        self
    }

    /// A turn calling one tool.
    pub fn tool(self, name: &str, input: Value) -> Self {
        self.turn(Turn::Tools {
            text: None,
            calls: vec![ToolCall { name: name.to_string(), input }],
            usage: Usage::default(),
        })
    }

    /// A turn running a shell command with the Bash tool.
    pub fn bash(self, command: &str) -> Self {
        self.tool("Bash", json!({ "command": command, "description": "run a command" }))
    }

    /// A turn editing a file with the Edit tool.
    pub fn edit(self, file_path: &str, old_string: &str, new_string: &str) -> Self {
        self.tool("Edit", json!({ "file_path": file_path, "old_string": old_string, "new_string": new_string }))
    }

    /// A turn writing a file with the Write tool.
    pub fn write(self, file_path: &str, content: &str) -> Self {
        self.tool("Write", json!({ "file_path": file_path, "content": content }))
    }

    /// A turn running a shell command with Codex's `exec_command` tool.
    pub fn exec(self, cmd: &str) -> Self {
        self.tool("exec_command", json!({ "cmd": cmd }))
    }

    /// A turn running a shell command with Gemini CLI's `run_shell_command` tool.
    pub fn shell(self, command: &str) -> Self {
        self.tool("run_shell_command", json!({ "command": command, "description": "run a command" }))
    }

    /// A turn reading a file with the Read tool.
    pub fn read(self, file_path: &str) -> Self {
        self.tool("Read", json!({ "file_path": file_path }))
    }

    /// A final text turn.
    pub fn text(self, text: &str) -> Self {
        self.turn(Turn::Text { text: text.to_string(), usage: Usage::default() })
    }

    /// Set the usage of the last turn.
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        if let Some(Turn::Tools { usage, .. } | Turn::Text { usage, .. }) = self.turns.last_mut() {
            usage.input_tokens = input_tokens;
            usage.output_tokens = output_tokens;
        }
        self
    }

    /// Repeat the last turn until there are `times` of it in a row.
    pub fn repeat(mut self, times: usize) -> Self {
        if let Some(last) = self.turns.last().cloned() {
            for _ in 1..times {
                self.turns.push(last.clone());
            }
        }
        self
    }

    /// An API-key rate limit: HTTP 429 `rate_limit_error`, not to be retried.
    pub fn rate_limit(self, message: &str) -> Self {
        self.turn(Turn::Error {
            status: 429,
            body: json!({ "type": "error", "error": { "type": "rate_limit_error", "message": message } }),
            headers: vec![("x-should-retry".into(), "false".into())],
        })
    }

    /// A subscription usage limit: HTTP 429 with the unified rate-limit headers saying
    /// `rejected` and the reset time (Unix seconds), as Claude Code sees on a Pro/Max plan.
    pub fn usage_limit(self, resets_at_unix: u64) -> Self {
        self.turn(Turn::Error {
            status: 429,
            body: json!({ "type": "error", "error": { "type": "rate_limit_error", "message": "Usage limit reached" } }),
            headers: vec![
                ("x-should-retry".into(), "false".into()),
                ("anthropic-ratelimit-unified-status".into(), "rejected".into()),
                ("anthropic-ratelimit-unified-reset".into(), resets_at_unix.to_string()),
                ("anthropic-ratelimit-unified-representative-claim".into(), "five_hour".into()),
            ],
        })
    }

    /// Put a turn at `index` (0-based), before the turn that was there.
    pub fn insert(mut self, index: usize, turn: Turn) -> Self {
        self.turns.insert(index.min(self.turns.len()), turn);
        self
    }

    /// What to answer once the script is used up.
    pub fn then(mut self, turn: Turn) -> Self {
        self.then = Some(Box::new(turn));
        self
    }
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// Whether it consumed a script turn, and which (0-based).
    pub turn: Option<usize>,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The `tool_result` blocks of the last user message, as (tool_use_id, is_error, text).
    pub fn tool_results(&self) -> Vec<(String, bool, String)> {
        let Some(last) = self.body["messages"].as_array().and_then(|messages| messages.last()) else {
            return Vec::new();
        };
        let Some(blocks) = last["content"].as_array() else { return Vec::new() };
        blocks
            .iter()
            .filter(|block| block["type"] == "tool_result")
            .map(|block| {
                let text = match &block["content"] {
                    Value::String(text) => text.clone(),
                    Value::Array(parts) => parts.iter().filter_map(|part| part["text"].as_str()).collect::<Vec<_>>().join("\n"),
                    _ => String::new(),
                };
                (
                    block["tool_use_id"].as_str().unwrap_or_default().to_string(),
                    block["is_error"].as_bool().unwrap_or(false),
                    text,
                )
            })
            .collect()
    }
}

struct State {
    script: Script,
    next: usize,
    log: Vec<Request>,
}

/// A running scripted model server; it stops when dropped.
pub struct ModelServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

static IDS: AtomicU64 = AtomicU64::new(1);

impl ModelServer {
    /// Start a server on a random port of 127.0.0.1 answering from `script`.
    pub fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State { script, next: 0, log: Vec::new() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_state, accept_stop) = (Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&accept_state);
                thread::spawn(move || serve_connection(stream, &state));
            }
        });
        Self { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the script (for tests that learn paths only after the server started) and
    /// start it from its first turn.
    pub fn set_script(&self, script: Script) {
        let mut state = self.lock();
        state.script = script;
        state.next = 0;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// The requests that consumed a script turn.
    pub fn turn_requests(&self) -> Vec<Request> {
        self.lock().log.iter().filter(|request| request.turn.is_some()).cloned().collect()
    }

    /// How many script turns were consumed.
    pub fn turns_used(&self) -> usize {
        self.lock().next
    }

    /// The environment that points Claude Code at this server with no real config or network.
    pub fn claude_env(&self, home: &std::path::Path) -> Vec<(String, String)> {
        vec![
            ("ANTHROPIC_BASE_URL".into(), self.url()),
            ("ANTHROPIC_API_KEY".into(), "sk-ant-test-dummy".into()),
            ("HOME".into(), home.display().to_string()),
            ("XDG_CONFIG_HOME".into(), home.join(".config").display().to_string()),
            ("CLAUDE_CONFIG_DIR".into(), home.join(".claude").display().to_string()),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            ("DISABLE_TELEMETRY".into(), "1".into()),
            ("DISABLE_ERROR_REPORTING".into(), "1".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(), "1".into()),
            ("CLAUDE_CODE_MAX_RETRIES".into(), "0".into()),
            ("CLAUDE_CODE_DISABLE_TERMINAL_TITLE".into(), "1".into()),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_connection(stream: TcpStream, state: &Arc<Mutex<State>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    while let Some(request) = read_request(&mut reader) {
        let keep_alive = !request.headers.iter().any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"));
        let response = answer(request, state);
        if writer.write_all(&response).is_err() || writer.flush().is_err() || !keep_alive {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let find = |name: &str| headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let mut body = Vec::new();
    if let Some(length) = find("content-length").and_then(|length| length.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    } else if find("transfer-encoding").is_some_and(|encoding| encoding.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let body = if find("content-encoding").is_some() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    Some(Request { method, path, headers, body, turn: None })
}

fn answer(mut request: Request, state: &Arc<Mutex<State>>) -> Vec<u8> {
    let path = request.path.split('?').next().unwrap_or_default().to_string();
    let is_turn = request.method == "POST"
        && (((path == "/v1/messages" || path == "/v1/responses" || path.ends_with(":streamGenerateContent") || path.ends_with(":generateContent"))
            && request.body["tools"].as_array().is_some_and(|tools| !tools.is_empty()))
            // Chat completions (aider) carry no tools; its commit-message requests are side requests.
            || (path == "/v1/chat/completions" && !request.body.to_string().contains("commit message")));
    let mut turns = Vec::new();
    if is_turn {
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Delays are not answers: take them and the turn after.
        loop {
            let index = state.next;
            let turn = state.script.turns.get(index).cloned();
            state.next += 1;
            request.turn = Some(index);
            match turn {
                Some(Turn::Delay { ms }) => turns.push(Turn::Delay { ms }),
                Some(turn) => {
                    turns.push(turn);
                    break;
                }
                None => {
                    state.next -= 1;
                    let then = state.script.then.as_deref().cloned();
                    turns.push(then.unwrap_or(Turn::Text { text: "Done.".into(), usage: Usage::default() }));
                    break;
                }
            }
        }
    }
    let log_entry = request.clone();
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).log.push(log_entry);

    let model = request.body["model"].as_str().unwrap_or("claude-sonnet-4-5").to_string();
    let stream = request.body["stream"].as_bool().unwrap_or(false);
    match (request.method.as_str(), path.as_str()) {
        ("POST", "/v1/messages") => {
            let turn = last_turn(turns, Turn::Text { text: "OK".into(), usage: Usage { input_tokens: 10, output_tokens: 1, ..Usage::default() } });
            respond_turn(&turn, &model, stream)
        }
        ("POST", "/v1/responses") => {
            let turn = last_turn(turns, Turn::Text { text: "OK".into(), usage: Usage { input_tokens: 10, output_tokens: 1, ..Usage::default() } });
            respond_responses(&turn, &model)
        }
        ("POST", p) if p.ends_with(":streamGenerateContent") || p.ends_with(":generateContent") => {
            let turn = last_turn(turns, Turn::Text { text: "OK".into(), usage: Usage { input_tokens: 10, output_tokens: 1, ..Usage::default() } });
            respond_gemini(&turn, p.ends_with(":streamGenerateContent"), &request.body)
        }
        ("POST", "/v1/chat/completions") => {
            let turn = last_turn(turns, Turn::Text { text: "night: scripted change".into(), usage: Usage { input_tokens: 10, output_tokens: 5, ..Usage::default() } });
            respond_chat(&turn, &model, stream)
        }
        ("POST", p) if p.ends_with(":countTokens") => json_response(200, &json!({ "totalTokens": 1000 }), &[]),
        ("POST", "/v1/messages/count_tokens") => json_response(200, &json!({ "input_tokens": 1000 }), &[]),
        ("GET", p) if p.starts_with("/v1/models") => json_response(
            200,
            &json!({ "data": [{ "type": "model", "id": model, "display_name": "Scripted", "created_at": "2025-01-01T00:00:00Z" }], "has_more": false, "first_id": model, "last_id": model }),
            &[],
        ),
        ("HEAD", _) => raw_response(200, "text/plain", b"", &[]),
        _ => json_response(404, &json!({ "type": "error", "error": { "type": "not_found_error", "message": "not found" } }), &[]),
    }
}

/// The request's answer: the last scripted turn, after sleeping through the `Delay`s before it;
/// `fallback` when the script has nothing else.
fn last_turn(turns: Vec<Turn>, fallback: Turn) -> Turn {
    let mut chosen = None;
    for turn in turns {
        match turn {
            Turn::Delay { ms } => thread::sleep(Duration::from_millis(ms)),
            other => chosen = Some(other),
        }
    }
    chosen.unwrap_or(fallback)
}

fn respond_turn(turn: &Turn, model: &str, stream: bool) -> Vec<u8> {
    let id = format!("msg_{:06}", IDS.fetch_add(1, Ordering::SeqCst));
    let (content, stop_reason, usage) = match turn {
        Turn::Error { status, body, headers } => {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            return json_response(*status, body, &headers);
        }
        Turn::Tools { text, calls, usage } => {
            let mut content = Vec::new();
            if let Some(text) = text {
                content.push(json!({ "type": "text", "text": text }));
            }
            for call in calls {
                let tool_id = format!("toolu_{:06}", IDS.fetch_add(1, Ordering::SeqCst));
                content.push(json!({ "type": "tool_use", "id": tool_id, "name": call.name, "input": call.input }));
            }
            (content, "tool_use", *usage)
        }
        Turn::Text { text, usage } => (vec![json!({ "type": "text", "text": text })], "end_turn", *usage),
        Turn::Delay { .. } => (vec![json!({ "type": "text", "text": "OK" })], "end_turn", Usage::default()),
    };
    let usage_json = json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
    });
    if !stream {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": null, "usage": usage_json,
        });
        return json_response(200, &message, &[]);
    }
    let mut events = String::new();
    let mut event = |name: &str, data: Value| {
        events.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({ "type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": usage.input_tokens, "output_tokens": 1,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens },
        }}),
    );
    for (index, block) in content.iter().enumerate() {
        if block["type"] == "text" {
            event("content_block_start", json!({ "type": "content_block_start", "index": index, "content_block": { "type": "text", "text": "" } }));
            event(
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": index, "delta": { "type": "text_delta", "text": block["text"] } }),
            );
        } else {
            event(
                "content_block_start",
                json!({ "type": "content_block_start", "index": index, "content_block": { "type": "tool_use", "id": block["id"], "name": block["name"], "input": {} } }),
            );
            let input = block["input"].to_string();
            // Split the JSON in two to exercise the client's partial-JSON accumulation.
            let middle = input.char_indices().nth(input.chars().count() / 2).map_or(0, |(at, _)| at);
            for part in [&input[..middle], &input[middle..]] {
                event(
                    "content_block_delta",
                    json!({ "type": "content_block_delta", "index": index, "delta": { "type": "input_json_delta", "partial_json": part } }),
                );
            }
        }
        event("content_block_stop", json!({ "type": "content_block_stop", "index": index }));
    }
    event(
        "message_delta",
        json!({ "type": "message_delta", "delta": { "stop_reason": stop_reason, "stop_sequence": null }, "usage": { "output_tokens": usage.output_tokens } }),
    );
    event("message_stop", json!({ "type": "message_stop" }));
    raw_response(200, "text/event-stream", events.as_bytes(), &[("cache-control", "no-cache")])
}

/// The OpenAI Responses API (as Codex calls it): server-sent events ending in
/// `response.completed` with usage. Tool calls are `function_call` items whose arguments are
/// the call's input as a JSON string.
fn respond_responses(turn: &Turn, model: &str) -> Vec<u8> {
    let id = format!("resp_{:06}", IDS.fetch_add(1, Ordering::SeqCst));
    let (items, usage) = match turn {
        Turn::Error { status, body, headers } => {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            return json_response(*status, body, &headers);
        }
        Turn::Tools { text, calls, usage } => {
            let mut items = Vec::new();
            if let Some(text) = text {
                items.push(responses_message(text));
            }
            for call in calls {
                let n = IDS.fetch_add(1, Ordering::SeqCst);
                items.push(json!({
                    "type": "function_call", "id": format!("fc_{n:06}"), "call_id": format!("call_{n:06}"),
                    "name": call.name, "arguments": call.input.to_string(), "status": "completed",
                }));
            }
            (items, *usage)
        }
        Turn::Text { text, usage } => (vec![responses_message(text)], *usage),
        Turn::Delay { .. } => (vec![responses_message("OK")], Usage::default()),
    };
    let mut events = String::new();
    let mut event = |data: Value| {
        let name = data["type"].as_str().unwrap_or_default().to_string();
        events.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let response = |status: &str, output: Value, usage: Value| {
        json!({ "id": id, "object": "response", "created_at": 1_750_000_000, "status": status, "model": model, "output": output, "usage": usage })
    };
    event(json!({ "type": "response.created", "response": response("in_progress", json!([]), Value::Null) }));
    for (index, item) in items.iter().enumerate() {
        event(json!({ "type": "response.output_item.added", "output_index": index, "item": item }));
        if item["type"] == "message" {
            let text = item["content"][0]["text"].clone();
            event(json!({ "type": "response.output_text.delta", "item_id": item["id"], "output_index": index, "content_index": 0, "delta": text }));
        }
        event(json!({ "type": "response.output_item.done", "output_index": index, "item": item }));
    }
    let usage = json!({
        "input_tokens": usage.input_tokens + usage.cache_read_input_tokens,
        "input_tokens_details": { "cached_tokens": usage.cache_read_input_tokens },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": usage.input_tokens + usage.cache_read_input_tokens + usage.output_tokens,
    });
    event(json!({ "type": "response.completed", "response": response("completed", Value::Array(items), usage) }));
    raw_response(200, "text/event-stream", events.as_bytes(), &[("cache-control", "no-cache")])
}

/// The Gemini API (as Gemini CLI calls it): `generateContent`, or `streamGenerateContent` with
/// `alt=sse`. Tool calls are `functionCall` parts. A side request that asks for JSON (Gemini
/// CLI's next-speaker and routing checks) gets a JSON answer saying the model is done.
fn respond_gemini(turn: &Turn, stream: bool, body: &Value) -> Vec<u8> {
    let (parts, usage) = match turn {
        Turn::Error { status, body, headers } => {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            return json_response(*status, body, &headers);
        }
        Turn::Tools { text, calls, usage } => {
            let mut parts = Vec::new();
            if let Some(text) = text {
                parts.push(json!({ "text": text }));
            }
            parts.extend(calls.iter().map(|call| json!({ "functionCall": { "name": call.name, "args": call.input } })));
            (parts, *usage)
        }
        Turn::Text { text, usage } => (vec![json!({ "text": text })], *usage),
        Turn::Delay { .. } => (vec![json!({ "text": "OK" })], Usage::default()),
    };
    let wants_json = body["generationConfig"]["responseMimeType"] == "application/json";
    let parts = if wants_json && body["tools"].as_array().is_none_or(Vec::is_empty) {
        vec![json!({ "text": json!({ "next_speaker": "user", "reasoning": "The task is done.", "model_choice": "flash" }).to_string() })]
    } else {
        parts
    };
    let chunk = json!({
        "candidates": [{ "content": { "role": "model", "parts": parts }, "finishReason": "STOP", "index": 0 }],
        "usageMetadata": {
            "promptTokenCount": usage.input_tokens + usage.cache_read_input_tokens,
            "cachedContentTokenCount": usage.cache_read_input_tokens,
            "candidatesTokenCount": usage.output_tokens,
            "totalTokenCount": usage.input_tokens + usage.cache_read_input_tokens + usage.output_tokens,
        },
        "modelVersion": "gemini-scripted",
    });
    if stream {
        raw_response(200, "text/event-stream", format!("data: {chunk}\r\n\r\n").as_bytes(), &[])
    } else {
        json_response(200, &chunk, &[])
    }
}

/// The OpenAI chat completions API (as aider calls it through litellm): text answers, streamed
/// as `chat.completion.chunk` events with the usage in the last one.
fn respond_chat(turn: &Turn, model: &str, stream: bool) -> Vec<u8> {
    let id = format!("chatcmpl-{:06}", IDS.fetch_add(1, Ordering::SeqCst));
    let (text, usage) = match turn {
        Turn::Error { status, body, headers } => {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            return json_response(*status, body, &headers);
        }
        Turn::Text { text, usage } => (text.clone(), *usage),
        Turn::Tools { text, usage, .. } => (text.clone().unwrap_or_default(), *usage),
        Turn::Delay { .. } => ("OK".to_string(), Usage::default()),
    };
    let usage = json!({
        "prompt_tokens": usage.input_tokens + usage.cache_read_input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.cache_read_input_tokens + usage.output_tokens,
        "prompt_tokens_details": { "cached_tokens": usage.cache_read_input_tokens },
    });
    if !stream {
        return json_response(
            200,
            &json!({ "id": id, "object": "chat.completion", "created": 1_750_000_000, "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }], "usage": usage }),
            &[],
        );
    }
    let chunk = |delta: Value, finish: Value, usage: Value| {
        json!({ "id": id, "object": "chat.completion.chunk", "created": 1_750_000_000, "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }], "usage": usage })
    };
    let mut events = String::new();
    events.push_str(&format!("data: {}\n\n", chunk(json!({ "role": "assistant", "content": text }), Value::Null, Value::Null)));
    events.push_str(&format!("data: {}\n\n", chunk(json!({}), json!("stop"), usage)));
    events.push_str("data: [DONE]\n\n");
    raw_response(200, "text/event-stream", events.as_bytes(), &[])
}

fn responses_message(text: &str) -> Value {
    let n = IDS.fetch_add(1, Ordering::SeqCst);
    json!({ "type": "message", "id": format!("msg_{n:06}"), "role": "assistant", "status": "completed",
        "content": [{ "type": "output_text", "text": text, "annotations": [] }] })
}

fn json_response(status: u16, body: &Value, headers: &[(&str, &str)]) -> Vec<u8> {
    raw_response(status, "application/json", body.to_string().as_bytes(), headers)
}

fn raw_response(status: u16, content_type: &str, body: &[u8], headers: &[(&str, &str)]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nrequest-id: req_scripted\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}
