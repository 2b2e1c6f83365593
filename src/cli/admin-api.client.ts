import { Inject, Injectable } from '@nestjs/common';
import { TokenService } from '../auth/token.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { ReshardAcceptedDto, ReshardJobDto, ShardRegisteredDto } from '../reshard/reshard.dto';

/** The API answered with an error; `message` is its own `message`, meant for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** A 5xx may pass (a restarting instance, dialogdb failing over); a 4xx will not. */
  get transient(): boolean {
    return this.status >= 500;
  }
}

/** No HTTP answer at all: nothing listens there, the host is unknown, or it timed out. */
export class ApiUnreachableError extends Error {
  readonly transient = true;
}

/** Registering a shard migrates its database, which can take a while on a big server. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * `--api`, else API_URL, else the service on this machine at the port the service itself
 * would listen on: the validated configuration's (PORT, 3000 unless set).
 */
export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv, config: Pick<AppConfig, 'port'>): string {
  if (!flag && !env.API_URL && config.port === 0) {
    throw new Error('PORT=0 makes the service pick a free port, which the CLI cannot know: give it --api or API_URL');
  }
  const raw = flag || env.API_URL || `http://127.0.0.1:${config.port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`the API URL "${raw}" is not a URL (from ${flag ? '--api' : 'API_URL'})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the API URL "${raw}" must be http:// or https://`);
  // Keeps a path prefix, for an API behind a proxy under some path.
  return raw.replace(/\/+$/, '');
}

function describeFailure(err: unknown): string {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error.cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused; is the service running there (npm start)?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return cause?.message || error.message;
  }
}

type Fetch = typeof fetch;

/** The admin API at one base URL, with a fresh admin token on every request. */
export class AdminApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: () => string,
    private readonly fetchFn: Fetch = fetch,
  ) {}

  registerShard(name: string, url: string): Promise<ShardRegisteredDto> {
    return this.request('POST', '/admin/shards', { name, url });
  }

  startReshard(body: { split: string; to?: string } | { move: string; to: string }): Promise<ReshardAcceptedDto> {
    return this.request('POST', '/admin/reshard', body);
  }

  getReshard(id: string, signal?: AbortSignal): Promise<ReshardJobDto> {
    return this.request('GET', `/admin/reshard/${encodeURIComponent(id)}`, undefined, signal);
  }

  listReshards(): Promise<ReshardJobDto[]> {
    return this.request('GET', '/admin/reshard');
  }

  cancelReshard(id: string): Promise<ReshardJobDto> {
    return this.request('POST', `/admin/reshard/${encodeURIComponent(id)}/cancel`);
  }

  private async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token()}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      // The caller gave up (Ctrl-C): that is not the API's fault, so say nothing about it.
      if (signal?.aborted) throw err;
      throw new ApiUnreachableError(`cannot reach the API at ${this.baseUrl}: ${describeFailure(err)} (--api or API_URL point elsewhere)`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = (json as { message?: unknown } | undefined)?.message;
      let reason = typeof message === 'string' ? message : `HTTP ${res.status} ${res.statusText} from ${this.baseUrl}${path}`;
      if (res.status === 401) {
        reason += '; the CLI signs its token with JWT_SECRET (or DATA_DIR/secrets.json when that is unset): give it the same secret as the service';
      }
      throw new ApiError(res.status, reason);
    }
    if (json === undefined) throw new ApiError(res.status, `the API at ${this.baseUrl} answered ${path} with no JSON`);
    return json as T;
  }
}

/** Hands out an AdminApi for the URL a command was given; the token comes from TokenService. */
@Injectable()
export class AdminApiClient {
  constructor(
    private readonly tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'port'>,
  ) {}

  at(apiFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): AdminApi {
    // Short-lived: a token minted per request needs to outlive only that request.
    return new AdminApi(resolveApiUrl(apiFlag, env, this.config), () => this.tokens.sign('cli', { admin: true, ttlSeconds: 300 }));
  }
}
