import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE } from '../common/openapi/examples';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../notifications/outbox.entity';
import { PAYMENT_EVENT_TYPES } from '../notifications/payment-event';
import type { DeliveryView } from '../notifications/deliveries.service';

/** The OpenAPI shape of DeliveryView: one event for one partner. */
export class DeliveryResponse implements DeliveryView {
  @ApiProperty({ description: 'Delivery id (a decimal string).', example: '42' })
  id: string;

  @ApiProperty({ description: 'The event id partners deduplicate on.', example: EXAMPLE.eventId })
  eventId: string;

  @ApiProperty({ description: 'Partner name from `PARTNERS`; its queue is `partner.<name>`.', example: 'orders' })
  partner: string;

  @ApiProperty({ enum: PAYMENT_EVENT_TYPES, enumName: 'PaymentEventType', example: 'payment.succeeded' })
  eventType: string;

  @ApiProperty({
    enum: DELIVERY_STATUSES,
    enumName: 'DeliveryStatus',
    description: '`PENDING` → `PUBLISHED` (broker confirmed) → `FAILED` when the partner dead-lettered it.',
    example: 'FAILED',
  })
  status: DeliveryStatus;

  @ApiProperty({ type: 'integer', example: 1 })
  attempts: number;

  @ApiProperty({ type: String, nullable: true, example: 'dead-lettered from partner.orders: rejected' })
  lastError: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.paidAt })
  publishedAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.paidAt })
  failedAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.paidAt })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.paidAt })
  updatedAt: string;
}

export class BulkRetryResponse {
  @ApiProperty({ type: 'integer', description: 'FAILED deliveries matching the filter.', example: 3 })
  matched: number;

  @ApiProperty({ type: 'integer', description: 'Republished now (0 on a dry run).', example: 3 })
  retried: number;

  @ApiProperty({ example: false })
  dryRun: boolean;
}
