import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { loadConfig } from '../src/config/app-config';
import { arcSegments, freshRing, midpointSplit, planRingChange, Ring, RingPoint } from '../src/ring';
import { Api } from './api';
import { randomHashes, simulateBalance } from './balance';
import { compareHotDialog, compareList, compareSend, CeilingContext, measureApiMix, measureBareHttp, measureDbLimits, measureOwnership, measureRawMix, Side } from './ceilings';
import { writeCharts } from './charts';
import { checkExactlyOnce, countRows } from './check';
import { measureCopyPipe } from './copy-ceiling';
import { CpuMeter } from './cpu';
import { measureLiveDelivery } from './live';
import { describeMachine } from './machine';
import { BenchOptions, parseOptions } from './options';
import { PgFleet } from './pg-fleet';
import { PgActivitySampler } from './pg-activity';
import { profileService } from './profile-run';
import { BenchResults, renderReport } from './report';
import { splitIdle, splitUnderLoad } from './reshard';
import { measureJwt, measureRouting } from './routing';
import { copyRatio, idleCopyRatio, phaseGrowth, TARGETS, verdicts, worstSecondGrowth } from './verdicts';
import { BenchDialog, createDialogs, loadHistory } from './seed';
import { RssSampler, ServiceEnv, ServiceProcess, ServiceSlot } from './service';

const SOURCE = 'shard-0';
const TARGET = 'shard-2';
// The profiled second split (of shard-2, after the first one) moves its rows here.
const PROFILE_TARGET = 'shard-3';
// A split with no live load (of shard-0 again, after the first one) moves its rows here.
const IDLE_TARGET = 'shard-4';
const RING_SHARDS = ['shard-0', 'shard-1'];

const benchStart = Date.now();
const log = (line: string) => console.log(`[bench ${((Date.now() - benchStart) / 1000).toFixed(0).padStart(4)} s] ${line}`);

/** What the bench started, stopped in reverse order exactly once: at the end, on an error, or on Ctrl-C. */
class Cleanup {
  private readonly steps: Array<() => Promise<void>> = [];
  private running?: Promise<void>;

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch((err: Error) => log(`clean-up: ${err.message}`));
    })();
    return this.running;
  }
}

/** Servers, service and samplers, each registered for clean-up as soon as it runs. */
interface Setup {
  fleet: PgFleet;
  shardUrl: (name: string) => string;
  env: ServiceEnv;
  service: ServiceSlot;
  api: Api;
  activity: PgActivitySampler;
  rss: RssSampler;
  cpu: CpuMeter;
}

async function startEverything(opts: BenchOptions, cleanup: Cleanup): Promise<Setup> {
  const fleet = await PgFleet.start(['dialogdb', ...RING_SHARDS, TARGET, IDLE_TARGET, ...(opts.profile ? [PROFILE_TARGET] : [])], log);
  cleanup.push(() => fleet.destroy());
  const shardUrl = (name: string) => fleet.get(name).url('messagedb');
  const activity = await PgActivitySampler.start(new Map(fleet.servers.map((s) => [s.name, s.url(s.name === 'dialogdb' ? 'dialogdb' : 'messagedb')])));
  cleanup.push(() => activity.stop());
  const env: ServiceEnv = { dialogDbUrl: fleet.get('dialogdb').url('dialogdb'), shardUrls: RING_SHARDS.map(shardUrl), jwtSecret: randomBytes(32).toString('base64url') };
  const logFile = path.join(fleet.root, 'service.log');
  const service = new ServiceSlot();
  cleanup.push(async () => {
    await service.current?.stop();
  });
  // Printed on failure, before the temp dir goes, so the reason is not lost with it.
  cleanup.push(async () => void (failed && printTail(logFile)));
  await service.replace(() => ServiceProcess.start(env, logFile));
  const rss = new RssSampler();
  rss.start(() => service.current);
  cleanup.push(async () => rss.stop());
  const cpu = new CpuMeter(() => service.current?.pid, () => fleet.servers.map((s) => s.pid).filter((p): p is number => !!p));
  return { fleet, shardUrl, env, service, api: new Api(service.current!.baseUrl, env.jwtSecret), activity, rss, cpu };
}

interface Data {
  ring: Ring;
  dialogs: BenchDialog[];
  onSource: BenchDialog[];
  rowsLoaded: number;
  loadSeconds: number;
}

/** Dialogs through the API, their history straight into shard-0. */
async function seedData(setup: Setup, opts: BenchOptions): Promise<Data> {
  const ring = freshRing(RING_SHARDS);
  const dialogs = await createDialogs(setup.api, opts.dialogs, ring);
  const onSource = dialogs.filter((d) => d.shard === SOURCE);
  const started = Date.now();
  const rowsLoaded = await loadHistory(setup.shardUrl(SOURCE), onSource, opts.rows);
  const loadSeconds = (Date.now() - started) / 1000;
  log(`created ${dialogs.length} dialogs (${onSource.length} on ${SOURCE}); loaded ${rowsLoaded} messages in ${loadSeconds.toFixed(1)} s`);
  return { ring, dialogs, onSource, rowsLoaded, loadSeconds };
}

/** 1 and 2: the raw-pg ceilings against the API, send then list. */
function ceilingContext(setup: Setup, opts: BenchOptions): CeilingContext {
  return {
    baseUrl: setup.api.baseUrl,
    shardUrls: new Map(RING_SHARDS.map((s) => [s, setup.shardUrl(s)])),
    concurrency: opts.concurrency,
    warmupS: opts.warmupS,
    measureS: opts.measureS,
    cpu: setup.cpu,
    log,
  };
}

async function measureCeilings(setup: Setup, opts: BenchOptions, data: Data) {
  const ctx = ceilingContext(setup, opts);
  // First: its inserts' vacuum and checkpoint are then long over when the split's steady load
  // measures the latency the copier is paced by.
  const ownership = await measureOwnership(ctx, data.dialogs, data.onSource);
  const sendBatches = await batchesDuring(setup.api.baseUrl, 'chat_send_batch_rows', () => compareSend(ctx, data.dialogs));
  const send = sendBatches.result;
  const sendBatchRows = sendBatches.perStatement;
  log(`send: the API wrote ${sendBatches.items} sends in ${sendBatches.statements} statements (${sendBatchRows.toFixed(1)} per statement)`);
  setup.service.assertAlive('the send measurements');
  const rowsOnSource = await countRows(new Map([[SOURCE, setup.shardUrl(SOURCE)]]));
  const listBatches = await batchesDuring(setup.api.baseUrl, 'chat_read_batch_items', () => compareList(ctx, data.onSource));
  const list = listBatches.result;
  const pageBatchSize = listBatches.perStatement;
  log(`list: the API read ${listBatches.items} pages in ${listBatches.statements} statements (${pageBatchSize.toFixed(1)} per statement)`);
  setup.service.assertAlive('the list measurements');
  const hot = await compareHotDialog(ctx, data.onSource[0]);
  const bare = await measureBareHttp(ctx, data.dialogs, data.onSource);
  const config = serviceConfig(setup);
  // Sends go to both shards; the lists read shard-0 only.
  const dbLimits = await measureDbLimits(
    ctx,
    data.dialogs,
    data.onSource,
    { size: Math.max(1, Math.round(sendBatchRows)), inFlight: RING_SHARDS.length * config.sendBatchesPerShard },
    { size: Math.max(1, Math.round(pageBatchSize)), inFlight: config.readBatchesPerShard },
  );
  const rawMix = await measureRawMix(ctx, data.dialogs, data.onSource, opts.mixSendShare);
  const apiMix = await measureApiMix(ctx, data.dialogs, opts.mixSendShare, opts.mixConnections);
  setup.service.assertAlive('the ceilings');
  return { send, list, rowsOnSource, ownership, hot, bare, dbLimits, rawMix, apiMix, sendBatchRows, pageBatchSize };
}

/** The service's settings, as it read them from the same environment. */
function serviceConfig(setup: Setup) {
  return loadConfig({ ...process.env, DIALOG_DB_URL: setup.env.dialogDbUrl, SHARD_URLS: setup.env.shardUrls.join(','), JWT_SECRET: setup.env.jwtSecret });
}

/** The service's group-commit histogram, summed over shards: sends written, statements used. */
async function histogramTotals(baseUrl: string, name: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const total = (series: string) => text.split('\n').filter((l) => l.startsWith(`${series}{`)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return { sum: total(`${name}_sum`), count: total(`${name}_count`) };
}

/** `run`, and how many items the service's grouped statements (a batch-size histogram) carried meanwhile. */
async function batchesDuring<T>(baseUrl: string, histogram: string, run: () => Promise<T>) {
  const before = await histogramTotals(baseUrl, histogram);
  const result = await run();
  const after = await histogramTotals(baseUrl, histogram);
  const items = Math.round(after.sum - before.sum);
  const statements = Math.round(after.count - before.count);
  return { result, items, statements, perStatement: items / Math.max(1, statements) };
}

/** 3: the COPY ceiling between the split's two servers, the split under load, and the exactly-once check. */
async function measureSplit(setup: Setup, opts: BenchOptions, data: Data, apiMix: Side) {
  const { api, shardUrl } = setup;
  await api.admin('POST', '/admin/shards', { name: TARGET, url: shardUrl(TARGET) });
  const segments = planRingChange(data.ring, midpointSplit(data.ring, SOURCE, TARGET)).flatMap((arc) => arcSegments(arc));
  const pipe = await measureCopyPipe(shardUrl(SOURCE), shardUrl(TARGET), segments);
  log(`copy pipe: ${pipe.rows} rows in ${pipe.seconds.toFixed(1)} s = ${Math.round(pipe.rate)} rows/s`);
  const allShards = new Map([...RING_SHARDS, TARGET].map((s) => [s, shardUrl(s)]));
  const rowsBefore = await countRows(allShards);
  const rowsOnSourceAtSplit = await countRows(new Map([[SOURCE, shardUrl(SOURCE)]]));
  const reshard = await splitUnderLoad({
    api,
    dialogs: data.dialogs,
    source: SOURCE,
    target: TARGET,
    mixRate: opts.mixLoadFactor * apiMix.summary.rps,
    connections: opts.mixConnections,
    sendShare: opts.mixSendShare,
    beforeS: opts.reshardBeforeS,
    warmupS: opts.reshardWarmupS,
    afterS: opts.reshardAfterS,
    log,
  });
  setup.service.assertAlive('the reshard');
  const finalRing = new Ring((await api.admin<{ points: RingPoint[] }>('GET', '/admin/ring')).points);
  const check = await checkExactlyOnce(api, finalRing, allShards, reshard.acked, rowsBefore, data.dialogs, TARGET);
  log(`check: ${check.ok ? 'every acknowledged message readable exactly once' : check.problems.join('; ')}`);
  await api.admin('POST', '/admin/shards', { name: IDLE_TARGET, url: shardUrl(IDLE_TARGET) });
  const idle = await splitIdle({ api, source: SOURCE, target: IDLE_TARGET, log });
  return { pipe, reshard, check, rowsOnSourceAtSplit, idle };
}

async function main(opts: BenchOptions, cleanup: Cleanup): Promise<number> {
  log(`${opts.quick ? 'quick' : 'full'} run: ${opts.dialogs} dialogs, ${opts.rows} rows on ${SOURCE}, ${opts.measureS} s per measurement`);
  // 4 first: micro-benchmarks, while nothing else of ours runs.
  const routing = { ...measureRouting(), jwt: measureJwt() };
  const balance = simulateBalance(randomHashes(opts.quick ? 1_000_000 : 10_000_000), 64);
  log(`balance: ${balance.dialogs} dialogs, ${balance.steps.map((s) => `${s.shards} shards max/mean ${s.maxOverMean.toFixed(2)}`).join(', ')}; moved from other shards: ${balance.movedFromOthers}`);
  log(`routing: ${routing.lookups.map((l) => `${l.shards} shards ${l.ownerOfNs.toFixed(1)} ns`).join(', ')}; JWT verify ${routing.jwt.stringSecretUs.toFixed(0)} µs`);

  const setup = await startEverything(opts, cleanup);
  const machine = await describeMachine(setup.shardUrl(SOURCE));
  const data = await seedData(setup, opts);
  const { send, list, rowsOnSource, ownership, hot, bare, dbLimits, rawMix, apiMix, sendBatchRows, pageBatchSize } = await measureCeilings(setup, opts, data);
  const live = await measureLiveDelivery({
    ctx: ceilingContext(setup, opts),
    api: setup.api,
    env: setup.env,
    dir: setup.fleet.root,
    dialogs: data.dialogs,
    ring: data.ring,
    loadFactor: opts.mixLoadFactor,
  });
  setup.service.assertAlive('the live-delivery measurements');
  const { pipe, reshard, check, rowsOnSourceAtSplit, idle } = await measureSplit(setup, opts, data, apiMix);
  const profiled = opts.profile
    ? await profileService({
        slot: setup.service,
        env: setup.env,
        dir: setup.fleet.root,
        dialogs: data.dialogs,
        listDialogs: data.onSource,
        connections: opts.concurrency,
        seconds: opts.profileS,
        split: { source: TARGET, target: PROFILE_TARGET, targetUrl: setup.shardUrl(PROFILE_TARGET), mixRate: reshard.mixRate, mixConnections: opts.mixConnections, sendShare: opts.mixSendShare },
        log,
      })
    : null;

  const results: Omit<BenchResults, 'charts'> = {
    options: opts,
    machine,
    service: serviceConfig(setup),
    sizes: {
      dialogs: data.dialogs.length,
      dialogsOnSource: data.onSource.length,
      rowsLoaded: data.rowsLoaded,
      perDialog: Math.ceil(opts.rows / data.onSource.length),
      loadSeconds: data.loadSeconds,
      rowsOnSource,
      rowsOnSourceAtSplit,
      movedRows: Number(reshard.job.total ?? 0),
    },
    routing,
    send,
    list,
    hot,
    bare,
    dbLimits,
    rawMix,
    apiMix,
    live,
    sendBatchRows,
    pageBatchSize,
    idleSplit: idle,
    ownership,
    balance,
    pipe,
    reshard,
    check,
    profiles: profiled?.summaries ?? [],
    profiledSplit: profiled?.splitJob ?? null,
    // From the second second: the first sample may still report the scratch table's explicit CHECKPOINT.
    pgEvents: setup.activity.between(reshard.loadStartedAt + 1000, reshard.loadEndedAt),
    rssPeakMiB: Math.max(0, ...setup.rss.samples.map((s) => s.mib)),
    rssSplit: rssAround(setup.rss, reshard),
    servers: setup.fleet.servers.map((s) => s.name),
    totalSeconds: (Date.now() - benchStart) / 1000,
  };
  if (setup.activity.error) log(`warning: sampling Postgres activity failed at least once: ${setup.activity.error}`);
  await writeReport(opts, results, setup.rss);
  // The verdict, so nobody has to open the report to see it; the exit code stays "did it break".
  for (const v of verdicts(results)) log(`${v.pass === null ? 'INFO' : v.pass ? 'PASS' : 'MISS'}  ${v.name}: ${v.measured} (goal ${v.target})`);

  const lostEvents = live.fanOut.missing + live.fanOut.duplicated;
  const broke =
    reshard.job.phase !== 'done' || idle.job.phase !== 'done' || !check.ok || hot.stalePages > 0 || lostEvents > 0 || (profiled !== null && profiled.splitJob.phase !== 'done');
  if (broke) {
    log(
      `BROKEN: job ${reshard.job.phase}; idle split ${idle.job.phase}; profiled split ${profiled?.splitJob.phase ?? '-'}; ${hot.stalePages} stale hot-dialog pages; ` +
        `${live.fanOut.missing} events missing and ${live.fanOut.duplicated} duplicated; ${check.problems.join('; ')}`,
    );
  }
  return broke ? 1 : 0;
}

async function writeReport(opts: BenchOptions, results: Omit<BenchResults, 'charts'>, rss: RssSampler): Promise<void> {
  await mkdir(opts.reportDir, { recursive: true });
  const charts = await writeCharts(opts.reportDir, 'bench', chartData(results, rss));
  const file = path.join(opts.reportDir, opts.reportFile);
  writeFileSync(file, renderReport({ ...results, charts }));
  log(`wrote ${path.relative(process.cwd(), file)} and ${Object.values(charts).join(', ')}`);
}

/** The service's RSS in the steady load before the split, and its peak during the job. */
function rssAround(rss: RssSampler, run: { loadStartedAt: number; jobStartedAt: number; jobEndedAt: number }) {
  const before = rss.between(run.loadStartedAt, run.jobStartedAt).map((s) => s.mib);
  const during = rss.between(run.jobStartedAt, run.jobEndedAt).map((s) => s.mib);
  return { beforeMiB: before.length ? before[before.length - 1] : 0, peakMiB: Math.max(0, ...during) };
}

function chartData(r: Omit<BenchResults, 'charts'>, rss: RssSampler) {
  const run = r.reshard;
  const t = (at: number) => (at - run.loadStartedAt) / 1000;
  return {
    timeline: {
      seconds: run.timeline.map((b) => ({ t: b.second, ok: b.ok, errors: b.errors, p99: b.p99Ms })),
      phases: run.phases.map((p) => ({ phase: p.phase, from: t(p.startedAt), to: t(p.endedAt) })),
      rss: rss.between(run.loadStartedAt, run.loadEndedAt).map((s) => ({ t: t(s.at), mib: s.mib })),
      events: r.pgEvents.map((e) => ({ server: e.server, kind: e.kind, from: Math.max(0, t(e.from)), to: t(e.to) })),
      p99Bound: 2 * run.before.p99Ms,
    },
    ratios: [
      { label: 'send: API ÷ raw pg', measured: r.send.ratio, target: TARGETS.sendRatio, kind: 'min' as const },
      { label: 'list: API ÷ raw pg', measured: r.list.ratio, target: TARGETS.listRatio, kind: 'min' as const },
      { label: 'hot dialog: API ÷ raw pg', measured: r.hot.ratio, target: TARGETS.hotRatio, kind: 'min' as const },
      { label: 'copy under load ÷ COPY pipe', measured: copyRatio(r), target: TARGETS.copyLoaded, kind: 'min' as const },
      { label: 'copy, no load ÷ COPY pipe', measured: idleCopyRatio(r), target: TARGETS.copyIdle, kind: 'min' as const },
      // A p99 of 0 before (no answers) makes the growth infinite; the bars are capped, the table says it.
      { label: 'p99 of the worst phase ÷ steady', measured: Math.min(phaseGrowth(r).growth, 99), target: TARGETS.phaseP99, kind: 'max' as const },
      { label: 'worst second ÷ steady p99', measured: Math.min(worstSecondGrowth(r), 99), target: TARGETS.worstSecond, kind: 'max' as const },
    ],
    latency: (
      [
        ['send', r.send],
        ['list', r.list],
      ] as const
    ).flatMap(([test, c]) =>
      (['raw pg', 'API'] as const).flatMap((side) => {
        const s = side === 'raw pg' ? c.raw.summary : c.api.summary;
        return [
          { test, side, percentile: 'p50', ms: s.p50Ms },
          { test, side, percentile: 'p99', ms: s.p99Ms },
        ];
      }),
    ),
  };
}

let failed = false;

/** The service's last warnings and errors and its last few lines: request lines at info level would drown them. */
function printTail(file: string): void {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const level = (line: string) => Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? 50);
    const shown = [...new Set([...lines.filter((l) => level(l) >= 40).slice(-15), ...lines.slice(-5)])];
    console.error(`--- the service log's warnings, errors and last lines (${file}) ---\n${shown.join('\n')}`);
  } catch {
    // no log yet
  }
}

function run(): void {
  const cleanup = new Cleanup();
  const stopOn = (signal: NodeJS.Signals) =>
    process.once(signal, () => {
      log(`${signal}: stopping the service and the Postgres servers`);
      void cleanup.run().finally(() => {
        log('stopped');
        process.exit(130);
      });
    });
  stopOn('SIGINT');
  stopOn('SIGTERM');
  // Whatever throws outside the main flow (a stray socket error, most likely while servers
  // shut down) must still leave nothing running behind.
  process.on('uncaughtException', (err) => {
    failed = true;
    log(`uncaught: ${err.stack ?? err.message}`);
    void cleanup.run().finally(() => process.exit(1));
  });
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  main(opts, cleanup)
    .catch((err: Error) => {
      failed = true;
      log(`FAILED: ${err.stack ?? err.message}`);
      return 1;
    })
    .then(async (code) => {
      if (code !== 0) failed = true;
      await cleanup.run();
      log(`done in ${Math.round((Date.now() - benchStart) / 1000)} s, exit code ${code}`);
      process.exit(code);
    });
}

run();
