import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import type { RefundFacts, RefundResult } from '../../gateways/gateway.types';
import { MetricsService } from '../../metrics/metrics.service';
import { OutboxWriter } from '../../notifications/outbox.writer';
import type { Payment } from '../payment.entity';
import { RefundNotFound, RefundNotInReview } from '../payment-errors';
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
 * REFUNDED, and stays there for an operator (no later answer moves it; recovery stops asking). So does an
 * automatic refund (money that came where it should not) the vendor refuses: it is never left as failed,
 * since the buyer's money is still with the merchant; and a refund recovery got no definite answer for
 * within REFUND_REVIEW_AFTER (`requireReview`). Each review is announced (payment.refund_needs_review) and
 * counted (payment_center_refund_reviews_total).
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
    const { payment, refund } = await this.lock(manager, refundNo);
    const now = this.clock.now();
    if (refund.status === 'NEEDS_REVIEW') return false; // an operator decides, not the next answer
    if (facts && (result.kind === 'succeeded' || result.kind === 'rejected')) {
      const mismatch = this.mismatchOf(refund, payment, facts);
      if (mismatch) {
        for (const field of mismatch.fields) this.metrics.refundMismatch(refund.channel, field);
        this.logger.warn(`refund ${refund.refundNo} (${result.kind}): ${mismatch.reason}`);
        if (refund.status === 'REFUNDED') return false; // money that moved stays recorded
        return this.toReview(manager, refund, payment, 'mismatch', `${result.kind}: ${mismatch.reason}`, now);
      }
    }
    switch (result.kind) {
      case 'succeeded':
        if (refund.status === 'REFUNDED') return false;
        return this.finish(manager, refund, payment, result, now);
      case 'rejected':
        if (refund.status !== 'REFUNDING') {
          if (refund.status === 'REFUNDED') this.logger.warn(`refund ${refundNo}: a failure reported after success`);
          return false;
        }
        if (refund.kind !== 'REQUESTED') {
          const reason = `automatic refund refused by the gateway: ${result.code} ${result.message}`;
          return this.toReview(manager, refund, payment, 'refused', reason, now);
        }
        return this.finish(manager, refund, payment, result, now);
      case 'processing':
      case 'not_found':
      case 'unknown':
        return false;
    }
  }

  /**
   * An operator's resolution of a refund in review, in the caller's transaction:
   * - `succeeded`: the vendor says it (a query now), or the operator read it at the vendor and gives its refund
   *   id: REFUNDED, announced with payment.refunded.
   * - `rejected`: the vendor definitely refused it. A merchant's refund fails (payment.refund_failed); an
   *   automatic one stays in review, since the buyer's money is still with the merchant.
   * - `retry`: sent again under the same refund number (vendors deduplicate by it), REFUNDING with recovery's
   *   schedule from the start and REFUND_REVIEW_AFTER counted from now; its result is announced when it comes.
   * Returns whether the refund left review.
   */
  async resolveReview(
    manager: EntityManager,
    refundNo: string,
    outcome: Extract<RefundResult, { kind: 'succeeded' | 'rejected' }> | { kind: 'retry' },
  ): Promise<{ changed: boolean; refund: Refund }> {
    const { payment, refund } = await this.lock(manager, refundNo);
    if (refund.status !== 'NEEDS_REVIEW') throw new RefundNotInReview(refundNo, refund.status);
    const now = this.clock.now();
    switch (outcome.kind) {
      case 'succeeded':
        await this.finish(manager, refund, payment, outcome, now);
        return { changed: true, refund };
      case 'rejected':
        if (refund.kind !== 'REQUESTED') return { changed: false, refund };
        await this.finish(manager, refund, payment, outcome, now);
        return { changed: true, refund };
      case 'retry':
        refund.status = 'REFUNDING';
        refund.queryAttempts = 0;
        refund.nextQueryAt = now;
        refund.retriedAt = now;
        refund.statusReason = 'sent again by an operator';
        refund.version += 1;
        refund.updatedAt = now;
        await this.refunds.save(manager, refund);
        return { changed: true, refund };
    }
  }

  /** The payment's and the refund's row locks, in that order (like every writer of refunds). */
  private async lock(manager: EntityManager, refundNo: string): Promise<{ payment: Payment; refund: Refund }> {
    const known = await this.refunds.findByRefundNo(refundNo, manager);
    if (!known) throw new RefundNotFound(refundNo);
    const payment = await this.payments.lockByPaymentNo(manager, known.paymentNo);
    const refund = await this.refunds.lockByRefundNo(manager, refundNo);
    if (!payment || !refund) throw new RefundNotFound(refundNo);
    return { payment, refund };
  }

  /** A definite end: REFUNDED or REFUND_FAILED, the payment's version bumped and the partner event written. */
  private async finish(
    manager: EntityManager,
    refund: Refund,
    payment: Payment,
    result: Extract<RefundResult, { kind: 'succeeded' | 'rejected' }>,
    now: Date,
  ): Promise<boolean> {
    let type: 'payment.refunded' | 'payment.refund_failed';
    if (result.kind === 'succeeded') {
      refund.status = 'REFUNDED';
      refund.gatewayRefundNo = result.gatewayRefundNo || refund.gatewayRefundNo;
      refund.refundedAt = now;
      refund.statusReason = null;
      type = 'payment.refunded';
    } else {
      refund.status = 'REFUND_FAILED';
      refund.statusReason = `${result.code}: ${result.message}`.slice(0, 512);
      type = 'payment.refund_failed';
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
   * A REFUNDING refund recovery got no definite answer for within REFUND_REVIEW_AFTER goes to review, in the
   * caller's transaction; false when it settled or moved meanwhile.
   */
  async requireReview(manager: EntityManager, refundNo: string, reason: string): Promise<boolean> {
    const { payment, refund } = await this.lock(manager, refundNo);
    if (refund.status !== 'REFUNDING') return false;
    return this.toReview(manager, refund, payment, 'no_answer', reason, this.clock.now());
  }

  /**
   * The refund goes to NEEDS_REVIEW, out of recovery's schedule, for an operator: counted, logged and
   * announced (payment.refund_needs_review, the payment's version bumped as for every refund change).
   */
  private async toReview(
    manager: EntityManager,
    refund: Refund,
    payment: Payment,
    why: 'no_answer' | 'refused' | 'mismatch',
    reason: string,
    now: Date,
  ): Promise<boolean> {
    this.metrics.refundToReview(refund.channel, why);
    this.logger.warn(`refund ${refund.refundNo} needs review: ${reason}`);
    refund.status = 'NEEDS_REVIEW';
    refund.statusReason = reason.slice(0, 512);
    refund.nextQueryAt = null;
    refund.version += 1;
    refund.updatedAt = now;
    await this.refunds.save(manager, refund);
    payment.version += 1;
    payment.updatedAt = now;
    await this.payments.save(manager, payment);
    const paymentRefundedFen = await this.refunds.refundedFen(manager, payment.paymentNo);
    await this.outbox.append(manager, 'payment.refund_needs_review', payment, now, { ...refund, paymentRefundedFen });
    return true;
  }
}

export type { Refund };
