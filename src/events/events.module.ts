import { Module } from '@nestjs/common';
import { EventFeed } from './event-feed';
import { EventPublisher } from './event-publisher';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';
import { StreamHub } from './stream-hub';

/** Live delivery: the events log in dialogdb, its publisher, and the streams of GET /events. */
@Module({
  controllers: [EventsController],
  providers: [EventsRepository, EventPublisher, StreamHub, EventFeed, EventsService],
  exports: [EventPublisher],
})
export class EventsModule {}
