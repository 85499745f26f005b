; Helix indentation: one level inside each `{ … }` block.
(block) @indent
"}" @outdent
