import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { withLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import { MetricsService } from '../../metrics/metrics.service';
import type { CloseResult } from '../../gateways/gateway.types';
import { describe, eventOf } from '../gateway-answers';
import { Payment, PaymentAttempt } from '../payment.entity';
import { type PaymentEvent, PaymentStateService } from '../payment-state.service';
import type { PaymentStatus } from '../payment-state-machine';
import { PaymentsRepository } from '../payments.repository';
import { ask, claimDue, claimOne, EARLY_TOLERANCE_MS, forEachLimited, recoveryLeaseMs } from './claims';
import { QueryScheduler } from './query-scheduler';
import { closeDelayMs, nextQueryAt } from './recovery-schedule';

/** Statuses in which recovery still asks the gateway (when the row has a next query time). */
export const RECOVERABLE: readonly PaymentStatus[] = ['PAYING', 'CLOSING', 'NEEDS_REVIEW'];

type Next = { at: Date; reason: string } | { event: PaymentEvent };

/**
 * Recovers payments whose result did not arrive: asks the gateway on the schedule, closes the trade when
 * the order expires, and sends what cannot be decided to review. Bull jobs run it on time; the reconciler
 * runs it over whatever the database says is due.
 *
 * Every run first *claims* the payment in a short transaction (`FOR UPDATE SKIP LOCKED`, then the next
 * query time is pushed to the end of a lease), commits, and only then calls the gateway. So no two
 * instances ask about the same payment at once, no transaction is open during the call, and a process
 * that dies mid-call leaves a row that comes due again when the lease ends. The answer is applied through
 * the one locked state change; an answer that arrives after the payment moved on changes nothing.
 */
@Injectable()
export class PaymentRecovery {
  private readonly logger = new Logger(PaymentRecovery.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(QueryScheduler) private readonly scheduler: QueryScheduler,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  private get leaseMs(): number {
    return recoveryLeaseMs(this.config.gateways.timeoutMs);
  }

  /**
   * Claims up to `limit` payments due at least `graceMs` ago, oldest first, and works through them.
   * The range scan on `next_query_at` reads due rows only. Returns how many it claimed.
   */
  async sweep(limit: number, graceMs: number): Promise<number> {
    const now = this.clock.now().getTime();
    const claimed = await claimDue(this.dataSource, Payment, {
      index: 'ix_payments_next_query',
      statuses: RECOVERABLE,
      dueBefore: new Date(now - graceMs),
      limit,
      leaseUntil: new Date(now + this.leaseMs),
    });
    await forEachLimited(claimed, 8, (payment) => this.work(payment));
    return claimed.length;
  }

  /** A Bull job's turn: works on the payment if it is still at the job's attempt and due. */
  async runJob(paymentNo: string, attempt: number): Promise<'worked' | 'skipped'> {
    const now = this.clock.now().getTime();
    const payment = await claimOne(this.dataSource, Payment, {
      key: { column: 'paymentNo', value: paymentNo },
      attempt,
      statuses: RECOVERABLE,
      dueBefore: new Date(now + EARLY_TOLERANCE_MS),
      leaseUntil: new Date(now + this.leaseMs),
    });
    if (!payment) return 'skipped';
    await this.work(payment);
    return 'worked';
  }

  private work(payment: Payment): Promise<void> {
    return withLogContext({ paymentNo: payment.paymentNo, orderNo: payment.orderNo }, () => this.workOn(payment));
  }

  private async workOn(payment: Payment): Promise<void> {
    try {
      if (payment.status === 'PAYING' && this.clock.now() >= payment.expiresAt) {
        const closing = await this.state.apply(payment.paymentNo, {
          type: 'CLOSE_REQUESTED',
          reason: 'the order expired without a payment result',
          nextQueryAt: new Date(this.clock.now().getTime() + this.leaseMs),
        });
        if (closing.payment.status !== 'CLOSING') return; // a result arrived meanwhile
        return await this.close(closing.payment);
      }
      if (payment.status === 'CLOSING') return await this.close(payment);
      return await this.query(payment);
    } catch (error) {
      // The claim's lease ends and the row comes due again: nothing is lost.
      this.logger.warn(`recovery of ${payment.paymentNo} failed: ${(error as Error).message}`);
    }
  }

  private async query(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    const result = await this.ask(() => this.gateways.get(payment.channel).query(payment.paymentNo));
    const now = this.clock.now();
    const event = eventOf(result);
    let next: Next;
    if (event) next = { event };
    else if (payment.status === 'NEEDS_REVIEW')
      next = { at: new Date(now.getTime() + this.config.recovery.reviewRequeryMs), reason: describe(result) };
    else next = { at: nextQueryAt(now, attempt, payment.expiresAt, this.config.recovery), reason: describe(result) };
    await this.record(payment, 'query', attempt, result.kind, describe(result), next);
  }

  private async close(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    const gateway = this.gateways.get(payment.channel);
    const closed = await this.ask<CloseResult>(() =>
      gateway.close({ paymentNo: payment.paymentNo, expiresAt: payment.expiresAt }),
    );
    let outcome: string = closed.kind;
    let detail = closed.kind === 'unknown' ? closed.reason : `close answered ${closed.kind}`;
    let event: PaymentEvent | undefined;
    if (closed.kind === 'closed') event = { type: 'CLOSED_CONFIRMED' };
    if (closed.kind === 'paid') {
      // The buyer paid before the close: the money wins. The query brings the facts (trade number, amount).
      const result = await this.ask(() => gateway.query(payment.paymentNo));
      event = result.kind === 'paid' ? eventOf(result) : undefined;
      outcome = event ? 'paid' : 'unknown';
      detail = `close answered paid; query: ${describe(result)}`;
    }
    const now = this.clock.now();
    let next: Next;
    if (event) next = { event };
    else if (attempt >= this.config.recovery.closeAttempts) {
      next = {
        event: {
          type: 'REVIEW_REQUIRED',
          reason: `no definite answer after ${attempt} close attempts since the order expired (last: ${detail})`,
          nextQueryAt: new Date(now.getTime() + this.config.recovery.reviewRequeryMs),
        },
      };
    } else next = { at: new Date(now.getTime() + closeDelayMs(attempt, this.config.recovery)), reason: detail };
    await this.record(payment, 'close', attempt, outcome, detail, next);
  }

  /**
   * Writes the attempt and its consequence in one transaction: a state change through the locked function,
   * or the next query time, if the payment is still where this attempt found it.
   */
  private async record(
    payment: Payment,
    action: PaymentAttempt['action'],
    attempt: number,
    outcome: string,
    detail: string,
    next: Next,
  ): Promise<void> {
    this.metrics.gatewayAttempt(payment.channel, action, outcome);
    await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      await this.payments.insertAttempt(manager, {
        paymentNo: payment.paymentNo,
        refundNo: null,
        action,
        attempt,
        outcome,
        detail: detail.slice(0, 512),
        createdAt: now,
      });
      if ('event' in next) await this.state.apply(payment, next.event, manager);
      else await this.reschedule(manager, payment, attempt, next);
    });
  }

  private async reschedule(
    manager: EntityManager,
    claimed: Payment,
    attempt: number,
    next: { at: Date; reason: string },
  ): Promise<void> {
    const payment = await this.payments.lockById(manager, claimed.id);
    if (!payment) throw new Error(`payment ${claimed.paymentNo} vanished while it was being asked about`);
    // Moved on while we asked (a notification, an operator): its new state decides what is next.
    if (payment.status !== claimed.status || payment.queryAttempts !== claimed.queryAttempts) return;
    await this.payments.rescheduleQuery(manager, payment.id, {
      queryAttempts: attempt,
      nextQueryAt: next.at,
      statusReason: `attempt ${attempt}: ${next.reason}`.slice(0, 512),
      updatedAt: this.clock.now(),
    });
    this.scheduler.schedule(manager, payment.paymentNo, attempt, next.at);
  }

  private ask<T>(call: () => Promise<T>): Promise<T | { kind: 'unknown'; reason: string }> {
    return ask(call, this.config.gateways.timeoutMs + 1000);
  }
}
