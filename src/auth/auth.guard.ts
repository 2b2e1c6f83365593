import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthUser, IS_ADMIN, IS_PUBLIC } from './auth.decorators';
import { TokenService } from './token.service';

/**
 * Every route needs a bearer JWT unless marked @Public(); @AdminOnly() also needs the admin
 * role. Viewer tokens open no route here: only the state page, which is public and checks them.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: AuthUser }>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException('missing bearer token: send Authorization: Bearer <JWT>');
    const checked = await this.tokens.check(match[1]);
    if ('refused' in checked) throw new UnauthorizedException(checked.refused);
    const { user } = checked;
    // A viewer token is an operator's read-only pass to the state page, which checks it
    // itself; it must not act as a user (or an admin) anywhere else.
    if (user.viewer) throw new ForbiddenException('a viewer token only opens the state page (/state)');
    request.user = user;
    if (this.reflector.getAllAndOverride<boolean>(IS_ADMIN, targets) && !user.admin) {
      throw new ForbiddenException('this endpoint needs an admin token');
    }
    return true;
  }
}
