import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE } from '../../common/openapi/examples';
import { CHANNELS, type Channel } from '../../gateways/gateway.types';
import { PaymentResponse } from '../../payment-center/payment.response';
import { ORDER_STATUSES, type OrderStatus } from '../order-state';
import type { OrderView, OrderWithPayments } from '../order.view';

export class OrderLineResponse {
  @ApiProperty({ example: 'TEA-001' })
  sku: string;

  @ApiProperty({ example: 'Longjing tea 250g' })
  name: string;

  @ApiProperty({ type: 'integer', example: 2 })
  quantity: number;

  @ApiProperty({ type: 'integer', description: 'Integer fen.', example: 1250 })
  unitPriceFen: number;

  @ApiProperty({ type: 'integer', description: 'quantity × unitPriceFen.', example: 2500 })
  amountFen: number;
}

/** The OpenAPI shape of OrderView. */
export class OrderResponse implements OrderView {
  @ApiProperty({ description: '`ord_` + 20 lower-case letters and digits.', example: EXAMPLE.orderNo })
  orderNo: string;

  @ApiProperty({ example: EXAMPLE.buyerId })
  buyerId: string;

  @ApiProperty({ enum: ['CNY'] })
  currency: 'CNY';

  @ApiProperty({ type: 'integer', description: 'The total the server computed, in fen.', example: 2500 })
  amountFen: number;

  @ApiProperty({
    enum: ORDER_STATUSES,
    enumName: 'OrderStatus',
    description:
      '`CREATED` → `PAYING` (a payment was started) → `PAID`, or `CLOSED` when nothing can be paid any more.',
    example: 'CREATED',
  })
  status: OrderStatus;

  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'Creation + `ORDER_EXPIRES_IN_SECONDS` (30 min by default); it cannot be paid after.',
    example: EXAMPLE.expiresAt,
  })
  expiresAt: string;

  @ApiProperty({ type: [OrderLineResponse] })
  items: OrderLineResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The newest payment started for it.',
    example: null,
  })
  paymentNo: string | null;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', nullable: true, example: null })
  channel: Channel | null;

  @ApiProperty({ type: 'integer', example: 0 })
  version: number;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.orderCreatedAt })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.orderCreatedAt })
  updatedAt: string;
}

/** GET /api/orders/:orderNo: the order and every payment started for it. */
export class OrderWithPaymentsResponse extends OrderResponse implements OrderWithPayments {
  @ApiProperty({ type: [PaymentResponse] })
  payments: PaymentResponse[];
}
