import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

// vega has a top-level await, so even Node 20.20 cannot require() it: it needs a real
// import(), which TypeScript would turn into require() when compiling to CommonJS.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

/** Renders a vega-lite spec to an SVG file with vega's headless view (no browser, no canvas). */
export async function renderSvg(spec: object, file: string): Promise<void> {
  const vega = (await importEsm('vega')) as VegaModule;
  const vl = (await importEsm('vega-lite')) as VegaLiteModule;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    await writeFile(file, (await view.toSVG()) + '\n');
  } finally {
    view.finalize();
  }
}

const PHASE_COLORS = { domain: ['prepare', 'copy', 'verify', 'cutover', 'cleanup'], range: ['#9ecae1', '#fdae6b', '#a1d99b', '#bcbddc', '#fdd0a2'] };
const WIDTH = 760;

export interface TimelineData {
  seconds: Array<{ t: number; ok: number; errors: number; p99: number }>;
  phases: Array<{ phase: string; from: number; to: number }>;
  rss: Array<{ t: number; mib: number }>;
  /** Vacuums, completed checkpoints and sequential scans of messages, per server, in seconds. */
  events: Array<{ server: string; kind: string; from: number; to: number }>;
  /** The target bound on p99 during the reshard: twice the p99 before it. */
  p99Bound: number;
}

// Every panel shades the phases with the same colour encoding, so vega-lite draws one legend.
function phaseLayer(phases: TimelineData['phases'], x: object): object[] {
  const rect = {
    data: { values: phases },
    mark: { type: 'rect', opacity: 0.35 },
    encoding: {
      x: { ...x, field: 'from' },
      x2: { field: 'to' },
      color: { field: 'phase', type: 'nominal', scale: PHASE_COLORS, legend: { title: 'reshard phase', orient: 'top' } },
    },
  };
  return [rect];
}

/** Throughput, p99 and the service's RSS over the whole reshard run, phases shaded. */
export function timelineSpec(data: TimelineData): object {
  const end = Math.max(1, ...data.seconds.map((s) => s.t + 1), ...data.rss.map((s) => s.t));
  // One time axis for the three panels, from the first second of load to the last.
  const x = { field: 't', type: 'quantitative', title: 'seconds since the steady load started', scale: { domain: [0, end], nice: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Split under a steady mixed load', subtitle: 'per 1 s bucket; shaded: the reshard job\'s phases' },
    vconcat: [
      {
        width: WIDTH,
        height: 160,
        layer: [
          ...phaseLayer(data.phases, x),
          {
            data: { values: data.seconds },
            mark: { type: 'line', color: '#08519c', interpolate: 'step-after' },
            encoding: { x, y: { field: 'ok', type: 'quantitative', title: 'answered req/s (2xx)' } },
          },
          {
            data: { values: data.seconds.filter((s) => s.errors > 0) },
            mark: { type: 'bar', color: '#d62728', width: 3 },
            encoding: { x, y: { field: 'errors', type: 'quantitative' } },
          },
        ],
      },
      {
        width: WIDTH,
        height: 160,
        layer: [
          ...phaseLayer(data.phases, x),
          {
            data: { values: data.seconds.filter((s) => s.ok > 0) },
            mark: { type: 'line', color: '#a63603', interpolate: 'step-after' },
            encoding: { x, y: { field: 'p99', type: 'quantitative', title: 'p99 latency (ms)' } },
          },
          {
            data: { values: [{ bound: data.p99Bound, label: `target bound: 2 × p99 before = ${data.p99Bound.toFixed(1)} ms` }] },
            layer: [
              { mark: { type: 'rule', strokeDash: [6, 4], color: '#555' }, encoding: { y: { field: 'bound', type: 'quantitative' } } },
              {
                mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555' },
                encoding: { y: { field: 'bound', type: 'quantitative' }, x: { datum: 0, type: 'quantitative' }, text: { field: 'label' } },
              },
            ],
          },
        ],
      },
      {
        width: WIDTH,
        height: 70,
        layer: [
          ...phaseLayer(data.phases, x),
          {
            // Each event covers the seconds it was seen in (a checkpoint or scan: the second it was counted in).
            data: { values: data.events.map((e) => ({ ...e, to: Math.max(e.to, e.from) + 1 })) },
            mark: { type: 'rect', height: 10 },
            encoding: {
              x: { ...x, field: 'from' },
              x2: { field: 'to' },
              y: { field: 'server', type: 'nominal', title: 'Postgres', sort: null },
              fill: { field: 'kind', type: 'nominal', scale: { domain: ['autovacuum', 'checkpoint', 'seq scan'], range: ['#636363', '#e6550d', '#3182bd'] }, legend: { title: 'Postgres background work', orient: 'top' } },
            },
          },
        ],
      },
      {
        width: WIDTH,
        height: 110,
        layer: [
          ...phaseLayer(data.phases, x),
          {
            data: { values: data.rss },
            mark: { type: 'line', color: '#54278f' },
            encoding: {
              x,
              y: { field: 'mib', type: 'quantitative', title: 'service RSS (MiB)', scale: { zero: false } },
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'shared' } },
    config: { font: 'sans-serif' },
  };
}

export interface RatioBar {
  label: string;
  measured: number;
  target: number;
  /** 'min': measured must be at least the target; 'max': at most. */
  kind: 'min' | 'max';
}

/** Each ratio against its target: bars coloured by the verdict, a tick at the target. */
export function ratiosSpec(bars: RatioBar[]): object {
  const values = bars.map((b) => ({
    ...b,
    verdict: (b.kind === 'min' ? b.measured >= b.target : b.measured <= b.target) ? 'PASS' : 'MISS',
    text: `${b.measured.toFixed(2)}× (target ${b.kind === 'min' ? '≥' : '≤'} ${b.target}×)`,
  }));
  const y = { field: 'label', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Measured ratios against their targets', subtitle: 'same machine, same run; black tick = target' },
    width: 520,
    height: { step: 34 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: 20 },
        encoding: {
          y,
          x: { field: 'measured', type: 'quantitative', title: 'ratio', scale: { domainMin: 0 } },
          color: { field: 'verdict', type: 'nominal', scale: { domain: ['PASS', 'MISS'], range: ['#31a354', '#de2d26'] }, legend: { title: null, orient: 'bottom' } },
        },
      },
      { mark: { type: 'tick', color: 'black', thickness: 3, size: 30 }, encoding: { y, x: { field: 'target', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', dx: 6 }, encoding: { y, x: { field: 'measured', type: 'quantitative' }, text: { field: 'text' } } },
    ],
    config: { font: 'sans-serif' },
  };
}

export interface LatencyBar {
  test: string;
  side: string;
  percentile: string;
  ms: number;
}

/** p50 and p99 of raw pg and the API, per test. */
export function latencySpec(values: LatencyBar[]): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Latency: raw pg vs API at the same concurrency', subtitle: 'closed loop, 64 in flight' },
    data: { values },
    facet: { column: { field: 'test', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'percentile', type: 'nominal', title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'side', sort: ['raw pg', 'API'] },
        y: { field: 'ms', type: 'quantitative', title: 'ms' },
        color: { field: 'side', type: 'nominal', title: null, sort: ['raw pg', 'API'], scale: { range: ['#6baed6', '#08519c'] } },
      },
    },
    config: { font: 'sans-serif' },
  };
}

export async function writeCharts(
  dir: string,
  prefix: string,
  charts: { timeline: TimelineData; ratios: RatioBar[]; latency: LatencyBar[] },
): Promise<{ timeline: string; ratios: string; latency: string }> {
  const names = { timeline: `${prefix}-timeline.svg`, ratios: `${prefix}-ratios.svg`, latency: `${prefix}-latency.svg` };
  await renderSvg(timelineSpec(charts.timeline), path.join(dir, names.timeline));
  await renderSvg(ratiosSpec(charts.ratios), path.join(dir, names.ratios));
  await renderSvg(latencySpec(charts.latency), path.join(dir, names.latency));
  return names;
}
