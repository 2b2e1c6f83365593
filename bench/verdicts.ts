import type { CheckResult } from './check';
import type { Comparison } from './ceilings';
import type { PipeResult } from './copy-ceiling';
import type { ReshardRun } from './reshard';

/** The targets, verbatim in spirit: never loosened here to make a run pass. */
export const TARGETS = {
  sendRatio: 0.7,
  listRatio: 0.7,
  copyRatio: 0.8,
  p99Growth: 2,
};

export interface Verdict {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

export interface VerdictInput {
  send: Comparison;
  list: Comparison;
  pipe: PipeResult;
  reshard: ReshardRun;
  check: CheckResult;
}

/** Errors anywhere the API or the ceilings were measured, and during the whole reshard load. */
export function totalErrors(r: VerdictInput): number {
  const sides = [r.send.raw, r.send.api, r.list.raw, r.list.api];
  return sides.reduce((n, s) => n + s.summary.errors, 0) + r.reshard.timeline.reduce((n, b) => n + b.errors, 0);
}

export function copyRatio(r: VerdictInput): number {
  return r.pipe.rate > 0 ? r.reshard.copyRate / r.pipe.rate : 0;
}

export function p99Growth(r: VerdictInput): number {
  return r.reshard.before.p99Ms > 0 ? r.reshard.during.p99Ms / r.reshard.before.p99Ms : Infinity;
}

const x = (n: number) => `${n.toFixed(2)}×`;

export function verdicts(r: VerdictInput): Verdict[] {
  const errors = totalErrors(r);
  const { check } = r;
  return [
    { name: 'Send: API ÷ raw pg', target: `≥ ${TARGETS.sendRatio}×`, measured: x(r.send.ratio), pass: r.send.ratio >= TARGETS.sendRatio },
    { name: 'List: API ÷ raw pg', target: `≥ ${TARGETS.listRatio}×`, measured: x(r.list.ratio), pass: r.list.ratio >= TARGETS.listRatio },
    { name: 'Copy: copier ÷ COPY pipe', target: `≥ ${TARGETS.copyRatio}×`, measured: x(copyRatio(r)), pass: copyRatio(r) >= TARGETS.copyRatio },
    {
      name: 'p99 during the reshard ÷ p99 before',
      target: `≤ ${TARGETS.p99Growth}×`,
      measured: `${x(p99Growth(r))} (${r.reshard.during.p99Ms.toFixed(1)} ms vs ${r.reshard.before.p99Ms.toFixed(1)} ms)`,
      pass: p99Growth(r) <= TARGETS.p99Growth,
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
