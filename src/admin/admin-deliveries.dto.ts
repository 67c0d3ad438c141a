import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsDate, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
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
