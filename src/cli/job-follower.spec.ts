import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import type { AdminApi } from './admin-api.client';
import { followJob } from './job-follower';
import type { ReshardJob } from './reshard-format';

const ID = '019aa000-0000-7000-8000-000000000001';

function job(over: Partial<ReshardJob>): ReshardJob {
  return {
    id: ID,
    kind: 'split',
    source: 'shard-0',
    target: 'shard-2',
    phase: 'copy',
    copied: 0,
    total: 9738,
    rate: null,
    etaSeconds: null,
    verification: null,
    cancelRequested: false,
    error: null,
    versions: {},
    phaseTimes: {},
    moved: [],
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-22T10:00:04.000Z',
    ...over,
  };
}

/** An admin API that answers each poll with the next of `polls`, then the last one for good. */
function fakeApi(polls: ReshardJob[]): AdminApi {
  let i = 0;
  return { getReshard: async () => polls[Math.min(i++, polls.length - 1)] } as unknown as AdminApi;
}

/** A terminal that records what is written to it, as cli-progress draws only on a TTY. */
function terminal(): { out: NodeJS.WritableStream; screen(): string[] } {
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  // Each redraw starts at the line's beginning: the text after the last carriage return or
  // line break of a line is what stays on screen.
  const screen = () =>
    stripVTControlCharacters(written.replace(/\x1b\[\d*G/g, '\r'))
      .split('\n')
      .map((line) => line.split('\r').filter((part) => part.trim() !== '').pop() ?? '')
      .filter((line) => line.trim() !== '');
  return { out, screen };
}

describe('followJob with a live bar', () => {
  it('leaves a cancelled job as one line of outcome, not a partial bar', async () => {
    const { out, screen } = terminal();
    const api = fakeApi([
      job({ phase: 'copy', copied: 400, rate: 800, etaSeconds: 12, phaseTimes: { prepare: { startedAt: 'x' }, copy: { startedAt: 'y' } } }),
      job({ phase: 'copy', copied: 1000, cancelRequested: true, phaseTimes: { prepare: { startedAt: 'x' }, copy: { startedAt: 'y' } } }),
      job({ phase: 'cancelled', copied: 1000, cancelRequested: true, phaseTimes: { prepare: { startedAt: 'x' }, copy: { startedAt: 'y' }, cancelled: { startedAt: 'z' } } }),
    ]);

    const { job: last, interrupted } = await followJob(api, ID, { out, live: true, pollMs: 1 });

    expect(last?.phase).toBe('cancelled');
    expect(interrupted).toBe(false);
    const lines = screen();
    expect(lines[lines.length - 1].trim()).toBe('cancelled at 1000/9738 rows copied: the old ring is back');
    expect(lines.filter((line) => line.includes('['))).toEqual([]);
  });

  it('leaves a job that is done with its full bar', async () => {
    const { out, screen } = terminal();
    const api = fakeApi([job({ phase: 'copy', copied: 400 }), job({ phase: 'done', copied: 9738, total: 9738 })]);

    await followJob(api, ID, { out, live: true, pollMs: 1 });

    const lines = screen();
    expect(lines[lines.length - 1]).toMatch(/^done +\[=+\] 9738\/9738 rows$/);
  });
});
