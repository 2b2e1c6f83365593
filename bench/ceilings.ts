import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ringHash } from '../src/ring';
import { MessagesRepository, NewMessage } from '../src/messages/messages.repository';
import { served } from '../src/shards/message-schema';
import { uuidv7Time } from '../src/shards/uuidv7';
import type { ShardRegistry } from '../src/shards/shard-registry';
import { CpuMeter, CpuShare } from './cpu';
import { startBareServer } from './bare-http';
import { closedLoop, httpLoad, HttpRequestSpec, pacedLoad } from './load';
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

const shardsOf = (dialogs: BenchDialog[]) => [...new Set(dialogs.map((d) => d.shard))];

/** `fn` with the service's repository on raw pools of these shards, closed when it is done. */
async function withRawRepository<T>(ctx: CeilingContext, shards: string[], fn: (repo: MessagesRepository) => Promise<T>): Promise<T> {
  const shardPools = pools(ctx, shards);
  try {
    return await fn(rawRepository(shardPools));
  } finally {
    await Promise.all([...shardPools.values()].map((p) => p.end()));
  }
}

export const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
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
export function measureApi(ctx: CeilingContext, next: () => HttpRequestSpec, baseUrl = ctx.baseUrl): Promise<Side> {
  return measure(ctx, (recorder, seconds) => httpLoad({ baseUrl, connections: ctx.concurrency, seconds, recorder, next }).done);
}

export const sendSpec = (d: BenchDialog): HttpRequestSpec => ({
  method: 'POST',
  path: `/dialogs/${d.id}/messages`,
  headers: { authorization: `Bearer ${pick(d.tokens)}`, 'content-type': 'application/json' },
  body: JSON.stringify({ text: messageText() }),
});

const pageSpec = (d: BenchDialog, limit = 50): HttpRequestSpec => ({
  method: 'GET',
  path: `/dialogs/${d.id}/messages?limit=${limit}`,
  headers: { authorization: `Bearer ${pick(d.tokens)}` },
});

function newMessage(d: BenchDialog): NewMessage {
  const id = uuidv7();
  return { id, dialogId: d.id, ringHash: d.hash, authorId: pick(d.members), text: messageText(), clientMessageId: null, createdAt: uuidv7Time(id) };
}

function compare(raw: Side, api: Side): Comparison {
  return { raw, api, ratio: raw.summary.rps > 0 ? api.summary.rps / raw.summary.rps : 0 };
}

/** 1. Sends: MessagesRepository.insert over pg pools vs POST /dialogs/:id/messages, same dialogs. */
export async function compareSend(ctx: CeilingContext, dialogs: BenchDialog[]): Promise<Comparison> {
  return withRawRepository(ctx, shardsOf(dialogs), async (repo) => {
    ctx.log(`send: raw pg, ${ctx.concurrency} concurrent inserts for ${ctx.measureS} s`);
    const raw = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, ctx.concurrency, seconds, async () => {
        const d = pick(dialogs);
        const row = await repo.insert(d.shard, newMessage(d));
        if (!row) throw new Error('insert returned no row');
      }),
    );
    ctx.log(`send: raw ${Math.round(raw.summary.rps)} ops/s; API, ${ctx.concurrency} connections for ${ctx.measureS} s`);
    const api = await measureApi(ctx, () => sendSpec(pick(dialogs)));
    ctx.log(`send: API ${Math.round(api.summary.rps)} req/s`);
    return compare(raw, api);
  });
}

/** 2. Lists: MessagesRepository.page (limit + 1, as the service asks) vs GET ...?limit=50. */
export async function compareList(ctx: CeilingContext, dialogs: BenchDialog[], limit = 50): Promise<Comparison> {
  return withRawRepository(ctx, shardsOf(dialogs), async (repo) => {
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
    const api = await measureApi(ctx, () => pageSpec(pick(dialogs), limit));
    ctx.log(`list: API ${Math.round(api.summary.rps)} req/s`);
    return compare(raw, api);
  });
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
  const shards = shardsOf(dialogs);
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

/** What the API's own pipeline leaves of HTTP: the same requests against a server answering from memory. */
export interface BareHttp {
  send: Side;
  page: Side;
}

/** 1c. The bare HTTP ceiling (bench/bare-server.ts) for sends and pages, with the API's real bodies. */
export async function measureBareHttp(ctx: CeilingContext, dialogs: BenchDialog[], onSource: BenchDialog[]): Promise<BareHttp> {
  const d = onSource[0];
  const headers = { authorization: `Bearer ${d.tokens[0]}` };
  const page = await (await fetch(`${ctx.baseUrl}/dialogs/${d.id}/messages?limit=50`, { headers })).text();
  const sent = await fetch(`${ctx.baseUrl}/dialogs/${d.id}/messages`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ text: messageText() }) });
  const bare = await startBareServer(await sent.text(), page);
  try {
    ctx.log(`bare HTTP: ${ctx.concurrency} connections, sends then pages, ${ctx.measureS} s each`);
    const send = await measureApi(ctx, () => sendSpec(pick(dialogs)), bare.baseUrl);
    const pages = await measureApi(ctx, () => pageSpec(pick(onSource)), bare.baseUrl);
    ctx.log(`bare HTTP: send ${Math.round(send.summary.rps)} req/s, page ${Math.round(pages.summary.rps)} req/s`);
    return { send, page: pages };
  } finally {
    await bare.stop();
  }
}

/** How the API's grouped statements came out in a measurement: items per statement, statements in flight. */
export interface BatchShape {
  size: number;
  inFlight: number;
}

/** The database's own limit for what the API asks of it. */
export interface DbLimits {
  /** Multi-row inserts as the API's group commit wrote them: `summary` counts statements; rows/s is rps × size. */
  insert: BatchShape;
  insertMany: Side;
  insertRowsPerSec: number;
  /** Pages built as JSON by the shard, grouped as the API's reads were: `summary` counts statements. */
  page: BatchShape;
  pagesJson: Side;
  pagesPerSec: number;
}

/** 1d. Raw multi-row inserts and raw grouped JSON pages, at the batch sizes the API reached. */
export async function measureDbLimits(ctx: CeilingContext, dialogs: BenchDialog[], onSource: BenchDialog[], insert: BatchShape, page: BatchShape): Promise<DbLimits> {
  const shards = shardsOf(dialogs);
  return withRawRepository(ctx, shards, async (repo) => {
    ctx.log(`database limit: ${insert.inFlight} multi-row inserts of ${insert.size} rows in flight for ${ctx.measureS} s`);
    const insertMany = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, insert.inFlight, seconds, async (worker) => {
        const shard = shards[worker % shards.length];
        const mine = dialogs.filter((d) => d.shard === shard);
        const rows = await repo.insertMany(shard, Array.from({ length: insert.size }, () => newMessage(pick(mine))));
        if (rows.length !== insert.size) throw new Error(`inserted ${rows.length} of ${insert.size} rows`);
      }),
    );
    ctx.log(`database limit: ${Math.round(insertMany.summary.rps * insert.size)} rows/s; ${page.inFlight} statements of ${page.size} JSON pages in flight`);
    const pagesJson = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, page.inFlight, seconds, async () => {
        const asked = Array.from({ length: page.size }, () => pick(onSource));
        const pages = await repo.pagesJson(asked[0].shard, asked.map((d) => ({ dialogId: d.id, hash: d.hash, limit: 50 })));
        if (pages.length !== page.size || pages.some((p) => p.items.length < 3)) throw new Error('a page came back empty');
      }),
    );
    const pagesPerSec = pagesJson.summary.rps * page.size;
    ctx.log(`database limit: ${Math.round(pagesPerSec)} pages/s`);
    return { insert, insertMany, insertRowsPerSec: insertMany.summary.rps * insert.size, page, pagesJson, pagesPerSec };
  });
}

export async function measureRawMix(ctx: CeilingContext, dialogs: BenchDialog[], onSource: BenchDialog[], sendShare: number): Promise<Side> {
  return withRawRepository(ctx, shardsOf(dialogs), async (repo) => {
    ctx.log(`raw mix: ${Math.round(sendShare * 100)} % inserts, the rest pages, ${ctx.concurrency} in flight for ${ctx.measureS} s`);
    const mix = await measure(ctx, (recorder, seconds) =>
      closedLoop(recorder, ctx.concurrency, seconds, async () => {
        if (Math.random() < sendShare) {
          const d = pick(dialogs);
          await repo.insert(d.shard, newMessage(d));
        } else {
          const d = pick(onSource);
          await repo.page(d.shard, d.id, d.hash, 51);
        }
      }),
    );
    ctx.log(`raw mix: ${Math.round(mix.summary.rps)} ops/s, p99 ${mix.summary.p99Ms.toFixed(1)} ms`);
    return mix;
  });
}

/** One hot dialog: many readers of its newest page while it receives a steady stream of sends. */
export interface HotDialog {
  sendsPerSec: number;
  raw: Side;
  api: Side;
  ratio: number;
  /** Pages read by a checker beside the load, and those missing a send acknowledged before the read began. */
  checkedPages: number;
  stalePages: number;
  /** The size of the last page the checker read. */
  pageBytes: number;
}

/**
 * 2b. Every reader on one dialog. Raw: 64 workers run the page query while 50 inserts a second
 * go in. API: 64 connections read the page while 50 sends a second go through the API, and a
 * checker compares each page it reads with the sends acknowledged before it asked.
 */
export async function compareHotDialog(ctx: CeilingContext, d: BenchDialog, sendsPerSec = 50): Promise<HotDialog> {
  return withRawRepository(ctx, [d.shard], async (repo) => {
    ctx.log(`hot dialog: raw pg, ${ctx.concurrency} readers of one dialog, ${sendsPerSec} inserts/s`);
    const writer = setInterval(() => void repo.insert(d.shard, newMessage(d)).catch(() => undefined), 1000 / sendsPerSec);
    let raw: Side;
    try {
      raw = await measure(ctx, (recorder, seconds) => closedLoop(recorder, ctx.concurrency, seconds, () => repo.page(d.shard, d.id, d.hash, 51)));
    } finally {
      clearInterval(writer);
    }
    ctx.log(`hot dialog: raw ${Math.round(raw.summary.rps)} pages/s; API, ${ctx.concurrency} connections, ${sendsPerSec} sends/s`);
    const acked: Array<{ id: string; at: number }> = [];
    const sends = pacedLoad({
      baseUrl: ctx.baseUrl,
      connections: 8,
      rate: sendsPerSec,
      recorder: new Recorder(),
      next: () => ({ ...sendSpec(d), onOk: (body) => void acked.push({ id: (JSON.parse(body) as { id: string }).id, at: performance.now() }) }),
    });
    let checking = true;
    let checkedPages = 0;
    let stalePages = 0;
    let pageBytes = 0;
    const checker = (async () => {
      while (checking) {
        const startedAt = performance.now();
        const page = pageSpec(d);
        const res = await fetch(`${ctx.baseUrl}${page.path}`, { headers: page.headers });
        const body = await res.text();
        pageBytes = Buffer.byteLength(body);
        const ids = (JSON.parse(body) as { items: Array<{ id: string }> }).items.map((m) => m.id);
        const oldest = ids[ids.length - 1] ?? '';
        const shown = new Set(ids);
        checkedPages++;
        if (acked.some((s) => s.at < startedAt && s.id > oldest && !shown.has(s.id))) stalePages++;
      }
    })();
    let api: Side;
    try {
      api = await measureApi(ctx, () => pageSpec(d));
    } finally {
      checking = false;
      sends.stop();
      await Promise.all([checker, sends.done]);
    }
    ctx.log(`hot dialog: API ${Math.round(api.summary.rps)} pages/s; ${stalePages} of ${checkedPages} checked pages missed an acknowledged send`);
    return { sendsPerSec, ...compare(raw, api), checkedPages, stalePages, pageBytes };
  });
}

/**
 * The API's capacity for the reshard's mix (sends and newest pages in its proportion), closed
 * loop over as many connections as the mix uses: the steady load of the split runs at a
 * fraction of this, so "half capacity" is measured, not derived from the other runs.
 */
export async function measureApiMix(ctx: CeilingContext, dialogs: BenchDialog[], sendShare: number, connections: number): Promise<Side> {
  ctx.log(`API mix: ${Math.round(sendShare * 100)} % sends, the rest pages, ${connections} connections for ${ctx.measureS} s`);
  const mix = await measure(ctx, (recorder, seconds) =>
    httpLoad({ baseUrl: ctx.baseUrl, connections, seconds, recorder, next: () => (Math.random() < sendShare ? sendSpec(pick(dialogs)) : pageSpec(pick(dialogs))) }).done,
  );
  ctx.log(`API mix: ${Math.round(mix.summary.rps)} req/s`);
  return mix;
}
