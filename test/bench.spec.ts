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

  it('judges each target in its own direction, at its edge', () => {
    const summary = (rps: number, p99Ms: number, errors = 0) => ({ ok: rps, errors, seconds: 1, rps, p50Ms: 1, p99Ms, maxMs: p99Ms });
    const side = (rps: number, p99Ms = 10) => ({ summary: summary(rps, p99Ms), cpu: { bench: 0, service: 0, postgres: 0, machine: 0 }, errorSamples: [] });
    const input = {
      // Exactly at 1.0× and 1.5×: pass. Just under 1.0×: miss.
      send: { raw: side(1000, 10), api: side(1000, 15), ratio: 1.0 },
      list: { raw: side(1000), api: side(990), ratio: 0.99 },
      // 3× but one stale page: miss.
      hot: { sendsPerSec: 50, raw: side(100), api: side(300), ratio: 3, checkedPages: 10, stalePages: 1, pageBytes: 9000 },
      bare: { send: side(5000), page: side(5000) },
      dbLimits: { insert: { size: 8, inFlight: 4 }, insertMany: side(100), insertRowsPerSec: 800, page: { size: 16, inFlight: 2 }, pagesJson: side(62.5), pagesPerSec: 1000 },
      rawMix: side(1000, 20),
      // Exactly 0.9× with the streams: pass. One event delivered twice: miss.
      live: {
        streams: 1000,
        listUsers: 100,
        listWith: side(500),
        listWithout: side(1000),
        listRatio: 0.5,
        sendWith: side(900),
        sendWithout: side(1000),
        sendRatio: 0.9,
        closedByServer: 0,
        fanOut: { rate: 500, latency: summary(1, 3), expected: 1000, missing: 0, duplicated: 1, errors: 0 },
      },
      idleSplit: { copyRate: 79 },
      ownership: { insert: { ratio: 0.95 }, page: { ratio: 1 } },
      pipe: { rows: 100, seconds: 1, rate: 100 },
      reshard: {
        copyRate: 30,
        warmup: summary(1, 500),
        before: summary(1, 40),
        // Worst phase 2× (pass); worst second 4.1× (miss).
        phases: [{ phase: 'copy', startedAt: 0, endedAt: 1, load: summary(1, 80) }],
        worstSecond: { second: 3, ok: 1, errors: 0, p99Ms: 164 },
        timeline: [{ second: 0, ok: 1, errors: 0, p99Ms: 1 }],
      },
      check: { ok: true, lost: 0, duplicated: 0, misplaced: 0, acked: 1, rowsAfter: 1 },
      rssSplit: { beforeMiB: 100, peakMiB: 165 },
    } as unknown as VerdictInput;

    const byName = Object.fromEntries(verdicts(input).map((v) => [v.name.split(':')[0], v.pass]));
    expect(byName).toEqual({
      Send: true,
      Page: false,
      'Hot dialog': false,
      'API ÷ bare HTTP (Fastify answering the same JSON from memory)': null,
      "API ÷ the database's limit": null,
      'Steady-state p99 at half capacity (mixed load, warm-up excluded) ÷ raw pg p99 of the mix at 64 connections': true,
      'Split under that load': false,
      'Copy rate under that load ÷ COPY pipe': true,
      'Copy rate with no live load ÷ COPY pipe': false,
      'Service RSS during the split': false,
      'Ownership check, raw pg': true,
      'Send with live streams': true,
      'Fan-out': false,
      'Dialog list': null,
      'Errors (every API and ceiling run, and the whole reshard load)': true,
      'Lost or duplicated messages': true,
    });
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
