import { JwtService } from '@nestjs/jwt';
import { AddressInfo } from 'node:net';
import { corpus, formEncode, FuzzClient, FuzzRequest, FuzzResponse, looseEncode, nonStrings, Operation, operations, percentEncode, seeded } from './support/fuzz';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

// One round sends every corpus string into every body field, path param and query value of
// every operation in /docs-json (about 18,000 requests, 10 to 25 s here). FUZZ_ROUNDS=n adds
// n - 1 rounds of seeded random mutations of the corpus (FUZZ_SEED replays one).
const ROUNDS = Math.max(1, Number(process.env.FUZZ_ROUNDS ?? 1) || 1);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONNECTIONS = 8;
// Longer values cannot travel in a URL: Node refuses the request line itself (431, no body)
// before the service sees it.
const MAX_URL_VALUE = 2000;

/** Body values of a request that should pass validation, by field name. */
const VALID_BODY: Record<string, unknown> = {
  participantIds: ['bob'],
  title: 'lunch',
  text: 'hello',
  // Admin bodies that pass validation yet can do nothing: no such shard, an unreachable URL.
  name: 'fuzz-spare',
  url: 'postgres://127.0.0.1:1/nowhere',
  split: 'no-such-shard',
};

describe('fuzz: hostile input never gets a 5xx', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let client: FuzzClient;
  let ops: Operation[];
  const fixture: Record<string, string> = {};

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
    // The limiters on, keyed by every hostile token subject, but out of reach: the fuzz
    // sends thousands of requests as one user, and a 429 would hide what they answer.
    const outOfReach = '100000000';
    t = await startTestApp(cluster, {
      RATE_LIMIT_SENDS_PER_MIN: outOfReach,
      RATE_LIMIT_SENDS_BURST: outOfReach,
      RATE_LIMIT_DIALOGS_PER_MIN: outOfReach,
      RATE_LIMIT_DIALOGS_BURST: outOfReach,
    });
    await t.app.listen(0, '127.0.0.1');
    client = new FuzzClient((t.app.getHttpServer().address() as AddressInfo).port, CONNECTIONS);
    ops = operations((await t.http.get('/docs-json').expect(200)).body);
    fixture.token = t.token('alice');
    fixture.adminToken = t.token('root', { admin: true });
    fixture.dialog = (await t.http.post('/dialogs').set(t.auth('alice')).send({ participantIds: ['bob'] }).expect(201)).body.id;
    fixture.message = (await t.http.post(`/dialogs/${fixture.dialog}/messages`).set(t.auth('alice')).send({ text: 'hi' }).expect(201)).body.id;
  });

  afterAll(async () => {
    client?.close();
    await t?.close();
    await cluster?.destroy();
  });

  /** A request for `op` with valid values everywhere except what `replace` replaces. */
  function request(
    op: Operation,
    label: string,
    replace: { path?: [string, string]; query?: [string, string]; body?: Record<string, unknown>; raw?: [string, string]; token?: string } = {},
    check?: FuzzRequest['check'],
  ): FuzzRequest {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      if (replace.path?.[0] === name) return replace.path[1];
      if (name === 'user_id') return 'bob';
      if (name === 'messageId') return fixture.message;
      return fixture.dialog;
    });
    const query = replace.query ? `?${replace.query[0]}=${replace.query[1]}` : '';
    const headers: Record<string, string> = {};
    if (replace.token) headers.authorization = `Bearer ${replace.token}`;
    else if (op.path.startsWith('/admin')) headers.authorization = `Bearer ${fixture.adminToken}`;
    else if (op.secured) headers.authorization = `Bearer ${fixture.token}`;
    let body: string | undefined;
    if (replace.raw) {
      [headers['content-type'], body] = replace.raw;
    } else if (op.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ ...validBody(op), ...replace.body });
    }
    return { method: op.method, path: path + query, headers, body, label: `${op.method} ${op.path}: ${label}`, check };
  }

  function validBody(op: Operation): Record<string, unknown> {
    return Object.fromEntries(Object.keys(op.body ?? {}).flatMap((field) => (field in VALID_BODY ? [[field, VALID_BODY[field]]] : [])));
  }

  /** What an accepted request must have stored: exactly the string it was given. */
  function storedAsSent(field: string, value: unknown): FuzzRequest['check'] {
    return (status, body) => {
      if (status !== 200 && status !== 201) return null;
      const got = (body as Record<string, unknown>)?.[field];
      const ok = Array.isArray(got) && !Array.isArray(value) ? got.includes(value) : JSON.stringify(got) === JSON.stringify(value);
      return ok ? null : `${field} came back as ${JSON.stringify(got)}, not ${JSON.stringify(value)}`;
    };
  }

  /** Every request of one round: each string in each slot of each operation. */
  function round(strings: string[]): FuzzRequest[] {
    const out: FuzzRequest[] = [];
    for (const op of ops) {
      strings.forEach((s, i) => {
        if (s.length <= MAX_URL_VALUE) {
          // Alternate strict and loose encodings: loose ones may reshape the URL itself.
          const encode = i % 2 ? looseEncode : percentEncode;
          for (const name of op.pathParams) out.push(request(op, `path ${name}`, { path: [name, encode(s)] }));
          for (const name of op.queryParams) out.push(request(op, `query ${name}`, { query: [name, encode(s)] }));
        }
        for (const [field, type] of Object.entries(op.body ?? {})) {
          // The native API answers with what it stored (OTUS answers with an empty body).
          const echo = ['text', 'title'].includes(field) && !op.path.startsWith('/dialog/');
          out.push(request(op, `body ${field}`, { body: { [field]: s } }, echo ? storedAsSent(field, s) : undefined));
          if (type === 'array') out.push(request(op, `body ${field}[0]`, { body: { [field]: [s] } }, storedAsSent(field, s)));
          // Forms carry strings only; a quarter of the strings go in a form body too.
          else if (i % 4 === 1) out.push(request(op, `form ${field}`, { raw: ['application/x-www-form-urlencoded', formEncode({ ...validBody(op), [field]: s })] }));
        }
      });
    }
    // Token subjects: a token may name any user, but never one that is stored as another.
    const dialogs = ops.find((op) => op.method === 'POST' && op.path === '/dialogs')!;
    const jwt = new JwtService({ secret: 'test-secret', signOptions: { expiresIn: 3600 } });
    for (const s of strings) out.push(request(dialogs, 'token sub', { token: jwt.sign({ sub: s }) }, storedAsSent('createdBy', s)));
    return out;
  }

  /** The cases that once answered 500, and shapes of body no DTO expects. */
  function specificCases(): FuzzRequest[] {
    const out: FuzzRequest[] = [];
    const nested = (depth: number) => `{"zz":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    for (const op of ops.filter((o) => o.method !== 'GET')) {
      for (const depth of [33, 300, 3000, 30_000]) out.push(request(op, `${depth} levels`, { raw: ['application/json', nested(depth)] }));
      for (const [field, type] of Object.entries(op.body ?? {})) {
        for (const value of nonStrings()) out.push(request(op, `body ${field} = ${JSON.stringify(value).slice(0, 20)}`, { body: { [field]: value } }));
        if (type === 'string') {
          for (const s of ['a\u0000b', '\u0000']) {
            out.push(request(op, `form ${field} with NUL`, { raw: ['application/x-www-form-urlencoded', formEncode({ ...validBody(op), [field]: s })] }));
          }
        }
      }
      const valid = JSON.stringify(validBody(op));
      for (const [type, body] of [
        ['text/plain', valid],
        ['text/plain', 'hello'],
        ['application/xml', '<text>x</text>'],
        ['application/octet-stream', '\u0000\u0001'],
        ['application/json; charset=utf-16', valid],
        ['application/json', ''],
        ['application/json', 'null'],
        ['application/json', '"text"'],
        ['application/json', '[]'],
        ['application/json', '{"__proto__":{"admin":true}}'],
        ['application/json', '{"constructor":{"prototype":{}}}'],
        ['application/x-www-form-urlencoded', valid],
        ['application/x-www-form-urlencoded', '%%%&&==&a=%ED%A0%80'],
        ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--x--\r\n'],
      ]) {
        out.push(request(op, `a ${type} body`, { raw: [type, body] }));
      }
    }
    return out;
  }

  /** Mutations of the corpus for the rounds after the first: same slots, new strings. */
  function mutated(strings: string[], random: () => number): string[] {
    const pick = () => strings[Math.floor(random() * strings.length)];
    const specials = ['\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u202e', '\u200b', '%', '\\', '"', "'", '/', '?', '#', '&', '=', '\n'];
    return strings.map(() => {
      const s = pick();
      const at = Math.floor(random() * (s.length + 1));
      switch (Math.floor(random() * 5)) {
        case 0:
          return `hello ${s}`;
        case 1:
          return s + pick();
        case 2:
          return s.slice(0, at) + specials[Math.floor(random() * specials.length)] + s.slice(at);
        case 3:
          return s.repeat(1 + Math.floor(random() * 20)).slice(0, 1 + Math.floor(random() * 300));
        default:
          return s.slice(0, at);
      }
    });
  }

  function problem(req: FuzzRequest, res: FuzzResponse | Error): string | null {
    if (res instanceof Error) return `no answer: ${res.message}`;
    if (res.status >= 500) return `${res.status}: ${res.text.slice(0, 200)}`;
    const json = res.contentType.startsWith('application/json');
    let body: unknown;
    if (json) {
      try {
        body = JSON.parse(res.text);
      } catch {
        return `invalid JSON: ${res.text.slice(0, 200)}`;
      }
    }
    if (res.status >= 400) {
      // The state page answers a browser with a page saying how to get a token (README).
      if (req.method === 'GET' && /^\/state(\?|$)/.test(req.path) && res.status === 401 && res.contentType.startsWith('text/html')) return null;
      if (!json) return `${res.status} error as ${res.contentType || 'no content type'}: ${res.text.slice(0, 200)}`;
      const e = body as Record<string, unknown>;
      if (e?.statusCode !== res.status || typeof e.error !== 'string' || typeof e.message !== 'string') {
        return `${res.status} error body is not { statusCode, error, message }: ${res.text.slice(0, 200)}`;
      }
      // Bad input says which kind it is in a code (INVALID_INPUT, UNSUPPORTED_MEDIA_TYPE, ...), not only in words.
      if ((res.status === 400 || res.status === 415) && typeof e.code !== 'string') return `${res.status} error without a code: ${res.text.slice(0, 200)}`;
    }
    return req.check?.(res.status, body) ?? null;
  }

  it(
    `answers ${ROUNDS} round(s) of the naughty-strings corpus in every input with no 5xx, JSON errors only`,
    async () => {
      const strings = corpus();
      const random = seeded(SEED);
      const started = Date.now();
      const failures: string[] = [];
      let sent = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const requests = r === 0 ? [...specificCases(), ...round(strings)] : round(mutated(strings, random));
        const roundStarted = Date.now();
        const responses = await client.all(requests, CONNECTIONS);
        sent += requests.length;
        if (ROUNDS > 1) process.stderr.write(`fuzz: round ${r + 1}: ${requests.length} requests in ${((Date.now() - roundStarted) / 1000).toFixed(1)} s\n`);
        requests.forEach((req, i) => {
          const why = problem(req, responses[i]);
          if (why) failures.push(`${req.label} [${req.path.slice(0, 120)}] ${why}`);
        });
      }
      process.stderr.write(`fuzz: ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, ${ROUNDS} round(s), seed ${SEED}\n`);
      expect(sent).toBeGreaterThanOrEqual(10_000);
      expect(failures.slice(0, 30)).toEqual([]);
      expect(failures).toHaveLength(0);
      // Still healthy, and still serving.
      await t.http.get('/health').expect(200);
      await t.http.post(`/dialogs/${fixture.dialog}/messages`).set(t.auth('bob')).send({ text: 'still here' }).expect(201);
    },
    60_000 + ROUNDS * 120_000,
  );
});
