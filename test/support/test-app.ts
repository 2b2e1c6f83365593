import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import type { Logger } from 'pino';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { TokenService } from '../../src/auth/token.service';
import { createApp, migrateAll, resolveDatabases } from '../../src/bootstrap';
import { loadConfig, ResolvedConfig } from '../../src/config/app-config';
import { ShardProvisioner } from '../../src/reshard/provisioner';
import { TestCluster } from './pg-cluster';

export interface TestApp {
  app: NestFastifyApplication;
  config: ResolvedConfig;
  http: TestAgent;
  token(userId: string, opts?: { admin?: boolean; viewer?: boolean }): string;
  auth(userId: string, opts?: { admin?: boolean; viewer?: boolean }): { Authorization: string };
  close(): Promise<void>;
}

/**
 * The real application on a test cluster: migrations, Fastify, every module; no mocks. Pass a
 * `logger` (createLogger with a destination) to read what the service logs.
 */
export async function startTestApp(
  cluster: TestCluster,
  env: NodeJS.ProcessEnv = {},
  provisioner: ShardProvisioner | null = null,
  logger?: Logger,
): Promise<TestApp> {
  const base = loadConfig({
    DIALOG_DB_URL: cluster.dialogDbUrl,
    SHARD_URLS: cluster.shardUrls.join(','),
    JWT_SECRET: 'test-secret',
    LOG_LEVEL: 'silent',
    // Tests drive a few users far harder than people would (hundreds of sends from one
    // user in a second); the tests of the limits and the fuzz suite set them themselves.
    RATE_LIMIT_SENDS_PER_MIN: '0',
    RATE_LIMIT_DIALOGS_PER_MIN: '0',
    ...env,
  });
  const quiet = { log: () => undefined };
  const { config } = await resolveDatabases(base, quiet);
  await migrateAll(config, quiet);
  const app = await createApp(config, provisioner, logger);
  const tokens = app.get(TokenService);
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    token: (userId, opts) => tokens.sign(userId, opts),
    auth: (userId, opts) => ({ Authorization: `Bearer ${tokens.sign(userId, opts)}` }),
    close: () => app.close(),
  };
}

/** Runs SQL straight on a database, to check what the API really stored where. */
export async function sql<R = Record<string, unknown>>(url: string, text: string, values: unknown[] = [], bypassOwnership = false): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // Rows a test plants on a shard, whatever arcs that shard serves (or before it serves any).
    if (bypassOwnership) await client.query(`SET chat.ownership_bypass = 'on'`);
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}
