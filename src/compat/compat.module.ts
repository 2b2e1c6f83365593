import { Module } from '@nestjs/common';
import { DialogsModule } from '../dialogs/dialogs.module';
import { MessagesModule } from '../messages/messages.module';
import { OtusController } from './otus.controller';

@Module({ imports: [DialogsModule, MessagesModule], controllers: [OtusController] })
export class CompatModule {}
