// Runs before `npm start` builds. A build replaces dist/ (it starts by deleting it), so
// building under a running instance would pull its code away, and a CLI call meanwhile
// would find no dist/src/cli.js and start a build of its own. A start that would be refused
// anyway (its data directory is in use) is refused here, in the same one line, before the
// build. The check is the service's own, from the last build: with no build there is no
// instance of this checkout to protect, and any other problem is left to the start itself.
const path = require('node:path');

let config;
let embedded;
try {
  config = require(path.join(__dirname, '../dist/src/config/app-config.js')).loadConfig();
  embedded = require(path.join(__dirname, '../dist/src/embedded/embedded-postgres.js'));
} catch {
  process.exit(0);
}
if (!config.embedded) process.exit(0);
embedded.assertDataDirFree(path.join(config.dataDir, 'pg', 'dialogdb')).then(
  () => process.exit(0),
  (err) => {
    if (!(err instanceof embedded.DataDirInUseError)) process.exit(0);
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
