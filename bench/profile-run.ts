import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Api, JobView } from './api';
import { httpLoad, HttpRequestSpec } from './load';
import { sleep } from './pg-fleet';
import { ProfileSummary, readProfile, summariseProfile } from './profile';
import { splitUnderLoad } from './reshard';
import { BenchDialog } from './seed';
import { ServiceEnv, ServiceProcess, ServiceSlot } from './service';
import { Recorder } from './stats';

export interface ProfileRunPlan {
  slot: ServiceSlot;
  env: ServiceEnv;
  /** Where the profile and the profiled service's log go (the bench's temp dir). */
  dir: string;
  dialogs: BenchDialog[];
  /** Dialogs whose pages are long (the bulk-loaded shard). */
  listDialogs: BenchDialog[];
  connections: number;
  seconds: number;
  /** A second split, profiled: a shard holding rows, and a spare server registered for it. */
  split: { source: string; target: string; targetUrl: string; mixRate: number; mixConnections: number; sendShare: number };
  log: (line: string) => void;
}

export interface ProfileRun {
  /** 'send', 'list' and 'hot' under closed-loop load, then one per phase of the profiled split. */
  summaries: ProfileSummary[];
  splitJob: JobView;
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

/**
 * The service again, in a fresh process under `node --cpu-prof` (the profiler slows it, so
 * the measured runs went without): sends, lists, hot-dialog reads, then a second split under the steady
 * mix. The profile starts with the process, so each window is found by its time since spawn.
 */
export async function profileService(plan: ProfileRunPlan): Promise<ProfileRun> {
  const profileDir = path.join(plan.dir, 'profile');
  mkdirSync(profileDir, { recursive: true });
  const service = await plan.slot.replace(() =>
    ServiceProcess.start(plan.env, path.join(plan.dir, 'service-profiled.log'), ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
  );
  const since = (at: number) => at - service.startedAt;
  const load = async (kind: RequestKind, seconds: number) => {
    const from = since(Date.now());
    await httpLoad({ baseUrl: service.baseUrl, connections: plan.connections, seconds, recorder: new Recorder(), next: () => request(kind, plan) }).done;
    return { from, to: since(Date.now()) };
  };
  plan.log(`profile: service under --cpu-prof: ${plan.seconds} s each of sends, lists and hot-dialog reads, then a split of ${plan.split.source}`);
  await load('send', 2); // warm-up, not summarised
  const send = await load('send', plan.seconds);
  const list = await load('list', plan.seconds);
  const hot = await load('hot', plan.seconds);

  const api = new Api(service.baseUrl, plan.env.jwtSecret);
  await api.admin('POST', '/admin/shards', { name: plan.split.target, url: plan.split.targetUrl });
  const split = await splitUnderLoad({
    api,
    dialogs: plan.dialogs,
    source: plan.split.source,
    target: plan.split.target,
    mixRate: plan.split.mixRate,
    connections: plan.split.mixConnections,
    sendShare: plan.split.sendShare,
    beforeS: 5,
    warmupS: 2,
    afterS: 3,
    log: plan.log,
  });
  await service.stop(); // the profile is written as the process exits
  await sleep(200);

  const profile = readProfile(profileDir);
  const summaries = [summariseProfile(profile, 'send', send.from, send.to), summariseProfile(profile, 'list', list.from, list.to), summariseProfile(profile, 'hot', hot.from, hot.to)];
  summaries.push(summariseProfile(profile, 'split: steady load before the job', since(split.loadStartedAt + 1000), since(split.jobStartedAt)));
  for (const p of split.phases) summaries.push(summariseProfile(profile, `split: ${p.phase}`, since(p.startedAt), since(p.endedAt)));
  return { summaries, splitJob: split.job };
}

/** Sends to random dialogs, pages of random long dialogs, or pages of one of them (the hot dialog, with no sends beside). */
type RequestKind = 'send' | 'list' | 'hot';

function request(kind: RequestKind, plan: ProfileRunPlan): HttpRequestSpec {
  const d = kind === 'send' ? pick(plan.dialogs) : kind === 'hot' ? plan.listDialogs[0] : pick(plan.listDialogs);
  const headers = { authorization: `Bearer ${pick(d.tokens)}`, 'content-type': 'application/json' };
  return kind === 'send'
    ? { method: 'POST', path: `/dialogs/${d.id}/messages`, headers, body: JSON.stringify({ text: 'profiled send' }) }
    : { method: 'GET', path: `/dialogs/${d.id}/messages?limit=50`, headers };
}
