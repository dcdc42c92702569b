// Three layers (see README "Tests"): unit = pure code, no I/O; contract = one suite per port,
// run against every adapter; integration = the service against the real peers. A fourth, deploy,
// checks the Dockerfile, docker-compose.yml and the Helm chart with the tools .ci/deploy-tools
// installs (no peers).
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
  // ESM-only packages (below) become CommonJS the same way, so jest can require them.
  '/node_modules/.+\\.m?js$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'ecmascript' }, target: 'es2024' },
      module: { type: 'commonjs' },
    },
  ],
};
// Jest here runs CommonJS, and require() of ESM needs --experimental-vm-modules: these ESM-only
// packages (fhir-kit-client 2, jose 6, nock 15 and what nock imports, Garmin's FIT SDK, pdfjs-dist for
// reading PDFs in tests) are transformed instead.
const esmOnly = [
  'fhir-kit-client',
  'jose',
  'nock',
  '@mswjs/interceptors',
  '@open-draft/until',
  'rettime',
  '@garmin/fitsdk',
  'pdfjs-dist',
];
const common = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  // fhir-kit-client's exports offer only an "import" condition, which jest's resolver never asks for.
  moduleNameMapper: { '^fhir-kit-client$': '<rootDir>/node_modules/fhir-kit-client/dist/index.js' },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};
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
      displayName: 'deploy',
      testMatch: ['<rootDir>/test/deploy/**/*.test.ts'],
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
