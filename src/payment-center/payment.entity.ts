import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { fenColumn, type Fen } from '../common/money';
import type { Channel, PayCredential, PayMode } from '../gateways/gateway.types';
import type { PaymentStatus } from './payment-state-machine';

export { PAY_MODES, type PayMode } from '../gateways/gateway.types';

/**
 * A new payment as it is inserted (CREATED; PaymentStateService.insertStarted applies START to it): what the start
 * decides, and every other field at its initial value. Its vendor call is marked as starting `now`.
 */
export function newPaymentDraft(
  fields: Pick<
    Payment,
    | 'paymentNo'
    | 'orderNo'
    | 'channel'
    | 'accountId'
    | 'mode'
    | 'returnUrl'
    | 'payerId'
    | 'appId'
    | 'applicationId'
    | 'amountFen'
    | 'currency'
    | 'expiresAt'
  >,
  now: Date,
): Omit<Payment, 'id'> {
  return {
    ...fields,
    status: 'CREATED',
    gatewayTradeNo: null,
    payCredential: null,
    gatewayRequestedAt: now,
    queryAttempts: 0,
    nextQueryAt: null,
    paidAmountFen: null,
    paidAt: null,
    closedAt: null,
    reversedAt: null,
    statusReason: null,
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * One attempt to collect an order's money through one channel. Its `paymentNo` is the vendor's merchant
 * order number. The row alone is enough to recover it: status, attempts and `nextQueryAt` tell the
 * reconciler what to ask the vendor and when, even if the process died right after entering PAYING.
 */
@Entity({ name: 'payments' })
@Index('uq_payments_channel_trade_no', ['channel', 'gatewayTradeNo'], { unique: true })
@Index('ix_payments_channel_paid_at', ['channel', 'paidAt'])
@Index('ix_payments_status_updated', ['status', 'updatedAt'])
@Index('ix_payments_status_channel_created', ['status', 'channel', 'createdAt']) // metrics: counts, oldest open
export class Payment {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('uq_payments_payment_no', { unique: true })
  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Index('ix_payments_order_no')
  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo: string;

  @Column({ type: 'varchar', length: 16 })
  channel: Channel;

  /** The application the payment belongs to (its order's); null for payments from before applications. */
  @Column({ name: 'application_id', type: 'varchar', length: 32, nullable: true })
  applicationId: string | null;

  /** The channel account the trade was made with (`default`: the environment's); every later call uses it. */
  @Column({ name: 'account_id', type: 'varchar', length: 32, default: 'default' })
  accountId: string;

  /** How the buyer pays: `standard` (the channel's QR code or page), `barcode` (a payment code at a counter)... */
  @Column({ type: 'varchar', length: 16, default: 'standard' })
  mode: PayMode;

  /** Page modes: the merchant's page (on its application's allow-list) our return page links the buyer back to. */
  @Column({ name: 'return_url', type: 'varchar', length: 512, nullable: true })
  returnUrl: string | null;

  /** In-app modes: the buyer the trade was made for (WeChat openid, Alipay buyer id); only they can pay it. */
  @Column({ name: 'payer_id', type: 'varchar', length: 64, nullable: true })
  payerId: string | null;

  /** The app the trade was made under when the pay request named one (a mini-program, a mobile app). */
  @Column({ name: 'app_id', type: 'varchar', length: 32, nullable: true })
  appId: string | null;

  @Column({ name: 'amount_fen', type: 'bigint', transformer: fenColumn })
  amountFen: Fen;

  @Column({ type: 'char', length: 3 })
  currency: 'CNY';

  @Column({ type: 'varchar', length: 16 })
  status: PaymentStatus;

  @Column({ name: 'gateway_trade_no', type: 'varchar', length: 64, nullable: true })
  gatewayTradeNo: string | null;

  @Column({ name: 'pay_credential', type: 'json', nullable: true })
  payCredential: PayCredential | null;

  /** When a create-payment call to the vendor was last started; guards against two concurrent calls. */
  @Column({ name: 'gateway_requested_at', type: 'datetime', precision: 3, nullable: true })
  gatewayRequestedAt: Date | null;

  @Column({ name: 'query_attempts', type: 'int', default: 0 })
  queryAttempts: number;

  /** When the gateway is next asked about this payment; null once nothing is left to ask (terminal states). */
  @Index('ix_payments_next_query')
  @Column({ name: 'next_query_at', type: 'datetime', precision: 3, nullable: true })
  nextQueryAt: Date | null;

  @Column({ name: 'paid_amount_fen', type: 'bigint', nullable: true, transformer: fenColumn })
  paidAmountFen: Fen | null;

  @Column({ name: 'paid_at', type: 'datetime', precision: 3, nullable: true })
  paidAt: Date | null;

  @Column({ name: 'closed_at', type: 'datetime', precision: 3, nullable: true })
  closedAt: Date | null;

  /**
   * A barcode payment whose trade the vendor reversed: whatever the buyer paid on it went back with the
   * reverse, so money reported paid on it later is recorded with its reversal refund, never kept.
   */
  @Column({ name: 'reversed_at', type: 'datetime', precision: 3, nullable: true })
  reversedAt: Date | null;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  /** Why the payment is where it is: the last gateway error or the reason it needs review. */
  @Column({ name: 'status_reason', type: 'varchar', length: 512, nullable: true })
  statusReason: string | null;

  /** Increases with every change; partners use it to drop stale events. */
  @Column({ type: 'int', default: 0 })
  version: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

/**
 * One per business order: what the business asked us to collect. Starting any payment of the order
 * locks this row, which serialises concurrent starts of the same order across all app instances.
 */
@Entity({ name: 'payment_intents' })
export class PaymentIntent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('uq_payment_intents_order_no', { unique: true })
  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo: string;

  /** The application the order belongs to: the owner of every payment and refund of the order. */
  @Column({ name: 'application_id', type: 'varchar', length: 32, nullable: true })
  applicationId: string | null;

  @Column({ name: 'amount_fen', type: 'bigint', transformer: fenColumn })
  amountFen: Fen;

  @Column({ type: 'char', length: 3 })
  currency: 'CNY';

  @Column({ type: 'varchar', length: 128 })
  description: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}

/** Append-only history of every applied transition: what an operator reads to see why a payment is stuck. */
@Entity({ name: 'payment_transitions' })
@Index('ix_payment_transitions_payment', ['paymentNo', 'id'])
export class PaymentTransition {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Column({ type: 'varchar', length: 32 })
  event: string;

  @Column({ name: 'from_status', type: 'varchar', length: 16 })
  fromStatus: string;

  @Column({ name: 'to_status', type: 'varchar', length: 16 })
  toStatus: string;

  @Column({ type: 'int' })
  version: number;

  @Column({ type: 'varchar', length: 512, nullable: true })
  detail: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}

/** One call to a gateway made by recovery (query, close, refund, refund query) and what it answered. */
@Entity({ name: 'payment_attempts' })
@Index('ix_payment_attempts_payment', ['paymentNo', 'id'])
export class PaymentAttempt {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Column({ name: 'refund_no', type: 'varchar', length: 32, nullable: true })
  refundNo: string | null;

  /**
   * `review_query`: a query an operator asked for while the payment was in review (outside the schedule);
   * `pay`: a barcode payment's one pay call; `reverse`: a barcode trade reversed at the vendor.
   */
  @Column({ type: 'varchar', length: 16 })
  action: 'query' | 'close' | 'refund' | 'refund_query' | 'review_query' | 'pay' | 'reverse';

  /** 1 for the first attempt of this action in the current state. */
  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'varchar', length: 16 })
  outcome: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  detail: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
