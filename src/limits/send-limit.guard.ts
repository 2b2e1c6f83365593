import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthUser } from '../auth/auth.decorators';
import { RateLimits } from './rate-limits.service';

/**
 * The per-user send limit, on every route that sends (`@SendLimited()`). Route
 * guards run after the global AuthGuard, so the user is known, and before validation, so a
 * refused send costs neither validation nor a database round trip.
 */
@Injectable()
export class SendLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimits) {}

  canActivate(context: ExecutionContext): boolean {
    const { user } = context.switchToHttp().getRequest<{ user?: AuthUser }>();
    if (user !== undefined) this.limits.takeSend(user.id);
    return true;
  }
}
