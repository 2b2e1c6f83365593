import * as net from 'node:net';
import { startCluster, TestCluster } from './support/pg-cluster';
import { startTestApp, TestApp } from './support/test-app';

interface Closed {
  afterMs: number;
  received: string;
  linesSent: number;
}

/**
 * Opens a connection, writes `first`, then (given `drip`) one more piece every 250 ms until
 * the server closes the connection; fails after 10 s.
 */
async function dribble(port: number, first: string, drip?: (n: number) => string): Promise<Closed> {
  const limitMs = 10_000;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const started = performance.now();
  let received = '';
  let linesSent = 0;
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => undefined); // a reset is one way of being closed
  socket.write(first);
  const ticker = drip ? setInterval(() => socket.writable && socket.write(drip(++linesSent)), 250) : undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Closed>((resolve, reject) => {
      socket.once('close', () => resolve({ afterMs: performance.now() - started, received, linesSent }));
      timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms, ${linesSent} lines sent`)), limitMs);
    });
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
    socket.destroy();
  }
}

/**
 * The slow clients: connections that send a header line every few seconds stayed
 * open for a minute and more. With small limits configured, each kind is cut off on time.
 */
describe('slow clients', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    cluster = await startCluster({ shards: 1 });
    t = await startTestApp(cluster, { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('closes a connection that dribbles header lines once the head limit is up, with 408', async () => {
    // A line every 250 ms keeps the socket busy, so only a limit on the whole head can end it.
    const closed = await dribble(port, 'GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n', (n) => `X-Drip-${n}: x\r\n`);
    expect(closed.linesSent).toBeGreaterThanOrEqual(3);
    expect(closed.afterMs).toBeGreaterThanOrEqual(1000);
    expect(closed.afterMs).toBeLessThan(4000);
    expect(closed.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that dribbles its body once the request limit is up', async () => {
    const head = 'POST /dialogs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n';
    const closed = await dribble(port, head, () => ' ');
    expect(closed.linesSent).toBeGreaterThanOrEqual(7);
    expect(closed.afterMs).toBeGreaterThanOrEqual(2000);
    expect(closed.afterMs).toBeLessThan(5000);
  });

  it('closes an idle keep-alive connection after the keep-alive limit', async () => {
    const closed = await dribble(port, 'GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(closed.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(closed.received).toMatch(/^keep-alive: timeout=1$/im);
    expect(closed.afterMs).toBeGreaterThanOrEqual(900);
    expect(closed.afterMs).toBeLessThan(4000);
  });
});
