#!/usr/bin/env node
// Runs a TypeScript file of this project with tsx's loaders registered: `node bin/run-ts.js file.ts args…`.
'use strict';
const path = require('node:path');
require('tsx/cjs/api').register();
const file = path.resolve(process.argv[2]);
process.argv.splice(1, 2, file);
require(file);
