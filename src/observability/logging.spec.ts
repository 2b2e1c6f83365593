import { maskUrl } from './logging';

describe('maskUrl', () => {
  // A real-looking HS256 JWT: what must never reach a log line.
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMiLCJyb2xlIjoidmlld2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl';

  it.each([
    ['one token', `/state?token=${jwt}`, '/state?token=…'],
    ['a repeated token', `/state?token=${jwt}&token=${jwt}`, '/state?token=…&token=…'],
    ['a second token after another parameter', `/state?a=1&token=x&b=2&token=${jwt}`, '/state?a=1&token=…&b=2&token=…'],
    ['a percent-encoded name', `/state?%74oken=${jwt}`, '/state?%74oken=…'],
    ['a fully percent-encoded name', `/state?%74%6F%6b%65%6E=${jwt}`, '/state?%74%6F%6b%65%6E=…'],
    ['a doubly encoded name', `/state?%2574oken=${jwt}`, '/state?%2574oken=…'],
    ['another case', `/state?TOKEN=${jwt}`, '/state?TOKEN=…'],
    ['a plus in the name', `/state?token+=${jwt}`, '/state?token+=…'],
    ['a name that mentions a token', `/dialogs?access_token=${jwt}`, '/dialogs?access_token=…'],
    ['an empty token', '/state?token=', '/state?token=…'],
    ['a JWT under another name', `/dialogs?limit=5&before=${jwt}`, '/dialogs?limit=5&before=…'],
    ['a percent-encoded JWT under another name', `/dialogs?q=${encodeURIComponent(jwt).replace(/e/g, '%65')}`, '/dialogs?q=…'],
    ['a JWT as a bare name', `/dialogs?${jwt}`, '/dialogs?…'],
    ['a query after #, which Fastify parses too', `/state#token=${jwt}`, '/state#token=…'],
    ['a token after a #', `/state?a=1#token=${jwt}`, '/state?a=…'],
    ['a JWT in the path', `/dialog/${jwt}/list`, '/dialog/…/list'],
  ])('masks %s', (_name, url, masked) => {
    expect(maskUrl(url)).toBe(masked);
    expect(maskUrl(url)).not.toContain('c2lnbmF0dXJl');
  });

  it('takes linear time on the longest URL a client can send', () => {
    const long = 'a'.repeat(16_000);
    for (const url of [`/${long}`, `/x?q=${long}`, `/x?${long}=1`, `/x?q=${long}.${long}`]) {
      const started = process.hrtime.bigint();
      expect(maskUrl(url)).toBe(url);
      // The backtracking regex this replaced took most of a second here.
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(250);
    }
  });

  it.each([
    '/dialogs',
    '/dialogs?limit=20&before=WzEsImRpYWxvZ3MiXQ',
    '/dialogs/0190a0e4-8c3e-7000-8000-000000000000/messages?limit=5',
    '/state?tok=1&en=2',
    '/dialogs?bad=%E0%A4%A',
    '/?&&=',
  ])('leaves %s as it is', (url) => {
    expect(maskUrl(url)).toBe(url);
  });
});
