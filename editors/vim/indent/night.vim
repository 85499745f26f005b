" Vim indent file for .night runbooks: one level per open `{`.
if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal autoindent
setlocal indentexpr=NightIndent(v:lnum)
setlocal indentkeys=0},!^F,o,O

let b:undo_indent = 'setlocal autoindent< indentexpr< indentkeys<'

if exists('*NightIndent')
  finish
endif

" Is the start of line {lnum} inside a string (a block string's text)?
function! s:InString(lnum) abort
  let name = synIDattr(synID(a:lnum, 1, 1), 'name')
  return name =~# 'String'
endfunction

function! NightIndent(lnum) abort
  " Block string text and its closing `"""` keep the indentation the user gave.
  if s:InString(a:lnum)
    return -1
  endif
  let prev = prevnonblank(a:lnum - 1)
  " After a block string, indent from the statement that opened it.
  while prev > 1 && s:InString(prev)
    let prev = prevnonblank(prev - 1)
  endwhile
  if prev == 0
    return 0
  endif
  let ind = indent(prev)
  " Ignore a trailing comment and strings when looking for braces.
  let line = substitute(getline(prev), '"\%(\\.\|[^"\\]\)*"', '""', 'g')
  let line = substitute(line, '#.*$', '', '')
  let opened = len(substitute(line, '[^{]', '', 'g')) - len(substitute(line, '[^}]', '', 'g'))
  if opened > 0
    let ind += shiftwidth()
  endif
  if getline(a:lnum) =~# '^\s*}'
    let ind -= shiftwidth()
  endif
  return ind < 0 ? 0 : ind
endfunction
