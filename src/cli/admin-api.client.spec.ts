import type { TokenService } from '../auth/token.service';
import { loadConfig } from '../config/app-config';
import { AdminApi, AdminApiClient, ApiError, ApiUnreachableError, resolveApiUrl } from './admin-api.client';

describe('resolveApiUrl', () => {
  // As the CLI does: the port comes from the one validated configuration of the same environment.
  const sut = (flag: string | undefined, env: NodeJS.ProcessEnv) => resolveApiUrl(flag, env, loadConfig(env));

  it('takes --api, else API_URL, else the local service on the configured port (PORT, or 3000)', () => {
    expect(sut('http://api.example:8080/', { API_URL: 'http://other:1' })).toBe('http://api.example:8080');
    expect(sut(undefined, { API_URL: 'https://ops.example/chat/', PORT: '4000' })).toBe('https://ops.example/chat');
    expect(sut(undefined, { PORT: '4000' })).toBe('http://127.0.0.1:4000');
    expect(sut(undefined, {})).toBe('http://127.0.0.1:3000');
  });

  it('refuses what is not an http(s) URL, naming where it came from', () => {
    expect(() => sut('localhost:3000', {})).toThrow('must be http:// or https://');
    expect(() => sut(undefined, { API_URL: 'not a url' })).toThrow('the API URL "not a url" is not a URL (from API_URL)');
  });

  it('asks for --api or API_URL when PORT=0 leaves the port to chance', () => {
    expect(() => sut(undefined, { PORT: '0' })).toThrow('PORT=0 makes the service pick a free port, which the CLI cannot know: give it --api or API_URL');
    expect(sut('http://127.0.0.1:4000', { PORT: '0' })).toBe('http://127.0.0.1:4000');
  });
});

describe('AdminApiClient', () => {
  const tokens = { sign: () => 'the-token' } as unknown as TokenService;

  it('reaches the port of the configuration it is given', () => {
    const sut = new AdminApiClient(tokens, loadConfig({ PORT: '4000' }));
    expect(sut.at(undefined, {}).baseUrl).toBe('http://127.0.0.1:4000');
    expect(sut.at(undefined, { PORT: '5000' }).baseUrl).toBe('http://127.0.0.1:4000');
  });
});

describe('AdminApi', () => {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const answer = (status: number, body: string) =>
    (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body, { status, statusText: status === 502 ? 'Bad Gateway' : '' });
    }) as unknown as typeof fetch;
  const sut = (fetchFn: typeof fetch) => new AdminApi('http://api.test', () => 'the-token', fetchFn);

  beforeEach(() => (calls.length = 0));

  it('sends the admin token and JSON, and returns the JSON answer', async () => {
    const api = sut(answer(202, '{"id":"j1","phase":"prepare"}'));
    await expect(api.startReshard({ split: 'shard-0' })).resolves.toEqual({ id: 'j1', phase: 'prepare' });
    expect(calls[0].url).toBe('http://api.test/admin/reshard');
    expect(calls[0].init.method).toBe('POST');
    expect(calls[0].init.body).toBe('{"split":"shard-0"}');
    expect(calls[0].init.headers).toMatchObject({ authorization: 'Bearer the-token', 'content-type': 'application/json' });
  });

  it('keeps an id from changing the path', async () => {
    await sut(answer(200, '{}')).getReshard('../shards');
    expect(calls[0].url).toBe('http://api.test/admin/reshard/..%2Fshards');
  });

  it("turns an error answer into the API's own message", async () => {
    const body = JSON.stringify({ statusCode: 409, error: 'Conflict', message: 'reshard x is done; one reshard at a time' });
    const err = await sut(answer(409, body)).cancelReshard('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, transient: false, message: 'reshard x is done; one reshard at a time' });
  });

  it('names status and URL when the answer is not JSON, and counts a 5xx as passing', async () => {
    const err = await sut(answer(502, '<html>bad gateway</html>')).listReshards().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, transient: true, message: 'HTTP 502 Bad Gateway from http://api.test/admin/reshard' });
  });

  it('says how to fix a 401: the same secret as the service', async () => {
    const body = JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'invalid token' });
    await expect(sut(answer(401, body)).listReshards()).rejects.toThrow(/^invalid token; the CLI signs its token with JWT_SECRET/);
  });

  it('names the URL when nothing answers', async () => {
    const refused = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    const err = await sut(refused).listReshards().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiUnreachableError);
    expect((err as Error).message).toBe(
      'cannot reach the API at http://api.test: connection refused; is the service running there (npm start)? (--api or API_URL point elsewhere)',
    );
  });

  it("passes the caller's own abort through untouched", async () => {
    const abort = new AbortController();
    abort.abort();
    const aborted = (async () => {
      throw new DOMException('aborted', 'AbortError');
    }) as unknown as typeof fetch;
    await expect(sut(aborted).getReshard('x', abort.signal)).rejects.toThrow('aborted');
    await expect(sut(aborted).getReshard('x', abort.signal)).rejects.not.toBeInstanceOf(ApiUnreachableError);
  });
});
