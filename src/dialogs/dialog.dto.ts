import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const MAX_PARTICIPANTS = 100;
export const MAX_TITLE = 200;
// A user id is 1..64 characters with no control characters (the OTUS spec's UserId).
const USER_ID = /^[^\u0000-\u001f\u007f]{1,64}$/;

export class CreateDialogDto {
  @ApiProperty({ type: [String], description: `other participants' user ids, 1 to ${MAX_PARTICIPANTS}` })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PARTICIPANTS)
  @IsString({ each: true })
  @Matches(USER_ID, { each: true, message: 'each participant id must be 1 to 64 characters' })
  participantIds: string[];

  @ApiPropertyOptional({ maxLength: MAX_TITLE })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_TITLE)
  title?: string;
}

export class DialogDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['group', 'direct'] }) kind: 'group' | 'direct';
  @ApiProperty({ nullable: true, type: String }) title: string | null;
  @ApiProperty({ type: [String] }) participantIds: string[];
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ description: 'may lag real activity by about a second' }) lastActivityAt: string;
}

export class DialogPageDto {
  @ApiProperty({ type: [DialogDto] }) items: DialogDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

/** What every dialog route answers to anyone not in the dialog, so no one learns which ids exist. */
export const DIALOG_NOT_FOUND = 'DIALOG_NOT_FOUND: no such dialog, or the caller is not one of its participants (the same answer for both)';
