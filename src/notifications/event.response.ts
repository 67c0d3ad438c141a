import { ApiExtraModels, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EXAMPLE } from '../common/openapi/examples';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { PAYMENT_EVENT_TYPES, type PaymentEventBody, type PaymentEventType } from './payment-event';

// The OpenAPI shape of an event body: the same JSON partners receive (docs/asyncapi.yaml is the contract).
// `implements` keeps it in step with PaymentEventBody.

type EventPayment = PaymentEventBody['payment'];
type EventRefund = NonNullable<PaymentEventBody['refund']>;

export class EventPaymentResponse implements EventPayment {
  @ApiProperty({ example: EXAMPLE.paymentNo })
  paymentNo: string;

  @ApiProperty({ example: EXAMPLE.orderNo })
  orderNo: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  channel: Channel;

  @ApiProperty({ type: 'integer', description: 'Integer fen.', example: 2500 })
  amountFen: number;

  @ApiProperty({ enum: ['CNY'], example: 'CNY' })
  currency: 'CNY';

  @ApiProperty({ description: 'The payment status after this change.', example: 'PAID' })
  status: string;

  @ApiProperty({ type: String, nullable: true, example: EXAMPLE.gatewayTradeNo })
  gatewayTradeNo: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 2500 })
  paidAmountFen: number | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.paidAt })
  paidAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  closedAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'app_3f9a0c1d2e4b5a6c' })
  applicationId: string | null;
}

export class EventRefundResponse implements EventRefund {
  @ApiProperty({ example: EXAMPLE.refundNo })
  refundNo: string;

  @ApiProperty({ enum: ['REQUESTED', 'LATE_PAYMENT', 'DUPLICATE_PAYMENT', 'REVERSAL'], example: 'REQUESTED' })
  kind: EventRefund['kind'];

  @ApiProperty({ type: 'integer', example: 1000 })
  amountFen: number;

  @ApiProperty({ example: 'returned goods' })
  reason: string;

  @ApiProperty({ enum: ['REFUNDING', 'REFUNDED', 'REFUND_FAILED', 'NEEDS_REVIEW'], example: 'REFUNDED' })
  status: EventRefund['status'];

  @ApiProperty({ type: String, nullable: true, example: EXAMPLE.gatewayRefundNo })
  gatewayRefundNo: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.refundedAt })
  refundedAt: string | null;

  @ApiProperty({ type: 'integer', example: 1000 })
  paymentRefundedFen: number;
}

@ApiExtraModels(EventPaymentResponse, EventRefundResponse)
export class PaymentEventResponse implements PaymentEventBody {
  @ApiProperty({ format: 'uuid', description: 'Unique per event; deduplicate on it.', example: EXAMPLE.eventId })
  id: string;

  @ApiProperty({ enum: PAYMENT_EVENT_TYPES, enumName: 'PaymentEventType', example: 'payment.succeeded' })
  type: PaymentEventType;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.paidAt })
  occurredAt: string;

  @ApiProperty({
    type: 'integer',
    description: "The payment's version after this change: drop an event whose version is not above yours.",
    example: 2,
  })
  version: number;

  @ApiProperty({
    type: 'integer',
    description: "This event's number among all events of the payment's order, from 1, in commit order.",
    example: 1,
  })
  orderSequence: number;

  @ApiProperty({ type: EventPaymentResponse })
  payment: EventPaymentResponse;

  @ApiPropertyOptional({ type: EventRefundResponse, description: 'On the `payment.refund_*` events only.' })
  refund?: EventRefundResponse;
}

export class EventPageResponse {
  @ApiProperty({
    type: [PaymentEventResponse],
    description: 'Oldest first: each body exactly as partners receive it.',
  })
  data: PaymentEventResponse[];

  @ApiProperty({ description: 'More events are listed now after the last one here: ask again at once.' })
  hasMore: boolean;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The id of the last event here: store it and send it as `after` next time. Null when the page is empty ' +
      '(keep the cursor you have).',
    example: EXAMPLE.eventId,
  })
  nextAfter: string | null;
}
