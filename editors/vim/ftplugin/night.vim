" Vim filetype plugin for .night runbooks.
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

" `#` starts a comment (used by gc in Neovim/commentary, and by gq on comments).
setlocal commentstring=#\ %s
setlocal comments=:#
setlocal formatoptions-=t formatoptions+=croql
" Words such as `last-green` and rule codes like `no-rollback` hold a dash.
setlocal iskeyword+=-
" night fmt writes two-space indentation.
setlocal expandtab shiftwidth=2 softtabstop=2

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< iskeyword< expandtab< shiftwidth< softtabstop<'
