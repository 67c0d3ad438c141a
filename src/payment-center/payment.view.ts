import type { Fen } from '../common/money';
import type { Channel, PayCredential } from '../gateways/gateway.types';
import type { Payment, PayMode } from './payment.entity';
import type { PaymentStatus } from './payment-state-machine';

/** The payment as business applications see it (REST and, later, events). */
export interface PaymentView {
  paymentNo: string;
  orderNo: string;
  channel: Channel;
  accountId: string;
  mode: PayMode;
  amountFen: Fen;
  currency: 'CNY';
  status: PaymentStatus;
  /** Why it is in this status, when that is not obvious (a gateway error, a review reason). */
  statusReason: string | null;
  gatewayTradeNo: string | null;
  payCredential: PayCredential | null;
  paidAmountFen: Fen | null;
  paidAt: string | null;
  closedAt: string | null;
  reversedAt: string | null;
  expiresAt: string;
  /** When recovery next asks the gateway (null: nothing left to ask), and how many times it asked in this status. */
  nextQueryAt: string | null;
  queryAttempts: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toPaymentView(payment: Payment): PaymentView {
  return {
    paymentNo: payment.paymentNo,
    orderNo: payment.orderNo,
    channel: payment.channel,
    accountId: payment.accountId,
    mode: payment.mode,
    amountFen: payment.amountFen,
    currency: payment.currency,
    status: payment.status,
    statusReason: payment.statusReason,
    gatewayTradeNo: payment.gatewayTradeNo,
    payCredential: payment.payCredential,
    paidAmountFen: payment.paidAmountFen,
    paidAt: iso(payment.paidAt),
    closedAt: iso(payment.closedAt),
    reversedAt: iso(payment.reversedAt),
    expiresAt: payment.expiresAt.toISOString(),
    nextQueryAt: iso(payment.nextQueryAt),
    queryAttempts: payment.queryAttempts,
    version: payment.version,
    createdAt: payment.createdAt.toISOString(),
    updatedAt: payment.updatedAt.toISOString(),
  };
}
