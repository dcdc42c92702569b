// Three layers (see README "Tests"): unit = pure code, no I/O; contract = one suite per port,
// run against every adapter; integration = the service against the real peers.
// contract and integration expect the peers' environment (KAFKA_BROKERS, EHR_BASE_URL,
// DATABASE_URL) set by test/peers/with-peers.ts.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
      module: { type: 'commonjs' },
    },
  ],
};
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  // Global, not per project (jest ignores it there): generous for tests that start processes.
  testTimeout: 120_000,
  // A leaked handle must never hang CI with the peers still up; leaks are hunted with
  // --detectOpenHandles, not waited out.
  forceExit: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/{src,mappings}/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'contract',
      testMatch: ['<rootDir>/test/contract/**/*.test.ts'],
      slowTestThreshold: 30,
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      slowTestThreshold: 60,
    },
  ],
};
