import * as http from 'node:http';
import { createParser, EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * A text/event-stream client that keeps everything it reads, for assertions: the events (as
 * eventsource-parser reads them, the same rules as a browser's EventSource) and the comments.
 * A response other than a stream is read whole into `status` and `body`.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  body = '';

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly response: http.IncomingMessage,
  ) {}

  static open(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        const client = new SseClient(res.statusCode ?? 0, res.headers, res);
        const parser = createParser({
          onEvent: (e: EventSourceMessage) => client.events.push({ id: e.id, event: e.event ?? 'message', data: e.data }),
          onComment: (c) => client.comments.push(c.trim()),
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (client.status === 200 ? parser.feed(chunk) : (client.body += chunk)));
        res.on('close', () => (client.ended = true));
        res.on('error', () => (client.ended = true));
        resolve(client);
      });
      request.on('error', reject);
    });
  }

  /** The named events' parsed data, in order. */
  data<T = Record<string, unknown>>(...names: string[]): T[] {
    return this.events.filter((e) => names.includes(e.event)).map((e) => JSON.parse(e.data) as T);
  }

  /** The response's whole body, once it has ended (for an answer that is not a stream). */
  async json(): Promise<Record<string, unknown>> {
    if (!this.ended) await new Promise((resolve) => this.response.once('close', resolve));
    return JSON.parse(this.body) as Record<string, unknown>;
  }

  /** Stops reading: the server's writes pile up in the socket buffers, as for a stalled client. */
  pause(): void {
    this.response.socket.pause();
    this.response.pause();
  }

  resume(): void {
    this.response.socket.resume();
    this.response.resume();
  }

  close(): void {
    this.response.destroy();
  }
}
