import SwaggerParser from '@apidevtools/swagger-parser';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildApiDocument } from '../src/openapi/api-document';

type Response = { content?: Record<string, { schema?: { $ref?: string } }> };
type Operation = { operationId: string; parameters?: unknown[]; requestBody?: unknown; security?: unknown[]; responses: Record<string, Response> };

const ROOT = path.resolve(__dirname, '..');
// The OTUS spec documents its 4xx without a body schema, and so do we for its two routes.
const OTUS_BARE = new Set(['OtusController_sendDirect 200', 'OtusController_sendDirect 400', 'OtusController_sendDirect 401', 'OtusController_sendDirect 429', 'OtusController_listDirect 400', 'OtusController_listDirect 401']);

/** The document a generated client is built from, held to OpenAPI 3.0 and to saying everything a client needs. */
describe('the OpenAPI document', () => {
  let doc: OpenAPIObject;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.entries(item as Record<string, Operation>).map(([method, op]) => ({ where: `${method.toUpperCase()} ${p}`, op })),
    );

  beforeAll(async () => {
    doc = await buildApiDocument();
  });

  it('is a valid OpenAPI 3.0 document whose references all resolve', async () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('names each operation after its controller method', () => {
    for (const { where, op } of operations()) expect([where, op.operationId]).toEqual([where, expect.stringMatching(/^[A-Z]\w*Controller_[a-z]\w*$/)]);
  });

  it('gives every operation a success response, and every response but a 204 a schema', () => {
    for (const { where, op } of operations()) {
      expect([where, Object.keys(op.responses).some((s) => /^2\d\d$/.test(s))]).toEqual([where, true]);
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === '204' || OTUS_BARE.has(`${op.operationId} ${status}`)) continue;
        const schemas = Object.values(response.content ?? {}).map((media) => media.schema);
        expect([where, status, schemas.length > 0 && schemas.every(Boolean)]).toEqual([where, status, true]);
      }
    }
  });

  it('documents 400 for every route with input, 413 and 415 for a body, and 401 for every route that takes a token', () => {
    for (const { where, op } of operations()) {
      const statuses = Object.keys(op.responses);
      if (op.parameters?.length || op.requestBody) expect([where, statuses]).toEqual([where, expect.arrayContaining(['400'])]);
      if (op.security?.length) expect([where, statuses]).toEqual([where, expect.arrayContaining(['401'])]);
      // The OTUS routes list what the OTUS spec lists.
      if (op.requestBody && !op.operationId.startsWith('Otus')) expect([where, statuses]).toEqual([where, expect.arrayContaining(['413', '415'])]);
    }
  });

  it('answers errors with the shared error body', () => {
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const json = response.content?.['application/json']?.schema?.$ref;
        if (!/^4\d\d$/.test(status) || !json || op.operationId.startsWith('Otus')) continue;
        expect([where, status, json]).toEqual([where, status, expect.stringMatching(/\/(ErrorDto|MessageGoneDto)$/)]);
      }
    }
    expect(doc.components!.schemas!.ErrorDto).toMatchObject({ required: expect.arrayContaining(['statusCode', 'error', 'message']) });
  });

  it('is what the committed client (client/api.d.ts) was generated from: run npm run client:generate after a change', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'openapi-'));
    try {
      await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(doc));
      const cli = path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js');
      await promisify(execFile)(process.execPath, [cli, path.join(dir, 'openapi.json'), '-o', path.join(dir, 'api.d.ts')]);
      const generated = await readFile(path.join(dir, 'api.d.ts'), 'utf8');
      const committed = await readFile(path.join(ROOT, 'client/api.d.ts'), 'utf8');
      expect(committed).toEqual(generated);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
