import { Command, CommandRunner, Option } from 'nest-commander';
import { TokenService } from '../auth/token.service';
import { parseDuration } from '../config/app-config';

interface TokenOptions {
  admin?: boolean;
  viewer?: boolean;
  ttl?: number;
}

@Command({ name: 'token', arguments: '<userId>', description: 'print a signed JWT for a user (HS256, JWT_SECRET)' })
export class TokenCommand extends CommandRunner {
  constructor(private readonly tokens: TokenService) {
    super();
  }

  async run([userId]: string[], options: TokenOptions): Promise<void> {
    if (options.admin && options.viewer) throw new Error('--admin and --viewer exclude each other');
    process.stdout.write(this.tokens.sign(userId, { admin: options.admin, viewer: options.viewer, ttlSeconds: options.ttl }) + '\n');
  }

  @Option({ flags: '--admin', description: 'add role "admin", which opens /admin' })
  parseAdmin(): boolean {
    return true;
  }

  @Option({ flags: '--viewer', description: 'add role "viewer": a read-only token that opens the state page (/state) and nothing else' })
  parseViewer(): boolean {
    return true;
  }

  @Option({ flags: '--ttl <duration>', description: 'lifetime such as 15m, 1h, 12h (default and at most: JWT_MAX_TTL, 24h unless set)' })
  parseTtl(value: string): number {
    const seconds = parseDuration(value);
    if (seconds === null) throw new Error(`--ttl must be a duration such as 15m, 1h or 12h, got "${value}"`);
    return seconds;
  }
}
