import * as path from 'node:path';

/** Everything that sizes a run. The defaults are the committed report; --quick is the CI smoke run. */
export interface BenchOptions {
  quick: boolean;
  /** Dialogs created through the API, spread over both shards by their hash. */
  dialogs: number;
  /** Messages bulk-loaded into shard-0, the shard that lists read from and that is split. */
  rows: number;
  /** Concurrency of every ceiling and API measurement (connections, pool size, workers). */
  concurrency: number;
  warmupS: number;
  measureS: number;
  /** Steady mixed load before the split starts and after it ends. */
  reshardBeforeS: number;
  /** The first seconds of that load, left out of the steady-state baseline (and shown apart). */
  reshardWarmupS: number;
  reshardAfterS: number;
  /** Connections of the steady mixed load during the reshard. */
  mixConnections: number;
  /** Share of requests in the steady mix that are sends (the rest list a page). */
  mixSendShare: number;
  /** The steady mix runs at this fraction of the API's measured capacity for the mix. */
  mixLoadFactor: number;
  /** A CPU profile of the service under send and list load, to explain the ratios. */
  profile: boolean;
  profileS: number;
  /** Where benchmarks.md and its SVG charts go. */
  reportDir: string;
  reportFile: string;
}

const ROOT = path.resolve(__dirname, '..', '..');

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const flag = (name: string): number | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
    return value;
  };
  const unknown = argv.filter((a, i) => a.startsWith('--') && !KNOWN.has(a) && !(i > 0 && VALUED.has(argv[i - 1])));
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${[...KNOWN].join(' ')}`);
  const base = quick ? QUICK : FULL;
  return {
    ...base,
    quick,
    dialogs: flag('dialogs') ?? base.dialogs,
    rows: flag('rows') ?? base.rows,
    measureS: flag('seconds') ?? base.measureS,
    profile: argv.includes('--profile') || (!quick && !argv.includes('--no-profile')),
    // A quick run must never overwrite the committed full report.
    reportDir: quick ? path.join(ROOT, 'report', 'quick') : path.join(ROOT, 'report'),
    reportFile: quick ? 'benchmarks-quick.md' : 'benchmarks.md',
  };
}

const VALUED = new Set(['--dialogs', '--rows', '--seconds']);
const KNOWN = new Set(['--quick', '--profile', '--no-profile', ...VALUED]);

type Sizes = Omit<BenchOptions, 'quick' | 'reportDir' | 'reportFile'>;

// 6 to 10 minutes on 2 shared cores: 1 M rows on the split shard, 30 s per measurement.
const FULL: Sizes = {
  dialogs: 2000,
  rows: 1_000_000,
  concurrency: 64,
  warmupS: 5,
  measureS: 30,
  reshardBeforeS: 40,
  reshardWarmupS: 10,
  reshardAfterS: 30,
  mixConnections: 32,
  mixSendShare: 0.8,
  mixLoadFactor: 0.5,
  profile: true,
  profileS: 10,
};

// Under 2 minutes including the build: every step runs, on a tenth of the data, briefly.
const QUICK: Sizes = {
  dialogs: 200,
  rows: 100_000,
  concurrency: 64,
  warmupS: 1,
  measureS: 3,
  reshardBeforeS: 6,
  reshardWarmupS: 2,
  reshardAfterS: 4,
  mixConnections: 32,
  mixSendShare: 0.8,
  mixLoadFactor: 0.5,
  profile: false,
  profileS: 5,
};
