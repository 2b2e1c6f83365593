import { Inject, Injectable, Optional } from '@nestjs/common';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { DomainErrorCode, DomainException } from '../common/domain.exception';
import { UNIQUE_VIOLATION } from '../common/db-errors';
import { runMigrations } from '../database/migrate';
import { midpointSplit, planRingChange, Ring, RingError } from '../ring';
import { RingRepository } from '../routing/ring.repository';
import { RingService } from '../routing/ring.service';
import { SHARD_PROVISIONER, ShardProvisioner } from './provisioner';
import { JobRow, ReshardJobRepository } from './reshard-job.repository';
import { RUNNING_PHASES } from './workflow';
import { RegisterShardDto, ReshardAcceptedDto, ReshardJobDto, ReshardRequestDto, ShardRegisteredDto } from './reshard.dto';
import { ReshardRunner } from './reshard.runner';

const conflict = (message: string) => new DomainException(DomainErrorCode.ReshardConflict, message);

/**
 * Phase times are written by Postgres inside jsonb (`to_jsonb(now())`), which spells them
 * `2026-12-07T16:42:20.903252+00:00`; every other instant of the API is
 * `Date.prototype.toISOString()`'s `2026-12-07T16:42:20.903Z`, and so are these.
 */
function phaseTimesDto(times: JobRow['phase_times']): ReshardJobDto['phaseTimes'] {
  const iso = (text: string) => new Date(text).toISOString();
  return Object.fromEntries(
    Object.entries(times).map(([phase, { startedAt, endedAt }]) => [phase, endedAt === undefined ? { startedAt: iso(startedAt) } : { startedAt: iso(startedAt), endedAt: iso(endedAt) }]),
  );
}

export function toJobDto(job: JobRow): ReshardJobDto {
  const copied = Number(job.copied);
  const total = job.total === null ? null : Number(job.total);
  let etaSeconds: number | null = null;
  if (job.phase === 'done') etaSeconds = 0;
  else if (job.phase === 'copy' && total !== null && job.rate) etaSeconds = Math.ceil(Math.max(0, total - copied) / job.rate);
  return {
    id: job.id,
    kind: job.kind,
    source: job.source,
    target: job.target,
    phase: job.phase,
    copied,
    total,
    rate: job.rate,
    etaSeconds,
    verification: job.verification,
    cancelRequested: job.cancel_requested,
    error: job.error,
    versions: job.versions as Record<string, number>,
    phaseTimes: phaseTimesDto(job.phase_times),
    moved: job.moved,
    createdAt: job.created_at.toISOString(),
    updatedAt: job.updated_at.toISOString(),
  };
}

/** What operators ask of resharding: register a database, start, watch and cancel a job. */
@Injectable()
export class ReshardService {
  constructor(
    private readonly jobs: ReshardJobRepository,
    private readonly rings: RingRepository,
    private readonly ring: RingService,
    private readonly runner: ReshardRunner,
    @Optional() @Inject(SHARD_PROVISIONER) private readonly provisioner: ShardProvisioner | null,
  ) {}

  /** A database becomes a spare shard: reachable, migrated, registered, and on no arc yet. */
  async registerShard(dto: RegisterShardDto): Promise<ShardRegisteredDto> {
    if (await this.rings.shard(dto.name)) throw conflict(`shard ${dto.name} is already registered`);
    const client = new Client({ connectionString: dto.url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (err) {
      throw new DomainException(DomainErrorCode.DatabaseUnreachable, `cannot connect to the database of ${dto.name}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    await runMigrations(dto.url, 'shard');
    await this.rings.registerShard(dto.name, dto.url, 'pending');
    return { name: dto.name, status: 'pending' };
  }

  /**
   * Forgets a spare: a registered database that owns no arc and that no unfinished job
   * names. Its data is never deleted. A target that is down or was never migrated can always be abandoned this way,
   * once its job is cancelled.
   */
  async removeShard(name: string): Promise<void> {
    const row = await this.rings.shard(name);
    if (!row) throw new DomainException(DomainErrorCode.ShardNotFound, `shard ${name} is not registered`, { shard: name });
    const state = await this.ring.refresh();
    if (row.status !== 'pending' || state.ring.has(name)) throw conflict(`shard ${name} is ${row.status}, not a spare: only a spare can be removed`);
    const active = await this.jobs.active();
    if (active && (active.target === name || active.source === name)) throw conflict(`reshard ${active.id} (${active.phase}) uses ${name}; cancel it first`);
    await this.rings.removeSpare(name);
    // The embedded default started a server for it: stopped and set aside, so that no
    // restart finds its directory and brings it back.
    await this.provisioner?.retire(name);
  }

  async start(dto: ReshardRequestDto): Promise<ReshardAcceptedDto> {
    if (!dto.split === !dto.move) throw new DomainException(DomainErrorCode.InvalidInput, 'give exactly one of "split" or "move"');
    const state = await this.ring.refresh();
    const source = (dto.split ?? dto.move)!;
    if (!state.ring.has(source)) {
      throw new DomainException(DomainErrorCode.ShardNotFound, `shard ${source} is not on the ring`, { shard: source });
    }
    const active = await this.jobs.active();
    if (active) throw conflict(`reshard ${active.id} is ${active.phase}; one reshard at a time`);
    if (state.transition) throw conflict('the ring is in transition; wait for the running reshard');

    const target = dto.to ?? (dto.split ? await this.pickSplitTarget() : undefined);
    if (!target) throw new DomainException(DomainErrorCode.InvalidInput, '"move" needs "to": the name of the new shard');
    await this.checkTarget(target, state.ring);
    let newRing: Ring;
    try {
      newRing = dto.split ? midpointSplit(state.ring, source, target) : state.ring.renamed(source, target);
    } catch (err) {
      if (err instanceof RingError) throw conflict(err.message);
      throw err;
    }
    try {
      const job = await this.jobs.create({
        id: uuidv7(),
        kind: dto.split ? 'split' : 'move',
        source,
        target,
        base_version: state.version,
        old_points: state.ring.toJSON(),
        new_points: newRing.toJSON(),
        moved: planRingChange(state.ring, newRing),
      });
      this.runner.kick(job.id);
      return { id: job.id, phase: job.phase };
    } catch (err) {
      // Another instance started one at the same moment: the partial unique index says no.
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw conflict('another reshard has just started; one reshard at a time');
      throw err;
    }
  }

  async get(id: string): Promise<ReshardJobDto> {
    return toJobDto(await this.find(id));
  }

  async list(): Promise<ReshardJobDto[]> {
    return (await this.jobs.recent(20)).map(toJobDto);
  }

  async cancel(id: string): Promise<ReshardJobDto> {
    // The check and the flag are one statement, so a cancel and a cutover cannot both win.
    if (!(await this.jobs.requestCancel(id))) {
      const job = await this.find(id);
      throw conflict(
        RUNNING_PHASES.includes(job.phase)
          ? `reshard ${id} is past cutover (${job.phase}); it can only finish`
          : `reshard ${id} is already ${job.phase}`,
      );
    }
    this.runner.kick(id);
    return toJobDto(await this.find(id));
  }

  private async find(id: string): Promise<JobRow> {
    const job = await this.jobs.get(id);
    if (!job) throw new DomainException(DomainErrorCode.ReshardNotFound, `reshard ${id} not found`);
    return job;
  }

  /** A registered spare if there is one, else (embedded default) the next free shard-N name. */
  private async pickSplitTarget(): Promise<string> {
    const spare = (await this.rings.shards()).find((s) => s.status === 'pending');
    if (spare) return spare.name;
    if (!this.provisioner) throw conflict('no spare database to split into: register one with POST /admin/shards');
    const taken = new Set(await this.rings.allShardNames());
    let n = 0;
    while (taken.has(`shard-${n}`)) n++;
    return `shard-${n}`;
  }

  private async checkTarget(name: string, ring: Ring): Promise<void> {
    // The embedded default keeps dialogdb's server and retired shards' data under these names.
    if (name === 'dialogdb' || name.startsWith('retired-')) {
      throw new DomainException(DomainErrorCode.InvalidInput, `"${name}" is a reserved name; choose another shard name`);
    }
    if (ring.has(name)) throw conflict(`shard ${name} already owns an arc`);
    const row = await this.rings.shard(name);
    if (row && row.status !== 'pending') throw conflict(`shard ${name} is ${row.status}, not a spare`);
    if (!row && !this.provisioner) throw conflict(`shard ${name} is not registered: register it first with POST /admin/shards`);
  }
}
