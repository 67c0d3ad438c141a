import type { Fen } from '../common/money';
import type { Channel } from '../gateways/gateway.types';
import type { PaymentView } from '../payment-center/payment.view';
import type { Order } from './order.entity';
import type { OrderStatus } from './order-state';

export interface OrderView {
  orderNo: string;
  buyerId: string;
  currency: 'CNY';
  amountFen: Fen;
  status: OrderStatus;
  expiresAt: string;
  items: { sku: string; name: string; quantity: number; unitPriceFen: Fen; amountFen: Fen }[];
  paymentNo: string | null;
  channel: Channel | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toOrderView(order: Order): OrderView {
  return {
    orderNo: order.orderNo,
    buyerId: order.buyerId,
    currency: order.currency,
    amountFen: order.amountFen,
    status: order.status,
    expiresAt: order.expiresAt.toISOString(),
    items: [...order.items]
      .sort((a, b) => a.lineNo - b.lineNo)
      .map((item) => ({
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitPriceFen: item.unitPriceFen,
        amountFen: item.amountFen,
      })),
    paymentNo: order.paymentNo,
    channel: order.channel,
    version: order.version,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export type OrderWithPayments = OrderView & { payments: PaymentView[] };
