import { Client, Notification, Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DialogDb } from '../../src/database/dialog-db';
import { runMigrations } from '../../src/database/migrate';
import { RING_CHANNEL, RingRepository } from '../../src/routing/ring.repository';
import { eventually } from '../support/eventually';
import { PgServer } from '../support/pg-server';

/**
 * The ring's repository on a real, migrated dialogdb, without the application: the
 * compare-and-set every reshard step rests on, and the registry rules of start-up.
 */
describe('RingRepository', () => {
  let server: PgServer;
  let pool: Pool;
  let sut: RingRepository;

  beforeAll(async () => {
    server = await PgServer.start({ name: 'ring-repo' });
    await runMigrations(server.url('dialogdb'), 'dialogdb');
    pool = new Pool({ connectionString: server.url('dialogdb'), max: 4 });
    // DialogDb reads its pool from TypeORM's DataSource; here the DataSource is only that pool.
    sut = new RingRepository(new DialogDb({ driver: { master: pool } } as unknown as DataSource));
  });

  afterAll(async () => {
    await pool?.end();
    await server?.destroy();
  });

  const points = [
    { point: 0, shard: 'shard-0' },
    { point: 2147483647, shard: 'shard-1' },
  ];
  const publish = (expected: number, reason: string) =>
    pool.connect().then(async (tx) => {
      try {
        await tx.query('BEGIN');
        const version = await sut.publish(tx, expected, points, null, reason);
        await tx.query('COMMIT');
        return version;
      } catch (err) {
        await tx.query('ROLLBACK');
        throw err;
      } finally {
        tx.release();
      }
    });

  it('writes version 1 once, whoever comes second', async () => {
    await sut.createInitial(points);
    await sut.createInitial([{ point: 0, shard: 'other' }]);
    expect(await sut.latest()).toMatchObject({ version: 1, points, transition: null });
  });

  it('publishes only over the version it expects, and announces what it published', async () => {
    const listener = new Client({ connectionString: server.url('dialogdb') });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n: Notification) => heard.push(`${n.channel}:${n.payload}`));
    await listener.query(`LISTEN ${RING_CHANNEL}`);
    try {
      expect(await publish(1, 'first step')).toBe(2);
      await expect(publish(1, 'a stale step')).rejects.toThrow('ring v2 is in force, not v1');
      // Two steps racing on the same version: exactly one wins.
      const raced = await Promise.allSettled([publish(2, 'racer a'), publish(2, 'racer b')]);
      expect(raced.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((await sut.latest())!.version).toBe(3);
      await eventually(() => expect(heard).toEqual([`${RING_CHANNEL}:2`, `${RING_CHANNEL}:3`]));
    } finally {
      await listener.end();
    }
  });

  it('registers a shard once, keeping its first URL and status, and removes only a spare', async () => {
    expect(await sut.registerShard('shard-0', 'postgres://first', 'active')).toBe(true);
    expect(await sut.registerShard('shard-0', 'postgres://second', 'pending')).toBe(false);
    expect(await sut.shard('shard-0')).toEqual({ name: 'shard-0', url: 'postgres://first', status: 'active' });
    await sut.removeSpare('shard-0');
    expect(await sut.shard('shard-0')).not.toBeNull();
    expect(await sut.registerShard('spare-1', 'postgres://spare', 'pending')).toBe(true);
    await sut.removeSpare('spare-1');
    expect(await sut.shard('spare-1')).toBeNull();
  });
});
