import { Injectable } from '@nestjs/common';
import { CommandRunner, Option } from 'nest-commander';
import { AdminApiClient } from './admin-api.client';

export interface AdminOptions {
  api?: string;
}

/**
 * A command that talks to the running service's admin API over HTTP, so it goes through
 * the same services as REST and works while `npm start` holds the embedded databases.
 */
@Injectable()
export abstract class AdminCommandRunner extends CommandRunner {
  constructor(protected readonly client: AdminApiClient) {
    super();
  }

  @Option({ flags: '--api <url>', description: 'base URL of the service (default: $API_URL, else http://127.0.0.1:$PORT, port 3000)' })
  parseApi(value: string): string {
    return value;
  }
}
