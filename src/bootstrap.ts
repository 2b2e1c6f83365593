import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { AppConfig, externalShards, ResolvedConfig } from './config/app-config';
import { runMigrations } from './database/migrate';
import { EmbeddedFleet } from './embedded/embedded-fleet';
import { LatencyTracker } from './reshard/latency-tracker';
import { ShardProvisioner } from './reshard/provisioner';

/** Requests larger than this are refused with 413 before any parsing work. */
export const BODY_LIMIT = 64 * 1024;

/** Where start-up progress goes: Nest's logger for the server, stderr for the CLI. */
export interface ProgressLog {
  log(message: string): void;
}

export interface Databases {
  config: ResolvedConfig;
  /** Present in the embedded default: the servers this process started and must stop. */
  fleet?: EmbeddedFleet;
}

/** Starts the embedded Postgres servers when no databases are configured. */
export async function resolveDatabases(config: AppConfig, log: ProgressLog = new Logger('Bootstrap')): Promise<Databases> {
  if (!config.embedded) {
    return { config: { ...config, jwtSecret: config.jwtSecret!, dialogDbUrl: config.dialogDbUrl!, shards: externalShards(config) } };
  }
  const fleet = await EmbeddedFleet.start(config, (line) => log.log(line));
  return {
    fleet,
    config: {
      ...config,
      jwtSecret: fleet.jwtSecret,
      dialogDbUrl: fleet.dialogDb.url,
      shards: [...fleet.shardUrls].map(([name, url]) => ({ name, url })),
    },
  };
}

/** dialogdb first, then every shard; a new shard always gets the shard set before traffic. */
export async function migrateAll(config: ResolvedConfig, log: ProgressLog = new Logger('Migrations')): Promise<void> {
  const report = (what: string, applied: string[]) =>
    log.log(`${what}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
  report('dialogdb', await runMigrations(config.dialogDbUrl, 'dialogdb'));
  for (const shard of [...config.shards, ...config.spareShards]) {
    report(shard.name, await runMigrations(shard.url, 'shard'));
  }
}

/** The HTTP application, configured the same way for `npm start` and for the tests. */
export async function createApp(config: ResolvedConfig, provisioner: ShardProvisioner | null = null): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, provisioner),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT }),
    { logger: config.logLevel === 'silent' ? false : undefined },
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }),
  );
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Sharded chat API')
      .setDescription('Dialogs in dialogdb, messages sharded by dialog id on a CRC-32 ring.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  // Live latency of the message path, which the reshard copier watches to back off.
  const latency = app.get(LatencyTracker);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      if (request.url.startsWith('/dialog')) latency.record(reply.elapsedTime);
      done();
    });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
