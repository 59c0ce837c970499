#!/usr/bin/env node
// Entry of the `blockwise` command; the code lives in the compiled CLI.
require('../dist/electron/cli/main.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(70);
  },
);
