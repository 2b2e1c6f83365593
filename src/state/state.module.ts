import { Module } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { ReshardModule } from '../reshard/reshard.module';
import { StateController } from './state.controller';
import { StatePage } from './state-page';
import { StateRepository } from './state.repository';
import { StateService } from './state.service';

/** GET /state: the operator's page (ring, shards, instances, reshards), and the JSON it polls. */
@Module({
  imports: [AdminModule, ReshardModule],
  controllers: [StateController],
  providers: [StateService, StateRepository, StatePage],
})
export class StateModule {}
