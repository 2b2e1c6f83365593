import { Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { JWK, SignJWT } from 'jose';
import { eventually } from '../../test/support/eventually';
import { SigningKey, signingKey } from '../../test/support/signing-key';
import { DomainException } from '../common/domain.exception';
import { IdentityProviderConfig, loadConfig } from '../config/app-config';
import { IdentityProviderKeys } from './identity-provider';
import { TokenService } from './token.service';

const DAY = 86_400;
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'chat-api';

function mint(
  key: SigningKey,
  claims: Record<string, unknown> = {},
  { iss = ISSUER, aud = AUDIENCE, exp = '10m', kid }: { iss?: string | null; aud?: string | null; exp?: string | number | null; kid?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: key.alg, kid }).setIssuedAt();
  if (iss) jwt.setIssuer(iss);
  if (aud) jwt.setAudience(aud);
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(key.privateKey);
}

/** A token whose header says HS256 and whose "secret" is something the attacker knows. */
function hs256With(secret: Uint8Array, claims: Record<string, unknown> = { sub: 'alice' }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').setIssuer(ISSUER).setAudience(AUDIENCE).sign(secret);
}

function unsigned(claims: Record<string, unknown>, alg = 'none'): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg })}.${part(claims)}.`;
}

describe('TokenService with an identity provider public key (JWT_PUBLIC_KEY)', () => {
  const jwt = new JwtService({ secret: 'our-secret', signOptions: { algorithm: 'HS256' } });
  let rsa: SigningKey;
  let ec: SigningKey;
  const service = (pem: string, env: Record<string, string> = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }) =>
    new TokenService(jwt, loadConfig({ JWT_PUBLIC_KEY: pem, ...env }));
  const refusal = async (sut: TokenService, token: string) => {
    const checked = await sut.check(token);
    return 'refused' in checked ? checked.refused : null;
  };

  beforeAll(async () => {
    rsa = await signingKey('RS256', 'k1');
    ec = await signingKey('ES256', 'k1');
  });

  it.each(['RS256', 'ES256'] as const)('accepts %s tokens signed by the key, as an ordinary user whatever their role', async (alg) => {
    const key = alg === 'RS256' ? rsa : ec;
    const sut = service(key.pem);
    expect(await sut.verify(await mint(key))).toEqual({ id: 'alice', admin: false, viewer: false });
    expect(await sut.verify(await mint(key, { role: 'admin' }))).toEqual({ id: 'alice', admin: false, viewer: false });
  });

  it('still accepts our own HS256 tokens, roles included', async () => {
    const sut = service(rsa.pem);
    expect(await sut.verify(sut.sign('ops', { admin: true }))).toEqual({ id: 'ops', admin: true, viewer: false });
  });

  it('reads a PEM whose line breaks are written as \\n', async () => {
    const sut = service(rsa.pem.replace(/\n/g, '\\n'));
    expect(await sut.verify(await mint(rsa))).not.toBeNull();
  });

  it('checks issuer and audience when they are set', async () => {
    const sut = service(rsa.pem);
    expect(await refusal(sut, await mint(rsa, {}, { iss: 'https://evil.example.test/' }))).toMatch(/iss .*JWT_ISSUER/);
    expect(await refusal(sut, await mint(rsa, {}, { iss: null }))).toMatch(/iss .*JWT_ISSUER/);
    expect(await refusal(sut, await mint(rsa, {}, { aud: 'another-app' }))).toMatch(/aud .*JWT_AUDIENCE/);
    expect(await refusal(sut, await mint(rsa, {}, { aud: null }))).toMatch(/aud .*JWT_AUDIENCE/);
    // Unset, they are not checked.
    expect(await service(rsa.pem, {}).verify(await mint(rsa, {}, { iss: 'anyone', aud: 'anything' }))).not.toBeNull();
  });

  it('holds provider tokens to the same lifetime rules as ours', async () => {
    const sut = service(rsa.pem);
    expect(await refusal(sut, await mint(rsa, {}, { exp: Math.floor(Date.now() / 1000) - 10 }))).toBe('token expired');
    expect(await refusal(sut, await mint(rsa, {}, { exp: null }))).toMatch(/no exp/);
    expect(await refusal(sut, await mint(rsa, {}, { exp: '2d' }))).toMatch(/JWT_MAX_TTL/);
    expect(await refusal(sut, await mint(rsa, { sub: 'x'.repeat(65) }))).toMatch(/sub/);
  });

  it('refuses a token signed by another key of the same type', async () => {
    const other = await signingKey('RS256', 'k1');
    expect(await refusal(service(rsa.pem), await mint(other))).toBe('invalid token');
  });

  it('verifies only the algorithm of the key type: no HS256 with the public key as secret, no alg none, no other curve', async () => {
    const sut = service(rsa.pem);
    const pem = rsa.pem.trimEnd();
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    for (const secret of [pem, `${pem}\n`]) expect(await refusal(sut, await hs256With(new TextEncoder().encode(secret)))).toBe('invalid token');
    expect(await refusal(sut, await hs256With(new Uint8Array(der)))).toBe('invalid token');
    expect(await refusal(sut, unsigned({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 }))).toBe('invalid token');
    // An ES256 token against an RSA key: the key decides the algorithm, not the header.
    expect(await refusal(sut, await mint(ec))).toBe('invalid token');
    expect(await refusal(service(ec.pem), await mint(rsa))).toBe('invalid token');
    // Our secret still verifies only our HS256 tokens.
    expect(await refusal(sut, await hs256With(new TextEncoder().encode('our-secret')))).toBeNull();
  });
});

describe('IdentityProviderKeys from a JWKS (JWT_JWKS_URL)', () => {
  let rsa: SigningKey;
  let jwks: { keys: JWK[] };
  let server: Server;
  let url: string;
  let mode: 'serve' | 'fail' | 'hang' = 'serve';
  let fetches = 0;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    rsa = await signingKey('RS256', 'k1');
    jwks = { keys: [rsa.jwk] };
    server = createServer((req, res) => {
      fetches++;
      if (mode === 'hang') return held.push(() => res.destroy());
      if (mode === 'fail') return res.writeHead(502).end('bad gateway');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    held.forEach((release) => release());
    await new Promise((resolve) => server.close(resolve));
  });

  let warned: jest.SpyInstance;

  beforeEach(() => {
    mode = 'serve';
    fetches = 0;
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  const config = (over: Partial<IdentityProviderConfig> = {}): IdentityProviderConfig => ({
    jwksUrl: url,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksTimeoutMs: 300,
    jwksCooldownMs: 60_000,
    ...over,
  });

  it('verifies with the fetched keys, fetching once', async () => {
    const sut = new IdentityProviderKeys(config());
    await expect(sut.verify(await mint(rsa, {}, { kid: 'k1' }))).resolves.toMatchObject({ sub: 'alice' });
    await expect(sut.verify(await mint(rsa, { sub: 'bob' }, { kid: 'k1' }))).resolves.toMatchObject({ sub: 'bob' });
    expect(fetches).toBe(1);
  });

  it('answers 503 (not 401, not a hang) when the keys were never fetched, and waits for only one timeout', async () => {
    mode = 'hang';
    const sut = new IdentityProviderKeys(config());
    const token = await mint(rsa, {}, { kid: 'k1' });
    const started = Date.now();
    const first = await sut.verify(token).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(DomainException);
    expect(first).toMatchObject({ code: 'IDP_KEYS_UNAVAILABLE' });
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/cannot fetch the JWKS .*timed out/));
    expect(Date.now() - started).toBeLessThan(3000);
    // Within the cooldown the next request does not wait for the provider again.
    const before = fetches;
    await expect(sut.verify(token)).rejects.toMatchObject({ code: 'IDP_KEYS_UNAVAILABLE' });
    expect(fetches).toBe(before);
  });

  it('keeps verifying with the keys it had while the provider fails, and notices its return', async () => {
    const sut = new IdentityProviderKeys(config({ jwksCooldownMs: 0 }), 1);
    const token = await mint(rsa, {}, { kid: 'k1' });
    await expect(sut.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    mode = 'fail';
    // The cached set is past its 1 ms max age, so jose fetches, fails, and the old keys answer.
    await expect(sut.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    await expect(sut.verify(await mint(rsa, {}, { kid: 'k1', iss: 'https://evil.example.test/' }))).rejects.toThrow(/JWT_ISSUER/);
    // A key published meanwhile is out of reach until the provider answers again...
    const rotated = await signingKey('ES256', 'k2');
    jwks.keys.push(rotated.jwk);
    const fresh = await mint(rotated, {}, { kid: 'k2' });
    await expect(sut.verify(fresh)).rejects.toThrow(/kid/);
    // ... and in reach once it does, found by a retry in the background.
    mode = 'serve';
    await eventually(() => expect(sut.verify(fresh)).resolves.toMatchObject({ sub: 'alice' }), { timeoutMs: 5000 });
    jwks.keys.pop();
  });

  it('refuses a token whose kid is not in the set (401, not 503), and takes it for no outage', async () => {
    const sut = new IdentityProviderKeys(config());
    await expect(sut.verify(await mint(rsa, {}, { kid: 'nope' }))).rejects.toThrow(/no key of the identity provider matches its kid/);
    await expect(sut.verify(await mint(rsa, {}, { kid: 'nope' }))).rejects.toThrow(/no key of the identity provider matches its kid/);
    expect(warned).not.toHaveBeenCalled();
  });
});
