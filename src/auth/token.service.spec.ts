import { JwtService } from '@nestjs/jwt';
import { STREAM_AUDIENCE, STREAM_TOKEN_TTL_S, TokenCheck, TokenService } from './token.service';

const DAY = 86_400;

describe('TokenService roles', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256' } });
  const sut = new TokenService(jwt, { jwtMaxTtlSeconds: DAY });

  it.each([
    ['a user', {}, { admin: false, viewer: false }, undefined],
    ['an admin', { admin: true }, { admin: true, viewer: false }, 'admin'],
    ['a viewer', { viewer: true }, { admin: false, viewer: true }, 'viewer'],
  ])('signs and reads %s', async (_who, options, roles, claim) => {
    const token = sut.sign('ops', options);
    expect(jwt.decode(token).role).toBe(claim);
    expect(await sut.verify(token)).toEqual({ id: 'ops', ...roles });
  });

  it('refuses a token that is both admin and viewer', () => {
    expect(() => sut.sign('ops', { admin: true, viewer: true })).toThrow(/either admin or viewer/);
  });

  it('reads an unknown role as an ordinary user', async () => {
    expect(await sut.verify(jwt.sign({ sub: 'ops', role: 'root' }, { expiresIn: 60 }))).toEqual({ id: 'ops', admin: false, viewer: false });
  });

  it('stops accepting a remembered token once it expires', async () => {
    const token = sut.sign('ops', { ttlSeconds: 60 });
    expect(await sut.verify(token)).toEqual({ id: 'ops', admin: false, viewer: false });
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect(await sut.verify(token)).toBeNull();
    } finally {
      clock.mockRestore();
    }
  });

  it('never takes a token with another signature for a remembered one', async () => {
    const token = sut.sign('ops');
    expect(await sut.verify(token)).not.toBeNull();
    expect(await sut.verify(`${token.slice(0, -2)}xx`)).toBeNull();
  });
});

describe('TokenService user ids', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256', expiresIn: 60 } });
  const sut = new TokenService(jwt, { jwtMaxTtlSeconds: DAY });

  // The driver would store either as U+FFFD: two subjects, one participant.
  it.each([['a lone high surrogate', 'eve\ud800'], ['a lone low surrogate', 'eve\udc00'], ['NUL', 'eve\u0000']])(
    'refuses a sub with %s',
    async (_name, sub) => {
      expect(await sut.verify(jwt.sign({ sub }))).toBeNull();
      expect(() => sut.sign(sub)).toThrow(/well-formed/);
    },
  );

  it('accepts a sub with a surrogate pair', async () => {
    expect(await sut.verify(jwt.sign({ sub: 'eve\ud83d\ude00' }))).toEqual({ id: 'eve\ud83d\ude00', admin: false, viewer: false });
  });
});

describe('TokenService lifetimes', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256' } });
  const sut = new TokenService(jwt, { jwtMaxTtlSeconds: DAY });
  const now = () => Math.floor(Date.now() / 1000);
  const refusal = async (token: string) => {
    const checked = await sut.check(token);
    return 'refused' in checked ? checked.refused : null;
  };

  it('refuses a token with no exp, saying so', async () => {
    expect(await refusal(jwt.sign({ sub: 'ops' }))).toMatch(/no exp/);
    expect(await sut.verify(jwt.sign({ sub: 'ops' }))).toBeNull();
  });

  it('refuses a token that lives longer than the cap, counted from iat', async () => {
    expect(await refusal(jwt.sign({ sub: 'ops' }, { expiresIn: 10 * 365 * DAY }))).toMatch(/lives 3650d, longer than the 1d .*JWT_MAX_TTL/);
    expect(await refusal(jwt.sign({ sub: 'ops' }, { expiresIn: DAY + 1 }))).toMatch(/JWT_MAX_TTL/);
    // An old token that has little time left still lived too long.
    expect(await refusal(jwt.sign({ sub: 'ops', iat: now() - 2 * DAY, exp: now() + 60 }))).toMatch(/JWT_MAX_TTL/);
  });

  it('counts from now when there is no iat', async () => {
    expect(await refusal(jwt.sign({ sub: 'ops', exp: now() + 5 * 365 * DAY }))).toMatch(/JWT_MAX_TTL/);
    expect(await refusal(jwt.sign({ sub: 'ops', exp: now() + DAY + 120 }))).toMatch(/JWT_MAX_TTL/);
    expect(await sut.verify(jwt.sign({ sub: 'ops', exp: now() + DAY - 10 }))).toEqual({ id: 'ops', admin: false, viewer: false });
  });

  it('does not let a token dated in the future outlive the cap', async () => {
    const iat = now() + 365 * DAY;
    expect(await refusal(jwt.sign({ sub: 'ops', iat, exp: iat + 3600 }))).toMatch(/JWT_MAX_TTL/);
    // A signer's clock a few seconds fast is no forgery.
    expect(await sut.verify(jwt.sign({ sub: 'ops', iat: now() + 5, exp: now() + 5 + DAY }))).not.toBeNull();
  });

  it('accepts a token that lives exactly the cap', async () => {
    expect(await sut.verify(jwt.sign({ sub: 'ops' }, { expiresIn: DAY }))).toEqual({ id: 'ops', admin: false, viewer: false });
  });

  it('signs for the cap by default, and refuses to sign for longer', async () => {
    const claims = jwt.decode(sut.sign('ops'));
    expect(claims.exp - claims.iat).toBe(DAY);
    expect(await sut.verify(sut.sign('ops', { ttlSeconds: 3600 }))).not.toBeNull();
    expect(() => sut.sign('ops', { ttlSeconds: 7 * DAY })).toThrow(/at most 1d \(JWT_MAX_TTL\), not 7d/);
    expect(() => sut.sign('ops', { ttlSeconds: 0 })).toThrow(/above 0/);
  });

  it('says why a token is refused: expired, or not ours', async () => {
    expect(await refusal(jwt.sign({ sub: 'ops' }, { expiresIn: -10 }))).toBe('token expired');
    expect(await refusal(new JwtService({ secret: 'other' }).sign({ sub: 'ops' }, { expiresIn: 60 }))).toBe('invalid token');
  });
});

describe('TokenService stream tokens', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256' } });
  const sut = new TokenService(jwt, { jwtMaxTtlSeconds: DAY });
  const refusal = async (check: Promise<TokenCheck> | TokenCheck) => {
    const checked = await check;
    return 'refused' in checked ? checked.refused : null;
  };

  it('signs a token for GET /events that lives a minute', () => {
    const claims = jwt.decode(sut.signStream('alice'));
    expect(claims).toMatchObject({ sub: 'alice', aud: STREAM_AUDIENCE });
    expect(claims.exp - claims.iat).toBe(STREAM_TOKEN_TTL_S);
    expect(sut.checkStream(sut.signStream('alice'))).toEqual({ user: { id: 'alice', admin: false, viewer: false } });
  });

  it('refuses a stream token as a bearer token, and a bearer token as a stream token', async () => {
    expect(await refusal(sut.check(sut.signStream('alice')))).toMatch(/stream token opens only GET \/events/);
    expect(await refusal(sut.check(jwt.sign({ sub: 'alice', aud: ['x', STREAM_AUDIENCE] }, { expiresIn: 60 })))).toMatch(/stream token/);
    expect(await refusal(sut.checkStream(sut.sign('alice')))).toMatch(/invalid stream token/);
    expect(await refusal(sut.checkStream(sut.sign('ops', { admin: true })))).toMatch(/invalid stream token/);
  });

  it('refuses an expired or forged stream token', async () => {
    expect(await refusal(sut.checkStream(jwt.sign({ sub: 'alice', aud: STREAM_AUDIENCE }, { expiresIn: -1 })))).toMatch(/expired/);
    const forged = new JwtService({ secret: 'other' }).sign({ sub: 'alice', aud: STREAM_AUDIENCE }, { expiresIn: 60 });
    expect(await refusal(sut.checkStream(forged))).toMatch(/invalid stream token/);
  });
});
