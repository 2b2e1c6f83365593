import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, ResolvedConfig } from './config/app-config';
import { DialogDb } from './database/dialog-db';
import { StreamStats } from './events/stream-stats';
import { LiveWrites } from './shards/live-writes';
import { ShutdownService } from './lifecycle/shutdown.service';
import { MetricsService } from './observability/metrics.service';
import { LatencyTracker } from './reshard/latency-tracker';
import { SHARD_PROVISIONER, ShardProvisioner } from './reshard/provisioner';
import { ShardOpsRepository } from './reshard/shard-ops.repository';
import { RingRepository } from './routing/ring.repository';
import { RingService } from './routing/ring.service';
import { TopologyService } from './routing/topology.service';
import { ShardRegistry } from './shards/shard-registry';

/**
 * What every feature needs: the configuration, dialogdb, the shard pools, the ring, the
 * shutdown state, and (embedded default only) what makes databases for new shards.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: ResolvedConfig, provisioner: ShardProvisioner | null = null): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.dialogDbUrl,
          synchronize: false,
          migrationsRun: false,
          logging: false,
          retryAttempts: 3,
          retryDelay: 1000,
          extra: {
            max: config.dialogPoolSize,
            connectionTimeoutMillis: config.connectTimeoutMs,
            statement_timeout: config.statementTimeoutMs,
            application_name: 'chat-api',
          },
        }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: SHARD_PROVISIONER, useValue: provisioner },
        LatencyTracker,
        MetricsService,
        DialogDb,
        ShardRegistry,
        ShardOpsRepository,
        RingRepository,
        RingService,
        TopologyService,
        ShutdownService,
        StreamStats,
        // A factory, not the class: its constructor's optional clock is for unit tests.
        { provide: LiveWrites, useFactory: () => new LiveWrites() },
      ],
      exports: [APP_CONFIG, SHARD_PROVISIONER, LatencyTracker, MetricsService, DialogDb, ShardRegistry, ShardOpsRepository, RingRepository, RingService, ShutdownService, StreamStats, LiveWrites],
    };
  }
}
