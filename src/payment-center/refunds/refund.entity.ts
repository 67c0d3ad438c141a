import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { fenColumn, type Fen } from '../../common/money';
import type { Channel } from '../../gateways/gateway.types';

/**
 * REFUNDING until the gateway gives a definite answer: REFUNDED (money returned) or REFUND_FAILED (none moved).
 * NEEDS_REVIEW: the vendor's answer did not match the refund (amount, trade); an operator decides, and the
 * amount stays committed (no new refund may spend it).
 */
export type RefundStatus = 'REFUNDING' | 'REFUNDED' | 'REFUND_FAILED' | 'NEEDS_REVIEW';

/**
 * Why money goes back: a merchant's request, a payment that succeeded after it was closed here, or a second
 * payment of an order already paid. The last two are made automatically, in the transaction that recorded
 * the money, under a unique `autoKey`, so they exist exactly once. `REVERSAL`: a barcode trade the vendor
 * reversed after the buyer paid it; the vendor returned the money itself, so it is recorded `REFUNDED` at once
 * and never sent.
 */
export type RefundKind = 'REQUESTED' | 'LATE_PAYMENT' | 'DUPLICATE_PAYMENT' | 'REVERSAL';

/** One refund of a paid payment. Its `refundNo` is the vendor's refund request number: every retry reuses it. */
@Entity({ name: 'refunds' })
@Index('ix_refunds_channel_refunded_at', ['channel', 'refundedAt'])
export class Refund {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('uq_refunds_refund_no', { unique: true })
  @Column({ name: 'refund_no', type: 'varchar', length: 32 })
  refundNo: string;

  @Index('ix_refunds_payment')
  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo: string;

  @Column({ type: 'varchar', length: 16 })
  channel: Channel;

  /** The payment's channel account: the refund is made and asked about with it. */
  @Column({ name: 'account_id', type: 'varchar', length: 32, default: 'default' })
  accountId: string;

  @Column({ name: 'amount_fen', type: 'bigint', transformer: fenColumn })
  amountFen: Fen;

  @Column({ type: 'varchar', length: 256 })
  reason: string;

  @Column({ type: 'varchar', length: 24 })
  kind: RefundKind;

  @Index('uq_refunds_auto_key', { unique: true })
  @Column({ name: 'auto_key', type: 'varchar', length: 48, nullable: true })
  autoKey: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: RefundStatus;

  @Column({ name: 'gateway_refund_no', type: 'varchar', length: 64, nullable: true })
  gatewayRefundNo: string | null;

  /** Gateway calls made for this refund (the first sends it, later ones query it). */
  @Column({ name: 'query_attempts', type: 'int', default: 0 })
  queryAttempts: number;

  @Index('ix_refunds_next_query')
  @Column({ name: 'next_query_at', type: 'datetime', precision: 3, nullable: true })
  nextQueryAt: Date | null;

  @Column({ name: 'status_reason', type: 'varchar', length: 512, nullable: true })
  statusReason: string | null;

  @Column({ type: 'int', default: 0 })
  version: number;

  @Column({ name: 'refunded_at', type: 'datetime', precision: 3, nullable: true })
  refundedAt: Date | null;

  /** When an operator last sent it again from review: REFUND_REVIEW_AFTER counts from then. */
  @Column({ name: 'retried_at', type: 'datetime', precision: 3, nullable: true })
  retriedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

export interface RefundView {
  refundNo: string;
  paymentNo: string;
  orderNo: string;
  channel: Channel;
  amountFen: Fen;
  reason: string;
  kind: RefundKind;
  status: RefundStatus;
  statusReason: string | null;
  gatewayRefundNo: string | null;
  queryAttempts: number;
  nextQueryAt: string | null;
  refundedAt: string | null;
  createdAt: string;
}

export function toRefundView(refund: Refund): RefundView {
  return {
    refundNo: refund.refundNo,
    paymentNo: refund.paymentNo,
    orderNo: refund.orderNo,
    channel: refund.channel,
    amountFen: refund.amountFen,
    reason: refund.reason,
    kind: refund.kind,
    status: refund.status,
    statusReason: refund.statusReason,
    gatewayRefundNo: refund.gatewayRefundNo,
    queryAttempts: refund.queryAttempts,
    nextQueryAt: refund.nextQueryAt?.toISOString() ?? null,
    refundedAt: refund.refundedAt?.toISOString() ?? null,
    createdAt: refund.createdAt.toISOString(),
  };
}
