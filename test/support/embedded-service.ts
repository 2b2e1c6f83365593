import { JwtService } from '@nestjs/jwt';
import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isAlive, killPostmaster, runningPostmasters } from './postmaster';
import { descendants } from './proc';
import { freePort, MAIN, ServiceProcess, spawnService } from './service-process';

/**
 * The built service on the embedded default, on a data directory of its own, started as a
 * terminal starts a command: the leader of a process group of its own, so a test can signal
 * the whole group as Ctrl-C does.
 */
export class EmbeddedService {
  private readonly groups: ChildProcess[] = [];

  private constructor(
    readonly dataDir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(dataDir: string, extra: NodeJS.ProcessEnv = {}): Promise<EmbeddedService> {
    return new EmbeddedService(dataDir, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      // Away from the default 54320 so a developer's own `npm start` is not disturbed.
      EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 30000)),
      RATE_LIMIT_SENDS_PER_MIN: '0',
      RATE_LIMIT_DIALOGS_PER_MIN: '0',
      ...extra,
    });
  }

  get pgRoot(): string {
    return path.join(this.dataDir, 'pg');
  }

  /** `command` (the built service by default) in a process group of its own. */
  foreground(command: string[] = [process.execPath, MAIN]): ServiceProcess {
    const service = spawnService(this.env, command, { detached: true });
    this.groups.push(service.child);
    return service;
  }

  get port(): number {
    return Number(this.env.PORT);
  }

  /** A token signed with the secret the embedded default keeps in its data directory. */
  token(sub: string, role?: 'admin'): string {
    const { jwtSecret } = JSON.parse(readFileSync(path.join(this.dataDir, 'secrets.json'), 'utf8')) as { jwtSecret: string };
    return new JwtService({ secret: jwtSecret, signOptions: { expiresIn: 3600 } }).sign(role ? { sub, role } : { sub });
  }

  async api(method: string, route: string, body?: unknown, as: { sub: string; role?: 'admin' } = { sub: 'alice' }): Promise<{ status: number; json: any }> {
    const res = await fetch(`http://127.0.0.1:${this.env.PORT}${route}`, {
      method,
      headers: { Authorization: `Bearer ${this.token(as.sub, as.role)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  admin(method: string, route: string, body?: unknown) {
    return this.api(method, route, body, { sub: 'ops', role: 'admin' });
  }

  /** Whatever the outcome of a test, nothing it started keeps running. */
  async destroy(): Promise<void> {
    for (const group of this.groups) {
      for (const pid of [group.pid!, ...descendants(group.pid!).map((p) => p.pid)]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    for (const { pid } of runningPostmasters(this.pgRoot)) await killPostmaster(pid);
  }
}
