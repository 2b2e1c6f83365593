/**
 * The rules src/ keeps; `npm test` checks them first (`npm run lint:deps`).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment:
        'The rooms of src/ form layers: no folder imports one that imports it back, directly or through others. ' +
        'Move what both need below them (src/shards holds what every room that touches a shard shares).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'ring-is-pure',
      comment: 'src/ring is pure ring arithmetic: no I/O, no Nest, no database, nothing else of src/.',
      severity: 'error',
      from: { path: '^src/ring/' },
      to: { pathNot: ['^src/ring/', 'node_modules/crc-32/'] },
    },
    {
      name: 'pg-in-repositories-only',
      comment:
        'Only repositories and the database infrastructure talk to Postgres; a service or a controller asks a repository.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: [
          '\\.repository\\.ts$',
          '^src/database/',
          '^src/embedded/',
          '^src/shards/shard-registry\\.ts$',
          '^src/common/db-errors\\.ts$',
        ],
      },
      to: { path: 'node_modules/(pg|pg-copy-streams|typeorm)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.spec\\.ts$' },
  },
};
