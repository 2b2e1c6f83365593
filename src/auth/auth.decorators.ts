import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export interface AuthUser {
  id: string;
  admin: boolean;
}

export const IS_PUBLIC = 'auth:public';
export const IS_ADMIN = 'auth:admin';

/** Health, metrics, docs: reachable without a token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Requires a token with `role: "admin"`. */
export const AdminOnly = () => SetMetadata(IS_ADMIN, true);

export const CurrentUser = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AuthUser => ctx.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
