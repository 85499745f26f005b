" Vim syntax file (Vim and Neovim)
" Language:   night runbook (.night)
" Reference:  the language reference and grammar/night.pest
"
" A statement is a head word, its arguments and an optional { } block; it ends
" at a newline or `;`. A word is a head when it starts a line or follows `;`,
" `{` or `}`. The keyword lists below must stay in step with the `keyword` rule
" of grammar/night.pest: tests/editors.rs checks that each keyword is here.
"
" Priorities (see :help syn-priority): `syn keyword` beats any match, and of
" two matches starting at the same column the one defined last wins. So words
" that are only ever arguments are keywords, words that can also be heads are
" matched as arguments first and as heads later.

if exists('b:current_syntax')
  finish
endif
let s:cpo_save = &cpo
set cpo&vim

syn case match
" Runbooks are short and block strings span lines: always parse from the top.
syn sync fromstart
" `last-green` and rule codes hold a dash.
syn iskeyword @,48-57,_,192-255,-

" ------------------------------------------------------------ arguments ----

" Connecting words: `prompt file`, `within`, `matches`, `format`, `count … in`,
" `email … via`, `sms … from`, `ntfy … server`, `quota wait`.
syn keyword nightModifier file within matches format in via from server wait
syn keyword nightModifier token base api labels reviewers lost

" Values of the language: agent kinds, test formats, permission and rollback
" values, notify events and providers.
syn keyword nightConstant claude codex aider gemini goose
syn keyword nightConstant auto cargo nextest pytest unittest go jest vitest mocha tap junit
syn keyword nightConstant baseline irreversible violation revert stop off
syn keyword nightConstant failing passing start last-green retry
syn keyword nightConstant twilio attempt commit failure end
syn keyword nightConstant github gitlab gitea forgejo draft failed rolled-back budget interrupted

" Words that are heads too: as arguments they are events or run outcomes, an agent
" kind (`agent command "…"`), `push … attempts`, `network allow "host"` and
" `webhook "…" on end`.
syn match nightConstant "\%([[:alnum:]_-]\)\@<!\%(success\|rollback\|stuck\|command\|timeout\|attempts\)\%([[:alnum:]_-]\)\@!"
syn match nightModifier "\%([[:alnum:]_-]\)\@<!\%(on\|allow\)\%([[:alnum:]_-]\)\@!"

" ---------------------------------------------------------------- heads ----
" The lookbehind `\%(\%(^\|[;{}]\)\s*\)\@<=` means: at the start of a statement.

" Top-level statements.
syn match nightTopLevel "\%(\%(^\|[;{}]\)\s*\)\@<=\%(name\|task\|success\|permissions\|limits\|rollback\|notify\|deliver\)\%([[:alnum:]_-]\)\@!"

" Statements inside the blocks.
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(prompt\|agent\|repo\|branch\|worktree\|model\|max_turns\|args\|bin\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(run\|tests\|count\|exists\|absent\|changed\|committed\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(read\|write\|deny\|allow\|pass\|reveal\|network\|sandbox\|on\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(timeout\|session\|attempts\|stuck\|idle\|silence\|tokens\|cost\|quota\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(when\|to\|then\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(webhook\|slack\|discord\|ntfy\|email\|sms\|command\)\%([[:alnum:]_-]\)\@!"
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(push\|pull-request\)\%([[:alnum:]_-]\)\@!"

" `network on`, `worktree off`, `sandbox auto`: here on/off/auto are values.
syn match nightStatement "\%(\%(^\|[;{}]\)\s*\)\@<=\%(network\|worktree\|sandbox\)\%([[:alnum:]_-]\)\@!" nextgroup=nightSwitch skipwhite
syn match nightSwitch contained "\%(on\|off\|auto\)\%([[:alnum:]_-]\)\@!"

" `waive RULE "reason"`: the rule code names a checklist rule.
syn match nightTopLevel "\%(\%(^\|[;{}]\)\s*\)\@<=waive\%([[:alnum:]_-]\)\@!" nextgroup=nightRuleCode skipwhite
syn match nightRuleCode contained "[A-Za-z_][[:alnum:]_-]*"

" --------------------------------------------------------------- values ----

" Durations (`90s`, `2h30m`) and integers (`300`, `2_000_000`, `500k`, `3M`);
" anything else starting with a digit is an error. Money: `$25`, `$2.50`.
syn match nightNumberError "\%([[:alnum:]_.-]\)\@<!\d[[:alnum:]_.]*"
syn match nightInteger "\%([[:alnum:]_.-]\)\@<!\d[0-9_]*[kM]\=\%([[:alnum:]_.]\)\@!"
syn match nightDuration "\%([[:alnum:]_.-]\)\@<!\d[0-9_]*\%(h\%(\d[0-9_]*m\)\=\%(\d[0-9_]*s\)\=\|m\%(\d[0-9_]*s\)\=\|s\)\%([[:alnum:]_.]\)\@!"
syn match nightMoneyError "\$[[:alnum:]_.,$]*"
syn match nightMoney "\$\d[0-9_]*\%(\.\d\{1,2}\)\=\%([[:alnum:]_.,$]\)\@!"

" `env.NAME`: a secret read from the environment.
syn match nightEnv "\%([[:alnum:]_-]\)\@<!env\ze\.[A-Za-z_]" nextgroup=nightEnvDot
syn match nightEnvDot contained "\." nextgroup=nightEnvName
syn match nightEnvName contained "[A-Za-z_][[:alnum:]_]*"

" `<=` `>=` `==` `<` `>`: only in `count` and `when`.
syn match nightOperator "<=\|>=\|==\|<\|>"

syn match nightBrace "[{}]"
syn match nightSemicolon ";"

" `/pattern/flags`: `\/` is a slash inside; flags are i, m and s.
syn match nightRegex "/\%(\\.\|[^/\\]\)\+/" contains=nightRegexEscape nextgroup=nightRegexFlags,nightRegexFlagsError
syn match nightRegexEscape contained "\\."
syn match nightRegexFlagsError contained "[A-Za-z]\+"
syn match nightRegexFlags contained "[ims]\+\%([A-Za-z]\)\@!"

" `"…"` on one line with escapes \" \\ \n \t \u{…}; an unclosed one ends at the
" end of the line. Placeholders {name} {date} {prompt_file} are expanded by night.
syn region nightString start=+"+ skip=+\\.+ end=+"\|$+ contains=nightInvalidEscape,nightEscape,nightPlaceholder
syn match nightInvalidEscape contained "\\.\="
syn match nightEscape contained "\\\%([\"\\nt]\|u{\x\{1,6}}\)"
syn match nightPlaceholder contained "{\%(name\|date\|prompt_file\)}"

" `"""…"""` across lines, no escapes. Defined after nightString so that it
" wins where both start.
syn region nightBlockString start=+"""+ end=+"""+ contains=@Spell

" `#` to the end of the line (not inside strings: those are regions).
syn keyword nightTodo contained TODO FIXME XXX NOTE
syn match nightComment "#.*$" contains=nightTodo,@Spell

" ------------------------------------------------------------ colours ----

hi def link nightTopLevel        Structure
hi def link nightStatement       Statement
hi def link nightModifier        Keyword
hi def link nightConstant        Constant
hi def link nightSwitch          nightConstant
hi def link nightRuleCode        Identifier
hi def link nightString          String
hi def link nightBlockString     String
hi def link nightEscape          SpecialChar
hi def link nightInvalidEscape   Error
hi def link nightPlaceholder     Special
hi def link nightRegex           String
hi def link nightRegexEscape     SpecialChar
hi def link nightRegexFlags      Special
hi def link nightRegexFlagsError Error
hi def link nightInteger         Number
hi def link nightDuration        Number
hi def link nightNumberError     Error
hi def link nightMoney           Number
hi def link nightMoneyError      Error
hi def link nightEnv             PreProc
hi def link nightEnvDot          PreProc
hi def link nightEnvName         Identifier
hi def link nightOperator        Operator
hi def link nightBrace           Delimiter
hi def link nightSemicolon       Delimiter
hi def link nightComment         Comment
hi def link nightTodo            Todo

let b:current_syntax = 'night'

let &cpo = s:cpo_save
unlet s:cpo_save
