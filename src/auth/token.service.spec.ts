import { JwtService } from '@nestjs/jwt';
import { TokenService } from './token.service';

describe('TokenService roles', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256' } });
  const sut = new TokenService(jwt);

  it.each([
    ['a user', {}, { admin: false, viewer: false }, undefined],
    ['an admin', { admin: true }, { admin: true, viewer: false }, 'admin'],
    ['a viewer', { viewer: true }, { admin: false, viewer: true }, 'viewer'],
  ])('signs and reads %s', (_who, options, roles, claim) => {
    const token = sut.sign('ops', options);
    expect(jwt.decode(token).role).toBe(claim);
    expect(sut.verify(token)).toEqual({ id: 'ops', ...roles });
  });

  it('refuses a token that is both admin and viewer', () => {
    expect(() => sut.sign('ops', { admin: true, viewer: true })).toThrow(/either admin or viewer/);
  });

  it('reads an unknown role as an ordinary user', () => {
    expect(sut.verify(jwt.sign({ sub: 'ops', role: 'root' }))).toEqual({ id: 'ops', admin: false, viewer: false });
  });

  it('stops accepting a remembered token once it expires', () => {
    const token = sut.sign('ops', { expiresIn: '60s' });
    expect(sut.verify(token)).toEqual({ id: 'ops', admin: false, viewer: false });
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect(sut.verify(token)).toBeNull();
    } finally {
      clock.mockRestore();
    }
  });

  it('never takes a token with another signature for a remembered one', () => {
    const token = sut.sign('ops');
    expect(sut.verify(token)).not.toBeNull();
    expect(sut.verify(`${token.slice(0, -2)}xx`)).toBeNull();
  });
});

describe('TokenService user ids', () => {
  const jwt = new JwtService({ secret: 's', signOptions: { algorithm: 'HS256' } });
  const sut = new TokenService(jwt);

  // The driver would store either as U+FFFD: two subjects, one participant.
  it.each([['a lone high surrogate', 'eve\ud800'], ['a lone low surrogate', 'eve\udc00'], ['NUL', 'eve\u0000']])(
    'refuses a sub with %s',
    (_name, sub) => {
      expect(sut.verify(jwt.sign({ sub }))).toBeNull();
      expect(() => sut.sign(sub)).toThrow(/well-formed/);
    },
  );

  it('accepts a sub with a surrogate pair', () => {
    expect(sut.verify(jwt.sign({ sub: 'eve\ud83d\ude00' }))).toEqual({ id: 'eve\ud83d\ude00', admin: false, viewer: false });
  });
});
