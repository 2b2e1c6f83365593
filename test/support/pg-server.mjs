// Runs one Postgres server for the test suite, through the launcher the embedded default
// uses (src/embedded/postgres-launcher.ts, from the build that `npm test` makes first).
// PgServer (pg-server.ts) forks it:
//
//   node pg-server.mjs <dataDir> [port, 0 = any free one] [templateDir]
//
// Reports `{ ready: true, port }` (or `{ error }`) over IPC. Stops Postgres and exits on
// SIGTERM/SIGINT, on an IPC `{ stop: true }`, and when the IPC channel closes, so a jest
// that crashed or was killed does not leave a postmaster behind. If Postgres dies on its
// own this process exits too, so "child alive" always means "server alive".
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const [dataDir, portArg = '0', templateDir = ''] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: pg-server.mjs <dataDir> [port] [templateDir]');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const LAUNCHER = path.join(import.meta.dirname, '../../dist/src/embedded/postgres-launcher.js');
const PROCESSES = path.join(import.meta.dirname, '../../dist/src/embedded/processes.js');
if (!existsSync(LAUNCHER)) {
  console.error(`pg-server: ${LAUNCHER} is missing; build first (npm test does: npm run build)`);
  process.exit(2);
}
const { initCluster, PortTakenError, PostgresProcess } = require(LAUNCHER);
const { freePort } = require(PROCESSES);
const requestedPort = Number(portArg);
const MAX_PORT_ATTEMPTS = 5;

// Durability is worthless for throwaway test data, and the suite opens many pools.
const SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200' };

let server; // the PostgresProcess once started
let stopping;

function send(message) {
  if (process.send && process.connected) process.send(message);
  else console.log(JSON.stringify(message));
}

function shutdown(code = 0) {
  // Fast: a test's server has no session worth waiting for.
  stopping ??= Promise.resolve(server?.stop({ smartMs: 0, timeoutMs: 10_000 }))
    .catch((err) => console.error(`pg-server: stopping ${dataDir} failed:`, err))
    .finally(() => process.exit(code));
  return stopping;
}

async function prepareDataDir() {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  if (!templateDir) {
    await initCluster({ dataDir, password: 'postgres', initdbArgs: ['--no-sync'] });
    return;
  }
  if (existsSync(dataDir)) {
    if (readdirSync(dataDir).length > 0) throw new Error(`${dataDir} is not empty but has no PG_VERSION`);
    rmdirSync(dataDir); // so cp creates it with the template's owner and 0700 mode
  }
  // cp -a keeps the postgres ownership and 0700 modes Postgres insists on.
  await promisify(execFile)('cp', ['-a', templateDir, dataDir]);
}

async function startPostgres() {
  for (let attempt = 1; ; attempt++) {
    const port = requestedPort || (await freePort());
    try {
      return await PostgresProcess.start({ name: path.basename(dataDir), dataDir, port, settings: SETTINGS, logFile: `${dataDir}.log` });
    } catch (err) {
      if (stopping || requestedPort || !(err instanceof PortTakenError) || attempt >= MAX_PORT_ATTEMPTS) throw err;
    }
  }
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('disconnect', () => shutdown(0));
process.on('message', (msg) => {
  if (msg && msg.stop) shutdown(0);
});

try {
  await prepareDataDir();
  server = await startPostgres();
  if (stopping) await stopping;
  server.exited.then(() => {
    if (stopping) return;
    console.error(`pg-server: postgres in ${dataDir} exited unexpectedly`);
    process.exit(1);
  });
  send({ ready: true, port: server.port });
} catch (err) {
  send({ error: String(err?.message ?? err) });
  await shutdown(1);
}
