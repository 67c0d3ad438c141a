import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import type { RefundFacts, RefundResult } from '../../gateways/gateway.types';
import { MetricsService } from '../../metrics/metrics.service';
import { OutboxWriter } from '../../notifications/outbox.writer';
import type { Payment } from '../payment.entity';
import { RefundNotFound } from '../payment-errors';
import { PaymentsRepository } from '../payments.repository';
import type { Refund } from './refund.entity';
import { RefundsRepository } from './refunds.repository';

/**
 * The one function that settles a refund: a definite gateway answer (from the send, a query or a
 * notification) moves REFUNDING to REFUNDED or REFUND_FAILED under the payment's and the refund's row
 * locks (in that order, like every writer of refunds), bumps the payment's version and writes the partner
 * event in the same transaction. A repeated answer changes nothing; "succeeded" wins over an earlier
 * failure (money that moved is a fact), a failure never undoes a success.
 *
 * A definite answer that comes with what the vendor says about the refund (a notification's amount and trade)
 * is believed only when those match the refund row: otherwise the refund goes to NEEDS_REVIEW, never to
 * REFUNDED, and stays there for an operator (no later answer moves it; recovery stops asking).
 */
@Injectable()
export class RefundStateService {
  private readonly logger = new Logger(RefundStateService.name);

  constructor(
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /**
   * Settles the refund in the caller's transaction (`inTransaction`). `facts`: what the vendor's message says
   * about the refund, checked against the row before `result` is used.
   */
  settle(refundNo: string, result: RefundResult, manager: EntityManager, facts?: RefundFacts): Promise<boolean> {
    return this.settleLocked(manager, refundNo, result, facts);
  }

  private async settleLocked(
    manager: EntityManager,
    refundNo: string,
    result: RefundResult,
    facts: RefundFacts | undefined,
  ): Promise<boolean> {
    const known = await this.refunds.findByRefundNo(refundNo, manager);
    if (!known) throw new RefundNotFound(refundNo);
    const payment = await this.payments.lockByPaymentNo(manager, known.paymentNo);
    const refund = await this.refunds.lockByRefundNo(manager, refundNo);
    if (!payment || !refund) throw new RefundNotFound(refundNo);
    const now = this.clock.now();
    if (refund.status === 'NEEDS_REVIEW') return false; // an operator decides, not the next answer
    if (facts && (result.kind === 'succeeded' || result.kind === 'rejected')) {
      const mismatch = this.mismatchOf(refund, payment, facts);
      if (mismatch) return this.toReview(manager, refund, result, mismatch, now);
    }
    let type: 'payment.refunded' | 'payment.refund_failed';
    switch (result.kind) {
      case 'succeeded':
        if (refund.status === 'REFUNDED') return false;
        refund.status = 'REFUNDED';
        refund.gatewayRefundNo = result.gatewayRefundNo || refund.gatewayRefundNo;
        refund.refundedAt = now;
        refund.statusReason = null;
        type = 'payment.refunded';
        break;
      case 'rejected':
        if (refund.status !== 'REFUNDING') {
          if (refund.status === 'REFUNDED') this.logger.warn(`refund ${refundNo}: a failure reported after success`);
          return false;
        }
        refund.status = 'REFUND_FAILED';
        refund.statusReason = `${result.code}: ${result.message}`.slice(0, 512);
        type = 'payment.refund_failed';
        break;
      case 'processing':
      case 'not_found':
      case 'unknown':
        return false;
    }
    refund.nextQueryAt = null;
    refund.version += 1;
    refund.updatedAt = now;
    await this.refunds.save(manager, refund);
    payment.version += 1;
    payment.updatedAt = now;
    await this.payments.save(manager, payment);
    const paymentRefundedFen = await this.refunds.refundedFen(manager, payment.paymentNo);
    await this.outbox.append(manager, type, payment, now, { ...refund, paymentRefundedFen });
    return true;
  }

  /** What differs between the vendor's account of the refund and ours; nothing when all it says matches. */
  private mismatchOf(
    refund: Refund,
    payment: Payment,
    facts: RefundFacts,
  ): { fields: ('amount' | 'trade')[]; reason: string } | undefined {
    const fields: ('amount' | 'trade')[] = [];
    const said: string[] = [];
    if (facts.refundFen !== undefined && facts.refundFen !== refund.amountFen) {
      fields.push('amount');
      said.push(`${facts.refundFen} fen refunded, refund is ${refund.amountFen} fen`);
    }
    const otherPayment = facts.paymentNo !== undefined && facts.paymentNo !== refund.paymentNo;
    const otherTrade =
      facts.gatewayTradeNo !== undefined &&
      payment.gatewayTradeNo !== null &&
      facts.gatewayTradeNo !== payment.gatewayTradeNo;
    if (otherPayment || otherTrade) {
      fields.push('trade');
      said.push(
        `refunded trade ${facts.paymentNo ?? refund.paymentNo}/${facts.gatewayTradeNo ?? '?'}, refund is of ` +
          `${refund.paymentNo}/${payment.gatewayTradeNo ?? '?'}`,
      );
    }
    return fields.length ? { fields, reason: `vendor's refund result does not match: ${said.join('; ')}` } : undefined;
  }

  /**
   * The vendor's answer does not match the refund: counted and logged, and the refund (unless already
   * REFUNDED: money that moved stays recorded) goes to NEEDS_REVIEW, out of recovery's schedule. No partner
   * event: to partners the refund is still unsettled.
   */
  private async toReview(
    manager: EntityManager,
    refund: Refund,
    result: RefundResult,
    mismatch: { fields: ('amount' | 'trade')[]; reason: string },
    now: Date,
  ): Promise<boolean> {
    for (const field of mismatch.fields) this.metrics.refundMismatch(refund.channel, field);
    this.logger.warn(`refund ${refund.refundNo} (${result.kind}): ${mismatch.reason}`);
    if (refund.status === 'REFUNDED') return false;
    refund.status = 'NEEDS_REVIEW';
    refund.statusReason = `${result.kind}: ${mismatch.reason}`.slice(0, 512);
    refund.nextQueryAt = null;
    refund.version += 1;
    refund.updatedAt = now;
    await this.refunds.save(manager, refund);
    return true;
  }
}

export type { Refund };
