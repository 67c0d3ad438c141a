import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE } from '../../common/openapi/examples';
import { CHANNELS, type Channel } from '../../gateways/gateway.types';
import type { RefundKind, RefundStatus, RefundView } from './refund.entity';

export const REFUND_STATUSES = Object.keys({
  REFUNDING: true,
  REFUNDED: true,
  REFUND_FAILED: true,
  NEEDS_REVIEW: true,
} satisfies Record<RefundStatus, true>);

const REFUND_KINDS = Object.keys({
  REQUESTED: true,
  LATE_PAYMENT: true,
  DUPLICATE_PAYMENT: true,
  REVERSAL: true,
} satisfies Record<RefundKind, true>);

/** The OpenAPI shape of RefundView. */
export class RefundResponse implements RefundView {
  @ApiProperty({
    description: "`R` + UTC yyyyMMddHHmmss + 14 digits; also the vendor's refund request number.",
    example: EXAMPLE.refundNo,
  })
  refundNo: string;

  @ApiProperty({ example: EXAMPLE.paymentNo })
  paymentNo: string;

  @ApiProperty({ example: EXAMPLE.orderNo })
  orderNo: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  channel: Channel;

  @ApiProperty({ type: 'integer', description: 'Integer fen.', example: 1000 })
  amountFen: number;

  @ApiProperty({ example: 'returned goods' })
  reason: string;

  @ApiProperty({
    enum: REFUND_KINDS,
    enumName: 'RefundKind',
    description:
      '`REQUESTED` by the merchant; `LATE_PAYMENT` and `DUPLICATE_PAYMENT` are made automatically for money ' +
      "that arrived after a close or on an order already paid; `REVERSAL` records money a barcode trade's " +
      'reverse returned (the vendor returned it: no refund call is made).',
    example: 'REQUESTED',
  })
  kind: RefundKind;

  @ApiProperty({
    enum: REFUND_STATUSES,
    enumName: 'RefundStatus',
    description:
      '`REFUNDING` until the vendor answers definitely: `REFUNDED` (money returned) or `REFUND_FAILED` (a ' +
      "merchant's refund the vendor refused). `NEEDS_REVIEW`: an operator decides — no definite answer within " +
      'REFUND_REVIEW_AFTER (24 h), an automatic refund the vendor refused, or a vendor answer that does not match ' +
      "the refund's amount or trade.",
    example: 'REFUNDED',
  })
  status: RefundStatus;

  @ApiProperty({ type: String, nullable: true, description: 'The last gateway answer, when useful.', example: null })
  statusReason: string | null;

  @ApiProperty({ type: String, nullable: true, example: EXAMPLE.gatewayRefundNo })
  gatewayRefundNo: string | null;

  @ApiProperty({ type: 'integer', example: 1 })
  queryAttempts: number;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the gateway is asked next; null once the refund is settled.',
    example: null,
  })
  nextQueryAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.refundedAt })
  refundedAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.refundCreatedAt })
  createdAt: string;
}
