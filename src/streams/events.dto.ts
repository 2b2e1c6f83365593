import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DialogDto, ReadMarkDto } from '../dialogs/dialog.dto';
import { MessageDto } from '../messages/message.dto';

export class StreamTokenDto {
  @ApiProperty({ description: 'for GET /events?token=; accepted by no other route' }) token: string;
  @ApiProperty({ description: 'seconds it stays valid (to open a stream: an open stream is not cut when it expires)' }) expiresIn: number;
}

// The payloads of the stream's events, for the API document (an SSE body has no schema of its own).

export class MessageDeletedEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) dialogId: string;
}

export class DialogCreatedEventDto extends DialogDto {
  @ApiProperty({ format: 'uuid', description: 'the same as id' }) dialogId: string;
}

export class ResyncEventDto {
  @ApiProperty({ description: 'why the stream cannot say what was missed' }) reason: string;
}

export class ReadyEventDto {
  @ApiProperty({ description: 'events replayed after Last-Event-ID before this one' }) replayed: number;
  @ApiProperty({ description: 'a resync came instead of a replay' }) resync: boolean;
}

export class CloseEventDto {
  @ApiProperty({ enum: ['slow_consumer', 'shutdown'] }) reason: string;
  @ApiPropertyOptional() message: string;
}

/** Each event name with its payload, for the route's description. */
export const EVENT_PAYLOADS = {
  'message.created': MessageDto,
  'message.edited': MessageDto,
  'message.deleted': MessageDeletedEventDto,
  'dialog.created': DialogCreatedEventDto,
  // A participant's read mark moved forward (its new place).
  'dialog.read': ReadMarkDto,
  resync: ResyncEventDto,
  ready: ReadyEventDto,
  close: CloseEventDto,
};
