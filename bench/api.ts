import { createHmac } from 'node:crypto';

/** A HS256 JWT like the service's own tokens: `sub` is the user, `role: admin` opens /admin. */
export function signJwt(secret: string, sub: string, admin = false): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, ...(admin ? { role: 'admin' } : {}), iat: now, exp: now + 86_400 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Small JSON calls for set-up, admin and checks (not load): fetch, with the status checked. */
export class Api {
  private readonly adminToken: string;

  constructor(
    readonly baseUrl: string,
    private readonly secret: string,
  ) {
    this.adminToken = signJwt(secret, 'bench-ops', true);
  }

  token(user: string): string {
    return signJwt(this.secret, user);
  }

  async call<T>(method: string, path: string, token: string, body?: unknown, expect: number[] = [200, 201, 202]): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.call<T>(method, path, this.adminToken, body);
  }
}

export interface JobView {
  id: string;
  phase: string;
  copied: number;
  total: number | null;
  rate: number | null;
  error: string | null;
  verification: { passed: boolean; checked: number; differences: number } | null;
  phaseTimes: Record<string, { startedAt: string; endedAt?: string }>;
  moved: Array<{ start: number; end: number; source: string; target: string }>;
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
export async function inParallel<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
