import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ringHash } from '../src/ring';
import { MessagesRepository, served } from '../src/messages/messages.repository';
import { uuidv7Time } from '../src/messages/messages.service';
import type { ShardRegistry } from '../src/shards/shard-registry';
import { CpuMeter, CpuShare } from './cpu';
import { closedLoop, httpLoad, HttpRequestSpec } from './load';
import { BenchDialog } from './seed';
import { Recorder, Summary } from './stats';

export interface Side {
  summary: Summary;
  cpu: CpuShare;
  errorSamples: Array<[string, number]>;
}

export interface Comparison {
  raw: Side;
  api: Side;
  /** API req/s over raw-pg ops/s. */
  ratio: number;
}

export interface CeilingContext {
  baseUrl: string;
  shardUrls: Map<string, string>;
  concurrency: number;
  warmupS: number;
  measureS: number;
  cpu: CpuMeter;
  log: (line: string) => void;
}

/**
 * The service's own MessagesRepository on plain pg pools: the ceiling runs exactly the
 * statements the API runs (same text, same prepared-statement names), minus everything
 * else the service does around them.
 */
function rawRepository(pools: Map<string, Pool>): MessagesRepository {
  const registry = {
    async query(shard: string, text: string, values: unknown[], name?: string) {
      const result = await pools.get(shard)!.query(name ? { name, text, values } : { text, values });
      return result.rows;
    },
  };
  return new MessagesRepository(registry as unknown as ShardRegistry);
}

function pools(ctx: CeilingContext, shards: string[], options?: string): Map<string, Pool> {
  return new Map(
    shards.map((s) => {
      const pool = new Pool({ connectionString: ctx.shardUrls.get(s)!, max: ctx.concurrency, options });
      // An idle client of a server that shuts down (Ctrl-C) emits an error; without a listener it kills the bench.
      pool.on('error', () => undefined);
      return [s, pool];
    }),
  );
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
let sequence = 0;
const messageText = () => `bench message ${++sequence}: are we still on for lunch at noon?`;

/** Warm-up (discarded), then a measured window with the CPU split recorded. */
async function measure(ctx: CeilingContext, run: (recorder: Recorder, seconds: number) => Promise<void>): Promise<Side> {
  await run(new Recorder(), ctx.warmupS);
  const recorder = new Recorder();
  const before = ctx.cpu.snapshot();
  await run(recorder, ctx.measureS);
  const cpu = CpuMeter.between(before, ctx.cpu.snapshot());
  return { summary: recorder.summary(), cpu, errorSamples: [...recorder.errorSamples] };
}

/** The API side: autocannon-style keep-alive connections, as many as the raw side's workers. */
function measureApi(ctx: CeilingContext, next: () => HttpRequestSpec): Promise<Side> {
  return measure(ctx, (recorder, seconds) => httpLoad({ baseUrl: ctx.baseUrl, connections: ctx.concurrency, seconds, recorder, next }).done);
}

function compare(raw: Side, api: Side): Comparison {
  return { raw, api, ratio: raw.summary.rps > 0 ? api.summary.rps / raw.summary.rps : 0 };
}

/** 1. Sends: MessagesRepository.insert over pg pools vs POST /dialogs/:id/messages, same dialogs. */
export async function compareSend(ctx: CeilingContext, dialogs: BenchDialog[]): Promise<Comparison> {
  const shardPools = pools(ctx, [...new Set(dialogs.map((d) => d.shard))]);
  const repo = rawRepository(shardPools);
  try {
    ctx.log(`send: raw pg, ${ctx.concurrency} concurrent inserts for ${ctx.measureS} s`);
    const raw = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, ctx.concurrency, seconds, async () => {
        const d = pick(dialogs);
        const id = uuidv7();
        const row = await repo.insert(d.shard, {
          id,
          dialogId: d.id,
          ringHash: d.hash,
          authorId: pick(d.members),
          text: messageText(),
          clientMessageId: null,
          createdAt: uuidv7Time(id),
        });
        if (!row) throw new Error('insert returned no row');
      }),
    );
    ctx.log(`send: raw ${Math.round(raw.summary.rps)} ops/s; API, ${ctx.concurrency} connections for ${ctx.measureS} s`);
    const api = await measureApi(ctx, (): HttpRequestSpec => {
      const d = pick(dialogs);
      return {
        method: 'POST',
        path: `/dialogs/${d.id}/messages`,
        headers: { authorization: `Bearer ${pick(d.tokens)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: messageText() }),
      };
    });
    ctx.log(`send: API ${Math.round(api.summary.rps)} req/s`);
    return compare(raw, api);
  } finally {
    await Promise.all([...shardPools.values()].map((p) => p.end()));
  }
}

/** 2. Lists: MessagesRepository.page (limit + 1, as the service asks) vs GET ...?limit=50. */
export async function compareList(ctx: CeilingContext, dialogs: BenchDialog[], limit = 50): Promise<Comparison> {
  const shardPools = pools(ctx, [...new Set(dialogs.map((d) => d.shard))]);
  const repo = rawRepository(shardPools);
  try {
    ctx.log(`list: raw pg, ${ctx.concurrency} concurrent pages for ${ctx.measureS} s`);
    const raw = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, ctx.concurrency, seconds, async () => {
        const d = pick(dialogs);
        // The service reads one row more than it returns, to know whether there is a next page.
        const rows = await repo.page(d.shard, d.id, ringHash(d.id), limit + 1);
        if (rows.length === 0) throw new Error(`dialog ${d.id} has no messages`);
      }),
    );
    ctx.log(`list: raw ${Math.round(raw.summary.rps)} ops/s; API, ${ctx.concurrency} connections for ${ctx.measureS} s`);
    const api = await measureApi(ctx, (): HttpRequestSpec => {
      const d = pick(dialogs);
      return { method: 'GET', path: `/dialogs/${d.id}/messages?limit=${limit}`, headers: { authorization: `Bearer ${pick(d.tokens)}` } };
    });
    ctx.log(`list: API ${Math.round(api.summary.rps)} req/s`);
    return compare(raw, api);
  } finally {
    await Promise.all([...shardPools.values()].map((p) => p.end()));
  }
}

/** The shards' ownership check, measured on the raw path: with it, and with it switched off. */
export interface OwnershipCost {
  insert: { with: Side; without: Side; ratio: number };
  page: { with: Side; without: Side; ratio: number };
}

/**
 * 5. What the ownership check costs Postgres: single-row inserts with the trigger's check
 * and with the check skipped (the session's `chat.ownership_bypass`, which returns before
 * the advisory lock and the lookup), and the newest-50 page with its one-time filter and
 * the same query without it. Raw pg only, so nothing but the check differs.
 */
export async function measureOwnership(full: CeilingContext, dialogs: BenchDialog[], onSource: BenchDialog[], limit = 50): Promise<OwnershipCost> {
  // Eight windows of half the usual length: the A B B A rounds average out what a longer one would.
  const ctx = { ...full, warmupS: Math.min(full.warmupS, 3), measureS: Math.max(1, Math.round(full.measureS / 2)) };
  const shards = [...new Set(dialogs.map((d) => d.shard))];
  // Each side twice, in A B B A order, best of its two rounds: drift on a shared machine (a
  // checkpoint, another process) then falls on both sides rather than on the one measured last.
  const sides = async (label: string, op: (bypass: boolean) => (d: BenchDialog) => Promise<void>, from: BenchDialog[]) => {
    const rounds: Record<'true' | 'false', Side[]> = { true: [], false: [] };
    for (const bypass of [false, true, true, false]) {
      ctx.log(`ownership: ${label} ${bypass ? 'without' : 'with'} the check, ${ctx.concurrency} concurrent for ${ctx.measureS} s`);
      rounds[`${bypass}`].push(await measure(ctx, (recorder, seconds) => closedLoop(recorder, ctx.concurrency, seconds, () => op(bypass)(pick(from)))));
    }
    const best = (xs: Side[]) => xs.reduce((a, b) => (b.summary.rps > a.summary.rps ? b : a));
    const [checked, unchecked] = [best(rounds.false), best(rounds.true)];
    return { with: checked, without: unchecked, ratio: unchecked.summary.rps > 0 ? checked.summary.rps / unchecked.summary.rps : 0 };
  };
  const checked = pools(ctx, shards);
  const bypassed = pools(ctx, shards, '-c chat.ownership_bypass=on');
  try {
    const insert = await sides(
      'insert',
      (bypass) => async (d) => {
        const id = uuidv7();
        await (bypass ? bypassed : checked)
          .get(d.shard)!
          .query({
            name: 'bench_insert',
            text: 'INSERT INTO messages (dialog_id, id, ring_hash, author_id, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
            values: [d.id, id, d.hash, pick(d.members), messageText(), uuidv7Time(id)],
          });
      },
      dialogs,
    );
    const page = await sides(
      'page',
      (bypass) => async (d) => {
        const check = bypass ? '' : `AND ${served('$3', 'read-alone')}`;
        const { rows } = await checked.get(d.shard)!.query({
          name: bypass ? 'bench_page_bare' : 'bench_page_checked',
          text: `SELECT id, dialog_id, author_id, text, edited_at, deleted_at FROM messages
                 WHERE dialog_id = $1 AND deleted_at IS NULL ${check} ORDER BY id DESC LIMIT $2`,
          values: bypass ? [d.id, limit + 1] : [d.id, limit + 1, d.hash],
        });
        if (rows.length === 0) throw new Error(`dialog ${d.id} has no messages`);
      },
      onSource,
    );
    ctx.log(`ownership: insert ${insert.ratio.toFixed(3)}×, page ${page.ratio.toFixed(3)}× of the unchecked rate`);
    return { insert, page };
  } finally {
    await Promise.all([...checked.values(), ...bypassed.values()].map((p) => p.end()));
  }
}
