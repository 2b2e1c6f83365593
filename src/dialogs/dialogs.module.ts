import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ActivityService } from './activity.service';
import { DialogAccessService } from './dialog-access.service';
import { DialogsController } from './dialogs.controller';
import { DialogsRepository } from './dialogs.repository';
import { DialogsService } from './dialogs.service';
import { ReadMarksRepository } from './read-marks.repository';
import { ReadStateService } from './read-state.service';

@Module({
  imports: [EventsModule],
  controllers: [DialogsController],
  providers: [DialogsRepository, DialogAccessService, DialogsService, ActivityService, ReadMarksRepository, ReadStateService],
  exports: [DialogAccessService, DialogsService, ActivityService],
})
export class DialogsModule {}
