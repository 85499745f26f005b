; The outline panel lists the top-level statements and, inside them, each
; statement by its head word.
(statement
  head: (identifier) @name) @item
