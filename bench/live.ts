import * as http from 'node:http';
import * as path from 'node:path';
import { createParser } from 'eventsource-parser';
import { Ring } from '../src/ring';
import { Api, inParallel } from './api';
import { CeilingContext, measureApi, pick, sendSpec, Side } from './ceilings';
import { CpuMeter } from './cpu';
import { pacedLoad } from './load';
import { sleep } from './pg-fleet';
import { BenchDialog, createDialogs, memberTokens } from './seed';
import { ServiceEnv, ServiceProcess } from './service';
import { Recorder, Summary } from './stats';

/** One user per stream, two users per dialog: every send is an event on two streams. */
export const LIVE_STREAMS = 1000;

export interface FanOut {
  /** Sends per second of the steady load, through the first instance. */
  rate: number;
  sends: number;
  /** Events expected: two per acknowledged send, one for each member's stream. */
  expected: number;
  /** From the send's acknowledgement (its answer read by the client) to the event read from the other instance's stream. */
  latency: Summary;
  /** Events read before the client had read the send's own answer (counted as 0 ms). */
  early: number;
  missing: number;
  duplicated: number;
  /** Sends of the steady load that failed. */
  errors: number;
}

export interface LiveDelivery {
  streams: number;
  /** Users whose lists were read: the members of the bench's dialogs. */
  listUsers: number;
  listWithout: Side;
  listWith: Side;
  /** GET /dialogs with unread counts and the last message ÷ without (`summary=false`), in requests per second. */
  listRatio: number;
  sendWithout: Side;
  sendWith: Side;
  /** Send throughput with the streams open ÷ without. */
  sendRatio: number;
  /** CPU of the instance holding the streams while the sends ran, in cores. */
  streamInstanceCpu: number;
  /** Events the streams carried during the send measurement (warm-up included). */
  eventsDuringSends: number;
  fanOut: FanOut;
  /** Streams the service closed (a slow consumer, or an error): each one a client that would have to reconnect. */
  closedByServer: number;
}

/** What every stream has read, by message id. */
class Ledger {
  tracking = false;
  events = 0;
  readonly acked = new Map<string, number>();
  readonly received = new Map<string, number[]>();
  duplicated = 0;

  onEvent(stream: LiveStream, id: string, at: number): void {
    this.events++;
    if (!this.tracking) return;
    if (stream.seen.has(id)) {
      this.duplicated++;
      return;
    }
    stream.seen.add(id);
    const times = this.received.get(id);
    if (times) times.push(at);
    else this.received.set(id, [at]);
  }

  delivered(): number {
    let n = 0;
    for (const id of this.acked.keys()) n += this.received.get(id)?.length ?? 0;
    return n;
  }
}

/** One user's `GET /events`, read with the same parser rules as a browser's EventSource. */
class LiveStream {
  readonly seen = new Set<string>();
  closedByServer = false;
  private response?: http.IncomingMessage;
  private closing = false;

  private constructor(readonly user: string) {}

  static open(baseUrl: string, user: string, token: string, ledger: Ledger): Promise<LiveStream> {
    const stream = new LiveStream(user);
    const url = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const request = http.get(
        { host: url.hostname, port: url.port, path: '/events', headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, agent: false },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`GET /events for ${user}: HTTP ${res.statusCode}`));
            res.resume();
            return;
          }
          stream.response = res;
          const parser = createParser({
            onEvent: (e) => {
              if (e.event === 'ready') resolve(stream);
              else if (e.event === 'message.created') ledger.onEvent(stream, (JSON.parse(e.data) as { id: string }).id, performance.now());
              else if (e.event === 'close') stream.closedByServer = true;
            },
          });
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => parser.feed(chunk));
          res.on('close', () => {
            if (!stream.closing) stream.closedByServer = true;
          });
          res.on('error', () => undefined);
        },
      );
      request.on('error', reject);
    });
  }

  close(): void {
    this.closing = true;
    this.response?.destroy();
  }
}

export interface LiveOptions {
  ctx: CeilingContext;
  api: Api;
  env: ServiceEnv;
  dir: string;
  /** The bench's dialogs: their members' lists are the list measurement's. */
  dialogs: BenchDialog[];
  ring: Ring;
  /** The steady load of the fan-out runs at this share of the measured send capacity. */
  loadFactor: number;
}

/**
 * Live delivery across instances: a second instance holds a stream per user while sends go
 * through the first, as when a user's app is connected to another instance than the
 * sender's. Three measurements: the dialog list with its per-shard unread counts against
 * without them; send throughput with the streams open against without; and, at a steady
 * load, how long from a send's acknowledgement until both members' streams have it, each
 * event checked to arrive once.
 */
export async function measureLiveDelivery(opts: LiveOptions): Promise<LiveDelivery> {
  const { ctx, api } = opts;
  const users = [...memberTokens(opts.dialogs).values()];
  const listSpec = (query: string) => () => ({ method: 'GET' as const, path: `/dialogs${query}`, headers: { authorization: `Bearer ${pick(users)}` } });
  ctx.log(`live: GET /dialogs without unread counts (summary=false), ${ctx.concurrency} connections for ${ctx.measureS} s`);
  const listWithout = await measureApi(ctx, listSpec('?summary=false'));
  ctx.log(`live: ${Math.round(listWithout.summary.rps)} req/s; with unread counts and the last message`);
  const listWith = await measureApi(ctx, listSpec(''));
  ctx.log(`live: ${Math.round(listWith.summary.rps)} req/s`);

  const second = await ServiceProcess.start(opts.env, path.join(opts.dir, 'service-streams.log'));
  const streams: LiveStream[] = [];
  try {
    const live = await createDialogs(api, LIVE_STREAMS / 2, opts.ring, { pairs: LIVE_STREAMS / 2, names: ['live-a', 'live-b'] });
    ctx.log(`live: sends into ${live.length} dialogs of two, no streams open, ${ctx.concurrency} connections for ${ctx.measureS} s`);
    const sendWithout = await measureApi(ctx, () => sendSpec(pick(live)));
    ctx.log(`live: ${Math.round(sendWithout.summary.rps)} req/s; opening ${LIVE_STREAMS} streams on a second instance`);

    const ledger = new Ledger();
    const opened = await inParallel(
      [...memberTokens(live)],
      32,
      ([user, token]) => LiveStream.open(second.baseUrl, user, token, ledger),
    );
    streams.push(...opened);
    const streamCpu = new CpuMeter(() => second.pid, () => []);
    const cpuBefore = streamCpu.snapshot();
    const sendWith = await measureApi(ctx, () => sendSpec(pick(live)));
    const streamInstanceCpu = CpuMeter.between(cpuBefore, streamCpu.snapshot()).service;
    const eventsDuringSends = ledger.events;
    ctx.log(`live: ${Math.round(sendWith.summary.rps)} req/s with the streams open; ${eventsDuringSends} events read`);

    const fanOut = await measureFanOut(ctx, live, ledger, opts.loadFactor * sendWithout.summary.rps);
    ctx.log(
      `live: fan-out at ${Math.round(fanOut.rate)} sends/s: p50 ${fanOut.latency.p50Ms.toFixed(1)} ms, p99 ${fanOut.latency.p99Ms.toFixed(1)} ms; ` +
        `${fanOut.missing} missing, ${fanOut.duplicated} duplicated of ${fanOut.expected}`,
    );
    return {
      streams: streams.length,
      listUsers: users.length,
      listWithout,
      listWith,
      listRatio: listWithout.summary.rps > 0 ? listWith.summary.rps / listWithout.summary.rps : 0,
      sendWithout,
      sendWith,
      sendRatio: sendWithout.summary.rps > 0 ? sendWith.summary.rps / sendWithout.summary.rps : 0,
      streamInstanceCpu,
      eventsDuringSends,
      fanOut,
      closedByServer: streams.filter((s) => s.closedByServer).length,
    };
  } finally {
    for (const s of streams) s.close();
    await second.stop();
  }
}

const DRAIN_MS = 10_000;

/** A steady open-loop send load; every acknowledged send must reach both members' streams, once each. */
async function measureFanOut(ctx: CeilingContext, live: BenchDialog[], ledger: Ledger, rate: number): Promise<FanOut> {
  ctx.log(`live: fan-out, ${Math.round(rate)} sends/s for ${ctx.measureS} s`);
  ledger.tracking = true;
  const recorder = new Recorder();
  const load = pacedLoad({
    baseUrl: ctx.baseUrl,
    connections: ctx.concurrency,
    rate,
    recorder,
    next: () => ({ ...sendSpec(pick(live)), onOk: (body) => void ledger.acked.set((JSON.parse(body) as { id: string }).id, performance.now()) }),
  });
  await sleep(ctx.measureS * 1000);
  load.stop();
  await load.done;
  const expected = 2 * ledger.acked.size;
  const deadline = Date.now() + DRAIN_MS;
  while (ledger.delivered() < expected && Date.now() < deadline) await sleep(100);
  ledger.tracking = false;

  const latency = new Recorder();
  let early = 0;
  for (const [id, ackAt] of ledger.acked) {
    for (const at of ledger.received.get(id) ?? []) {
      if (at < ackAt) early++;
      latency.record(Math.max(0, at - ackAt), true);
    }
  }
  latency.stop();
  return {
    rate,
    sends: ledger.acked.size,
    expected,
    latency: latency.summary(),
    early,
    missing: expected - ledger.delivered(),
    duplicated: ledger.duplicated,
    errors: recorder.summary().errors,
  };
}
