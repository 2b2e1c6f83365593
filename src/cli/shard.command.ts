import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { AdminCommandRunner, AdminOptions } from './admin-command';

@SubCommand({
  name: 'add',
  arguments: '<name> <url>',
  description:
    'register the database at <url> (postgres://...) as spare shard <name>: the service checks it answers, migrates it, ' +
    'and keeps it off the ring until a reshard moves an arc onto it. Prints the shard on stdout.',
})
export class ShardAddCommand extends AdminCommandRunner {
  async run([name, url]: string[], options: AdminOptions): Promise<void> {
    const shard = await this.client.at(options.api).registerShard(name, url);
    // Not the URL: it usually carries a password.
    process.stdout.write(`${shard.name} registered (${shard.status}: a spare on no arc yet)\n`);
    process.stderr.write(`move an arc onto it with: npm run -s cli -- reshard split <shard> --to ${shard.name}\n`);
  }
}

@Command({ name: 'shard', description: 'manage the shard registry through the admin API of the running service', subCommands: [ShardAddCommand] })
export class ShardCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help({ error: true });
  }
}
