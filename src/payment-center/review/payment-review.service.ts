import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { DomainError } from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import type { Channel } from '../../gateways/gateway.types';
import { describe, eventOf } from '../gateway-answers';
import { PaymentCenter } from '../payment-center.service';
import { PaymentNotFound } from '../payment-errors';
import type { Payment } from '../payment.entity';
import { PaymentStateService } from '../payment-state.service';
import type { PaymentStatus } from '../payment-state-machine';
import { toPaymentView, type PaymentView } from '../payment.view';
import { PaymentsRepository } from '../payments.repository';
import { ask } from '../recovery/ask-gateway';
import { RecoveryEngine } from '../recovery/recovery-engine';
import type { RefundView } from '../refunds/refund.entity';
import { RefundsService } from '../refunds/refunds.service';

/**
 * What an operator may do with a payment in review. Neither one takes the operator's word for money:
 * `requery` applies only what the vendor answers now, `close` asks the vendor to close the trade and
 * applies only its answer (a paid trade becomes PAID: the money wins). There is deliberately no "mark
 * paid" or "mark failed".
 */
export const RESOLUTIONS = ['requery', 'close'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** Who asks, and why (kept with the payment's own records and in the admin audit). */
export interface Operator {
  actor: string;
  note: string;
  /**
   * Records the resolution (the admin audit) inside the transaction that applies it, so the change and its
   * record commit or roll back together. `status` is where the payment went in that transaction.
   */
  audit?: (
    manager: EntityManager,
    what: { status: PaymentStatus; gatewayAnswer: string; changed: boolean },
  ) => Promise<void>;
}

export class PaymentNotInReview extends DomainError {
  readonly code = 'PAYMENT_NOT_IN_REVIEW';
  constructor(paymentNo: string, status: string) {
    super(`Payment ${paymentNo} is ${status}; only a NEEDS_REVIEW payment can be resolved.`, {
      details: { paymentNo, status },
    });
  }
}

/** A payment with everything an operator reads before deciding (as GET /api/payments/:paymentNo shows it). */
export interface ReviewPaymentView extends PaymentView {
  history: Awaited<ReturnType<PaymentCenter['historyOf']>>;
  attempts: Awaited<ReturnType<PaymentCenter['attemptsOf']>>;
  refunds: RefundView[];
}

export interface ResolutionResult {
  action: Resolution;
  /** The vendor's answer in one line (for a close whose attempt is still running: where it stands). */
  gatewayAnswer: string;
  /** Whether the payment left NEEDS_REVIEW. */
  changed: boolean;
  status: PaymentStatus;
  payment: ReviewPaymentView;
}

/**
 * Payments that need an operator: listing them with their history, gateway attempts and refunds, and the
 * two resolutions. Every change goes through PaymentStateService (the row lock, the transition table, the
 * paid-facts check and the outbox event), exactly as a notification or a scheduled query would.
 */
@Injectable()
export class PaymentReview {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(RefundsService) private readonly refunds: RefundsService,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(RecoveryEngine) private readonly recovery: RecoveryEngine,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async list(filter: { status?: PaymentStatus; channel?: Channel; limit?: number }): Promise<ReviewPaymentView[]> {
    const found = await this.payments.findByStatus(filter.status ?? 'NEEDS_REVIEW', filter.limit ?? 50, filter.channel);
    return Promise.all(found.map((payment) => this.viewOf(payment)));
  }

  async get(paymentNo: string): Promise<ReviewPaymentView> {
    const payment = await this.payments.findByPaymentNo(paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    return this.viewOf(payment);
  }

  /**
   * Asks the vendor about the payment now, whatever its schedule, and applies a definite answer. A "paid"
   * still has to pass the amount and trade checks: a wrong amount keeps the payment in review. "Not paid
   * yet" or no answer changes nothing. The question is asked under recovery's lease, so no scheduled
   * query asks at the same time; the schedule is given back afterwards.
   */
  async requery(paymentNo: string, by: Operator): Promise<ResolutionResult> {
    const lease = this.recovery.leaseUntil();
    const claimed = await inTransaction(this.dataSource, async (manager) => {
      const payment = await this.lockInReview(manager, paymentNo);
      if (payment.nextQueryAt) await this.payments.setNextQueryAt(manager, payment.id, lease);
      return payment;
    });
    const result = await ask(
      async () => (await this.gateways.forAccount(claimed.channel, claimed.accountId)).query(paymentNo),
      this.config.gateways.timeoutMs + 1000,
    );
    const answer = describe(result);
    const event = eventOf(result);
    await inTransaction(this.dataSource, async (manager) => {
      await this.recordAttempt(manager, paymentNo, result.kind, `operator ${by.actor} (${by.note}): ${answer}`);
      const applied = event ? await this.state.apply(paymentNo, event, manager) : undefined;
      await by.audit?.(manager, {
        status: applied?.changed ? applied.to : 'NEEDS_REVIEW',
        gatewayAnswer: answer,
        changed: applied?.changed ?? false,
      });
      if (claimed.nextQueryAt) {
        // Still ours and still in review: back to the time recovery had planned.
        await this.payments.restoreNextQueryAt(
          manager,
          claimed.id,
          { status: 'NEEDS_REVIEW', leasedUntil: lease },
          claimed.nextQueryAt,
        );
      }
    });
    return this.resultOf('requery', paymentNo, answer);
  }

  /**
   * Sends the payment down the same close path as an expired order: CLOSING, then the vendor is asked to
   * close the trade. Only a confirmed close makes it CLOSED; a trade the buyer paid becomes PAID; no
   * definite answer is retried on the close schedule and ends in review again. The first close attempt
   * runs before this returns.
   */
  async close(paymentNo: string, by: Operator): Promise<ResolutionResult> {
    await inTransaction(this.dataSource, async (manager) => {
      await this.lockInReview(manager, paymentNo);
      const applied = await this.state.apply(
        paymentNo,
        {
          type: 'CLOSE_REQUESTED',
          reason: `operator ${by.actor} asked to close: ${by.note}`,
          nextQueryAt: this.clock.now(), // due now: the claim below (or the reconciler) takes it
        },
        manager,
      );
      await by.audit?.(manager, {
        status: applied.changed ? applied.to : 'NEEDS_REVIEW',
        gatewayAnswer: 'close requested',
        changed: applied.changed,
      });
    });
    // Recovery's own claim and close, attempt 1 of the close schedule.
    await this.recovery.run('payment', paymentNo, 0);
    const [last] = (await this.paymentCenter.attemptsOf(paymentNo)).filter((a) => a.action === 'close').slice(-1);
    return this.resultOf(
      'close',
      paymentNo,
      last ? `close: ${last.outcome} (${last.detail})` : 'close not attempted yet',
    );
  }

  private async lockInReview(manager: EntityManager, paymentNo: string): Promise<Payment> {
    const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    if (payment.status !== 'NEEDS_REVIEW') throw new PaymentNotInReview(paymentNo, payment.status);
    return payment;
  }

  private async recordAttempt(
    manager: EntityManager,
    paymentNo: string,
    outcome: string,
    detail: string,
  ): Promise<void> {
    const earlier = await this.payments.countAttempts(manager, paymentNo, 'review_query');
    await this.payments.insertAttempt(manager, {
      paymentNo,
      refundNo: null,
      action: 'review_query',
      attempt: earlier + 1,
      outcome,
      detail: detail.slice(0, 512),
      createdAt: this.clock.now(),
    });
  }

  private async resultOf(action: Resolution, paymentNo: string, gatewayAnswer: string): Promise<ResolutionResult> {
    const payment = await this.get(paymentNo);
    return { action, gatewayAnswer, changed: payment.status !== 'NEEDS_REVIEW', status: payment.status, payment };
  }

  private async viewOf(payment: Payment): Promise<ReviewPaymentView> {
    const [history, attempts, refunds] = await Promise.all([
      this.paymentCenter.historyOf(payment.paymentNo),
      this.paymentCenter.attemptsOf(payment.paymentNo),
      this.refunds.ofPayment(payment.paymentNo),
    ]);
    return { ...toPaymentView(payment), history, attempts, refunds };
  }
}
