import { Recorder } from '../bench/stats';
import { summariseProfile } from '../bench/profile';
import { verdicts, VerdictInput } from '../bench/verdicts';

/**
 * The bench's own arithmetic: a mistake here would quietly skew report/benchmarks.md, and
 * only `npm run bench` exercises it otherwise.
 */
describe('bench arithmetic', () => {
  it('windows a recorder by whole or by touching seconds', () => {
    const r = new Recorder();
    const t0 = r.startedAt;
    for (let s = 0; s < 5; s++) for (let i = 0; i < 100; i++) r.record(s === 2 ? 100 : 1, true, t0 + s * 1000 + i);
    r.error('HTTP 503', t0 + 3500);
    r.stop(t0 + 5000);

    expect(r.summary().ok).toBe(500);
    expect(r.summary().errors).toBe(1);
    // [1.5 s, 3.5 s): only second 2 lies wholly inside; touching it are seconds 1, 2 and 3.
    expect(r.window(t0 + 1500, t0 + 3500).ok).toBe(100);
    expect(r.window(t0 + 1500, t0 + 3500).p99Ms).toBeCloseTo(100, 0);
    const touching = r.window(t0 + 1500, t0 + 3500, true);
    expect(touching.ok).toBe(300);
    expect(touching.errors).toBe(1);
    expect(r.timeline().map((b) => b.ok)).toEqual([100, 100, 100, 100, 100]);
  });

  it('judges each target in its own direction', () => {
    const summary = (rps: number, p99Ms: number, errors = 0) => ({ ok: rps, errors, seconds: 1, rps, p50Ms: 1, p99Ms, maxMs: p99Ms });
    const side = (rps: number) => ({ summary: summary(rps, 10), cpu: { bench: 0, service: 0, postgres: 0, machine: 0 }, errorSamples: [] });
    const input = {
      send: { raw: side(1000), api: side(700), ratio: 0.7 },
      list: { raw: side(1000), api: side(690), ratio: 0.69 },
      pipe: { rows: 100, seconds: 1, rate: 100 },
      reshard: { copyRate: 80, before: summary(1, 10), during: summary(1, 20.5), timeline: [{ second: 0, ok: 1, errors: 0, p99Ms: 1 }] },
      check: { ok: true, lost: 0, duplicated: 0, misplaced: 0, acked: 1, rowsAfter: 1 },
    } as unknown as VerdictInput;

    expect(verdicts(input).map((v) => v.pass)).toEqual([true, false, true, false, true, true]);
  });

  it('summarises a CPU profile by area within a time window', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
        { id: 2, callFrame: { functionName: 'verify', url: 'file:///x/node_modules/jsonwebtoken/verify.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'send', url: 'file:///x/dist/src/messages/messages.service.js', lineNumber: 1 } },
      ],
      samples: [1, 2, 2, 3, 2],
      timeDeltas: [1000, 1000, 1000, 1000, 1000],
    };
    // Samples at 1, 2, 3, 4 and 5 ms; the window [2 ms, 5 ms) holds the middle three.
    const s = summariseProfile(profile, 'send', 2, 5);
    expect(s.samples).toBe(3);
    expect(s.idle).toBe(0);
    expect(s.byArea.map((a) => [a.name, a.share])).toEqual([
      ['jsonwebtoken', 2 / 3],
      ['service: messages', 1 / 3],
    ]);
  });
});
