import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AdminApi } from './admin-api.client';
import { AdminCommandRunner, AdminOptions } from './admin-command';
import { followJob } from './job-follower';
import { listLine, statusLines, summaryLines } from './reshard-format';

interface StartOptions extends AdminOptions {
  to?: string;
  detach?: boolean;
}

interface CancelOptions extends AdminOptions {
  detach?: boolean;
}

interface JsonOptions extends AdminOptions {
  json?: boolean;
}

/** Exit code after Ctrl-C, as a shell reports a SIGINT: "stopped", not "failed". */
const INTERRUPTED = 130;

const FOLLOWING =
  'Prints the job id on stdout, then follows the job on stderr (a live bar on a terminal, ' +
  'log lines otherwise) until it ends and prints its verification. Ctrl-C stops following, never the job.';

function write(stream: NodeJS.WritableStream, lines: string[]): void {
  stream.write(lines.map((line) => `${line}\n`).join(''));
}

/** A bar only where a person watches: both streams on a terminal, not in CI or a pipe. */
function interactive(): boolean {
  return Boolean(process.stdout.isTTY && process.stderr.isTTY);
}

/** Follows a job to its end and sets the exit code: 0 when it ended as `goal`, else 1. */
async function followToEnd(api: AdminApi, id: string, goal: 'done' | 'cancelled'): Promise<void> {
  // A cancel joins the job midway: its earlier phases are not news.
  const { job, interrupted } = await followJob(api, id, { live: interactive(), history: goal === 'done' });
  if (interrupted || !job) {
    write(process.stderr, [
      goal === 'done'
        ? `stopped following; reshard ${id} keeps running in the service (Ctrl-C does not cancel it)`
        : `stopped following; the cancel of reshard ${id} goes on in the service`,
      `  check on it: npm run -s cli -- reshard status ${id}`,
      ...(goal === 'done' ? [`  cancel it:   npm run -s cli -- reshard cancel ${id}`] : []),
    ]);
    process.exitCode = INTERRUPTED;
    return;
  }
  write(process.stderr, summaryLines(job));
  if (job.phase === goal) return;
  if (goal === 'cancelled' && job.phase === 'done') write(process.stderr, ['the job passed cutover before the cancel took effect']);
  process.exitCode = 1;
}

async function startAndFollow(api: AdminApi, body: { split: string; to?: string } | { move: string; to: string }, detach?: boolean): Promise<void> {
  const { id } = await api.startReshard(body);
  process.stdout.write(`${id}\n`);
  if (!detach) await followToEnd(api, id, 'done');
}

@SubCommand({
  name: 'split',
  arguments: '<shard>',
  description: `split <shard>: a new shard takes the upper half of its arc. ${FOLLOWING} Exit 0 when it ends done.`,
})
export class ReshardSplitCommand extends AdminCommandRunner {
  async run([shard]: string[], options: StartOptions): Promise<void> {
    await startAndFollow(this.client.at(options.api), options.to ? { split: shard, to: options.to } : { split: shard }, options.detach);
  }

  @Option({ flags: '--to <name>', description: 'the new shard: a registered spare (default: one is picked, or made in the embedded default)' })
  parseTo(value: string): string {
    return value;
  }

  @Option({ flags: '--detach', description: 'print the job id and exit without following' })
  parseDetach(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'move',
  arguments: '<shard>',
  description: `move the whole arc of <shard> to a fresh database and retire it. ${FOLLOWING} Exit 0 when it ends done.`,
})
export class ReshardMoveCommand extends AdminCommandRunner {
  async run([shard]: string[], options: StartOptions): Promise<void> {
    await startAndFollow(this.client.at(options.api), { move: shard, to: options.to! }, options.detach);
  }

  @Option({ flags: '--to <name>', description: 'the new shard: a registered spare, or a new name in the embedded default', required: true })
  parseTo(value: string): string {
    return value;
  }

  @Option({ flags: '--detach', description: 'print the job id and exit without following' })
  parseDetach(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'status',
  arguments: '<id>',
  description: 'print a reshard job on stdout (a summary, or the raw JSON with --json); exit 0 whatever its phase',
})
export class ReshardStatusCommand extends AdminCommandRunner {
  async run([id]: string[], options: JsonOptions): Promise<void> {
    const job = await this.client.at(options.api).getReshard(id);
    if (options.json) process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
    else write(process.stdout, statusLines(job));
  }

  @Option({ flags: '--json', description: 'the job exactly as GET /admin/reshard/:id returns it' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'cancel',
  arguments: '<id>',
  description:
    'cancel a reshard before its cutover: the old ring comes back with nothing written during the job lost. ' +
    'Follows the rollback on stderr until the job ends; exit 0 when it ends cancelled.',
})
export class ReshardCancelCommand extends AdminCommandRunner {
  async run([id]: string[], options: CancelOptions): Promise<void> {
    const api = this.client.at(options.api);
    const job = await api.cancelReshard(id);
    write(process.stderr, [`cancel requested for reshard ${job.id} (in phase ${job.phase})`]);
    if (!options.detach) await followToEnd(api, job.id, 'cancelled');
  }

  @Option({ flags: '--detach', description: 'request the cancel and exit without following' })
  parseDetach(): boolean {
    return true;
  }
}

@SubCommand({ name: 'list', description: 'the 20 most recent reshard jobs on stdout, newest first, one line each (--json for the raw JSON)' })
export class ReshardListCommand extends AdminCommandRunner {
  async run(_args: string[], options: JsonOptions): Promise<void> {
    const jobs = await this.client.at(options.api).listReshards();
    if (options.json) process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
    else if (jobs.length === 0) write(process.stderr, ['no reshard jobs yet']);
    else write(process.stdout, jobs.map(listLine));
  }

  @Option({ flags: '--json', description: 'the jobs exactly as GET /admin/reshard returns them' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'reshard',
  description:
    'start, follow, inspect and cancel online reshards through the admin API of the running service. ' +
    'stdout carries only results (a job id, a status, a list); progress and summaries go to stderr. ' +
    'Exit 1 on an API error or a job that does not end as asked, 130 after Ctrl-C (the job keeps running).',
  subCommands: [ReshardSplitCommand, ReshardMoveCommand, ReshardStatusCommand, ReshardCancelCommand, ReshardListCommand],
})
export class ReshardCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help({ error: true });
  }
}
