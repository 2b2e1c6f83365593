import { Injectable, OnModuleInit } from '@nestjs/common';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUNNING_PHASES } from '../reshard/workflow';

/**
 * The state page is files in `page/`: state.html, state.css, token-needed.html and
 * token-needed.css (copied by nest-cli.json's assets) and the script compiled from
 * state-page.browser.ts (tsconfig.browser.json), all under dist/ after `npm run build`.
 * Run from the TypeScript sources (the tests), the server uses the build's copy, since only
 * the build has the compiled script.
 */
export const PAGE_DIR = __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/src/state/page') : path.join(__dirname, 'page');

/**
 * What anyone may fetch under /state/assets/: the page's look and code, which hold no data
 * (the data is behind GET /state/data's token check). The HTML is served by the controller
 * after its own token check, so it is not among them.
 */
const PUBLIC_ASSETS = new Set(['/state.css', '/state-page.browser.js', '/token-needed.css']);

/** Serves the page's stylesheets and script under /state/assets/ (@fastify/static). */
export function serveStatePageAssets(app: NestFastifyApplication): void {
  // In a scope of its own, so its header hook touches these files only.
  void app
    .getHttpAdapter()
    .getInstance()
    .register(async (scope) => {
      scope.addHook('onSend', async (_request, reply) => {
        void reply.header('X-Content-Type-Options', 'nosniff');
      });
      await scope.register(fastifyStatic, {
        root: PAGE_DIR,
        // The HTML files load them as `state/assets/...`, relative to /state (or a proxy's prefix).
        prefix: '/state/assets/',
        // Swagger UI registers the plugin too; neither needs reply.sendFile.
        decorateReply: false,
        index: false,
        allowedPath: (pathname) => PUBLIC_ASSETS.has(pathname),
      });
    });
}

/** The two HTML documents, read once at start so a build without them fails there. */
@Injectable()
export class StatePage implements OnModuleInit {
  /** The page itself, with the phases a job goes through for its script to draw. */
  html = '';
  /** What a browser gets without an admin or viewer token: how to get one. */
  tokenNeeded = '';

  onModuleInit(): void {
    const phases = [...RUNNING_PHASES, 'done'];
    const marker = '<body data-phases="">';
    const page = read('state.html');
    if (page.split(marker).length !== 2) throw new Error(`${path.join(PAGE_DIR, 'state.html')} must have one ${marker}`);
    // Phase names are lowercase words: nothing to escape in an attribute.
    if (!phases.every((p) => /^[a-z]+$/.test(p))) throw new Error(`a phase name is not a lowercase word: ${phases.join(' ')}`);
    this.html = page.replace(marker, `<body data-phases="${phases.join(' ')}">`);
    this.tokenNeeded = read('token-needed.html');
  }
}

function read(file: string): string {
  try {
    return readFileSync(path.join(PAGE_DIR, file), 'utf8');
  } catch (err) {
    throw new Error(`the state page's ${file} is not in ${PAGE_DIR} (run npm run build): ${(err as Error).message}`);
  }
}
