import type { Config } from 'jest';

// Nest 12 ships as ES modules and Node 20 cannot require() them inside Jest, so tests run as ESM
// (`node --experimental-vm-modules`); the app itself is compiled to CommonJS by `nest build`.
const config: Config = {
  rootDir: '.',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(src/.*\\.spec|test/.*\\.e2e-spec)\\.ts$',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { module: 'es2022', moduleResolution: 'bundler' } }],
  },
  setupFiles: ['<rootDir>/test/support/test-env.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testEnvironment: 'node',
  testTimeout: 60_000,
};

export default config;
