import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { CompatModule } from './compat/compat.module';
import { ResolvedConfig } from './config/app-config';
import { CoreModule } from './core.module';
import { DialogsModule } from './dialogs/dialogs.module';
import { EventsModule } from './events/events.module';
import { HealthController } from './health/health.controller';
import { HealthRepository } from './health/health.repository';
import { HealthService } from './health/health.service';
import { LimitsModule } from './limits/limits.module';
import { MetricsController } from './health/metrics.controller';
import { MessagesModule } from './messages/messages.module';
import { ReshardModule } from './reshard/reshard.module';
import { ShardProvisioner } from './reshard/provisioner';
import { StateModule } from './state/state.module';
import { StreamsModule } from './streams/streams.module';

@Module({})
export class AppModule {
  static forRoot(config: ResolvedConfig, provisioner: ShardProvisioner | null = null): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, provisioner),
        AuthModule,
        LimitsModule,
        DialogsModule,
        MessagesModule,
        EventsModule,
        StreamsModule,
        CompatModule,
        AdminModule,
        ReshardModule,
        StateModule,
      ],
      // The probes sit in the root module, first in the route table and the OpenAPI document.
      controllers: [HealthController, MetricsController],
      providers: [HealthService, HealthRepository],
    };
  }
}
