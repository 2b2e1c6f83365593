import { Module } from '@nestjs/common';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { ShardStatsService } from './shard-stats.service';

@Module({ controllers: [AdminController], providers: [AdminService, ShardStatsService] })
export class AdminModule {}
