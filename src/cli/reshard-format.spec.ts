import {
  barLine,
  barProgress,
  formatDuration,
  hasEnded,
  KEEPALIVE_EVERY_MS,
  listLine,
  logUpdate,
  LogState,
  PROGRESS_EVERY_MS,
  progressLine,
  ReshardJob,
  statusLines,
  summaryLines,
} from './reshard-format';

const ID = '019aa000-0000-7000-8000-000000000001';

function job(over: Partial<ReshardJob> = {}): ReshardJob {
  return {
    id: ID,
    kind: 'split',
    source: 'shard-0',
    target: 'shard-2',
    phase: 'copy',
    copied: 1200,
    total: 5000,
    rate: 830,
    etaSeconds: 5,
    verification: null,
    cancelRequested: false,
    error: null,
    versions: {},
    phaseTimes: {},
    moved: [{ start: 1073741823, end: 2147483647, source: 'shard-0', target: 'shard-2' }],
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-22T10:00:04.000Z',
    ...over,
  };
}

const passed = { passed: true, checked: 5000, differences: 0, missing: [], changed: [], extra: [] };

describe('formatDuration', () => {
  const sut = formatDuration;

  it('reads naturally from seconds to hours', () => {
    expect([sut(0), sut(4.4), sut(59), sut(60), sut(125), sut(3600), sut(3720), sut(7265)]).toEqual([
      '0 s',
      '4 s',
      '59 s',
      '1 min',
      '2 min 5 s',
      '1 h',
      '1 h 2 min',
      '2 h 1 min',
    ]);
  });
});

describe('hasEnded', () => {
  const sut = hasEnded;

  it('is true for done, cancelled and a failure nobody is rolling back', () => {
    expect(sut(job({ phase: 'done' }))).toBe(true);
    expect(sut(job({ phase: 'cancelled', cancelRequested: true }))).toBe(true);
    expect(sut(job({ phase: 'failed' }))).toBe(true);
  });

  it('is false while running, and for a failed job being cancelled (the runner rolls it back)', () => {
    for (const phase of ['prepare', 'copy', 'verify', 'cutover', 'cleanup'] as const) expect(sut(job({ phase }))).toBe(false);
    expect(sut(job({ phase: 'failed', cancelRequested: true }))).toBe(false);
  });
});

describe('progressLine', () => {
  const sut = progressLine;

  it('gives rows copied of the total, the rate and the eta while copying', () => {
    expect(sut(job())).toBe('copy: 1200/5000 rows, 830 rows/s, eta 5 s');
    expect(sut(job({ etaSeconds: 125 }))).toBe('copy: 1200/5000 rows, 830 rows/s, eta 2 min 5 s');
  });

  it('leaves out what is not measured yet', () => {
    expect(sut(job({ copied: 0, rate: null, etaSeconds: null }))).toBe('copy: 0/5000 rows');
    expect(sut(job({ copied: 0, total: null, rate: null, etaSeconds: null }))).toBe('copy: estimating the rows to copy');
  });

  it('does not claim a rate once the copy is over', () => {
    expect(sut(job({ phase: 'verify', copied: 5000, etaSeconds: null }))).toBe('verify: 5000/5000 rows');
  });
});

describe('barLine and barProgress', () => {
  it('shows the phase, the bar and the same figures as the log', () => {
    expect(barLine(job(), '####----')).toBe('copy      [####----] 1200/5000 rows | 830 rows/s | eta 5 s');
    expect(barLine(job({ phase: 'prepare', copied: 0, total: null, rate: null, etaSeconds: null }), '--')).toBe('prepare   [--] 0/? rows');
  });

  it('gives a job that ended cancelled or failed one line of outcome instead of a partial bar', () => {
    const cancelled = job({ phase: 'cancelled', copied: 1000, total: 9738, rate: null, etaSeconds: null, cancelRequested: true });
    expect(barLine(cancelled, '====---')).toBe('cancelled at 1000/9738 rows copied: the old ring is back');
    const failed = job({ phase: 'failed', copied: 9738, total: 9738, rate: null, etaSeconds: null, error: 'verification found 3 differences' });
    expect(barLine(failed, '=======')).toBe('failed at 9738/9738 rows copied: verification found 3 differences');
    // A failed job being cancelled has not ended: the runner is rolling it back.
    expect(barLine({ ...failed, cancelRequested: true }, '=======')).toBe('failed    [=======] 9738/9738 rows');
    expect(barLine(job({ phase: 'done', copied: 9738, total: 9738 }), '=======')).toBe('done      [=======] 9738/9738 rows');
  });

  it('fills with the copy and stays full after it', () => {
    expect(barProgress(job())).toBeCloseTo(0.24);
    expect(barProgress(job({ phase: 'prepare', copied: 0, total: null }))).toBe(0);
    expect(barProgress(job({ phase: 'cleanup', copied: 0, total: 0 }))).toBe(1);
  });
});

describe('summaryLines', () => {
  const sut = summaryLines;

  it('says done, how long it took and that verification passed', () => {
    const done = job({
      phase: 'done',
      copied: 5000,
      etaSeconds: 0,
      verification: passed,
      phaseTimes: { prepare: { startedAt: '2026-11-22T10:00:00.000Z' }, done: { startedAt: '2026-11-22T10:01:05.000Z' } },
    });
    expect(sut(done)).toEqual([
      `reshard ${ID}: split shard-0 → shard-2`,
      'done in 1 min 5 s: 5000 rows copied to shard-2',
      'verification passed: 5000 rows checked, no differences',
    ]);
  });

  it('does not say "0 s" for a job quicker than a second', () => {
    const quick = { prepare: { startedAt: '2026-11-22T10:00:00.000Z' }, done: { startedAt: '2026-11-22T10:00:00.400Z' } };
    expect(sut(job({ phase: 'done', phaseTimes: quick }))[1]).toBe('done in under 1 s: 1200 rows copied to shard-2');
  });

  it('gives the counts and the first ids of every kind of difference', () => {
    const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    const failed = job({
      phase: 'failed',
      error: 'verification found 9 difference(s); cutover blocked.',
      verification: { passed: false, checked: 5000, differences: 9, missing: ids('m', 7), changed: ids('c', 2), extra: [] },
    });
    expect(sut(failed)).toEqual([
      `reshard ${ID}: split shard-0 → shard-2`,
      'failed: verification found 9 difference(s); cutover blocked.',
      'verification failed: 5000 rows checked, 9 difference(s)',
      '  missing on the target (7): m0, m1, m2, m3, m4, and 2 more',
      '  changed (2): c0, c1',
      '  extra on the target (0)',
    ]);
  });

  it('says when the API cut the id lists short', () => {
    const many = Array.from({ length: 100 }, (_, i) => `m${i}`);
    const failed = job({ phase: 'failed', verification: { passed: false, checked: 9000, differences: 250, missing: many, changed: [], extra: [] } });
    expect(sut(failed)[2]).toBe('verification failed: 9000 rows checked, 250 difference(s) (the API lists the first 100 ids of each kind)');
  });

  it('says a cancelled job gave the arc back, and that verification never ran', () => {
    expect(sut(job({ phase: 'cancelled', cancelRequested: true })).slice(1)).toEqual([
      'cancelled: the old ring is back and shard-0 holds the moved arc again',
      'verification: not run',
    ]);
  });
});

describe('statusLines', () => {
  const sut = statusLines;

  it('shows phase, progress, arcs, times, a pending cancel and the last error', () => {
    expect(sut(job({ cancelRequested: true, error: 'connect ECONNREFUSED' }))).toEqual([
      `reshard ${ID}: split shard-0 → shard-2`,
      'phase:    copy (cancel requested)',
      'progress: 1200/5000 rows, 830 rows/s, eta 5 s',
      'arc:      [1073741823, 2147483647) shard-0 → shard-2',
      'created:  2026-11-22T10:00:00.000Z',
      'updated:  2026-11-22T10:00:04.000Z',
      'last error (the job retries): connect ECONNREFUSED',
      'verification: not run',
    ]);
  });
});

describe('listLine', () => {
  const sut = listLine;

  it('puts a job on one line', () => {
    expect(sut(job({ phase: 'done', copied: 5000, verification: passed }))).toBe(
      `${ID}  2026-11-22T10:00:00.000Z  split shard-0 → shard-2  done  5000/5000 rows  verified`,
    );
    expect(sut(job({ phase: 'prepare', copied: 0, total: null }))).toBe(`${ID}  2026-11-22T10:00:00.000Z  split shard-0 → shard-2  prepare  0/? rows`);
  });
});

describe('logUpdate', () => {
  const sut = logUpdate;

  /** Feeds polls through, as the follower does, and collects what the log says. */
  function run(polls: Array<[number, Partial<ReshardJob>]>): string[] {
    let state: LogState | null = null;
    const lines: string[] = [];
    for (const [at, over] of polls) {
      const update = sut(state, job(over), at);
      state = update.state;
      lines.push(...update.events, ...(update.progress === null ? [] : [update.progress]));
    }
    return lines;
  }

  it('logs each phase change once', () => {
    const prepare = { phase: 'prepare' as const, copied: 0, total: null, rate: null, etaSeconds: null };
    expect(run([[0, prepare], [500, prepare], [1000, { phase: 'verify', copied: 5000 }], [1500, { phase: 'verify', copied: 5000 }]])).toEqual([
      'prepare: readying shard-2 and waiting for every instance to read the moved arc from both shards',
      'verify: comparing shard-0 and shard-2 row by row (5000 rows copied)',
    ]);
  });

  it('gives at most one progress line per interval while copying', () => {
    const lines = run([
      [0, { copied: 100 }],
      [500, { copied: 200 }],
      [PROGRESS_EVERY_MS - 1, { copied: 300 }],
      [PROGRESS_EVERY_MS, { copied: 400 }],
      [PROGRESS_EVERY_MS + 500, { copied: 500 }],
    ]);
    expect(lines).toEqual([
      'copy: writes of the moved arc now go to shard-2; copying the rows of shard-0',
      'copy: 100/5000 rows, 830 rows/s, eta 5 s',
      'copy: 400/5000 rows, 830 rows/s, eta 5 s',
    ]);
  });

  it('does not repeat an unchanged progress line, but shows signs of life when it is quiet for long', () => {
    const stuck = { copied: 0, rate: null, etaSeconds: null };
    const lines = run([
      [0, stuck],
      [PROGRESS_EVERY_MS * 2, stuck],
      [KEEPALIVE_EVERY_MS - 1, stuck],
      [KEEPALIVE_EVERY_MS, stuck],
    ]);
    expect(lines.slice(1)).toEqual(['copy: 0/5000 rows', 'copy: 0/5000 rows']);
    expect(run([[0, { phase: 'cutover' }], [KEEPALIVE_EVERY_MS - 1, { phase: 'cutover' }], [KEEPALIVE_EVERY_MS, { phase: 'cutover' }]]).slice(1)).toEqual([
      'cutover: still running',
    ]);
  });

  it('reports a new error and a cancel request once each', () => {
    const lines = run([
      [0, { error: 'connect ECONNREFUSED 127.0.0.1:5433' }],
      [500, { error: 'connect ECONNREFUSED 127.0.0.1:5433' }],
      [1000, { cancelRequested: true }],
      [1500, { cancelRequested: true }],
    ]);
    expect(lines).toEqual([
      'copy: writes of the moved arc now go to shard-2; copying the rows of shard-0',
      'copy: error, the job will retry: connect ECONNREFUSED 127.0.0.1:5433',
      'copy: 1200/5000 rows, 830 rows/s, eta 5 s',
      'cancel requested: restoring the old ring and copying back what was written to the target',
    ]);
  });

  it("stops showing the copy's figures once a cancel rolls the job back", () => {
    const cancelling = { cancelRequested: true };
    const lines = run([
      [0, cancelling],
      [PROGRESS_EVERY_MS, { ...cancelling, copied: 1300 }],
      [KEEPALIVE_EVERY_MS, { ...cancelling, copied: 1300 }],
    ]);
    expect(lines.slice(1)).toEqual([
      'cancel requested: restoring the old ring and copying back what was written to the target',
      'copy: still cancelling',
    ]);
  });

  it('names the phases a job passed between two polls, in order', () => {
    const at = (t: string) => ({ startedAt: `2026-11-22T10:00:0${t}.000Z` });
    const lines = run([
      [0, { phase: 'copy', phaseTimes: { prepare: at('0'), copy: at('1') } }],
      // jsonb keeps keys in its own order, not the order phases happened in.
      [500, { phase: 'cleanup', phaseTimes: { copy: at('1'), cleanup: at('4'), verify: at('2'), cutover: at('3'), prepare: at('0') } }],
    ]).filter((line) => !line.startsWith('copy: 1200'));
    expect(lines.map((line) => line.split(':')[0])).toEqual(['prepare', 'copy', 'verify', 'cutover', 'cleanup']);
  });

  it('without history starts from the first poll, for a job joined midway', () => {
    const since = { startedAt: '2026-11-22T10:00:00.000Z' };
    const first = sut(null, job({ cancelRequested: true, phaseTimes: { prepare: since, copy: since } }), 0, { history: false });
    expect(first.events).toEqual(['cancel requested: restoring the old ring and copying back what was written to the target']);
    const next = sut(first.state, job({ phase: 'cancelled', cancelRequested: true }), 500, { history: false });
    expect(next.events).toEqual([]);
  });

  it('leaves the ending to the summary', () => {
    expect(run([[0, { phase: 'done', verification: passed }]])).toEqual([]);
    expect(run([[0, { phase: 'failed', error: 'boom' }]])).toEqual([]);
  });
});
