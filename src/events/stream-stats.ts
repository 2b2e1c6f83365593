import { Injectable } from '@nestjs/common';

/** This instance's live streams, as its heartbeat reports them (the state page shows every instance's). */
@Injectable()
export class StreamStats {
  open = 0;
  /** Events written to streams since the instance started. */
  sent = 0;
}
