import { ShardProvisioner } from '../../src/reshard/provisioner';
import { PgServer } from './pg-server';

/**
 * Makes target databases on demand, as the embedded default does, from the test harness, and
 * really stops the server of a shard it retires when it knows that server.
 */
export class HarnessProvisioner implements ShardProvisioner {
  readonly servers = new Map<string, PgServer>();
  readonly retired: string[] = [];

  constructor(known: Record<string, PgServer> = {}) {
    for (const [name, server] of Object.entries(known)) this.servers.set(name, server);
  }

  async provision(name: string): Promise<string> {
    const server = await PgServer.start({ name });
    this.servers.set(name, server);
    return server.url('messagedb');
  }

  async retire(name: string): Promise<void> {
    this.retired.push(name);
    await this.servers.get(name)?.stop();
  }

  /** Destroys the servers it started; known ones belong to their cluster. */
  async destroy(started = [...this.servers.values()]): Promise<void> {
    await Promise.all(started.map((s) => s.destroy()));
  }
}
