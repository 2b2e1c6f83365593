import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, migrateAll, resolveDatabases, StartupError } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';
import { DataDirInUseError } from './embedded/embedded-postgres';
import { createLogger, flushLogSync, startupLogger } from './observability/logging';

async function main(): Promise<void> {
  const log = new Logger('Main');
  const loaded = loadConfig();
  const logger = createLogger(loaded.logLevel);
  const { config, fleet } = await resolveDatabases(loaded, startupLogger(logger, 'Bootstrap'));
  let app: NestFastifyApplication | undefined;
  try {
    await migrateAll(config, startupLogger(logger, 'Migrations'));
    const serving = await createApp(config, fleet ?? null, logger);
    app = serving;
    await listen(serving, config.host, config.port);
    const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
    log.log(`serving on ${url} (API docs at ${url}/docs)`);
    if (fleet) {
      log.log(`embedded Postgres data is kept in ${config.dataDir}`);
      log.log(`get a token: npm run -s cli -- token <userId>   (admin: add --admin)`);
      log.log(`state page: ${url}/state?token=<npm run -s cli -- token ops --viewer --ttl 1h>`);
    }
    // Stdout is written in chunks (see createLogger); whoever started the service waits for these lines now.
    flushLogSync(logger);
    let stopping = false;
    // app.close() drains HTTP, flushes activity and closes the pools (see ShutdownService);
    // the embedded servers go last, as the pools' connections to them are gone by then. They
    // run in process groups of their own, so a signal to this one's group never reaches them.
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) return log.log(`${signal}: already shutting down`);
      stopping = true;
      log.log(`${signal}: shutting down`);
      let code = 0;
      try {
        await serving.close();
      } catch (err) {
        log.error(`shutdown: ${(err as Error).stack ?? String(err)}`);
        code = 1;
      }
      await fleet?.stop();
      process.exit(code);
    };
    // SIGHUP too: a terminal that closes sends it, and the service then drains as for a Ctrl-C.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, (s) => void stop(s));
  } catch (err) {
    await app?.close().catch(() => undefined);
    await fleet?.stop();
    throw err;
  }
}

/** A port taken or an address this machine does not have is a setting to change: one line, not a stack. */
async function listen(app: NestFastifyApplication, host: string, port: number): Promise<void> {
  try {
    await app.listen(port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ConfigError(`cannot listen on ${host}:${port} (HOST, PORT): ${(err as Error).message}`);
    }
    throw err;
  }
}

// Written straight to stderr: Nest's console logger colours its output even into a file,
// and an operator's mistake (a bad setting, a data directory in use, a database down) needs one plain line,
// not a stack.
main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError
      ? `configuration: ${err.message}`
      : err instanceof DataDirInUseError || err instanceof StartupError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
