import { Injectable } from '@nestjs/common';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { Route, RingState, routeDialog } from './router';

/** Holds the ring this instance serves; every data-path request routes through it. */
@Injectable()
export class RingService {
  private state: RingState | null = null;

  current(): RingState {
    if (!this.state) throw new DomainException(DomainErrorCode.RingUnavailable, 'the ring is not loaded yet');
    return this.state;
  }

  serve(state: RingState): void {
    this.state = state;
  }

  route(dialogId: string): Route {
    return routeDialog(this.current(), dialogId);
  }
}
