/**
 * @file tree-sitter grammar for `.night` runbooks.
 *
 * It follows grammar/night.pest, the parser night itself uses: a runbook is a
 * list of statements; a statement is a head word, its arguments and an
 * optional `{ … }` block, and ends at a newline or `;`. Which statements exist
 * and what they take is not the grammar's business (night's schema checks it),
 * so keywords are words here too; queries/highlights.scm tells them apart by
 * their place (`head:` or `argument:`) and their text.
 *
 * After editing, run `tree-sitter generate --abi 14` and commit src/: editors
 * compile the committed src/parser.c and need no tree-sitter CLI. ABI 14 loads
 * in every tree-sitter runtime since 0.20 (older Helix, Zed, nvim-treesitter).
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

module.exports = grammar({
  name: 'night',

  // Spaces and tabs separate tokens; newlines are significant (they end
  // statements), so they are not extras.
  extras: $ => [/[ \t]/, $.comment],

  rules: {
    // A runbook: statements separated by newlines or `;`.
    source_file: $ => repeat($._item),

    _item: $ => choice($.statement, $._newline, ';'),

    // A head word, its arguments, then optionally a block. Right precedence:
    // a word after the head is one more argument, never a new statement.
    statement: $ => prec.right(seq(
      field('head', $.identifier),
      repeat(field('argument', $._argument)),
      optional(field('block', $.block)),
    )),

    // A `{ … }` block of nested statements.
    block: $ => seq('{', repeat($._item), '}'),

    // One argument of a statement.
    _argument: $ => choice(
      $.block_string,
      $.string,
      $.regex,
      $.money,
      $.number,
      $.env_reference,
      $.comparison,
      $.identifier,
    ),

    // `"…"` on one line, with escapes `\"` `\\` `\n` `\t` `\u{…}`.
    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence, $.invalid_escape)),
      token.immediate('"'),
    ),
    string_content: _ => token.immediate(prec(1, /[^"\\\r\n]+/)),
    escape_sequence: _ => token.immediate(prec(2, seq('\\', choice(/["\\nt]/, /u\{[0-9A-Fa-f]{1,6}\}/)))),
    // Any other backslash: night reports it when it reads the runbook.
    invalid_escape: _ => token.immediate(prec(1, seq('\\', /[^\r\n]?/))),

    // `"""…"""` across lines; no escapes inside. One token: it ends at the
    // first `"""`, like night.pest's `block_string`.
    block_string: _ => token(seq('"""', repeat(choice(/[^"]/, /"[^"]/, /""[^"]/)), '"""')),

    // `/pattern/flags`; `\/` is a slash inside the pattern.
    regex: $ => seq(
      '/',
      field('pattern', $.regex_pattern),
      token.immediate('/'),
      optional(field('flags', $.regex_flags)),
    ),
    regex_pattern: _ => token.immediate(/([^/\\\r\n]|\\[^\r\n])+/),
    regex_flags: _ => token.immediate(prec(1, /[A-Za-z]+/)),

    // `$25`, `$2.50` (night checks the exact form).
    money: _ => /\$[0-9._,]*/,

    // Integers (`300`, `2_000_000`, `500k`, `3M`) and durations (`90s`,
    // `2h30m`): one token starting with a digit, as in night.pest.
    number: _ => /[0-9][A-Za-z0-9_.]*/,

    // `env.NAME`: a value read from the environment when the run starts.
    // `env.` is one token, so a bare `env` stays an identifier (as in night.pest).
    env_reference: $ => seq('env.', field('name', $.env_name)),
    env_name: _ => token.immediate(/[A-Za-z_][A-Za-z0-9_]*/),

    // `<=` `>=` `==` `<` `>`: only inside `count` and `when`.
    comparison: _ => choice('<=', '>=', '==', '<', '>'),

    // Keywords, agent kinds, rule codes, any other word.
    identifier: _ => /[A-Za-z_][A-Za-z0-9_-]*/,

    // `#` to the end of the line.
    comment: _ => token(seq('#', /[^\r\n]*/)),

    _newline: _ => /\r?\n|\r/,
  },
});
