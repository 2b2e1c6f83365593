import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { ReshardJobRepository } from './reshard-job.repository';
import { ReshardController } from './reshard.controller';
import { ReshardRunner } from './reshard.runner';
import { ReshardService } from './reshard.service';

@Module({
  imports: [MessagesModule],
  controllers: [ReshardController],
  providers: [ReshardJobRepository, ReshardRunner, ReshardService],
  exports: [ReshardService],
})
export class ReshardModule {}
