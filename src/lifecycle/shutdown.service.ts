import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { APP_CONFIG, ResolvedConfig } from '../config/app-config';

/**
 * The HTTP side of a graceful stop. Nest closes an application in this order: destroy hooks,
 * `beforeApplicationShutdown`, the HTTP server (Fastify stops listening, drops idle
 * connections and waits for the requests it holds), then `onApplicationShutdown`, where the
 * activity flush and the pools run. This service marks the instance draining before the
 * server closes, so probes read "not ready" and every answer from then on ends its
 * connection, and it bounds the wait: once the server stops listening, Node stops enforcing
 * its header and request timeouts, so a client that never finishes its request would
 * otherwise hold the process forever.
 */
@Injectable()
export class ShutdownService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private drainingSince: number | null = null;
  private graceTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  beforeApplicationShutdown(): void {
    if (this.draining) return;
    this.drainingSince = Date.now();
    this.logger.log('draining: not ready, no new connections, finishing accepted requests');
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    this.graceTimer = setTimeout(() => {
      this.logger.warn(`requests still open after ${this.config.shutdownGraceMs} ms (SHUTDOWN_GRACE_MS): closing their connections`);
      server.closeAllConnections();
    }, this.config.shutdownGraceMs);
    this.graceTimer.unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.graceTimer);
    if (this.drainingSince !== null) this.logger.log(`HTTP drained in ${Date.now() - this.drainingSince} ms`);
  }
}
