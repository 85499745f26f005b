; Highlights for .night runbooks (nvim-treesitter capture names; the tree-sitter
; CLI, Helix and Zed variants in editors/helix and editors/zed differ only in names).
;
; The grammar is generic: every keyword is an `identifier`. A keyword is told
; apart by its place (`head:` starts a statement, `argument:` follows it) and by
; its text. The word lists must match the `keyword` rule of grammar/night.pest
; (tests/editors.rs checks it). The patterns never overlap, so the result is the
; same whether an editor lets the first or the last matching pattern win.

; ---------------------------------------------------------------- heads ----

; Top-level statements.
(statement
  head: (identifier) @keyword
  (#any-of? @keyword
    "name" "task" "success" "permissions" "limits" "rollback" "notify" "deliver" "waive"))

; Statements inside blocks: task, agent, success, permissions, limits,
; rollback, notify.
(statement
  head: (identifier) @function.builtin
  (#any-of? @function.builtin
    "prompt" "agent" "repo" "branch" "worktree" "model" "max_turns" "args" "bin"
    "run" "tests" "count" "exists" "absent" "changed" "committed"
    "read" "write" "deny" "allow" "pass" "reveal" "network" "sandbox" "on"
    "timeout" "session" "attempts" "stuck" "idle" "silence" "tokens" "cost" "quota"
    "when" "to" "then"
    "webhook" "slack" "discord" "ntfy" "email" "sms" "command"
    "push" "pull-request"))

; ------------------------------------------------------------ arguments ----

; `on` is a value after `network`, `worktree` and `sandbox` ...
; (These patterns capture the head again with the name it has anyway: a helper
; capture like `@_head` would hide the head's highlight in tree-sitter-highlight.)
(statement
  head: (identifier) @function.builtin
  argument: (identifier) @constant.builtin
  (#any-of? @function.builtin "network" "worktree" "sandbox")
  (#eq? @constant.builtin "on"))

; ... and introduces the events of a notifier or the run outcomes of a delivery.
(statement
  head: (identifier) @function.builtin
  argument: (identifier) @keyword.operator
  (#any-of? @function.builtin "webhook" "slack" "discord" "ntfy" "email" "sms" "command" "push" "pull-request")
  (#eq? @keyword.operator "on"))

; Connecting words: `prompt file`, `within`, `matches`, `format`, `count … in`,
; `email … via`, `sms … from`, `ntfy … server`, `quota wait`, `network allow`,
; the options of a `pull-request` (`token`, `base`, `api`, `labels`, `reviewers`).
(statement
  argument: (identifier) @keyword.operator
  (#any-of? @keyword.operator
    "file" "within" "matches" "format" "in" "via" "from" "server" "wait" "allow"
    "token" "base" "api" "labels" "reviewers" "lost"))

; Values of the language: agent kinds, test formats, permission and rollback
; values, notify events and providers.
(statement
  argument: (identifier) @constant.builtin
  (#any-of? @constant.builtin
    "claude" "codex" "aider" "gemini" "goose" "command"
    "auto" "cargo" "nextest" "pytest" "unittest" "go" "jest" "vitest" "mocha" "tap" "junit"
    "baseline" "irreversible" "violation" "revert" "stop" "off"
    "failing" "passing" "start" "last-green" "retry"
    "twilio" "attempt" "commit" "success" "failure" "stuck" "rollback" "end"
    "github" "gitlab" "gitea" "forgejo" "draft"
    "failed" "rolled-back" "timeout" "budget" "interrupted" "attempts"))

; `waive RULE "reason"`: the checklist rule's code.
(statement
  head: (identifier) @keyword
  .
  argument: (identifier) @label
  (#eq? @keyword "waive"))

; --------------------------------------------------------------- values ----

(string) @string
(block_string) @string
(escape_sequence) @string.escape

(regex) @string.regexp
(regex_flags) @character.special

(number) @number
(money) @number

; `env.NAME`
(env_reference
  "env." @variable.builtin)
(env_name) @constant

(comparison) @operator

; ---------------------------------------------------------- punctuation ----

[
  "{"
  "}"
] @punctuation.bracket

";" @punctuation.delimiter

(comment) @comment
