import { Module } from '@nestjs/common';
import { DialogsModule } from '../dialogs/dialogs.module';
import { EventsModule } from '../events/events.module';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { MessageWriter } from './message-writer';
import { ShardReader } from './shard-reader';

@Module({
  imports: [DialogsModule, EventsModule],
  controllers: [MessagesController],
  providers: [MessagesRepository, MessageWriter, ShardReader, MessagesService],
  exports: [MessagesService, MessagesRepository],
})
export class MessagesModule {}
