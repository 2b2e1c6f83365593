import { Api, JobView } from './api';
import { Acked, CLIENT_ID_PREFIX } from './check';
import { HttpRequestSpec, pacedLoad } from './load';
import { sleep } from './pg-fleet';
import { BenchDialog } from './seed';
import { Bucket, median, Recorder, Summary } from './stats';

export interface PhaseSpan {
  phase: string;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt: number;
  load: Summary;
}

export interface JobSample {
  at: number;
  phase: string;
  copied: number;
  rate: number | null;
}

export interface ReshardRun {
  job: JobView;
  /** Requests per second the steady mix was asked to run at. */
  mixRate: number;
  loadStartedAt: number;
  jobStartedAt: number;
  jobEndedAt: number;
  loadEndedAt: number;
  timeline: Bucket[];
  /** The load's first seconds (connections opening, pools and plans warming): left out of `before`, shown apart. */
  warmup: Summary;
  /** The steady state the job is judged against. */
  before: Summary;
  /** The slowest 1 s bucket touching the job, by p99. */
  worstSecond: Bucket | null;
  during: Summary;
  after: Summary;
  phases: PhaseSpan[];
  samples: JobSample[];
  /** Rows the copier moved per second of the copy phase, and the job's own rate readings. */
  copyRate: number;
  copyRateReported: number;
  acked: Map<string, Acked>;
  errorSamples: Array<[string, number]>;
}

export interface ReshardPlan {
  api: Api;
  dialogs: BenchDialog[];
  source: string;
  target: string;
  mixRate: number;
  connections: number;
  sendShare: number;
  /** Steady load before the job, of which the first `warmupS` are warm-up. */
  beforeS: number;
  warmupS: number;
  afterS: number;
  log: (line: string) => void;
}

const FINAL = ['done', 'failed', 'cancelled'];
const JOB_TIMEOUT_MS = 60 * 60_000;
/** Longer than the window of requests the service judges live traffic by (2 s). */
const IDLE_AFTER_MS = 3000;

/** The steady mix: sends with a unique clientMessageId (remembered when acknowledged) and page reads. */
function mixedRequests(plan: ReshardPlan, acked: Map<string, Acked>): () => HttpRequestSpec {
  let n = 0;
  return (): HttpRequestSpec => {
    const d = plan.dialogs[Math.floor(Math.random() * plan.dialogs.length)];
    const token = d.tokens[Math.floor(Math.random() * 2)];
    if (Math.random() >= plan.sendShare) {
      return { method: 'GET', path: `/dialogs/${d.id}/messages?limit=50`, headers: { authorization: `Bearer ${token}` } };
    }
    const clientId = `${CLIENT_ID_PREFIX}${++n}`;
    return {
      method: 'POST',
      path: `/dialogs/${d.id}/messages`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: `during the split, #${n}`, clientMessageId: clientId }),
      onOk: (body) => void acked.set(clientId, { id: (JSON.parse(body) as { id: string }).id, dialogId: d.id }),
    };
  };
}

/**
 * 3. A split of `source` under a steady mixed load through HTTP: the load runs `beforeS`,
 * the job runs to its end while the load goes on, then the load runs `afterS` more. The
 * job is polled every second for its phase, copied count and rate.
 */
export async function splitUnderLoad(plan: ReshardPlan): Promise<ReshardRun> {
  const acked = new Map<string, Acked>();
  const recorder = new Recorder();
  const load = pacedLoad({
    baseUrl: plan.api.baseUrl,
    connections: plan.connections,
    rate: plan.mixRate,
    recorder,
    next: mixedRequests(plan, acked),
  });
  const samples: JobSample[] = [];
  let job: JobView;
  let jobStartedAt: number;
  try {
    await sleep(plan.beforeS * 1000);
    plan.log(`reshard: steady load at ${Math.round(plan.mixRate)} req/s for ${plan.beforeS} s; now splitting ${plan.source}`);
    jobStartedAt = Date.now();
    const started = await plan.api.admin<{ id: string }>('POST', '/admin/reshard', { split: plan.source, to: plan.target });
    job = await followJob(plan, started.id, samples);
    plan.log(`reshard: job ${job.phase}; load goes on for ${plan.afterS} s`);
    await sleep(plan.afterS * 1000);
  } finally {
    load.stop();
    await load.done.catch(() => undefined);
  }
  const loadEndedAt = Date.now();
  const phases = phaseSpans(job, recorder);
  const jobEndedAt = phases.length ? phases[phases.length - 1].endedAt : Date.now();
  const reported = samples.filter((s) => s.phase === 'copy' && s.rate).map((s) => s.rate!);
  const timeline = recorder.timeline();
  const warmedAt = recorder.startedAt + plan.warmupS * 1000;
  const touching = timeline.filter((b) => recorder.startedAt + (b.second + 1) * 1000 > jobStartedAt && recorder.startedAt + b.second * 1000 < jobEndedAt);
  return {
    job,
    mixRate: plan.mixRate,
    loadStartedAt: recorder.startedAt,
    jobStartedAt,
    jobEndedAt,
    loadEndedAt,
    timeline,
    warmup: recorder.window(recorder.startedAt, warmedAt),
    before: recorder.window(warmedAt, jobStartedAt),
    worstSecond: touching.reduce<Bucket | null>((worst, b) => (!worst || b.p99Ms > worst.p99Ms ? b : worst), null),
    during: recorder.window(jobStartedAt, jobEndedAt, true),
    after: recorder.window(jobEndedAt, loadEndedAt),
    phases,
    samples,
    copyRate: copyRateOf(job),
    copyRateReported: median(reported),
    acked,
    errorSamples: [...recorder.errorSamples],
  };
}

/** Rows moved per second of the job's copy phase. */
export function copyRateOf(job: JobView): number {
  const t = job.phaseTimes.copy;
  const seconds = t?.endedAt ? (Date.parse(t.endedAt) - Date.parse(t.startedAt)) / 1000 : 0;
  return seconds > 0 ? Number(job.total ?? job.copied) / seconds : 0;
}

/** 3b. A split with no live load at all: how near the pipe the copier runs when nothing competes. */
export async function splitIdle(plan: Pick<ReshardPlan, 'api' | 'source' | 'target' | 'log'>): Promise<{ job: JobView; copyRate: number }> {
  plan.log(`idle split: ${plan.source} into ${plan.target}, no live load`);
  // The service judges live traffic by its last 2 s of requests: the exactly-once check's reads
  // just before would otherwise count as live load for the job's first seconds.
  await sleep(IDLE_AFTER_MS);
  const started = await plan.api.admin<{ id: string }>('POST', '/admin/reshard', { split: plan.source, to: plan.target });
  const job = await followJob(plan, started.id, []);
  plan.log(`idle split: ${job.phase}, ${job.total} rows at ${Math.round(copyRateOf(job))} rows/s`);
  return { job, copyRate: copyRateOf(job) };
}

async function followJob(plan: Pick<ReshardPlan, 'api' | 'log'>, id: string, samples: JobSample[]): Promise<JobView> {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  let last = '';
  for (;;) {
    const job = await plan.api.admin<JobView>('GET', `/admin/reshard/${id}`);
    samples.push({ at: Date.now(), phase: job.phase, copied: Number(job.copied), rate: job.rate });
    if (job.phase !== last) {
      plan.log(`reshard: ${job.phase}${job.total !== null ? ` (${job.copied}/${job.total} rows copied)` : ''}`);
      last = job.phase;
    }
    if (FINAL.includes(job.phase)) return job;
    if (Date.now() > deadline) throw new Error(`reshard ${id} still in ${job.phase} after ${JOB_TIMEOUT_MS / 60_000} min`);
    await sleep(1000);
  }
}

/** The job's phase times (from dialogdb's clock, the same machine) with the load inside each. */
function phaseSpans(job: JobView, recorder: Recorder): PhaseSpan[] {
  const order = ['prepare', 'copy', 'verify', 'cutover', 'cleanup'];
  return order
    .filter((p) => job.phaseTimes[p]?.endedAt)
    .map((phase) => {
      const t = job.phaseTimes[phase];
      const startedAt = Date.parse(t.startedAt);
      const endedAt = Date.parse(t.endedAt!);
      return { phase, startedAt, endedAt, load: recorder.window(startedAt, endedAt, true) };
    });
}
