; Matching brackets and quotes.
("{" @open "}" @close)
