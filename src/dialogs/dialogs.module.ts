import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ActivityService } from './activity.service';
import { DialogAccessService } from './dialog-access.service';
import { DialogsController } from './dialogs.controller';
import { DialogsRepository } from './dialogs.repository';
import { DialogsService } from './dialogs.service';

@Module({
  imports: [EventsModule],
  controllers: [DialogsController],
  providers: [DialogsRepository, DialogAccessService, DialogsService, ActivityService],
  exports: [DialogAccessService, DialogsService, ActivityService],
})
export class DialogsModule {}
