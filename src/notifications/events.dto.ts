import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsUUID, Matches } from 'class-validator';
import { EXAMPLE } from '../common/openapi/examples';
import { ListLimit } from '../common/validation/list-limit';

/** An ISO 8601 date-time with its zone (`Z` or an offset): a time without one would mean the server's zone. */
const WITH_ZONE = /T.*(Z|[+-]\d\d:?\d\d)$/;

function IsZonedTime(name: string): PropertyDecorator {
  return applyDecorators(
    IsISO8601({ strict: true }, { message: `${name} must be an ISO 8601 date-time` }),
    Matches(WITH_ZONE, { message: `${name} must be an ISO 8601 date-time with a zone (Z or an offset)` }),
  );
}

export class EventsQuery {
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'The id of the last event you have (`nextAfter` of the previous page): the events after it. Not with `from`.',
    example: EXAMPLE.eventId,
  })
  @IsOptional()
  @IsUUID('all', { message: 'after must be an event id (UUID)' })
  after?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Events created at or after this time. Not with `after`.',
    example: '2025-03-14T00:00:00.000Z',
  })
  @IsOptional()
  @IsZonedTime('from')
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Events created before this time (with `after` too: page through a range).',
    example: '2025-03-15T00:00:00.000Z',
  })
  @IsOptional()
  @IsZonedTime('to')
  to?: string;

  @ListLimit()
  limit?: number;
}

export class EventIdParam {
  @ApiProperty({ format: 'uuid', description: 'The event id (`id` of its body).', example: EXAMPLE.eventId })
  @IsUUID('all', { message: 'eventId must be an event id (UUID)' })
  eventId: string;
}
