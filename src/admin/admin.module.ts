import { Module } from '@nestjs/common';
import { ReshardJobRepository } from '../reshard/reshard-job.repository';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { ShardStatsRepository } from './shard-stats.repository';
import { ShardStatsService } from './shard-stats.service';

/** ReshardJobRepository is stateless SQL on dialogdb: the ranking asks it whether a reshard is recent. */
@Module({ controllers: [AdminController], providers: [AdminService, ShardStatsService, ShardStatsRepository, ReshardJobRepository], exports: [AdminService] })
export class AdminModule {}
