/**
 * The GPU worker's suites (test/gpu): the real Python worker (workers/gpu) on task queue mms-gpu,
 * real training, llama.cpp and downloads. They need `bash scripts/setup-gpu.sh` (~3 GB, once), so
 * `npm test` leaves them out; `npm run test:gpu` and CI run them.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/gpu'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Training and conversion run for minutes on a shared 2-core machine.
  testTimeout: 600_000,
  // One suite at a time: each trains on both cores.
  maxWorkers: 1,
};
