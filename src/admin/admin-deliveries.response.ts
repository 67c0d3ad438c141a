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

export class ReplayResponse {
  @ApiProperty({ description: 'The partner.', example: 'erp' })
  partner: string;

  @ApiProperty({ type: 'integer', description: 'Events of the range the partner takes.', example: 12 })
  matched: number;

  @ApiProperty({ type: 'integer', description: 'Put back to PENDING for re-delivery (0 on a dry run).', example: 12 })
  replayed: number;

  @ApiProperty({ example: false })
  dryRun: boolean;
}

export class PartnerResponse {
  @ApiProperty({ example: 'erp' })
  name: string;

  @ApiProperty({ enum: ['amqp', 'webhook'], example: 'webhook' })
  transport: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "A webhook partner's endpoint: scheme, host and path (its query is not shown).",
    example: 'https://erp.example.com/payment-events',
  })
  endpoint: string | null;

  @ApiProperty({ type: [String], example: ['payment.#'] })
  bindings: string[];

  @ApiProperty({ type: [String], nullable: true, example: null })
  applications: string[] | null;

  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['closed', 'open', 'half-open'],
    description: "A webhook partner's circuit in this instance: open while it keeps failing (its deliveries wait).",
    example: 'closed',
  })
  circuit: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  circuitOpenUntil: string | null;
}
