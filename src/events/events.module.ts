import { Module } from '@nestjs/common';
import { EventFeed } from './event-feed';
import { EventPublisher } from './event-publisher';
import { EventsRepository } from './events.repository';
import { StreamHub } from './stream-hub';

/**
 * Live delivery below the rooms that write events: the events log in dialogdb, its
 * publisher, the feed that reads it and the hub of open streams. The HTTP side of
 * GET /events is src/streams, above the rooms whose payloads it describes.
 */
@Module({
  providers: [EventsRepository, EventPublisher, StreamHub, EventFeed],
  exports: [EventPublisher, EventsRepository, StreamHub, EventFeed],
})
export class EventsModule {}
