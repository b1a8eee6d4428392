/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/gpu needs the GPU worker's virtualenv (scripts/setup-gpu.sh): jest.gpu.config.js runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/gpu/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // One Temporal dev server and one PostgreSQL serve every test file; each file gets its own database.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
