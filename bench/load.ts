import * as http from 'node:http';
import { Recorder } from './stats';

// autocannon ships no types; this is the part the bench uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>, cb: (err: Error | null) => void) => AutocannonInstance;

interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError', fn: (err: Error) => void): void;
  stop(): void;
}

/** One HTTP request of a load, chosen per request; `onOk` sees the body of a 2xx answer. */
export interface HttpRequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  onOk?: (body: string) => void;
}

export interface HttpLoadOptions {
  baseUrl: string;
  connections: number;
  /** Run until stop() when absent. */
  seconds?: number;
  next: () => HttpRequestSpec;
  recorder: Recorder;
}

export interface RunningLoad {
  stop(): void;
  done: Promise<void>;
}

/**
 * Closed-loop HTTP load with autocannon: keep-alive connections, one request in flight
 * each, the next sent as soon as the last is answered, so it finds the API's capacity.
 * Every answer lands in the recorder by the time it completed; a non-2xx answer, a socket
 * error or a timeout is an error.
 */
export function httpLoad(opts: HttpLoadOptions): RunningLoad {
  let instance: AutocannonInstance;
  const done = new Promise<void>((resolve, reject) => {
    instance = autocannon(
      {
        url: opts.baseUrl,
        connections: opts.connections,
        pipelining: 1,
        // autocannon counts duration in seconds; "until stopped" is a long one.
        duration: opts.seconds ?? 24 * 3600,
        timeout: 10,
        requests: [
          {
            setupRequest: (req: Record<string, unknown>, context: { spec?: HttpRequestSpec }) => {
              const spec = opts.next();
              context.spec = spec;
              return { ...req, method: spec.method, path: spec.path, headers: spec.headers, body: spec.body ?? '' };
            },
            onResponse: (status: number, body: string, context: { spec?: HttpRequestSpec }) => {
              if (status >= 200 && status < 300) context.spec?.onOk?.(body);
              else opts.recorder.error(`HTTP ${status} ${context.spec?.method} ${String(body).slice(0, 160)}`);
            },
          },
        ],
      },
      (err) => (err ? reject(err) : resolve()),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      // Errors were counted (with their body) in onResponse, which runs first.
      if (status >= 200 && status < 300) opts.recorder.record(ms, true);
    });
    instance.on('reqError', (err) => opts.recorder.error(`request error: ${err.message}`));
  });
  done.then(() => opts.recorder.stop(), () => opts.recorder.stop());
  return { stop: () => instance.stop(), done };
}

/**
 * Closed-loop load straight through a driver: `concurrency` workers each run `op` again as
 * soon as it returns, for `seconds`. The raw-pg ceilings use it.
 */
export async function closedLoop(recorder: Recorder, concurrency: number, seconds: number, op: (worker: number) => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  const worker = async (w: number) => {
    while (Date.now() < deadline) {
      const started = performance.now();
      try {
        await op(w);
        recorder.record(performance.now() - started, true);
      } catch (err) {
        recorder.error((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  recorder.stop();
}

export interface PacedLoadOptions {
  baseUrl: string;
  /** Keep-alive connections at most; a request waits for a free one (and that wait counts). */
  connections: number;
  /** Requests per second, spread evenly. */
  rate: number;
  next: () => HttpRequestSpec;
  recorder: Recorder;
}

const TICK_MS = 2;
const TIMEOUT_MS = 10_000;

/**
 * Open-loop HTTP load at a steady rate: requests are started on schedule whether or not
 * earlier ones were answered, and latency runs from the scheduled start, so a slow phase
 * shows up as latency instead of silently lowering the offered load. (autocannon's own
 * rate limit sends each connection's whole per-second budget in a burst at the top of
 * every second, which is not a steady load.) stop() lets the requests in flight finish.
 */
export function pacedLoad(opts: PacedLoadOptions): RunningLoad {
  const url = new URL(opts.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const started = performance.now();
  let dispatched = 0;
  let inFlight = 0;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const send = (spec: HttpRequestSpec, scheduled: number) => {
    inFlight++;
    let settled = false;
    const settle = (ok: boolean, what: string, body = '') => {
      if (settled) return;
      settled = true;
      inFlight--;
      if (ok) {
        opts.recorder.record(performance.now() - scheduled, true);
        try {
          spec.onOk?.(body);
        } catch (err) {
          opts.recorder.error(`bad answer: ${(err as Error).message}`);
        }
      } else {
        opts.recorder.error(what);
      }
      if (stopped && inFlight === 0) end();
    };
    const headers = spec.body === undefined ? spec.headers : { ...spec.headers, 'content-length': String(Buffer.byteLength(spec.body)) };
    const req = http.request({ host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers, agent, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => settle(false, `response error: ${err.message}`));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const status = res.statusCode ?? 0;
        settle(status >= 200 && status < 300, `HTTP ${status} ${spec.method} ${body.slice(0, 160)}`, body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => settle(false, `request error: ${err.message}`));
    req.end(spec.body);
  };

  const end = () => {
    agent.destroy();
    opts.recorder.stop();
    finish();
  };

  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    const due = Math.floor(((now - started) / 1000) * opts.rate);
    while (dispatched < due) {
      // Each request's own slot in the schedule, so a late tick does not hide waiting.
      const scheduled = started + (dispatched * 1000) / opts.rate;
      dispatched++;
      send(opts.next(), scheduled);
    }
    setTimeout(tick, TICK_MS);
  };
  tick();

  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (inFlight === 0) end();
    },
    done,
  };
}
