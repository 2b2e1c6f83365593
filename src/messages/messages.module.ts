import { Module } from '@nestjs/common';
import { DialogsModule } from '../dialogs/dialogs.module';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';

@Module({
  imports: [DialogsModule],
  controllers: [MessagesController],
  providers: [MessagesRepository, MessagesService],
  exports: [MessagesService, MessagesRepository],
})
export class MessagesModule {}
