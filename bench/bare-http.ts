import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { once } from 'node:events';

export interface BareServer {
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts bench/bare-server.ts (built) answering these bodies; resolves with its URL. */
export async function startBareServer(messageBody: string, pageBody: string): Promise<BareServer> {
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-server.js')], {
    env: { ...process.env, BARE_MESSAGE: messageBody, BARE_PAGE: pageBody },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(() => {
      throw new Error('the bare HTTP server exited before it listened');
    }),
  ])) as [Buffer];
  return {
    baseUrl: line.toString().trim(),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
