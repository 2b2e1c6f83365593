import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { CleanStringsPipe } from './common/clean-strings.pipe';
import { isConnectionError } from './common/db-errors';
import { DomainErrorCode, DomainException } from './common/domain.exception';
import { DtoValidationPipe } from './common/dto-validation.pipe';
import { MAX_BODY_DEPTH, nestsDeeperThan } from './common/json-depth';
import { AppConfig, externalShards, ResolvedConfig, startupWarnings } from './config/app-config';
import { runMigrations } from './database/migrate';
import { EmbeddedFleet } from './embedded/embedded-fleet';
import { ShutdownService } from './lifecycle/shutdown.service';
import { LogContext } from './observability/log-context';
import { createLogger, maskUrl, PinoNestLogger, requestId } from './observability/logging';
import { MetricsService } from './observability/metrics.service';
import { createApiDocument } from './openapi/api-document';
import type { RawServerDefault } from 'fastify';
import type { Logger as Pino } from 'pino';
import { LatencyTracker } from './reshard/latency-tracker';
import { ShardProvisioner } from './reshard/provisioner';
import { serveStatePageAssets } from './state/state-page';

// Probes and scrapes every few seconds would drown the log.
const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

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

/** A start that cannot go on for a reason outside the code (a database down): main prints its one line, no stack. */
export class StartupError extends Error {}

/** Where a database URL points, without its credentials. */
function whereIs(url: string): string {
  try {
    const { host, pathname } = new URL(url);
    return `${host}${pathname}`;
  } catch {
    return 'its URL';
  }
}

/** dialogdb first, then every shard; a new shard always gets the shard set before traffic. */
export async function migrateAll(config: ResolvedConfig, log: ProgressLog = new Logger('Migrations')): Promise<void> {
  const migrate = async (what: string, url: string, set: 'dialogdb' | 'shard') => {
    let applied: string[];
    try {
      applied = await runMigrations(url, set);
    } catch (err) {
      if (isConnectionError(err)) throw new StartupError(`cannot reach ${what} at ${whereIs(url)}: ${(err as Error).message}`);
      throw err;
    }
    log.log(`${what}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
  };
  await migrate('dialogdb', config.dialogDbUrl, 'dialogdb');
  for (const shard of [...config.shards, ...config.spareShards]) {
    await migrate(shard.name, shard.url, 'shard');
  }
}

/**
 * Fastify's limits on slow clients; its own defaults wait forever for a request. The head
 * limit is Node's `headersTimeout`: Fastify's `connectionTimeout` is an inactivity timer,
 * which a client dribbling one header line every few seconds keeps resetting.
 */
function httpServerOptions(config: AppConfig) {
  return {
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    http: {
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      // Node checks both limits on this interval (30 s by default), so a 10 s head limit
      // would really be up to 40 s.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.httpHeadersTimeoutMs / 4)),
    },
    // During a shutdown a request that reaches a busy keep-alive connection is served as
    // usual (with Connection: close) instead of Fastify's bare 503: its client sent it to a
    // live instance.
    return503OnClosing: false,
  };
}

/**
 * The API takes JSON bodies only. A form (curl's default for `-d`), text or a body with no
 * Content-Type is refused with 415 and what to send instead: parsed as a form, `-d
 * '{"text":"x"}'` became one property named by the whole JSON text, and its 400 said
 * `text is required; property {"text":"x"} should not exist`. An empty body is no body,
 * whatever type it claims, so a body-less POST from any client is served.
 */
function refuseOtherBodies(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('*', (request, _payload, done) => {
    if (request.headers['content-length'] === '0') return done(null, undefined);
    const type = request.headers['content-type'];
    // A route whose contract knows no 415 (the OTUS send) says which status it answers instead.
    const { notJsonStatus } = request.routeOptions.config as { notJsonStatus?: 400 };
    done(
      new DomainException(
        notJsonStatus === 400 ? DomainErrorCode.InvalidInput : DomainErrorCode.UnsupportedMediaType,
        `request bodies must be JSON, sent with Content-Type: application/json; this one came ${type ? `as ${type.split(';')[0].trim().slice(0, 100)}` : 'with no Content-Type'}`,
      ),
      undefined,
    );
  });
}

/** The HTTP application, configured the same way for `npm start` and for the tests. */
export async function createApp(
  config: ResolvedConfig,
  provisioner: ShardProvisioner | null = null,
  logger: Pino = createLogger(config.logLevel),
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, provisioner),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT, genReqId: requestId, ...httpServerOptions(config) }),
    // Nest's own parsers would add forms (application/x-www-form-urlencoded) beside JSON.
    { logger: new PinoNestLogger(logger), bodyParser: false },
  );
  // Fastify's own JSON parser (with its __proto__ and constructor checks), then a depth
  // limit: validation recurses into the parsed body, and a few thousand nested arrays in
  // an unknown property overflowed the stack, a 500 on every body-taking route.
  const parseJson = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit: BODY_LIMIT }, (request, body, done) => {
    // Typed for a string, it takes the Buffer Nest hands over as its own default parser does.
    parseJson(request, body as unknown as string, (err, parsed) => {
      if (err) return done(err, undefined);
      if (nestsDeeperThan(parsed, MAX_BODY_DEPTH)) {
        return done(new DomainException(DomainErrorCode.InvalidInput, `the JSON body nests deeper than ${MAX_BODY_DEPTH} levels`), undefined);
      }
      done(null, parsed);
    });
  });
  refuseOtherBodies(app);
  const metrics = app.get(MetricsService);
  app.useGlobalFilters(new AllExceptionsFilter(metrics));
  app.useGlobalPipes(new CleanStringsPipe(), new DtoValidationPipe());
  SwaggerModule.setup('docs', app, createApiDocument(app));
  serveStatePageAssets(app);
  const latency = app.get(LatencyTracker);
  const shutdown = app.get(ShutdownService);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.header('X-Request-Id', request.id);
      done();
    })
    // Fastify marks only requests routed after its close; one accepted before it would
    // leave its connection open and idle, and the server would wait for that connection
    // until the keep-alive timeout.
    .addHook('onSend', (_request, reply, _payload, done) => {
      if (shutdown.draining) void reply.header('Connection', 'close');
      done();
    })
    .addHook('onResponse', (request, reply, done) => {
      // Route patterns, not URLs, keep the label set small.
      const route = request.routeOptions.url ?? 'unmatched';
      if (!QUIET_ROUTES.has(route)) {
        const { dialogId, shard } = request.raw as LogContext;
        const line = {
          reqId: request.id,
          method: request.method,
          url: maskUrl(request.url),
          statusCode: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ...(shard ? { dialogId, shard } : {}),
        };
        if (reply.statusCode >= 500) logger.error(line, 'request failed');
        else if (reply.statusCode >= 400) logger.warn(line, 'request refused');
        else logger.info(line, 'request done');
      }
      metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      metrics.requestSeconds.observe({ route, method: request.method }, reply.elapsedTime / 1000);
      // Live latency of the message path, which the reshard copier watches to back off.
      if (route.startsWith('/dialog')) latency.record(reply.elapsedTime);
      done();
    });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  for (const warning of startupWarnings(config)) logger.warn(warning);
  return app;
}
