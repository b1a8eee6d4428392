#!/usr/bin/env node
// The `mms` command. npx, `npm link` and `npm install -g` reach this file through a symlink in a
// `.bin` directory, so "am I the main module?" checks on the path are unreliable: call main() here.
'use strict';
require('tsx/cjs/api').register();
const { main } = require('../cli/main.ts');
main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`mms: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
