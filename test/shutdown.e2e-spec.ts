import { JwtService } from '@nestjs/jwt';
import * as net from 'node:net';
import { eventually } from './support/eventually';
import { startCluster, TestCluster } from './support/pg-cluster';
import { freePort, ServiceProcess, spawnService } from './support/service-process';
import { sql } from './support/test-app';

interface Send {
  dialogId: string;
  clientMessageId: string;
  sentAt: number;
  doneAt?: number;
  status?: number;
  createdAt?: string;
  error?: string;
}

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * One request on its own connection, written in two parts: `first` now, `rest` when the
 * test says. Resolves with the response once its head and Content-Length body are in.
 */
async function heldRequest(port: number, first: string): Promise<{ finish(rest: string): Promise<RawResponse> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  const response = new Promise<RawResponse>((resolve, reject) => {
    socket.on('data', (chunk) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const headers = data.slice(0, end);
      const length = Number(/^content-length:\s*(\d+)/im.exec(headers)?.[1] ?? 0);
      if (Buffer.byteLength(data.slice(end + 4)) < length) return;
      socket.destroy();
      resolve({ status: Number(headers.split(' ')[1]), headers, body: data.slice(end + 4) });
    });
    socket.once('close', () => reject(new Error(`connection closed before a whole response: ${JSON.stringify(data)}`)));
    socket.once('error', reject);
  });
  // Reported by finish(); not an unhandled rejection if the test fails before calling it.
  response.catch(() => undefined);
  socket.write(first);
  return {
    finish: (rest) => {
      socket.write(rest);
      return response;
    },
  };
}

/** `promise`, or a failure naming `what` after `ms`: a hang should fail the test with a reason. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function refusesConnections(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error('a new connection was accepted'));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve() : reject(err)));
  });
}

/**
 * The SIGTERM under steady sends: requests that were accepted must be answered as
 * usual (not 503), the probe must say not ready, new connections must be refused, and the
 * batched dialog activity of every acknowledged send must reach dialogdb before the pools
 * close. Every assertion is checked in the databases after the process has exited.
 */
describe('SIGTERM during steady sends', () => {
  let cluster: TestCluster;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ shards: 2 });
  });

  afterAll(async () => {
    for (const service of services) await service.kill();
    await cluster?.destroy();
  });

  async function start(env: NodeJS.ProcessEnv = {}): Promise<{ service: ServiceProcess; port: number }> {
    const port = await freePort();
    const service = spawnService({
      PORT: String(port),
      DIALOG_DB_URL: cluster.dialogDbUrl,
      SHARD_URLS: cluster.shardUrls.join(','),
      JWT_SECRET: 'test-secret',
      // One user sends back to back from eight connections, as no person does.
      RATE_LIMIT_SENDS_PER_MIN: '0',
      ...env,
    });
    services.push(service);
    await service.waitUntilServing(port);
    return { service, port };
  }

  it('answers what it accepted, refuses what comes after, flushes every acknowledged send’s activity and exits 0', async () => {
    const { service, port } = await start();
    const base = `http://127.0.0.1:${port}`;
    const token = new JwtService({ secret: 'test-secret', signOptions: { expiresIn: 3600 } }).sign({ sub: 'alice' });
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

    const dialogs: string[] = [];
    for (let i = 0; i < 16; i++) {
      const res = await fetch(`${base}/dialogs`, { method: 'POST', headers, body: JSON.stringify({ participantIds: [`bob${i}`] }) });
      expect(res.status).toBe(201);
      dialogs.push(((await res.json()) as { id: string }).id);
    }

    // Held open across the signal: a send whose head is in but whose body is half sent, and
    // a probe whose head is not finished yet (so it is routed after the signal).
    const heldBody = JSON.stringify({ text: 'held across the signal', clientMessageId: 'held' });
    const half = Math.floor(heldBody.length / 2);
    const heldSend = await heldRequest(
      port,
      `POST /dialogs/${dialogs[0]}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(heldBody)}\r\n\r\n${heldBody.slice(0, half)}`,
    );
    const heldProbe = await heldRequest(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);

    // Steady sends: each worker sends back to back on its own keep-alive connection until,
    // after the signal, the service refuses it.
    const sends: Send[] = [];
    let signalAt: number | undefined;
    let seq = 0;
    const worker = async (w: number) => {
      for (;;) {
        const send: Send = { dialogId: dialogs[seq % dialogs.length], clientMessageId: `w${w}-${seq++}`, sentAt: performance.now() };
        sends.push(send);
        try {
          const res = await fetch(`${base}/dialogs/${send.dialogId}/messages`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ text: 'steady', clientMessageId: send.clientMessageId }),
          });
          send.status = res.status;
          send.createdAt = ((await res.json()) as { createdAt?: string }).createdAt;
          send.doneAt = performance.now();
        } catch (err) {
          send.error = String((err as { cause?: { code?: string } }).cause?.code ?? err);
          send.doneAt = performance.now();
          if (signalAt !== undefined) return;
          throw err;
        }
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));

    await eventually(() => expect(sends.filter((s) => s.status === 201).length).toBeGreaterThanOrEqual(200), { timeoutMs: 30_000 });
    signalAt = performance.now();
    service.child.kill('SIGTERM');
    // The service stops listening only after it has begun to drain, so the held probe is
    // routed while it drains.
    await eventually(() => refusesConnections(port), { timeoutMs: 10_000 });
    // Settled, not asserted yet: every finding is reported below, after the exit.
    const probe = await within(heldProbe.finish('\r\n'), 10_000, 'the held probe').catch((err: Error) => err);
    const held = await within(heldSend.finish(heldBody.slice(half)), 10_000, 'the held send').catch((err: Error) => err);

    await within(workers, 10_000, 'the senders');
    // Every answer is a success: nothing the service took in was refused with a 503.
    expect(sends.filter((s) => s.status !== undefined && s.status !== 201).map((s) => `${s.clientMessageId}: ${s.status}`)).toEqual([]);
    // The signal did land mid-load: sends in flight at that moment were finished, not dropped.
    expect(sends.filter((s) => s.status === 201 && s.sentAt < signalAt! && s.doneAt! > signalAt!).length).toBeGreaterThan(0);

    // Promptly: connections left idle by answers given while draining do not hold it.
    expect(await within(service.exited, 20_000, 'exit after SIGTERM')).toBe(0);
    expect(service.stdout()).toMatch(/HTTP drained in \d+ ms/);
    // A send that got no answer (its connection was refused, or closed while idle before
    // the service read it) must not have been stored: the service never accepted it.
    const unanswered = sends.filter((s) => s.error !== undefined).map((s) => s.clientMessageId);
    expect(unanswered.length).toBeGreaterThan(0);
    const stored = await Promise.all(
      cluster.shardUrls.map((url) => sql<{ client_message_id: string }>(url, 'SELECT client_message_id FROM messages WHERE client_message_id = ANY($1)', [unanswered], true)),
    );
    expect(stored.flat()).toEqual([]);

    const acked = sends.filter((s) => s.status === 201);
    if (!(held instanceof Error) && held.status === 201) {
      acked.push({ dialogId: dialogs[0], clientMessageId: 'held', sentAt: 0, status: 201, createdAt: (JSON.parse(held.body) as { createdAt: string }).createdAt });
    }
    const rows = await sql<{ id: string; last_activity_at: Date }>(cluster.dialogDbUrl, 'SELECT id, last_activity_at FROM dialogs WHERE id = ANY($1)', [dialogs]);
    const lastActivity = new Map(rows.map((r) => [r.id, r.last_activity_at.getTime()]));
    const stale = acked.filter((s) => lastActivity.get(s.dialogId)! < Date.parse(s.createdAt!));
    expect(stale.map((s) => `${s.clientMessageId} at ${s.createdAt}, dialog at ${new Date(lastActivity.get(s.dialogId)!).toISOString()}`)).toEqual([]);

    // A request whose body was still arriving at the signal is served as usual, and its
    // connection ends with it.
    expect(held).toMatchObject({ status: 201, headers: expect.stringMatching(/^connection: close$/im) });
    // A probe that reaches the draining service, on a connection it already had, reads not ready.
    expect(probe).toMatchObject({ status: 503 });
    expect(JSON.parse((probe as RawResponse).body)).toEqual({ status: 'not ready', reason: 'shutting down' });
  });

  it('cuts the connections of requests still open after SHUTDOWN_GRACE_MS, and still exits 0', async () => {
    const { service, port } = await start({ SHUTDOWN_GRACE_MS: '500' });
    // A body that never comes: once the server stops listening, Node no longer enforces
    // its request timeout, so only the grace period ends this.
    const stuck = await heldRequest(port, 'POST /dialogs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    service.child.kill('SIGTERM');
    expect(await within(service.exited, 15_000, 'exit after SIGTERM')).toBe(0);
    await expect(stuck.finish('')).rejects.toThrow(/connection closed before a whole response/);
    expect(service.stdout()).toMatch(/requests still open after 500 ms \(SHUTDOWN_GRACE_MS\)/);
  });
});
