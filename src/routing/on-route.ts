import { setTimeout as sleep } from 'node:timers/promises';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { MetricsService } from '../observability/metrics.service';
import { OwnershipError } from '../shards/ownership.error';
import { LogContext } from '../observability/log-context';
import { Route } from './router';
import { RingService } from './ring.service';

// A refusal means the ring moved on; one reload is normally enough. A reshard changes a
// shard's arcs a moment before it publishes the ring that matches, so later attempts wait a
// little longer each time (about 1.5 s in all) before the request gives up with a 503.
const REFUSAL_BACKOFF_MS = [0, 20, 50, 100, 200, 400, 800];

/**
 * Runs a data-path step by the ring in force. A refusal means a shard no longer serves a
 * dialog the way this instance's ring says: reload the ring and run the step again (it routes
 * afresh), so no write lands where no reader looks and no read misses a row.
 */
export async function retryRefused<T>(ring: RingService, metrics: MetricsService, step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof OwnershipError)) throw err;
      metrics.ownershipRefusals.inc({ shard: err.shard });
      if (attempt + 1 >= REFUSAL_BACKOFF_MS.length) {
        throw new DomainException(DomainErrorCode.RingUnavailable, 'the ring is changing, try again shortly');
      }
      await sleep(REFUSAL_BACKOFF_MS[attempt + 1]);
      await ring.refresh();
    }
  }
}

/** retryRefused for one dialog's step, on its current route; the request's log line names the shard. */
export function onRoute<T>(ring: RingService, metrics: MetricsService, dialogId: string, step: (route: Route) => Promise<T>, log: LogContext): Promise<T> {
  return retryRefused(ring, metrics, () => {
    const route = ring.route(dialogId);
    log.dialogId = dialogId;
    log.shard = route.write;
    return step(route);
  });
}
