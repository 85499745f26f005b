; One level of indentation inside each `{ … }` block.
(block "}" @end) @indent
