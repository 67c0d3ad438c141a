import { Type } from 'class-transformer';
import { IsBoolean, IsDate, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../outbox.entity';
import { PAYMENT_EVENT_TYPES, type PaymentEventType } from '../payment-event';

export class DeliveryFilterDto {
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @IsOptional()
  @IsString()
  partner?: string;

  @IsOptional()
  @IsIn(PAYMENT_EVENT_TYPES)
  eventType?: PaymentEventType;

  /** Deliveries created at or after this time (ISO 8601). */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  /** Deliveries created before this time (ISO 8601). */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class BulkRetryDto extends DeliveryFilterDto {
  /** Count what would be retried, change nothing. */
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}
