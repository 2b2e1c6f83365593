import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';
import type { Response, Test } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { TestApp } from './test-app';

type ResponseObject = { content?: Record<string, { schema?: unknown }> };

// Served beside the API and not part of it.
const UNDOCUMENTED = new Set(['/docs', '/docs-json', '/docs-yaml']);

/**
 * Checks responses against an OpenAPI document, with openapi-backend's router (method and
 * path template) and its Ajv response validator. Every response must be of a status the
 * operation documents, of a media type that status documents, and a JSON body must satisfy
 * that status's schema. A response with no documented content (204, and the OTUS spec's
 * 4xx, which have no body schema) is taken as it is.
 */
export class ApiContract {
  private constructor(
    private readonly api: OpenAPIBackend,
    readonly document: Document,
  ) {}

  static async of(document: Document): Promise<ApiContract> {
    // A copy: init() dereferences the document in place.
    const api = new OpenAPIBackend({ definition: nullableRefs(structuredClone(document)), strict: true, validate: true });
    await api.init();
    return new ApiContract(api, document);
  }

  /** Throws, naming the operation and what differs, unless the document describes `res`. */
  check(res: Response): void {
    const req = (res as unknown as { req: { method: string; path: string } }).req;
    const path = req.path.split('?')[0];
    if (UNDOCUMENTED.has(path)) return;
    const where = `${req.method} ${path} -> ${res.status}`;
    const op: Operation | undefined = this.api.router.matchOperation({ method: req.method, path, headers: {} });
    if (!op) {
      // An unknown route: Nest's 404, in the usual error shape.
      if (res.status !== 404) throw new Error(`${where}: no operation in the API document matches this request`);
      this.assertValid(this.api.validator.validateResponse(res.body, this.errorOperation(), 404), `${where} (no such route)`, res);
      return;
    }
    const documented = op.responses?.[String(res.status)] as ResponseObject | undefined;
    if (!documented) {
      throw new Error(`${where}: ${op.operationId} documents ${Object.keys(op.responses ?? {}).join(', ')}, not ${res.status}`);
    }
    if (!documented.content) return;
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    if (!(mediaType in documented.content)) {
      throw new Error(`${where}: ${op.operationId} documents ${Object.keys(documented.content).join(', ')} for ${res.status}, got "${mediaType}"`);
    }
    if (mediaType !== 'application/json') return;
    this.assertValid(this.api.validator.validateResponse(res.body, op, res.status), `${where} (${op.operationId})`, res);
  }

  private assertValid(result: { valid: boolean; errors?: unknown[] | null }, where: string, res: Response): void {
    if (result.valid) return;
    throw new Error(`${where}: the body does not satisfy the document: ${JSON.stringify(result.errors)}\nbody: ${JSON.stringify(res.body).slice(0, 2000)}`);
  }

  /** Any operation whose 404 is the shared error body, to check an unknown route's 404 with. */
  private errorOperation(): Operation {
    return this.api.router.getOperation('DialogsController_getDialog')!;
  }
}

/**
 * @nestjs/swagger writes a nullable object property as `{ allOf: [{ $ref }], nullable: true }`,
 * (with `type: object`), which openapi-typescript (the client) reads as `T | null`; Ajv applies `nullable` only to a
 * `type` beside it, so the check reads it as the client does: the schema, or null.
 */
function nullableRefs<T>(node: T): T {
  if (Array.isArray(node)) return node.map(nullableRefs) as T;
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, nullableRefs(v)])) as Record<string, unknown>;
  if (out.nullable === true && (out.type === undefined || out.type === 'object') && (out.allOf || out.oneOf || out.anyOf)) {
    const { nullable: _, description, ...schema } = out;
    return { ...(description === undefined ? {} : { description }), anyOf: [schema, { type: 'null' }] } as T;
  }
  return out as T;
}

/**
 * An agent like `t.http` whose every response is held to the app's own `/docs-json`: a
 * status the document does not list, or a body its schema does not allow, fails the request
 * (supertest runs the check when the request ends, awaited or `.expect`ed).
 */
export function checkedAgent(http: TestAgent, contract: ApiContract): TestAgent {
  const methods = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);
  return new Proxy(http, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !methods.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => Test).apply(target, args).expect((res) => contract.check(res));
    },
  });
}

/** The service's document, as its clients read it. */
export async function fetchApiDocument(http: TestAgent): Promise<Document> {
  return (await http.get('/docs-json').expect(200)).body as Document;
}

/** An agent for a running service (`request(url)`) whose responses are checked against that service's document. */
export async function checkedAgentOf(http: TestAgent): Promise<TestAgent> {
  return checkedAgent(http, await ApiContract.of(await fetchApiDocument(http)));
}

/** `t` with `http` checked against the app's own document. */
export async function withApiCheck<T extends TestApp>(t: T): Promise<T> {
  return { ...t, http: await checkedAgentOf(t.http) };
}
