'use strict';
// Entry of the gateway's log thread. Worker threads start without the parent's TypeScript loader, so
// this registers tsx (as bin/run-ts.js does) before loading the TypeScript worker code.
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, 'log-thread.ts');
if (fs.existsSync(source)) {
  require('tsx/cjs/api').register();
  require(source).runLogWorker();
} else {
  require('./log-thread.js').runLogWorker();
}
