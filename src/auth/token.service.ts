import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AuthUser } from './auth.decorators';

/** User ids are opaque strings of 1 to 64 characters (the OTUS spec's UserId). */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64 && !/[\u0000-\u001f\u007f]/.test(value);
}

@Injectable()
export class TokenService {
  constructor(private readonly jwt: JwtService) {}

  sign(userId: string, options: { admin?: boolean; viewer?: boolean; expiresIn?: string } = {}): string {
    if (!isUserId(userId)) throw new Error('a user id is 1 to 64 characters with no control characters');
    if (options.admin && options.viewer) throw new Error('a token is either admin or viewer, not both');
    const payload: Record<string, unknown> = { sub: userId };
    if (options.admin) payload.role = 'admin';
    if (options.viewer) payload.role = 'viewer';
    return this.jwt.sign(payload, { expiresIn: (options.expiresIn ?? '7d') as never });
  }

  /** Returns the user, or null for any token that is not ours, is expired, or names no valid user. */
  verify(token: string): AuthUser | null {
    try {
      const claims = this.jwt.verify<{ sub?: unknown; role?: unknown }>(token, { algorithms: ['HS256'] });
      if (!isUserId(claims.sub)) return null;
      return { id: claims.sub, admin: claims.role === 'admin', viewer: claims.role === 'viewer' };
    } catch {
      return null;
    }
  }
}
