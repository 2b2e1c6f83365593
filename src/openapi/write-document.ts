import { writeFileSync } from 'node:fs';
import { buildApiDocument } from './api-document';

/** `node dist/src/openapi/write-document.js <file>`: the API document as JSON, built without databases. */
async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: write-document <file.json>');
  writeFileSync(out, `${JSON.stringify(await buildApiDocument(), null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
