;;; night-mode.el --- Major mode for .night runbooks  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "26.1"))
;; Keywords: languages
;; SPDX-License-Identifier: MIT

;;; Commentary:

;; A major mode for `.night' runbooks, the files that `night' (a supervisor
;; for AI coding agents running overnight) checks and runs.
;;
;; It gives font-lock, `#' comments, indentation by `{ }' depth, and starts
;; `night lsp' through Eglot.  A statement is a head word, its arguments and an
;; optional { } block; it ends at a newline or `;'.  A word is a head when it
;; starts a line or follows `;', `{' or `}'.  The keyword lists below must stay
;; in step with the `keyword' rule of grammar/night.pest (tests/editors.rs checks
;; that each keyword is here).
;;
;; Install: put this file on `load-path', then (require 'night-mode).  See
;; editors/emacs/README.md.

;;; Code:

(defgroup night nil
  "Editing .night runbooks."
  :group 'languages
  :prefix "night-")

(defcustom night-indent-offset 2
  "Spaces of indentation per `{' level (what `night fmt' writes)."
  :type 'integer
  :safe #'integerp)

;;;; Words of the language

(defconst night-toplevel-keywords
  '("name" "task" "success" "permissions" "limits" "rollback" "notify" "deliver" "waive")
  "Statements at the top level of a runbook.")

(defconst night-statement-keywords
  '("prompt" "agent" "repo" "branch" "worktree" "model" "max_turns" "args" "bin"
    "run" "tests" "count" "exists" "absent" "changed" "committed"
    "read" "write" "deny" "allow" "pass" "reveal" "network" "sandbox" "on"
    "timeout" "session" "attempts" "stuck" "idle" "silence" "tokens" "cost" "quota"
    "when" "to" "then"
    "webhook" "slack" "discord" "ntfy" "email" "sms" "command"
    "push" "pull-request")
  "Statements inside the blocks.")

(defconst night-modifier-keywords
  '("file" "within" "matches" "format" "in" "via" "from" "server" "wait" "on" "allow"
    "token" "base" "api" "labels" "reviewers" "lost")
  "Connecting words after a head: `prompt file', `count ... in', `sms ... from'.")

(defconst night-constant-keywords
  '("claude" "codex" "aider" "gemini" "goose" "command"
    "auto" "cargo" "nextest" "pytest" "unittest" "go" "jest" "vitest" "mocha" "tap" "junit"
    "baseline" "irreversible" "violation" "revert" "stop" "off"
    "failing" "passing" "start" "last-green" "retry"
    "twilio" "attempt" "commit" "success" "failure" "stuck" "rollback" "end"
    "github" "gitlab" "gitea" "forgejo" "draft"
    "failed" "rolled-back" "timeout" "budget" "interrupted" "attempts")
  "Values of the language: agent kinds, test formats, events and the like.")

;;;; Faces

(defface night-toplevel-face '((t :inherit font-lock-keyword-face))
  "Face for top-level statements such as `task' and `limits'.")
(defface night-statement-face '((t :inherit font-lock-builtin-face))
  "Face for statements inside blocks such as `timeout' and `run'.")
(defface night-modifier-face '((t :inherit font-lock-keyword-face))
  "Face for connecting words such as `within' and `via'.")
(defface night-constant-face '((t :inherit font-lock-constant-face))
  "Face for values of the language such as `claude' and `last-green'.")
(defface night-rule-face '((t :inherit font-lock-type-face))
  "Face for the checklist rule code after `waive'.")
(defface night-number-face
  `((t :inherit ,(if (facep 'font-lock-number-face) 'font-lock-number-face 'font-lock-constant-face)))
  "Face for integers, durations and money.")
(defface night-env-face '((t :inherit font-lock-preprocessor-face))
  "Face for the `env' of an `env.NAME' reference.")
(defface night-env-name-face '((t :inherit font-lock-variable-name-face))
  "Face for the NAME of an `env.NAME' reference.")
(defface night-escape-face
  `((t :inherit ,(if (facep 'font-lock-escape-face) 'font-lock-escape-face
                   'font-lock-regexp-grouping-backslash)))
  "Face for escapes in strings such as `\\n'.")
(defface night-regexp-face
  `((t :inherit ,(if (facep 'font-lock-regexp-face) 'font-lock-regexp-face 'font-lock-string-face)))
  "Face for `/regex/' values.")
(defface night-operator-face
  `((t :inherit ,(if (facep 'font-lock-operator-face) 'font-lock-operator-face 'font-lock-keyword-face)))
  "Face for comparisons such as `<='.")

;;;; Syntax

(defvar night-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\r ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    ;; Identifiers hold `_' and `-' (`max_turns', `last-green').
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?- "_" table)
    (modify-syntax-entry ?{ "(}" table)
    (modify-syntax-entry ?} "){" table)
    (dolist (char '(?/ ?$ ?\; ?. ?< ?> ?= ?' ?* ?+ ?? ?& ?| ?%))
      (modify-syntax-entry char "." table))
    table)
  "Syntax table for `night-mode'.")

(defun night--in-string-or-comment (pos)
  "Return the syntax state at POS if it is inside a string or comment."
  (let ((state (save-excursion (syntax-ppss pos))))
    (and (nth 8 state) state)))

(defun night--syntax-propertize (start end)
  "Mark block strings and regexes between START and END as strings.
A `\"\"\"' block string and a `/regex/' may hold `\"' and `#', so their
delimiters become generic string fences."
  (goto-char start)
  (while (re-search-forward "\"\"\"\\|/" end t)
    (let* ((begin (match-beginning 0))
           (state (save-excursion (syntax-ppss begin))))
      (cond
       ;; A `"""' that closes a block string (a string opened by a fence).
       ((and (eq (nth 3 state) t) (eq (char-after begin) ?\")
             (eq (char-after (nth 8 state)) ?\"))
        (put-text-property (1- (point)) (point) 'syntax-table (string-to-syntax "|")))
       ;; Inside a comment, a string or a regex: nothing to mark.
       ((nth 8 state) nil)
       ;; A `"""' that opens a block string.
       ((eq (char-after begin) ?\")
        (put-text-property begin (1+ begin) 'syntax-table (string-to-syntax "|")))
       ;; A `/' that opens a regex: find its closing `/' on the same line.
       ((looking-at "\\(?:\\\\.\\|[^/\\\\\n]\\)+/")
        (put-text-property begin (1+ begin) 'syntax-table (string-to-syntax "|"))
        (goto-char (match-end 0))
        (put-text-property (1- (point)) (point) 'syntax-table (string-to-syntax "|")))))))

(defun night--syntactic-face (state)
  "Face for the string or comment described by syntax STATE."
  (cond ((not (nth 3 state)) 'font-lock-comment-face)
        ((eq (char-after (nth 8 state)) ?/) 'night-regexp-face)
        (t 'font-lock-string-face)))

;;;; Font lock

(defconst night--head "\\(?:^\\|[;{}]\\)[ \t]*"
  "Matches where a statement starts; the head word follows.")

(defconst night--word-end "\\(?:[^[:alnum:]_-]\\|$\\)"
  "Matches just after a word (identifiers hold `-' and `_').")

(defun night--match-escape (limit)
  "Find the next escape before LIMIT inside an ordinary `\"...\"' string."
  (let (found)
    (while (and (not found)
                (re-search-forward "\\\\\\(?:[\"\\\\nt]\\|u{[0-9A-Fa-f]\\{1,6\\}}\\|.\\)?" limit t))
      (let ((state (save-excursion (syntax-ppss (match-beginning 0)))))
        (when (eq (nth 3 state) ?\")
          (setq found t))))
    found))

(defun night--escape-face ()
  "The face for the escape just matched: valid or not."
  (if (string-match-p "\\`\\\\\\(?:[\"\\\\nt]\\|u{[0-9A-Fa-f]\\{1,6\\}}\\)\\'" (match-string 0))
      'night-escape-face
    'font-lock-warning-face))

(defconst night-font-lock-keywords
  `(;; `network on', `worktree off', `sandbox auto': on/off/auto are values here.
    (,(concat night--head "\\(network\\|worktree\\|sandbox\\)[ \t]+\\(on\\|off\\|auto\\)\\_>")
     (1 'night-statement-face) (2 'night-constant-face))
    ;; `waive RULE "reason"'.
    (,(concat night--head "\\(waive\\)\\_>\\(?:[ \t]+\\([[:alpha:]_][[:alnum:]_-]*\\)\\)?")
     (1 'night-toplevel-face) (2 'night-rule-face nil t))
    ;; Heads.
    (,(concat night--head "\\(" (regexp-opt night-toplevel-keywords) "\\)\\_>")
     1 'night-toplevel-face)
    (,(concat night--head "\\(" (regexp-opt night-statement-keywords) "\\)\\_>")
     1 'night-statement-face)
    ;; `env.NAME'.
    ("\\_<\\(env\\)\\(\\.\\)\\([[:alpha:]_][[:alnum:]_]*\\)"
     (1 'night-env-face) (2 'night-env-face) (3 'night-env-name-face))
    ;; Words after the head.
    (,(concat "\\_<" (regexp-opt night-modifier-keywords) "\\_>") . 'night-modifier-face)
    (,(concat "\\_<" (regexp-opt night-constant-keywords) "\\_>") . 'night-constant-face)
    ;; Regex flags right after the closing `/'.
    ("/\\([ims]+\\)\\_>" 1 'font-lock-keyword-face)
    ;; Durations, integers, money; anything else starting with a digit is an error.
    ("\\$[0-9][0-9_]*\\(?:\\.[0-9]\\{1,2\\}\\)?\\_>" . 'night-number-face)
    ("\\_<[0-9][0-9_]*\\(?:h\\(?:[0-9][0-9_]*m\\)?\\(?:[0-9][0-9_]*s\\)?\\|m\\(?:[0-9][0-9_]*s\\)?\\|s\\)\\_>"
     . 'night-number-face)
    ("\\_<[0-9][0-9_]*[kM]?\\_>" . 'night-number-face)
    ("\\_<[0-9][[:alnum:]_.]*\\|\\$[[:alnum:]_.,]*" . 'font-lock-warning-face)
    ;; Comparisons (in `count' and `when').
    ("<=\\|>=\\|==\\|<\\|>" . 'night-operator-face)
    ;; Escapes inside ordinary strings (over the string face).
    (night--match-escape (0 (night--escape-face) t)))
  "Font-lock keywords for `night-mode'.")

;;;; Indentation

(defun night-indent-line ()
  "Indent the current line by its `{ }' depth; leave block string text alone."
  (interactive)
  (let* ((state (save-excursion (syntax-ppss (line-beginning-position))))
         (offset (- (current-column) (current-indentation))))
    (unless (nth 3 state)
      (let ((depth (car state)))
        (save-excursion
          (back-to-indentation)
          (when (eq (char-after) ?})
            (setq depth (1- depth))))
        (indent-line-to (* night-indent-offset (max depth 0)))
        (when (> offset 0)
          (forward-char offset))))))

;;;; The mode

;;;###autoload
(define-derived-mode night-mode prog-mode "night"
  "Major mode for .night runbooks.

\\{night-mode-map}"
  :syntax-table night-mode-syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-end "")
  (setq-local comment-start-skip "#+[ \t]*")
  (setq-local indent-line-function #'night-indent-line)
  (setq-local indent-tabs-mode nil)
  (setq-local syntax-propertize-function #'night--syntax-propertize)
  (setq-local font-lock-defaults
              '(night-font-lock-keywords nil nil nil nil
                (font-lock-syntactic-face-function . night--syntactic-face))))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.night\\'" . night-mode))

;; `night lsp' through Eglot (built into Emacs 29; a package before that).
(defvar eglot-server-programs)
;;;###autoload
(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs '(night-mode "night" "lsp")))

(provide 'night-mode)

;;; night-mode.el ends here
