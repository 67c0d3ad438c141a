import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { newRefundNo } from '../../common/ids';
import { IdempotencyStore } from '../../idempotency/idempotency.store';
import { type IdempotencyContext, Replayed } from '../../idempotency/idempotency-context';
import type { Fen } from '../../common/money';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { OutboxWriter } from '../../notifications/outbox.writer';
import { PaymentNotFound, PaymentNotRefundable, RefundExceedsPaid, RefundNotFound } from '../payment-errors';
import { PaymentsRepository } from '../payments.repository';
import { FreshAnswer } from '../recovery/fresh-answer';
import { RecoveryEngine } from '../recovery/recovery-engine';
import { type RefundView, toRefundView } from './refund.entity';
import { RefundRecovery } from './refund-recovery.handler';
import { RefundsRepository } from './refunds.repository';

/**
 * A merchant's refund of a paid payment, full or partial. Under the payment's row lock: the payment must be
 * PAID and what is refunded or on its way back plus this amount must not exceed what was paid; the refund
 * row and its `payment.refund_started` event commit together (with the duplicate-submission key, so a
 * repeated request cannot make a second refund even with Redis down). Then, outside the transaction, the
 * gateway is asked; whatever it answers, the refund is driven to a definite result by recovery.
 */
@Injectable()
export class RefundsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(RefundRecovery) private readonly recovery: RefundRecovery,
    @Inject(RecoveryEngine) private readonly engine: RecoveryEngine,
    @Inject(IdempotencyStore) private readonly idempotency: IdempotencyStore,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(FreshAnswer) private readonly fresh: FreshAnswer,
  ) {}

  /** A refund of `applicationId`'s payment; another application's payment is PAYMENT_NOT_FOUND, like none. */
  async request(
    applicationId: string,
    paymentNo: string,
    command: { amountFen: Fen; reason: string },
    guard: IdempotencyContext | undefined,
  ): Promise<RefundView | Replayed<RefundView>> {
    // Ownership never changes, so it is read before the transaction; nothing is written for a stranger.
    if ((await this.payments.ownerOf(paymentNo)) !== applicationId) throw new PaymentNotFound(paymentNo);
    const created = await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      const refundNo = newRefundNo(now);
      if (guard) {
        const claim = await this.idempotency.claim(manager, guard, { type: 'refund', id: refundNo }, now);
        if (claim.kind === 'existing') {
          const original = await this.refunds.findByRefundNo(claim.resourceId, manager);
          if (!original) throw new Error(`idempotency key points at missing refund ${claim.resourceId}`);
          return new Replayed(toRefundView(original));
        }
      }
      const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
      if (!payment) throw new PaymentNotFound(paymentNo);
      if (payment.status !== 'PAID') throw new PaymentNotRefundable(paymentNo, payment.status);
      const paid = payment.paidAmountFen ?? payment.amountFen;
      const refundable = paid - (await this.refunds.committedFen(manager, paymentNo));
      if (command.amountFen > refundable) throw new RefundExceedsPaid(paymentNo, command.amountFen, refundable);
      const refund = await this.refunds.insert(manager, payment, {
        refundNo,
        amountFen: command.amountFen,
        reason: command.reason,
        kind: 'REQUESTED',
        autoKey: null,
        // Held for this request's own send; if the process dies before it, recovery sends it after this.
        nextQueryAt: this.engine.leaseUntil(),
        now,
      });
      payment.version += 1;
      payment.updatedAt = now;
      await this.payments.save(manager, payment);
      const paymentRefundedFen = await this.refunds.refundedFen(manager, paymentNo);
      await this.outbox.append(manager, 'payment.refund_started', payment, now, { ...refund, paymentRefundedFen });
      return refund;
    });
    if (created instanceof Replayed) return created;
    await this.recovery.work(created);
    return this.get(created.refundNo);
  }

  async get(refundNo: string): Promise<RefundView> {
    const refund = await this.refunds.findByRefundNo(refundNo);
    if (!refund) throw new RefundNotFound(refundNo);
    return toRefundView(refund);
  }

  /** `applicationId`'s refund; another application's is REFUND_NOT_FOUND, like none. */
  async getOf(applicationId: string, refundNo: string): Promise<RefundView> {
    const refund = await this.refunds.findByRefundNo(refundNo);
    if (!refund || (await this.payments.ownerOf(refund.paymentNo)) !== applicationId) {
      throw new RefundNotFound(refundNo);
    }
    return toRefundView(refund);
  }

  /**
   * `applicationId`'s refund after asking the vendor about it now (FreshAnswer): the send or the query recovery
   * would make next, applied like a refund notification. A settled refund, or one in review, is returned unasked.
   */
  async syncOf(applicationId: string, refundNo: string): Promise<RefundView> {
    const refund = await this.getOf(applicationId, refundNo);
    if (refund.status === 'REFUNDING') await this.fresh.ask('refund', refundNo);
    return this.get(refundNo);
  }

  async ofPayment(paymentNo: string): Promise<RefundView[]> {
    return (await this.refunds.findByPaymentNo(paymentNo)).map(toRefundView);
  }
}
