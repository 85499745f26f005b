;;; night-mode-test.el --- ERT tests for night-mode  -*- lexical-binding: t; -*-

;; Run: emacs -Q --batch -L editors/emacs -l editors/emacs/test/night-mode-test.el \
;;        -f ert-run-tests-batch-and-exit
;; They open editors/sample.night and check the face at chosen words.

;;; Code:

(require 'ert)
(require 'night-mode)

(defconst night-test--sample
  (expand-file-name "../../sample.night"
                    (file-name-directory (or load-file-name buffer-file-name))))

(defmacro night-test--with-sample (&rest body)
  "Run BODY in a `night-mode' buffer holding the sample, fontified."
  `(with-temp-buffer
     (insert-file-contents night-test--sample)
     (night-mode)
     (font-lock-ensure)
     ,@body))

(defun night-test--faces-at (pos)
  "The faces at POS, as a list."
  (let ((face (get-text-property pos 'face)))
    (if (listp face) face (list face))))

(defconst night-test--checks
  ;; (REGEXP FACE): the face at the start of REGEXP's group 1, at its first match.
  '(("^# \\(editors\\)/sample" font-lock-comment-face)
    ("^\\(name\\) \"" night-toplevel-face)
    ("^name \\(\"\\)sample" font-lock-string-face)
    ("^\\(task\\) {" night-toplevel-face)
    ("^  \\(prompt\\) \"\"\"" night-statement-face)
    ("\\(Refactor\\) src" font-lock-string-face)
    ("instead of \\(\"\\)sessions" font-lock-string-face)
    ("\\(\\\\\\)n stays" font-lock-string-face)
    ("prompt \\(file\\)" night-modifier-face)
    ("^  \\(agent\\) claude" night-statement-face)
    ("agent \\(claude\\)" night-constant-face)
    ("^    \\(max_turns\\) 300" night-statement-face)
    ("max_turns \\(300\\)" night-number-face)
    ("agent \\(command\\) \"my" night-constant-face)
    ("^  worktree \\(on\\)" night-constant-face)
    ("^\\(success\\) {" night-toplevel-face)
    ("release\" \\(within\\)" night-modifier-face)
    ("within \\(20m\\)" night-number-face)
    ("matches \\(/\\)all" night-regexp-face)
    ("(\\(\\\\\\)d\\+)" night-regexp-face)
    ("passed/\\(i\\)" font-lock-keyword-face)
    ("format \\(junit\\)" night-constant-face)
    ("TS\\\\d\\+/ \\(in\\)" night-modifier-face)
    ("\\(<=\\) baseline" night-operator-face)
    ("<= \\(baseline\\)" night-constant-face)
    ("# \\(no\\) new errors" font-lock-comment-face)
    ("/a\\(\\\\\\)/b/" night-regexp-face)
    ("^  \\(committed\\)" night-statement-face)
    ("\\(--strict\\)" font-lock-string-face)
    ("^\\(permissions\\)" night-toplevel-face)
    ("deny \\(irreversible\\)" night-constant-face)
    ("^  \\(allow\\) \"" night-statement-face)
    ("^  network \\(on\\)" night-constant-face)
    ("^  network \\(allow\\)" night-modifier-face)
    ("^  \\(on\\) violation" night-statement-face)
    ("on \\(violation\\) revert" night-constant-face)
    ("attempts 5\\(;\\)" nil)
    ("attempts 5; \\(stuck\\)" night-statement-face)
    ("session \\(2h30m\\)" night-number-face)
    ("tokens \\(3M\\)" night-number-face)
    ("cost \\(\\$\\)2.50" night-number-face)
    ("quota \\(wait\\)" night-modifier-face)
    ("to \\(last-green\\)" night-constant-face)
    ("then \\(retry\\)" night-constant-face)
    ("night\" \\(on\\) stuck" night-modifier-face)
    ("on stuck failure \\(rollback\\)" night-constant-face)
    ("slack \\(env\\)" night-env-face)
    ("slack env\\.\\(SLACK\\)" night-env-name-face)
    ("commit \\(success\\)" night-constant-face)
    ("via \\(twilio\\)" night-constant-face)
    ("\\(from\\) \"\\+1" night-modifier-face)
    ("notify-me.sh \\(\\\\\\)\"done" night-escape-face)
    ("\\(\\\\\\)u{1F319}" night-escape-face)
    ("^\\(waive\\)" night-toplevel-face)
    ("waive \\(no-rollback\\)" night-rule-face)))

(ert-deftest night-mode-faces-in-the-sample ()
  (night-test--with-sample
   (let (failures)
     (dolist (check night-test--checks)
       (goto-char (point-min))
       (let ((regexp (nth 0 check)) (face (nth 1 check)))
         (if (not (re-search-forward regexp nil t))
             (push (format "%S: not found" regexp) failures)
           (let ((faces (night-test--faces-at (match-beginning 1))))
             (unless (if face (memq face faces) (null (delq nil faces)))
               (push (format "%S: expected %S, got %S" regexp face faces) failures))))))
     (should (equal (reverse failures) nil)))))

(ert-deftest night-mode-is-chosen-for-night-files ()
  (should (eq (assoc-default "/tmp/x.night" auto-mode-alist #'string-match-p) 'night-mode)))

(ert-deftest night-mode-comments ()
  (night-test--with-sample
   (should (equal comment-start "# "))
   (goto-char (point-min))
   (re-search-forward "^  committed")
   (comment-region (line-beginning-position) (line-end-position))
   (should (equal (buffer-substring (line-beginning-position) (line-end-position))
                  "  # committed"))))

(ert-deftest night-mode-indents-the-sample-as-written ()
  (night-test--with-sample
   (let ((before (buffer-string)))
     (indent-region (point-min) (point-max))
     (should (equal (buffer-string) before)))))

(ert-deftest night-mode-indents-by-depth ()
  (with-temp-buffer
    (insert "task {\nagent claude {\nmodel \"x\"\n}\n}\n")
    (night-mode)
    (indent-region (point-min) (point-max))
    (should (equal (buffer-string) "task {\n  agent claude {\n    model \"x\"\n  }\n}\n"))))

(ert-deftest night-mode-registers-night-lsp-with-eglot ()
  (require 'eglot nil t)
  (unless (featurep 'eglot)
    ;; Emacs before 29 without the package: a stand-in, since what is tested is
    ;; the form night-mode.el runs once eglot is loaded.
    (defvar eglot-server-programs nil)
    (provide 'eglot))
  (should (member '(night-mode "night" "lsp") eglot-server-programs)))

;;; night-mode-test.el ends here
