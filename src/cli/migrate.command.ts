import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { migrateAll, resolveDatabases } from '../bootstrap';
import { APP_CONFIG, AppConfig } from '../config/app-config';

@Command({ name: 'migrate', description: 'apply pending migrations to dialogdb and every shard, then exit' })
export class MigrateCommand extends CommandRunner {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  async run(): Promise<void> {
    // Progress goes to stderr so stdout stays clean for scripts.
    const log = { log: (message: string) => process.stderr.write(`${message}\n`) };
    const { config, fleet } = await resolveDatabases(this.config, log);
    try {
      await migrateAll(config, log);
    } finally {
      await fleet?.stop();
    }
  }
}
