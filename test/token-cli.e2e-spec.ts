import { JwtService } from '@nestjs/jwt';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TokenService } from '../src/auth/token.service';

const CLI = path.resolve(__dirname, '../dist/src/cli.js');

/**
 * The README's `token` command, built (`npm test` builds first): its tokens must be ones the
 * service accepts, so its default lifetime and its --ttl live within JWT_MAX_TTL.
 */
describe('the token command', () => {
  const secret = 'cli-test-secret';
  const jwt = new JwtService({ secret });
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ PATH: process.env.PATH, JWT_SECRET: secret, ...extra });
  const cli = async (args: string[], extra?: NodeJS.ProcessEnv) =>
    (await promisify(execFile)(process.execPath, [CLI, 'token', ...args], { env: env(extra) })).stdout.trim();
  const lifetime = (token: string) => {
    const claims = jwt.decode<{ iat: number; exp: number }>(token);
    return claims.exp - claims.iat;
  };
  const service = (maxTtl: number) => new TokenService(jwt, { jwtMaxTtlSeconds: maxTtl });

  it('issues a token for JWT_MAX_TTL by default, which the service accepts', async () => {
    const token = await cli(['alice']);
    expect(lifetime(token)).toBe(86_400);
    expect(await service(86_400).verify(token)).toEqual({ id: 'alice', admin: false, viewer: false });

    const short = await cli(['ops', '--admin'], { JWT_MAX_TTL: '1h' });
    expect(lifetime(short)).toBe(3600);
    expect(await service(3600).verify(short)).toEqual({ id: 'ops', admin: true, viewer: false });
  });

  it('takes a shorter --ttl', async () => {
    const token = await cli(['ops', '--viewer', '--ttl', '12h']);
    expect(lifetime(token)).toBe(12 * 3600);
    expect(await service(86_400).verify(token)).toEqual({ id: 'ops', admin: false, viewer: true });
    expect(lifetime(await cli(['ops', '--ttl', '7d'], { JWT_MAX_TTL: '7d' }))).toBe(7 * 86_400);
  });

  it('refuses a --ttl the service would refuse, or one it cannot read, and prints nothing to stdout', async () => {
    for (const [ttl, message] of [
      ['7d', /at most 1d \(JWT_MAX_TTL\), not 7d/],
      ['forever', /--ttl must be a duration/],
    ] as const) {
      const failed = await promisify(execFile)(process.execPath, [CLI, 'token', 'alice', '--ttl', ttl], { env: env() }).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(failed).toMatchObject({ code: 1, stdout: '' });
      expect(failed!.stderr).toMatch(message);
    }
  });
});
