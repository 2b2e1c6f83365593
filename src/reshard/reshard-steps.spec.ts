import { v7 as uuidv7 } from 'uuid';
import type { FullMessageRow } from '../shards/message-schema';
import { arcContains, freshRing, midpointSplit, planRingChange, Ring, ringHash, RingPoint, Segment } from '../ring';
import { Route, routeDialog, RingState, Transition } from '../routing/router';
import type { Checkpoint, JobRow, Verification, VersionKey } from './reshard-job.repository';
import { ReshardPorts, ReshardSteps } from './reshard-steps';
import type { Key, MarkKey, MarkRow } from './shard-ops.repository';
import { ArcGrant, canMove, CANCELLABLE_PHASES, ownedGrants, Phase, TERMINAL_PHASES } from './workflow';

/**
 * The workflow against an in-memory world (dialogdb's job and ring, shards with rows and the
 * arcs they serve) whose every persisted step can be made to crash. Live traffic runs between
 * steps through the ring in force, as a service instance would, and is refused by a shard
 * exactly where a real shard's ownership check refuses it. After every crash a fresh runner
 * resumes from what was persisted, until the job ends; then the whole history must hold.
 */

class Crash extends Error {}

interface Shard {
  rows: Map<string, FullMessageRow>;
  /** Read marks by `dialogId/userId`. */
  marks: Map<string, MarkRow>;
  arcs: ArcGrant[];
  status: 'active' | 'pending' | 'retired';
  up: boolean;
}

const key = (r: FullMessageRow): [bigint, string] => [BigInt(r.ring_hash), r.id];
const after = (r: FullMessageRow, k: Key | null) => !k || BigInt(r.ring_hash) > BigInt(k.hash) || (BigInt(r.ring_hash) === BigInt(k.hash) && r.id > k.id);
const upTo = (r: FullMessageRow, k: Key | null) => !k || BigInt(r.ring_hash) < BigInt(k.hash) || (BigInt(r.ring_hash) === BigInt(k.hash) && r.id <= k.id);
const inSeg = (r: FullMessageRow, s: Segment) => Number(r.ring_hash) >= s.from && Number(r.ring_hash) < s.to;
const markOrder = (a: MarkKey, b: MarkKey) =>
  BigInt(a.hash) !== BigInt(b.hash) ? (BigInt(a.hash) < BigInt(b.hash) ? -1 : 1) : a.dialogId !== b.dialogId ? (a.dialogId < b.dialogId ? -1 : 1) : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
const markKeyOf = (m: MarkRow): MarkKey => ({ hash: m.ring_hash, dialogId: m.dialog_id, userId: m.user_id });
const order = (a: FullMessageRow, b: FullMessageRow) => {
  const [ha, ia] = key(a);
  const [hb, ib] = key(b);
  return ha < hb ? -1 : ha > hb ? 1 : ia < ib ? -1 : ia > ib ? 1 : 0;
};

class World {
  shards = new Map<string, Shard>();
  versions: Array<{ version: number; points: RingPoint[]; transition: Transition | null }> = [];
  job!: JobRow;
  /** What clients were told: every acknowledged message and its last acknowledged state. */
  acked = new Map<string, { dialogId: string; text: string; deleted: boolean }>();
  /** The greatest read mark each `dialogId/userId` was acknowledged at. */
  ackedMarks = new Map<string, { dialogId: string; messageId: string }>();
  refused = 0;
  dialogs: string[] = [];
  private n = 0;

  constructor(oldRing: Ring, newRing: Ring, kind: 'split' | 'move', spare: string) {
    for (const name of oldRing.shards()) this.shards.set(name, { rows: new Map(), marks: new Map(), arcs: ownedGrants(oldRing.toJSON(), name), status: 'active', up: true });
    this.shards.set(spare, { rows: new Map(), marks: new Map(), arcs: [], status: 'pending', up: true });
    this.versions.push({ version: 1, points: oldRing.toJSON(), transition: null });
    const moved = planRingChange(oldRing, newRing);
    this.job = {
      id: uuidv7(),
      kind,
      source: moved[0].source,
      target: moved[0].target,
      phase: 'prepare',
      base_version: 1,
      old_points: oldRing.toJSON(),
      new_points: newRing.toJSON(),
      moved,
      versions: {},
      checkpoint: null,
      copied: '0',
      total: null,
      rate: null,
      verification: null,
      phase_times: {},
      cancel_requested: false,
      error: null,
      created_at: new Date(),
      updated_at: new Date(),
    };
    // Dialogs all over the ring, a third of them in the moved arcs; the same ones in every
    // world, so a crashed run takes the same steps as the clean one up to its crash.
    for (let i = 0; this.dialogs.length < 30; i++) {
      const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      if (this.dialogs.length % 3 === 0 ? moved.some((a) => arcContains(a, ringHash(id))) : true) this.dialogs.push(id);
    }
    for (let i = 0; i < 60; i++) this.send();
    for (let i = 0; i < 20; i++) this.mark();
  }

  /** The ring an instance serves: the newest, or (`staleAt`) any older one, as a paused or late instance would. */
  state(staleAt?: number): RingState {
    const latest = this.versions[staleAt === undefined ? this.versions.length - 1 : staleAt % this.versions.length];
    const cp = this.job.checkpoint;
    const copied =
      latest.transition?.mode === 'write-target'
        ? ['verify', 'cutover', 'cleanup', 'done'].includes(this.job.phase)
          ? { segment: Number.POSITIVE_INFINITY, hash: 0 }
          : cp && this.job.phase === 'copy'
            ? { segment: cp.segment, hash: Number(cp.hash) }
            : null
        : null;
    return { version: latest.version, ring: new Ring(latest.points), transition: latest.transition, copied };
  }

  serves(shard: string, hash: number, access: 'write' | 'read' | 'read-alone'): boolean {
    const s = this.shards.get(shard)!;
    if (!s.up) throw new Error(`shard ${shard} is down`);
    const arc = s.arcs.find((a) => hash >= a.from && hash < a.to);
    if (!arc) return false;
    if (access === 'write') return arc.mode === 'owner' || arc.mode === 'writer';
    if (access === 'read') return true;
    return arc.mode === 'owner' || (arc.mode === 'writer' && hash < ((arc as ArcGrant & { copiedBelow?: number }).copiedBelow ?? -1));
  }

  /** The merge rule: a deletion is final, else the higher revision. */
  merge(shard: string, row: FullMessageRow): void {
    if (!this.serves(shard, Number(row.ring_hash), 'write')) throw new Error(`ownership: ${shard} refuses a write of ${row.ring_hash}`);
    const rows = this.shards.get(shard)!.rows;
    const kept = rows.get(row.id);
    if (!kept || (!kept.deleted_at && (row.deleted_at || row.revision > kept.revision))) rows.set(row.id, { ...row });
  }

  /**
   * Where an instance writes a dialog: routed by a possibly stale ring, and on a refusal by
   * the newest one, as MessagesService.onRoute reloads and retries. Null: refused twice.
   */
  route(dialogId: string, request: number): Route | null {
    // Every other request comes from an instance that routed it by some older ring.
    for (const staleAt of request % 2 === 0 ? [Math.floor(request / 2), undefined] : [undefined]) {
      const route = routeDialog(this.state(staleAt), dialogId);
      if (this.serves(route.write, route.hash, 'write')) return route;
    }
    this.refused++;
    return null;
  }

  /** A client's send; refused where a shard would refuse it. */
  send(): void {
    const request = this.n++;
    const dialogId = this.dialogs[request % this.dialogs.length];
    const route = this.route(dialogId, request);
    if (!route) return;
    const id = uuidv7();
    const text = `m${this.n}`;
    this.shards.get(route.write)!.rows.set(id, {
      id,
      dialog_id: dialogId,
      ring_hash: String(route.hash),
      author_id: 'alice',
      text,
      client_message_id: null,
      created_at: new Date(),
      edited_at: null,
      deleted_at: null,
      revision: 0,
    });
    this.acked.set(id, { dialogId, text, deleted: false });
  }

  /** An edit or delete of an acknowledged message, as MessagesService does it: pull, then write. */
  change(deleteIt: boolean): void {
    const live = [...this.acked.entries()].filter(([, m]) => !m.deleted);
    const request = this.n++;
    const [id, message] = live[request % live.length];
    const route = this.route(message.dialogId, request);
    if (!route) return;
    for (const other of route.reads.slice(1)) {
      const copy = this.shards.get(other)!.rows.get(id);
      if (copy) this.merge(route.write, copy);
    }
    const row = this.shards.get(route.write)!.rows.get(id);
    if (!row || row.deleted_at) throw new Error(`message ${id} is missing on ${route.write}, its write shard`);
    const text = deleteIt ? '' : `edited ${this.n}`;
    this.shards.get(route.write)!.rows.set(id, { ...row, text, revision: row.revision + 1, deleted_at: deleteIt ? new Date() : null, edited_at: deleteIt ? null : new Date() });
    this.acked.set(id, { ...message, text, deleted: deleteIt });
  }

  /** A read mark written as ReadStateService does it: to the write shard, the greater id winning. */
  mergeMark(shard: string, mark: MarkRow): void {
    if (!this.serves(shard, Number(mark.ring_hash), 'write')) throw new Error(`ownership: ${shard} refuses a mark of ${mark.ring_hash}`);
    const marks = this.shards.get(shard)!.marks;
    const key = `${mark.dialog_id}/${mark.user_id}`;
    const kept = marks.get(key);
    if (!kept || kept.message_id < mark.message_id) marks.set(key, { ...mark });
  }

  /** A client's read mark; every fourth points at an older message (a no-op). */
  mark(): void {
    const request = this.n++;
    const dialogId = this.dialogs[request % this.dialogs.length];
    const userId = request % 3 === 0 ? 'bob' : 'alice';
    const route = this.route(dialogId, request);
    if (!route) return;
    const messageId = request % 4 === 0 ? uuidv7({ msecs: Date.now() - 3_600_000 }) : uuidv7();
    this.mergeMark(route.write, { dialog_id: dialogId, user_id: userId, ring_hash: String(route.hash), message_id: messageId, updated_at: new Date() });
    const key = `${dialogId}/${userId}`;
    const acked = this.ackedMarks.get(key);
    if (!acked || acked.messageId < messageId) this.ackedMarks.set(key, { dialogId, messageId });
  }

  traffic(): void {
    this.send();
    this.mark();
    if (this.n % 3 === 0) this.change(false);
    if (this.n % 7 === 0) this.change(true);
  }
}

function ports(w: World, crashAt: number, calls: { n: number }, cancelAt?: number): ReshardPorts {
  /** A persisted step: it happens, the traffic goes on around it, and the Nth one crashes right after. */
  const step = async <T>(effect: () => T): Promise<T> => {
    w.traffic();
    const result = effect();
    w.traffic();
    // An operator's cancel arrives here, accepted only where the API accepts it.
    if (calls.n + 1 === cancelAt && CANCELLABLE_PHASES.includes(w.job.phase)) w.job.cancel_requested = true;
    if (++calls.n === crashAt) throw new Crash(`crash after persisted step ${crashAt}`);
    return result;
  };
  const rowsOf = (shard: string, segment: Segment) => {
    const s = w.shards.get(shard)!;
    if (!s.up) throw new Error(`shard ${shard} is down`);
    return [...s.rows.values()].filter((r) => inSeg(r, segment)).sort(order);
  };
  const marksOf = (shard: string, segment: Segment, afterKey: MarkKey | null, upToKey: MarkKey | null = null) => {
    const s = w.shards.get(shard)!;
    if (!s.up) throw new Error(`shard ${shard} is down`);
    return [...s.marks.values()]
      .filter((m) => Number(m.ring_hash) >= segment.from && Number(m.ring_hash) < segment.to)
      .filter((m) => (!afterKey || markOrder(markKeyOf(m), afterKey) > 0) && (!upToKey || markOrder(markKeyOf(m), upToKey) <= 0))
      .sort((a, b) => markOrder(markKeyOf(a), markKeyOf(b)));
  };
  return {
    jobs: {
      get: async () => structuredClone(w.job),
      setPhase: (_id, from: Phase, to: Phase, extra: { verification?: Verification; error?: string | null } = {}) =>
        step(() => {
          expect(canMove(from, to)).toBe(true);
          if (w.job.phase !== from || (to === 'cutover' && w.job.cancel_requested)) return false;
          w.job.phase = to;
          if (extra.verification) w.job.verification = extra.verification;
          return true;
        }),
      setTotal: (_id, total) => step(() => void (w.job.total = String(total))),
      settleTotal: () => step(() => void (w.job.total = w.job.copied)),
      checkpoint: (_id, checkpoint: Checkpoint, delta: number) =>
        step(() => {
          w.job.checkpoint = checkpoint;
          w.job.copied = String(Number(w.job.copied) + delta);
        }),
      setError: async (_id, error) => void (w.job.error = error),
      cancelRequested: async () => w.job.cancel_requested,
    },
    ring: {
      publish: (_jobId, key: VersionKey, expected, points, transition) =>
        step(() => {
          const latest = w.versions[w.versions.length - 1].version;
          if (latest !== expected) throw new Error(`ring v${latest}, not v${expected}`);
          w.versions.push({ version: expected + 1, points, transition });
          w.job.versions[key] = expected + 1;
          return expected + 1;
        }),
      refresh: async () => undefined,
    },
    barrier: { lagging: async () => [] },
    arcs: {
      setArcs: (shard, grants) =>
        step(() => {
          const s = w.shards.get(shard)!;
          if (!s.up) throw new Error(`shard ${shard} is down`);
          const kept = (g: ArcGrant) => s.arcs.find((a) => a.from === g.from && a.to === g.to && a.mode === g.mode);
          s.arcs = grants.map((g) => ({ ...g, ...(kept(g) ? { copiedBelow: (kept(g) as ArcGrant & { copiedBelow?: number }).copiedBelow } : {}) }));
        }),
    },
    rows: {
      estimate: async (shard, segment) => rowsOf(shard, segment).length,
      copyBatch: (from, to, segment, afterKey, limit) =>
        step(() => {
          const batch = rowsOf(from, segment).filter((r) => after(r, afterKey)).slice(0, limit);
          for (const row of batch) w.merge(to, row);
          const last = batch.length ? { hash: batch[batch.length - 1].ring_hash, id: batch[batch.length - 1].id } : null;
          const arc = w.shards.get(to)!.arcs.find((a) => a.mode === 'writer' && a.from <= segment.from && a.to >= segment.to) as
            | (ArcGrant & { copiedBelow?: number })
            | undefined;
          if (arc) arc.copiedBelow = Math.max(arc.copiedBelow ?? 0, last ? Number(last.hash) : segment.to);
          return { rows: batch.length, last };
        }),
      chunkEnd: async (shard, segment, afterKey, size) => {
        const row = rowsOf(shard, segment).filter((r) => after(r, afterKey))[size - 1];
        return row ? { hash: row.ring_hash, id: row.id } : null;
      },
      digest: async (shard, segment, afterKey, upToKey, before) => {
        const rows = rowsOf(shard, segment).filter((r) => after(r, afterKey) && upTo(r, upToKey) && r.id < before);
        return { rows: rows.length, digest: rows.length ? JSON.stringify(rows) : null };
      },
      scan: async (shard, segment, afterKey, limit, upToKey = null, since = null) =>
        rowsOf(shard, segment)
          .filter((r) => after(r, afterKey) && upTo(r, upToKey) && (since === null || r.id >= since))
          .slice(0, limit),
      deleteBatch: (shard, segment, afterKey, limit) =>
        step(() => {
          const rows = rowsOf(shard, segment).filter((r) => after(r, afterKey));
          const gone = rows.slice(0, limit);
          for (const r of gone) w.shards.get(shard)!.rows.delete(r.id);
          return rows.length >= limit ? { hash: gone[gone.length - 1].ring_hash, id: gone[gone.length - 1].id } : null;
        }),
      copyMarks: (from, to, segment, afterKey, limit) =>
        step(() => {
          const batch = marksOf(from, segment, afterKey).slice(0, limit);
          for (const mark of batch) w.mergeMark(to, mark);
          return { rows: batch.length, last: batch.length ? markKeyOf(batch[batch.length - 1]) : null };
        }),
      scanMarks: async (shard, segment, afterKey, limit, upToKey = null) => marksOf(shard, segment, afterKey, upToKey).slice(0, limit),
      deleteMarks: (shard, segment, afterKey, limit) =>
        step(() => {
          const marks = marksOf(shard, segment, afterKey);
          const gone = marks.slice(0, limit);
          for (const m of gone) w.shards.get(shard)!.marks.delete(`${m.dialog_id}/${m.user_id}`);
          return marks.length >= limit ? markKeyOf(gone[gone.length - 1]) : null;
        }),
    },
    shards: {
      ensureTarget: async (name) => {
        if (!w.shards.get(name)!.up) throw new Error(`cannot connect to ${name}`);
      },
      status: async (name) => w.shards.get(name)?.status ?? null,
      setStatus: (name, status) => step(() => void (w.shards.get(name)!.status = status)),
      retire: async () => undefined,
    },
    pacer: {
      target: () => ({ targetMs: 100, baselineMs: null }),
      live: async () => ({ p99: null, loopBusy: 0, othersServing: 0, strainedElsewhere: [] }),
      sleep: async () => undefined,
    },
    lease: { check: async () => undefined },
  };
}

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
const settings = { batch: 4, maxRowsPerSec: 1_000_000 };

/** Drives the job as runners would: after a crash (or any error) a new runner takes it up. */
async function runToEnd(w: World, crashAt: number, cancelAt?: number): Promise<{ crashed: boolean; steps: number }> {
  const calls = { n: 0 };
  let crashed = false;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await new ReshardSteps(ports(w, crashAt, calls, cancelAt), settings, quiet).drive(w.job.id);
    } catch (err) {
      if (!(err instanceof Crash)) throw err;
      crashed = true;
    }
    if (TERMINAL_PHASES.includes(w.job.phase)) return { crashed, steps: calls.n };
  }
  throw new Error(`job still ${w.job.phase} after 50 runners`);
}

/** Every acknowledged write is where readers look, exactly once, as last acknowledged; nothing else is left. */
function expectHistoryHolds(w: World, finalRing: Ring): void {
  const latest = w.versions[w.versions.length - 1];
  expect(latest.transition).toBeNull();
  expect(new Ring(latest.points).toJSON()).toEqual(finalRing.toJSON());
  // A retired source is off the ring and out of service; its data are only kept aside.
  const serving = [...w.shards].filter(([, s]) => s.status !== 'retired');
  for (const [name, shard] of serving) {
    const arcs = shard.arcs.map(({ from, to, mode }) => ({ from, to, mode }));
    if (finalRing.has(name)) expect({ name, arcs }).toEqual({ name, arcs: ownedGrants(finalRing.toJSON(), name) });
    // A spare takes no write; a cancel from prepare leaves it readable and empty, untouched.
    else expect({ name, arcs: arcs.filter((a) => a.mode !== 'reader') }).toEqual({ name, arcs: [] });
    for (const row of shard.rows.values()) expect({ id: row.id, on: name }).toEqual({ id: row.id, on: finalRing.ownerOf(Number(row.ring_hash)) });
    for (const [key, mark] of shard.marks) expect({ key, on: name }).toEqual({ key, on: finalRing.ownerOf(Number(mark.ring_hash)) });
  }
  // Every read mark on its owner, at the greatest message it was ever set to: none lost, none gone back.
  expect(w.ackedMarks.size).toBeGreaterThanOrEqual(20);
  for (const [key, acked] of w.ackedMarks) {
    const owner = finalRing.ownerOf(ringHash(acked.dialogId));
    expect({ key, mark: w.shards.get(owner)!.marks.get(key)?.message_id }).toEqual({ key, mark: acked.messageId });
  }
  for (const [id, message] of w.acked) {
    const owner = finalRing.ownerOf(ringHash(message.dialogId));
    const copies = serving.filter(([, s]) => s.rows.has(id));
    expect({ id, copies: copies.length }).toEqual({ id, copies: 1 });
    const row = w.shards.get(owner)!.rows.get(id)!;
    expect({ id, text: row.text, deleted: row.deleted_at !== null }).toEqual({ id, text: message.text, deleted: message.deleted });
  }
}

const TWO = freshRing(['shard-0', 'shard-1']);

describe('ReshardSteps against fakes, crashed after every persisted step', () => {
  const scenarios: Array<{ name: string; make: () => World; final: (w: World) => Ring; cancelAt?: number }> = [
    { name: 'split', make: () => new World(TWO, midpointSplit(TWO, 'shard-0', 'shard-2'), 'split', 'shard-2'), final: () => midpointSplit(TWO, 'shard-0', 'shard-2') },
    { name: 'move', make: () => new World(TWO, TWO.renamed('shard-1', 'shard-2'), 'move', 'shard-2'), final: () => TWO.renamed('shard-1', 'shard-2') },
    ...[2, 6, 12].map((cancelAt) => ({
      name: `split cancelled after step ${cancelAt}`,
      make: () => new World(TWO, midpointSplit(TWO, 'shard-0', 'shard-2'), 'split', 'shard-2'),
      final: (w: World) => (w.job.cancel_requested ? TWO : midpointSplit(TWO, 'shard-0', 'shard-2')),
      cancelAt,
    })),
  ];

  it.each(scenarios)('$name: the history holds without a crash, and after a crash at any step', async ({ make, final, cancelAt }) => {
    const clean = make();
    const { steps } = await runToEnd(clean, 0, cancelAt);
    expect(clean.job.phase).toBe(cancelAt === undefined ? 'done' : 'cancelled');
    expect(clean.job.cancel_requested).toBe(cancelAt !== undefined);
    expectHistoryHolds(clean, final(clean));
    expect(steps).toBeGreaterThan(10);
    for (let crashAt = 1; crashAt <= steps; crashAt++) {
      const w = make();
      const { crashed } = await runToEnd(w, crashAt, cancelAt);
      expect({ crashAt, crashed }).toEqual({ crashAt, crashed: true });
      expect({ crashAt, phase: w.job.phase }).toEqual({ crashAt, phase: w.job.cancel_requested ? 'cancelled' : 'done' });
      expectHistoryHolds(w, final(w));
      if (w.job.kind === 'move' && cancelAt === undefined) expect(w.shards.get('shard-1')!.status).toBe('retired');
    }
  });

  it('cancels a job whose target is down from prepare without touching the target', async () => {
    const w = new World(TWO, midpointSplit(TWO, 'shard-0', 'shard-2'), 'split', 'shard-2');
    w.shards.get('shard-2')!.up = false;
    const calls = { n: 0 };
    await expect(new ReshardSteps(ports(w, 0, calls), settings, quiet).drive(w.job.id)).rejects.toThrow(/cannot connect to shard-2/);
    expect(w.job.phase).toBe('prepare');
    w.job.cancel_requested = true;
    await new ReshardSteps(ports(w, 0, calls), settings, quiet).drive(w.job.id);
    expect(w.job.phase).toBe('cancelled');
    w.shards.get('shard-2')!.up = true;
    expectHistoryHolds(w, TWO);
  });
});
