" Run by test/run.sh: opens editors/sample.night with editors/vim first in
" 'runtimepath' and checks the syntax group under chosen words. Each check is
" [pattern, group]: the cursor goes to the first match of the pattern (`\zs`
" marks the word checked) and synID() there must name the group.

let s:here = expand('<sfile>:p:h')
let s:sample = fnamemodify(s:here . '/../../sample.night', ':p')
let s:failures = []
let s:passed = 0

function! s:Fail(msg) abort
  call add(s:failures, a:msg)
endfunction

function! s:Expect(what, actual, expected) abort
  if a:actual ==# a:expected
    let s:passed += 1
  else
    call s:Fail(printf('%s: expected %s, got %s', a:what, string(a:expected), string(a:actual)))
  endif
endfunction

filetype plugin indent on
syntax on
execute 'edit ' . fnameescape(s:sample)

call s:Expect('filetype', &filetype, 'night')
call s:Expect('b:current_syntax', get(b:, 'current_syntax', ''), 'night')
call s:Expect('commentstring', &commentstring, '# %s')
call s:Expect('comments', &comments, ':#')
call s:Expect('shiftwidth', &shiftwidth, 2)

let s:checks = [
  \ ['^# editors/sample\.night', 'nightComment'],
  \ ['^\zsname "sample', 'nightTopLevel'],
  \ ['^name \zs"sample', 'nightString'],
  \ ['^\zstask {', 'nightTopLevel'],
  \ ['^task \zs{', 'nightBrace'],
  \ ['^  \zsprompt """', 'nightStatement'],
  \ ['^  prompt \zs"""', 'nightBlockString'],
  \ ['Refactor src/auth', 'nightBlockString'],
  \ ['\zs\\n stays a backslash', 'nightBlockString'],
  \ ['prompt \zsfile "docs', 'nightModifier'],
  \ ['^  \zsagent claude', 'nightStatement'],
  \ ['agent \zsclaude', 'nightConstant'],
  \ ['^    \zsmodel "sonnet"', 'nightStatement'],
  \ ['^    \zsmax_turns', 'nightStatement'],
  \ ['max_turns \zs300', 'nightInteger'],
  \ ['^    \zsargs "--verbose"', 'nightStatement'],
  \ ['^    \zsbin "', 'nightStatement'],
  \ ['agent \zscodex', 'nightConstant'],
  \ ['agent \zsaider', 'nightConstant'],
  \ ['agent \zsgemini', 'nightConstant'],
  \ ['agent \zsgoose', 'nightConstant'],
  \ ['agent \zscommand "my-agent', 'nightConstant'],
  \ ['\zs{prompt_file}', 'nightPlaceholder'],
  \ ['^  \zsrepo "', 'nightStatement'],
  \ ['^  \zsbranch "', 'nightStatement'],
  \ ['night/\zs{name}', 'nightPlaceholder'],
  \ ['^  \zsworktree on', 'nightStatement'],
  \ ['^  worktree \zson', 'nightSwitch'],
  \ ['^\zssuccess {', 'nightTopLevel'],
  \ ['^  \zsrun "cargo build', 'nightStatement'],
  \ ['release" \zswithin 20m', 'nightModifier'],
  \ ['within \zs20m', 'nightDuration'],
  \ ['\zsmatches /all', 'nightModifier'],
  \ ['matches \zs/all', 'nightRegex'],
  \ ['/all (\zs\\d', 'nightRegexEscape'],
  \ ['passed/\zsi$', 'nightRegexFlags'],
  \ ['^  \zstests "npm test"', 'nightStatement'],
  \ ['\zsformat auto', 'nightModifier'],
  \ ['format \zsauto', 'nightConstant'],
  \ ['format \zscargo', 'nightConstant'],
  \ ['format \zsnextest', 'nightConstant'],
  \ ['format \zspytest', 'nightConstant'],
  \ ['format \zsunittest', 'nightConstant'],
  \ ['format \zsgo$', 'nightConstant'],
  \ ['format \zsjest', 'nightConstant'],
  \ ['format \zsvitest', 'nightConstant'],
  \ ['format \zsmocha', 'nightConstant'],
  \ ['format \zstap', 'nightConstant'],
  \ ['format \zsjunit', 'nightConstant'],
  \ ['^  \zscount /error', 'nightStatement'],
  \ ['TS\\d+/ \zsin "npx', 'nightModifier'],
  \ ['\zs<= baseline', 'nightOperator'],
  \ ['<= \zsbaseline', 'nightConstant'],
  \ ['\zs# no new errors', 'nightComment'],
  \ ['/^warning: /\zsm', 'nightRegexFlags'],
  \ ['clippy" \zs< 10', 'nightOperator'],
  \ ['/todo.*fixme/\zss', 'nightRegexFlags'],
  \ ['\zs>= 0', 'nightOperator'],
  \ ['/a\zs\\/b/', 'nightRegexEscape'],
  \ ['"ls" \zs> 2', 'nightOperator'],
  \ ['\zs== 0', 'nightOperator'],
  \ ['^  \zsexists "', 'nightStatement'],
  \ ['^  \zsabsent "', 'nightStatement'],
  \ ['^  \zschanged "', 'nightStatement'],
  \ ['^  \zscommitted$', 'nightStatement'],
  \ ['\zs--strict', 'nightBlockString'],
  \ ['^\zspermissions {', 'nightTopLevel'],
  \ ['^  \zsread "', 'nightStatement'],
  \ ['^  \zswrite "', 'nightStatement'],
  \ ['^  \zsdeny irreversible', 'nightStatement'],
  \ ['deny \zsirreversible', 'nightConstant'],
  \ ['^  \zsallow "', 'nightStatement'],
  \ ['^  \zsnetwork off', 'nightStatement'],
  \ ['^  network \zsoff', 'nightSwitch'],
  \ ['^  network \zson', 'nightSwitch'],
  \ ['^  network \zsallow', 'nightModifier'],
  \ ['^  \zssandbox auto', 'nightStatement'],
  \ ['^  sandbox \zsauto', 'nightSwitch'],
  \ ['^  sandbox \zson', 'nightSwitch'],
  \ ['^  sandbox \zsoff', 'nightSwitch'],
  \ ['^  \zson violation revert', 'nightStatement'],
  \ ['^  on \zsviolation revert', 'nightConstant'],
  \ ['violation \zsrevert', 'nightConstant'],
  \ ['violation \zsstop', 'nightConstant'],
  \ ['^\zslimits {', 'nightTopLevel'],
  \ ['^  \zstimeout 7h', 'nightStatement'],
  \ ['timeout \zs7h', 'nightDuration'],
  \ ['^  \zssession 2h30m', 'nightStatement'],
  \ ['session \zs2h30m', 'nightDuration'],
  \ ['^  \zsattempts 5', 'nightStatement'],
  \ ['attempts 5\zs;', 'nightSemicolon'],
  \ ['attempts 5; \zsstuck 3', 'nightStatement'],
  \ ['^  \zsidle 45m', 'nightStatement'],
  \ ['^  \zssilence 90s', 'nightStatement'],
  \ ['silence \zs90s', 'nightDuration'],
  \ ['^  \zstokens 3M', 'nightStatement'],
  \ ['tokens \zs3M', 'nightInteger'],
  \ ['tokens \zs500k', 'nightInteger'],
  \ ['tokens \zs2_000_000', 'nightInteger'],
  \ ['^  \zscost \$25', 'nightStatement'],
  \ ['cost \zs\$25', 'nightMoney'],
  \ ['cost \zs\$2\.50', 'nightMoney'],
  \ ['^  \zsquota wait', 'nightStatement'],
  \ ['quota \zswait', 'nightModifier'],
  \ ['^\zsrollback {', 'nightTopLevel'],
  \ ['^  \zswhen failing', 'nightStatement'],
  \ ['when \zsfailing', 'nightConstant'],
  \ ['when \zspassing', 'nightConstant'],
  \ ['^  \zsto last-green', 'nightStatement'],
  \ ['to \zslast-green', 'nightConstant'],
  \ ['to \zsstart', 'nightConstant'],
  \ ['^  \zsthen stop', 'nightStatement'],
  \ ['then \zsstop', 'nightConstant'],
  \ ['then \zsretry', 'nightConstant'],
  \ ['^\zsnotify {', 'nightTopLevel'],
  \ ['^  \zswebhook "', 'nightStatement'],
  \ ['night" \zson stuck', 'nightModifier'],
  \ ['on \zsstuck failure', 'nightConstant'],
  \ ['stuck \zsfailure', 'nightConstant'],
  \ ['failure \zsrollback$', 'nightConstant'],
  \ ['^  \zsslack env', 'nightStatement'],
  \ ['slack \zsenv\.', 'nightEnv'],
  \ ['slack env\zs\.', 'nightEnvDot'],
  \ ['slack env\.\zsSLACK', 'nightEnvName'],
  \ ['^  \zsdiscord', 'nightStatement'],
  \ ['on \zsstart attempt', 'nightConstant'],
  \ ['start \zsattempt', 'nightConstant'],
  \ ['attempt \zscommit', 'nightConstant'],
  \ ['commit \zssuccess$', 'nightConstant'],
  \ ['^  \zsntfy "', 'nightStatement'],
  \ ['\zsserver "https', 'nightModifier'],
  \ ['^  \zsemail "', 'nightStatement'],
  \ ['\zsvia env\.SMTP', 'nightModifier'],
  \ ['on violation \zsend$', 'nightConstant'],
  \ ['^  \zssms "', 'nightStatement'],
  \ ['via \zstwilio', 'nightConstant'],
  \ ['\zsfrom "+1', 'nightModifier'],
  \ ['^  \zscommand "\./notify', 'nightStatement'],
  \ ['notify-me\.sh \zs\\"done', 'nightEscape'],
  \ ['\zs\\\\ \\n', 'nightEscape'],
  \ ['\\\\ \zs\\n', 'nightEscape'],
  \ ['\zs\\t\\u', 'nightEscape'],
  \ ['\zs\\u{1F319}', 'nightEscape'],
  \ ['1F319}" \zson end', 'nightModifier'],
  \ ['^\zsdeliver {', 'nightTopLevel'],
  \ ['^  \zspush "origin"', 'nightStatement'],
  \ ['push "origin" \zson success', 'nightModifier'],
  \ ['push "origin" on success failed stuck \zsrolled-back', 'nightConstant'],
  \ ['rolled-back \zstimeout budget', 'nightConstant'],
  \ ['interrupted \zsattempts', 'nightConstant'],
  \ ['^  \zspull-request github', 'nightStatement'],
  \ ['pull-request \zsgithub', 'nightConstant'],
  \ ['"acme/app" \zstoken env', 'nightModifier'],
  \ ['"main" api "https://ghe.example.com/api/v3" on success failed \zsdraft', 'nightConstant'],
  \ ['draft \zslabels', 'nightModifier'],
  \ ['^\zswaive no-rollback', 'nightTopLevel'],
  \ ['waive \zsno-rollback', 'nightRuleCode'],
  \ ['no-rollback \zs"the sample', 'nightString'],
  \ ]

for [s:pattern, s:group] in s:checks
  call cursor(1, 1)
  let s:lnum = search(s:pattern, 'cW')
  if s:lnum == 0
    call s:Fail(printf('pattern %s: not found in sample.night', string(s:pattern)))
    continue
  endif
  let s:col = col('.')
  let s:name = synIDattr(synID(s:lnum, s:col, 1), 'name')
  call s:Expect(printf('%d:%d %s', s:lnum, s:col, s:pattern), s:name, s:group)
endfor

" Every highlight group of the syntax file links to a standard group.
for s:group in ['nightTopLevel', 'nightStatement', 'nightModifier', 'nightConstant',
      \ 'nightString', 'nightComment', 'nightDuration', 'nightRegex']
  call s:Expect(s:group . ' is linked', synIDattr(synIDtrans(hlID(s:group)), 'name') !=# s:group, v:true)
endfor

" Reindenting the sample (`gg=G`) changes nothing: it is indented as night fmt would.
let s:before = getline(1, '$')
silent normal! gg=G
let s:after = getline(1, '$')
for s:i in range(len(s:before))
  if s:before[s:i] !=# s:after[s:i]
    call s:Fail(printf('indent line %d: %s became %s', s:i + 1, string(s:before[s:i]), string(s:after[s:i])))
  endif
endfor
silent! undo

let s:report = s:failures + [printf('vim syntax: %d passed, %d failed', s:passed, len(s:failures))]
call writefile(s:report, $NIGHT_TEST_LOG)
if empty(s:failures)
  qall!
else
  cquit!
endif
