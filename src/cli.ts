import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { AuthModule } from './auth/auth.module';
import { MigrateCommand } from './cli/migrate.command';
import { TokenCommand } from './cli/token.command';
import { APP_CONFIG, AppConfig, ConfigError, loadConfig } from './config/app-config';
import { readEmbeddedJwtSecret } from './embedded/embedded-fleet';

/** The CLI runs the same services as the HTTP API, without starting the server. */
async function main(): Promise<void> {
  const loaded = loadConfig();
  // In the embedded default the secret lives in the data directory, shared with `npm start`.
  const config: AppConfig = { ...loaded, jwtSecret: loaded.jwtSecret ?? (await readEmbeddedJwtSecret(loaded.dataDir)) };

  @Global()
  @Module({ providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] })
  class CliConfigModule {}

  @Module({ imports: [CliConfigModule, AuthModule], providers: [TokenCommand, MigrateCommand] })
  class CliModule {}

  // serviceErrorHandler: an error thrown by a command itself (nest-commander's default
  // prints it and exits 0, which a script cannot tell from success).
  await CommandFactory.run(CliModule, { logger: ['error', 'warn'], errorHandler: fail, serviceErrorHandler: fail });
}

function fail(err: unknown): never {
  // commander has already printed its own usage errors and help.
  const commander = err as { code?: string; exitCode?: number };
  if (commander.code?.startsWith('commander.')) process.exit(commander.exitCode ?? 1);
  const message = err instanceof ConfigError ? `configuration: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

main().catch(fail);
