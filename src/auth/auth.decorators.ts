import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export interface AuthUser {
  id: string;
  /** `role: "admin"`: opens /admin and the state page. */
  admin: boolean;
  /** `role: "viewer"`: a read-only operator's token that opens the state page and nothing else. */
  viewer: boolean;
}

export const IS_PUBLIC = 'auth:public';
export const IS_ADMIN = 'auth:admin';

/** Health, metrics, docs: reachable without a token (the state page checks its own). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Requires a token with `role: "admin"`. */
export const AdminOnly = () => SetMetadata(IS_ADMIN, true);

export const CurrentUser = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AuthUser => ctx.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
