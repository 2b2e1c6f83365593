import Fastify from 'fastify';

/**
 * The bare HTTP ceiling: a minimal Fastify server in its own process answering the API's two
 * hot routes with the same JSON bodies from memory (no auth, no validation, no database).
 * What the API reaches of this is what its own pipeline leaves of HTTP on this machine.
 */
async function main(): Promise<void> {
  const [message, page] = [process.env.BARE_MESSAGE ?? '{}', process.env.BARE_PAGE ?? '{}'];
  const app = Fastify({ logger: false });
  app.post('/dialogs/:dialogId/messages', async (_req, reply) => reply.code(201).type('application/json; charset=utf-8').send(message));
  app.get('/dialogs/:dialogId/messages', async (_req, reply) => reply.type('application/json; charset=utf-8').send(page));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${address}\n`);
}

void main();
