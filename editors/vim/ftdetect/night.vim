" .night runbooks (Vim and Neovim both read ftdetect/ in 'runtimepath').
autocmd BufRead,BufNewFile *.night setfiletype night
