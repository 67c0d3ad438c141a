import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  Min,
  registerDecorator,
  ValidateIf,
} from 'class-validator';
import { EXAMPLE } from '../common/openapi/examples';
import { IsText } from '../common/validation/text-field';
import type { DeliveryFilter } from '../notifications/deliveries.service';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../notifications/outbox.entity';
import { PAYMENT_EVENT_TYPES, type PaymentEventType } from '../notifications/payment-event';

export class DeliveryFilterDto implements DeliveryFilter {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES, enumName: 'DeliveryStatus', example: 'FAILED' })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @ApiPropertyOptional({ description: 'Partner name from `PARTNERS`.', maxLength: 40, example: 'orders' })
  @IsOptional()
  @IsText(1, 40) // event_deliveries.partner VARCHAR(40)
  partner?: string;

  @ApiPropertyOptional({ enum: PAYMENT_EVENT_TYPES, enumName: 'PaymentEventType', example: 'payment.succeeded' })
  @IsOptional()
  @IsIn(PAYMENT_EVENT_TYPES)
  eventType?: PaymentEventType;

  /** Deliveries created at or after this time (ISO 8601). */
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Created at or after this time.',
    example: '2025-03-14T00:00:00.000Z',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  /** Deliveries created before this time (ISO 8601). */
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Created before this time.',
    example: '2025-03-15T00:00:00.000Z',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    description: 'At most this many (list: 100 by default; bulk retry: 1000).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class BulkRetryDto extends DeliveryFilterDto {
  /** Count what would be retried, change nothing. */
  @ApiPropertyOptional({ description: 'Count what would be retried, change nothing.', default: false })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

/** `to` must be after `from` when both are given (an empty or inverted range is a mistake, not a no-op). */
function IsAfterFrom(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAfterFrom',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: 'to must be after from' },
      validator: {
        validate: (to: unknown, args) => {
          const from = (args?.object as ReplayDto | undefined)?.from;
          return !(to instanceof Date && from instanceof Date) || to.getTime() > from.getTime();
        },
      },
    });
}

/** Which of a partner's events to re-deliver: from a time, or after an event (its id), until `to` (or now). */
export class ReplayDto {
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events created at or after this time. Give `from` or `afterEventId`, not both.',
    example: '2025-03-14T00:00:00.000Z',
  })
  // Required without afterEventId; checked whenever given.
  @ValidateIf((dto: ReplayDto) => dto.afterEventId === undefined || dto.from !== undefined)
  @Type(() => Date)
  @IsDate({ message: 'from must be a date-time (or give afterEventId instead)' })
  from?: Date;

  @ApiPropertyOptional({
    description: 'Events after this one (the last event the partner is sure it applied).',
    format: 'uuid',
    example: EXAMPLE.eventId,
  })
  @IsOptional()
  @IsUUID('all', { message: 'afterEventId must be an event id (a UUID)' })
  afterEventId?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events created before this time (default: now); after `from`.',
    example: '2025-03-15T00:00:00.000Z',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @IsAfterFrom()
  to?: Date;

  @ApiPropertyOptional({ description: 'Count what would be re-delivered, change nothing.', default: false })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}
