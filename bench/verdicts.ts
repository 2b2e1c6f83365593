import type { CheckResult } from './check';
import type { BareHttp, Comparison, DbLimits, HotDialog, OwnershipCost, Side } from './ceilings';
import type { PipeResult } from './copy-ceiling';
import type { LiveDelivery } from './live';
import type { ReshardRun } from './reshard';

/** The performance issue's targets, verbatim: never loosened here to make a run pass. */
export const TARGETS = {
  sendRatio: 1.0,
  listRatio: 1.0,
  /** API p99 ÷ raw p99, for sends and pages. */
  p99VsRaw: 1.5,
  hotRatio: 3,
  /** Steady-state p99 of the reshard's mix at half capacity ÷ raw pg p99 of the same mix at full concurrency. */
  steadyP99: 2,
  /** p99 of every phase of the split ÷ the steady state before it, and its worst second ÷ the same. */
  phaseP99: 2,
  worstSecond: 4,
  copyLoaded: 0.3,
  copyIdle: 0.8,
  /** Growth of the service's RSS from before the split to its peak during it (1 M rows): flat. */
  rssGrowthMiB: 64,
  ownership: 0.95,
  /** The live-delivery issue's: send throughput with 1,000 streams open ÷ without. */
  sendWithStreams: 0.9,
};

export interface Verdict {
  name: string;
  target: string;
  measured: string;
  /** null: reported, no goal. */
  pass: boolean | null;
}

export interface VerdictInput {
  send: Comparison;
  list: Comparison;
  hot: HotDialog;
  bare: BareHttp;
  dbLimits: DbLimits;
  rawMix: Side;
  live: LiveDelivery;
  idleSplit: { copyRate: number };
  ownership: OwnershipCost;
  pipe: PipeResult;
  reshard: ReshardRun;
  check: CheckResult;
  rssSplit: { beforeMiB: number; peakMiB: number };
}

/** Errors anywhere the API or the ceilings were measured, and during the whole reshard load. */
export function totalErrors(r: VerdictInput): number {
  const sides = [r.send.raw, r.send.api, r.list.raw, r.list.api, r.hot.raw, r.hot.api, r.live.listWith, r.live.listWithout, r.live.sendWith, r.live.sendWithout];
  return sides.reduce((n, s) => n + s.summary.errors, 0) + r.live.fanOut.errors + r.reshard.timeline.reduce((n, b) => n + b.errors, 0);
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Infinity);

export function copyRatio(r: VerdictInput): number {
  return r.pipe.rate > 0 ? r.reshard.copyRate / r.pipe.rate : 0;
}

export function idleCopyRatio(r: VerdictInput): number {
  return r.pipe.rate > 0 ? r.idleSplit.copyRate / r.pipe.rate : 0;
}

/** The slowest phase of the job by p99, against the steady state before it. */
export function phaseGrowth(r: VerdictInput): { phase: string; growth: number } {
  const worst = r.reshard.phases.reduce<{ phase: string; p99: number }>((w, p) => (p.load.p99Ms > w.p99 ? { phase: p.phase, p99: p.load.p99Ms } : w), { phase: '-', p99: 0 });
  return { phase: worst.phase, growth: ratio(worst.p99, r.reshard.before.p99Ms) };
}

export function worstSecondGrowth(r: VerdictInput): number {
  return ratio(r.reshard.worstSecond?.p99Ms ?? 0, r.reshard.before.p99Ms);
}

export function steadyP99(r: VerdictInput): number {
  return ratio(r.reshard.before.p99Ms, r.rawMix.summary.p99Ms);
}

const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '∞');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');

export function verdicts(r: VerdictInput): Verdict[] {
  const errors = totalErrors(r);
  const { check, reshard } = r;
  const sendP99 = ratio(r.send.api.summary.p99Ms, r.send.raw.summary.p99Ms);
  const listP99 = ratio(r.list.api.summary.p99Ms, r.list.raw.summary.p99Ms);
  const phase = phaseGrowth(r);
  const growth = r.rssSplit.peakMiB - r.rssSplit.beforeMiB;
  return [
    {
      name: 'Send: API ÷ raw single-row insert (64 connections); API p99 ÷ raw p99',
      target: `≥ ${TARGETS.sendRatio}×; ≤ ${TARGETS.p99VsRaw}×`,
      measured: `${x(r.send.ratio)}; ${x(sendP99)} (${ms(r.send.api.summary.p99Ms)} vs ${ms(r.send.raw.summary.p99Ms)})`,
      pass: r.send.ratio >= TARGETS.sendRatio && sendP99 <= TARGETS.p99VsRaw,
    },
    {
      name: 'Page: API ÷ raw page (rows parsed by the driver); API p99 ÷ raw p99',
      target: `≥ ${TARGETS.listRatio}×; ≤ ${TARGETS.p99VsRaw}×`,
      measured: `${x(r.list.ratio)}; ${x(listP99)} (${ms(r.list.api.summary.p99Ms)} vs ${ms(r.list.raw.summary.p99Ms)})`,
      pass: r.list.ratio >= TARGETS.listRatio && listP99 <= TARGETS.p99VsRaw,
    },
    {
      name: `Hot dialog: 64 readers of one dialog receiving ${r.hot.sendsPerSec} sends/s, API ÷ raw; pages missing an acknowledged send`,
      target: `≥ ${TARGETS.hotRatio}×; 0`,
      measured: `${x(r.hot.ratio)}; ${r.hot.stalePages} of ${n0(r.hot.checkedPages)} checked`,
      pass: r.hot.ratio >= TARGETS.hotRatio && r.hot.stalePages === 0,
    },
    {
      name: 'API ÷ bare HTTP (Fastify answering the same JSON from memory): send; page',
      target: 'reported',
      measured: `${x(ratio(r.send.api.summary.rps, r.bare.send.summary.rps))}; ${x(ratio(r.list.api.summary.rps, r.bare.page.summary.rps))}`,
      pass: null,
    },
    {
      name: `API ÷ the database's limit: raw ${r.dbLimits.insert.size}-row inserts, ${r.dbLimits.insert.inFlight} in flight; raw ${r.dbLimits.page.size}-page JSON queries, ${r.dbLimits.page.inFlight} in flight (the API's batches)`,
      target: 'reported',
      measured: `${x(ratio(r.send.api.summary.rps, r.dbLimits.insertRowsPerSec))}; ${x(ratio(r.list.api.summary.rps, r.dbLimits.pagesPerSec))}`,
      pass: null,
    },
    {
      name: 'Steady-state p99 at half capacity (mixed load, warm-up excluded) ÷ raw pg p99 of the mix at 64 connections',
      target: `≤ ${TARGETS.steadyP99}×`,
      measured: `${x(steadyP99(r))} (${ms(reshard.before.p99Ms)} vs ${ms(r.rawMix.summary.p99Ms)}; warm-up p99 ${ms(reshard.warmup.p99Ms)})`,
      pass: steadyP99(r) <= TARGETS.steadyP99,
    },
    {
      name: 'Split under that load: p99 of the worst phase ÷ steady p99; worst 1 s bucket ÷ the same',
      target: `≤ ${TARGETS.phaseP99}×; ≤ ${TARGETS.worstSecond}×`,
      measured: `${x(phase.growth)} (${phase.phase}); ${x(worstSecondGrowth(r))} (${ms(reshard.worstSecond?.p99Ms ?? 0)} at second ${reshard.worstSecond?.second ?? '-'})`,
      pass: phase.growth <= TARGETS.phaseP99 && worstSecondGrowth(r) <= TARGETS.worstSecond,
    },
    {
      name: 'Copy rate under that load ÷ COPY pipe',
      target: `≥ ${TARGETS.copyLoaded}×`,
      measured: `${x(copyRatio(r))} (${n0(reshard.copyRate)} vs ${n0(r.pipe.rate)} rows/s)`,
      pass: copyRatio(r) >= TARGETS.copyLoaded,
    },
    {
      name: 'Copy rate with no live load ÷ COPY pipe',
      target: `≥ ${TARGETS.copyIdle}×`,
      measured: `${x(idleCopyRatio(r))} (${n0(r.idleSplit.copyRate)} rows/s)`,
      pass: idleCopyRatio(r) >= TARGETS.copyIdle,
    },
    {
      name: 'Service RSS during the split: peak ÷ before (flat)',
      target: `≤ +${TARGETS.rssGrowthMiB} MiB`,
      measured: `${n0(r.rssSplit.beforeMiB)} → ${n0(r.rssSplit.peakMiB)} MiB (${growth >= 0 ? '+' : ''}${n0(growth)})`,
      pass: growth <= TARGETS.rssGrowthMiB,
    },
    {
      name: 'Ownership check, raw pg: insert with it ÷ without',
      target: `≥ ${TARGETS.ownership}×`,
      measured: `${x(r.ownership.insert.ratio)} (page ${x(r.ownership.page.ratio)})`,
      pass: r.ownership.insert.ratio >= TARGETS.ownership,
    },
    {
      name: `Send with live streams: throughput with ${n0(r.live.streams)} streams open on another instance ÷ without; streams the service closed`,
      target: `≥ ${TARGETS.sendWithStreams}×; 0`,
      measured: `${x(r.live.sendRatio)} (${n0(r.live.sendWith.summary.rps)} vs ${n0(r.live.sendWithout.summary.rps)} req/s); ${r.live.closedByServer}`,
      pass: r.live.sendRatio >= TARGETS.sendWithStreams && r.live.closedByServer === 0,
    },
    {
      name: `Fan-out: send acknowledged → event read from another instance's stream, p50; p99 (${n0(r.live.fanOut.rate)} sends/s); events missing or twice`,
      target: 'reported; 0',
      measured: `${ms(r.live.fanOut.latency.p50Ms)}; ${ms(r.live.fanOut.latency.p99Ms)}; ${r.live.fanOut.missing + r.live.fanOut.duplicated} of ${n0(r.live.fanOut.expected)}`,
      pass: r.live.fanOut.missing + r.live.fanOut.duplicated === 0,
    },
    {
      name: 'Dialog list: with unread counts and the last message ÷ without (`summary=false`)',
      target: 'reported',
      measured: `${x(r.live.listRatio)} (${n0(r.live.listWith.summary.rps)} vs ${n0(r.live.listWithout.summary.rps)} req/s; p99 ${ms(r.live.listWith.summary.p99Ms)} vs ${ms(r.live.listWithout.summary.p99Ms)})`,
      pass: null,
    },
    { name: 'Errors (every API and ceiling run, and the whole reshard load)', target: '0', measured: String(errors), pass: errors === 0 },
    {
      name: 'Lost or duplicated messages',
      target: '0',
      measured: `${check.lost} lost, ${check.duplicated} duplicated, ${check.misplaced} left on the wrong shard (of ${check.acked} acknowledged; ${check.rowsAfter} rows in all)`,
      pass: check.ok,
    },
  ];
}
