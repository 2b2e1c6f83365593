import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/**
 * GET /events and POST /events/token: a user's live stream over the event feed. It sits
 * above dialogs and messages, whose payloads its OpenAPI description names, while the feed
 * it reads (src/events) sits below them.
 */
@Module({
  imports: [EventsModule],
  controllers: [EventsController],
  providers: [EventsService],
})
export class StreamsModule {}
