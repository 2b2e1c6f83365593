import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { JWK, SignJWT } from 'jose';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { SigningKey, signingKey } from './support/signing-key';
import { startTestApp, TestApp } from './support/test-app';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'chat-api';

/** A token as the identity provider would issue it; each option changes one thing. */
async function idpToken(
  key: SigningKey,
  opts: { sub?: string; iss?: string; aud?: string; exp?: number | string; kid?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  return new SignJWT({ sub: opts.sub ?? 'alice', ...opts.claims })
    .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid })
    .setIssuedAt()
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setExpirationTime(opts.exp ?? '10m')
    .sign(key.privateKey);
}

/** What an attacker would try as the HMAC secret: the public key's PEM (with and without its final newline) and DER. */
function publicKeyAsSecrets(pem: string): Uint8Array[] {
  const text = pem.trimEnd();
  return [text, `${text}\n`].map((v) => new TextEncoder().encode(v)).concat(new Uint8Array(Buffer.from(text.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')));
}

function expectError(res: { status: number; body: Record<string, unknown> }, status: number, message: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.stringMatching(message) });
}

/** A JWKS endpoint on 127.0.0.1 that can serve, hang, or be stopped and started on the same port. */
class JwksServer {
  keys: JWK[] = [];
  mode: 'serve' | 'hang' = 'serve';
  fetches = 0;
  private server: Server | null = null;
  private readonly held = new Set<ServerResponse>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.fetches++;
      if (this.mode === 'hang') {
        this.held.add(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ shards: 1 });
});

afterAll(async () => {
  await cluster?.destroy();
});

describe('tokens from an identity provider (JWKS)', () => {
  let t: TestApp;
  const jwks = new JwksServer();
  let rsa: SigningKey;
  let ec: SigningKey;

  beforeAll(async () => {
    [rsa, ec] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1')]);
    jwks.keys = [rsa.jwk, ec.jwk];
    await jwks.start();
    t = await startTestApp(cluster, {
      JWT_JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      // Short, so that a rotated key is looked for within the test; 30 s by default.
      JWT_JWKS_COOLDOWN_MS: '200',
    });
  });

  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  });

  const get = (token: string) => t.http.get('/dialogs').set('Authorization', `Bearer ${token}`);

  it.each(['RS256', 'ES256'])('accepts %s tokens with the right issuer and audience, as a user like any other', async (alg) => {
    const key = alg === 'RS256' ? rsa : ec;
    const sub = `idp-${alg}`;
    const created = await t.http
      .post('/dialogs')
      .set('Authorization', `Bearer ${await idpToken(key, { sub })}`)
      .send({ participantIds: ['bob'] })
      .expect(201);
    // The same user id whichever way it signs in: bob, with our own HS256 token, sees the provider's user.
    const seen = await t.http.get(`/dialogs/${created.body.id}`).set(t.auth('bob')).expect(200);
    expect([...seen.body.participantIds].sort()).toEqual(['bob', sub]);
    const mine = await get(await idpToken(key, { sub })).expect(200);
    expect(mine.body.items.map((d: { id: string }) => d.id)).toContain(created.body.id);
  });

  it('keeps our own HS256 tokens working beside it', async () => {
    await t.http.get('/dialogs').set(t.auth('carol')).expect(200);
    await t.http.get('/admin/ring').set(t.auth('ops', { admin: true })).expect(200);
  });

  it('gives a provider token no admin role, whatever it claims', async () => {
    expectError(await t.http.get('/admin/ring').set('Authorization', `Bearer ${await idpToken(rsa, { claims: { role: 'admin' } })}`), 403, /admin/);
  });

  it('refuses, with a 401 JSON error, a token with the wrong issuer, audience, lifetime or key', async () => {
    const stranger = await signingKey('RS256', 'rsa-1');
    const cases: Array<[string, string, RegExp]> = [
      ['wrong iss', await idpToken(rsa, { iss: 'https://evil.example.test/' }), /iss .*JWT_ISSUER/],
      ['wrong aud', await idpToken(ec, { aud: 'another-app' }), /aud .*JWT_AUDIENCE/],
      ['expired', await idpToken(rsa, { exp: Math.floor(Date.now() / 1000) - 30 }), /expired/],
      ['longer than JWT_MAX_TTL', await idpToken(ec, { exp: '2d' }), /JWT_MAX_TTL/],
      ['unknown kid', await idpToken(rsa, { kid: 'never-published' }), /kid/],
      // A key of its own, under a kid the provider did publish.
      ['a known kid, another key', await idpToken(stranger), /^invalid token$/],
      ['an ES256 token under an RSA kid', await idpToken(ec, { kid: 'rsa-1' }), /kid|invalid token/],
    ];
    for (const [name, token, message] of cases) {
      const res = await get(token);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expectError(res, 401, message);
    }
  });

  it('refuses alg confusion: HS256 "signed" with the provider\'s public key, and alg none', async () => {
    const claims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE };
    const hs256 = (secret: Uint8Array) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).setIssuedAt().setExpirationTime('10m').sign(secret);
    const encode = (value: string) => new TextEncoder().encode(value);
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (const token of [
      ...(await Promise.all([...publicKeyAsSecrets(rsa.pem), ...publicKeyAsSecrets(ec.pem)].map(hs256))),
      await hs256(encode(JSON.stringify(rsa.jwk))),
      `${part({ alg: 'none', kid: 'rsa-1' })}.${part({ ...claims, exp })}.`,
      `${part({ alg: 'none' })}.${part({ ...claims, exp })}.${part('x')}`,
      // An RS256 header whose "signature" is an HMAC of the public key.
      (await hs256(encode(rsa.pem))).replace(/^[^.]+/, part({ alg: 'RS256', kid: 'rsa-1' })),
    ]) {
      expectError(await get(token), 401, /invalid token/);
    }
  });

  it('finds a key the provider rotates in', async () => {
    const before = jwks.fetches;
    const next = await signingKey('ES256', 'ec-2');
    const token = await idpToken(next, { sub: 'rotated' });
    jwks.keys = [...jwks.keys, next.jwk];
    // Right after a fetch, an unknown kid waits out JWT_JWKS_COOLDOWN_MS before the JWKS is fetched again.
    const res = await eventually(() => get(token).expect(200), { timeoutMs: 5000 });
    expect(res.body.items).toEqual([]);
    expect(jwks.fetches).toBeGreaterThan(before);
    // The keys published before keep working.
    await get(await idpToken(rsa)).expect(200);
  });
});

describe('tokens from an identity provider whose JWKS is down', () => {
  let t: TestApp;
  const jwks = new JwksServer();
  let rsa: SigningKey;

  beforeAll(async () => {
    rsa = await signingKey('RS256', 'rsa-1');
    jwks.keys = [rsa.jwk];
    jwks.mode = 'hang';
    await jwks.start();
    t = await startTestApp(cluster, {
      JWT_JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_JWKS_TIMEOUT_MS: '300',
      JWT_JWKS_COOLDOWN_MS: '200',
    });
  });

  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  });

  it('answers 503 with a JSON error when the JWKS hangs or refuses connections, then recovers', async () => {
    const token = await idpToken(rsa);
    const unavailable = (res: { status: number; body: Record<string, unknown> }) => {
      expectError(res, 503, /identity provider's keys .*JWT_JWKS_URL/);
      expect(res.body.code).toBe('IDP_KEYS_UNAVAILABLE');
    };

    // Hanging: the request waits for JWT_JWKS_TIMEOUT_MS, not for ever.
    const started = Date.now();
    unavailable(await t.http.get('/dialogs').set('Authorization', `Bearer ${token}`));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(jwks.fetches).toBe(1);
    // Our own tokens do not depend on the provider.
    await t.http.get('/dialogs').set(t.auth('alice')).expect(200);

    // Down: connections refused; retried in the background, answered at once meanwhile.
    await jwks.stop();
    for (let i = 0; i < 3; i++) {
      const at = Date.now();
      unavailable(await t.http.get('/dialogs').set('Authorization', `Bearer ${token}`));
      expect(Date.now() - at).toBeLessThan(1000);
    }

    // Back, on the same address: the provider's tokens work again.
    jwks.mode = 'serve';
    await jwks.start();
    await eventually(async () => t.http.get('/dialogs').set('Authorization', `Bearer ${token}`).expect(200), { timeoutMs: 5000 });
  });
});

describe('tokens from an identity provider with one public key (JWT_PUBLIC_KEY)', () => {
  let t: TestApp;
  let rsa: SigningKey;

  beforeAll(async () => {
    rsa = await signingKey('RS256', 'rsa-1');
    t = await startTestApp(cluster, { JWT_PUBLIC_KEY: rsa.pem, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });

  afterAll(async () => {
    await t?.close();
  });

  const get = (token: string) => t.http.get('/dialogs').set('Authorization', `Bearer ${token}`);

  it('accepts the key holder\'s RS256 tokens and refuses the rest', async () => {
    await get(await idpToken(rsa)).expect(200);
    await t.http.get('/dialogs').set(t.auth('carol')).expect(200);
    expectError(await get(await idpToken(rsa, { aud: 'another-app' })), 401, /JWT_AUDIENCE/);
    expectError(await get(await idpToken(await signingKey('RS256', 'rsa-1'))), 401, /^invalid token$/);
    expectError(await get(await idpToken(await signingKey('ES256', 'rsa-1'))), 401, /^invalid token$/);
  });

  it('refuses alg confusion: HS256 with the public key as the HMAC secret, and alg none', async () => {
    const claims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE };
    const exp = Math.floor(Date.now() / 1000) + 600;
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const secret of publicKeyAsSecrets(rsa.pem)) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(secret);
      expectError(await get(token), 401, /^invalid token$/);
    }
    expectError(await get(`${part({ alg: 'none' })}.${part({ ...claims, exp })}.`), 401, /^invalid token$/);
  });
});
