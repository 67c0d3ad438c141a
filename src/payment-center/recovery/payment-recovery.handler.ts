import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { withLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import { MetricsService } from '../../metrics/metrics.service';
import type { BarcodePayResult, CloseResult } from '../../gateways/gateway.types';
import { describe, eventOf } from '../gateway-answers';
import type { Payment, PaymentAttempt } from '../payment.entity';
import { type PaymentEvent, PaymentStateService } from '../payment-state.service';
import type { PaymentStatus } from '../payment-state-machine';
import { PaymentsRepository } from '../payments.repository';
import { ask } from './ask-gateway';
import { RecoveryEngine } from './recovery-engine';
import type { DueClaim, OneClaim, RecoveryHandler } from './recovery-handler';
import {
  afterUnansweredClose,
  EARLY_TOLERANCE_MS,
  createCallWindowEnds,
  nextQueryAt,
  reviewRequeryAt,
} from './recovery-schedule';
import { BARCODE_PROTOCOL, type BarcodeProtocol } from '../barcode/barcode-protocol';
import { type BarcodeAnswer, type BarcodeNext, barcodeNext, describeBarcode } from '../barcode/barcode-steps';

/** Statuses in which recovery still asks the gateway (when the row has a next query time). */
export const RECOVERABLE: readonly PaymentStatus[] = ['PAYING', 'CLOSING', 'NEEDS_REVIEW'];

type Next = BarcodeNext;

/**
 * The recovery engine's payment work: asks the gateway about a payment whose result did not arrive,
 * closes the trade when the order expires, and sends what cannot be decided to review. The answer is
 * applied through the one locked state change; an answer that arrives after the payment moved on changes
 * nothing.
 */
@Injectable()
export class PaymentRecovery implements RecoveryHandler<Payment>, OnModuleInit {
  readonly kind = 'payment';
  readonly statuses = RECOVERABLE;
  private readonly logger = new Logger(PaymentRecovery.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RecoveryEngine) private readonly engine: RecoveryEngine,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(BARCODE_PROTOCOL) private readonly barcode: BarcodeProtocol,
  ) {}

  onModuleInit(): void {
    this.engine.register(this);
  }

  claimDue(manager: EntityManager, claim: DueClaim): Promise<Payment[]> {
    return this.payments.claimDueSkippingLocked(manager, claim);
  }

  claimOne(manager: EntityManager, paymentNo: string, claim: OneClaim): Promise<Payment | undefined> {
    return this.payments.claimOneSkippingLocked(manager, paymentNo, claim);
  }

  work(payment: Payment): Promise<void> {
    return withLogContext({ paymentNo: payment.paymentNo, orderNo: payment.orderNo }, () => this.workOn(payment));
  }

  private async workOn(payment: Payment): Promise<void> {
    try {
      if (payment.status === 'PAYING' && this.clock.now() >= payment.expiresAt) {
        const expired = {
          type: 'CLOSE_REQUESTED' as const,
          reason: 'the order expired without a payment result',
          nextQueryAt: this.engine.leaseUntil(),
        };
        const closing = await inTransaction(this.dataSource, (manager) =>
          this.state.apply(payment.paymentNo, expired, manager),
        );
        if (closing.payment.status !== 'CLOSING') return; // a result arrived meanwhile
        // A barcode trade is reversed, never closed (the vendors' rule), and not before its time (see reverse).
        return await (payment.mode === 'barcode' ? this.reverse(closing.payment) : this.close(closing.payment));
      }
      if (payment.status === 'CLOSING') {
        return await (payment.mode === 'barcode' ? this.reverse(payment) : this.close(payment));
      }
      if (payment.mode === 'barcode' && payment.status === 'PAYING') return await this.queryBarcode(payment);
      return await this.query(payment);
    } catch (error) {
      // The claim's lease ends and the row comes due again: nothing is lost.
      this.logger.warn(`recovery of ${payment.paymentNo} failed: ${(error as Error).message}`);
    }
  }

  private async query(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    const gateway = () => this.gateways.forAccount(payment.channel, payment.accountId);
    const result = await this.ask(async () => (await gateway()).query(payment.paymentNo));
    const now = this.clock.now();
    const event = eventOf(result);
    let next: Next;
    if (event) next = { event };
    else if (payment.status === 'NEEDS_REVIEW')
      next = { at: reviewRequeryAt(now, this.config.recovery), reason: describe(result) };
    else next = { at: nextQueryAt(now, attempt, payment.expiresAt, this.config.recovery), reason: describe(result) };
    await this.record(payment, 'query', attempt, result.kind, describe(result), next);
  }

  /**
   * A barcode payment's one pay call answered (StartBarcodeUseCase): recorded as attempt 1 of `pay`, what follows
   * decided by BARCODE_PROTOCOL as for any later answer. The query count stays 0: the first query is still due.
   */
  async recordPay(payment: Payment, result: BarcodePayResult): Promise<void> {
    const answer: BarcodeAnswer = { step: 'pay', result };
    const next = this.barcodeNext(payment, answer, 1);
    await this.record(payment, 'pay', 0, result.kind, describeBarcode(answer), next, 1);
  }

  /** A barcode payment in its query window: BARCODE_PROTOCOL decides what the answer leads to. */
  private async queryBarcode(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    const result = await this.ask(async () =>
      (await this.gateways.forAccount(payment.channel, payment.accountId)).query(payment.paymentNo),
    );
    const answer: BarcodeAnswer = { step: 'query', result };
    await this.record(
      payment,
      'query',
      attempt,
      result.kind,
      describeBarcode(answer),
      this.barcodeNext(payment, answer, attempt),
    );
  }

  /**
   * A barcode payment in CLOSING: its trade is reversed at the vendor (WeChat 撤销, Alipay cancel, UnionPay
   * cancel/reversal), never sooner than BARCODE_REVERSE_NOT_BEFORE after the pay, and again until the vendor
   * answers definitely; BARCODE_PROTOCOL decides what each answer leads to.
   */
  private async reverse(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    // Closed at expiry or superseded early: the reverse still waits for its time (and for the pay call's window).
    const due = Math.max(
      payment.createdAt.getTime() + this.config.barcode.reverseNotBeforeMs,
      createCallWindowEnds(payment.createdAt, this.config.gateways.timeoutMs).getTime(),
    );
    if (this.clock.now().getTime() < due - EARLY_TOLERANCE_MS) {
      const next = { at: new Date(due), reason: 'the reverse waits for BARCODE_REVERSE_NOT_BEFORE after the pay' };
      return inTransaction(this.dataSource, (manager) =>
        this.reschedule(manager, payment, payment.queryAttempts, next),
      );
    }
    const gateway = () => this.gateways.forAccount(payment.channel, payment.accountId);
    if (attempt > 1 && (await gateway()).queryShowsReversal) {
      // A repeated reverse asks first, where the vendor's query tells a reversed trade apart. A trade it holds paid
      // now was paid by the buyer and not reversed by us (the last reverse's call window is over: one that had gone
      // through would show the trade reversed), so it is PAID: a vendor that refuses to reverse a paid trade cannot
      // keep the payment open forever. Any other answer leaves it to the reverse, which alone says whether money
      // went back.
      const found = await this.ask(async () => (await gateway()).query(payment.paymentNo));
      if (found.kind === 'paid') {
        const answer: BarcodeAnswer = { step: 'query', result: found };
        const { gatewayTradeNo, paidAmountFen, paidAt } = found;
        const next = { event: { type: 'PAID_CONFIRMED' as const, gatewayTradeNo, paidAmountFen, paidAt } };
        return this.record(payment, 'query', attempt, found.kind, describeBarcode(answer), next);
      }
    }
    const result = await this.ask(async () =>
      (await gateway()).reverse({ paymentNo: payment.paymentNo, gatewayTradeNo: payment.gatewayTradeNo }),
    );
    const answer: BarcodeAnswer = { step: 'reverse', result };
    await this.record(
      payment,
      'reverse',
      attempt,
      result.kind,
      describeBarcode(answer),
      this.barcodeNext(payment, answer, attempt),
    );
  }

  private barcodeNext(payment: Payment, answer: BarcodeAnswer, attempt: number): Next {
    return barcodeNext(this.barcode, answer, {
      payAt: payment.createdAt,
      callWindowEnds: createCallWindowEnds(payment.createdAt, this.config.gateways.timeoutMs),
      callWindowMs: createCallWindowEnds(new Date(0), this.config.gateways.timeoutMs).getTime(),
      attempt,
      now: this.clock.now(),
      timing: this.config.barcode,
      longTailMs: this.config.recovery.longTailMs,
    });
  }

  private async close(payment: Payment): Promise<void> {
    const attempt = payment.queryAttempts + 1;
    const gateway = () => this.gateways.forAccount(payment.channel, payment.accountId);
    const closed = await this.ask<CloseResult>(async () =>
      (await gateway()).close({ paymentNo: payment.paymentNo, expiresAt: payment.expiresAt }),
    );
    let outcome: string = closed.kind;
    let detail = closed.kind === 'unknown' ? closed.reason : `close answered ${closed.kind}`;
    let event: PaymentEvent | undefined;
    if (closed.kind === 'closed') event = { type: 'CLOSED_CONFIRMED' };
    if (closed.kind === 'paid') {
      // The buyer paid before the close: the money wins. The query brings the facts (trade number, amount).
      const result = await this.ask(async () => (await gateway()).query(payment.paymentNo));
      event = result.kind === 'paid' ? eventOf(result) : undefined;
      outcome = event ? 'paid' : 'unknown';
      detail = `close answered paid; query: ${describe(result)}`;
    }
    const now = this.clock.now();
    let next: Next;
    // Attempts made before the expiry (a superseded payment's) do not count toward review; read only then.
    const sinceExpiry =
      event || now < payment.expiresAt
        ? 0
        : attempt === 1
          ? 1
          : (await this.payments.countAttemptsSince(payment.paymentNo, 'close', payment.expiresAt)) + 1;
    const retryAt = afterUnansweredClose(now, { done: attempt, sinceExpiry }, payment.expiresAt, this.config.recovery);
    if (event) next = { event };
    else if (retryAt === 'review') {
      next = {
        event: {
          type: 'REVIEW_REQUIRED',
          reason: `no definite answer after ${sinceExpiry} close attempts since the order expired (last: ${detail})`,
          nextQueryAt: reviewRequeryAt(now, this.config.recovery),
        },
      };
    } else next = { at: retryAt, reason: detail };
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
    loggedAttempt = attempt,
  ): Promise<void> {
    this.metrics.gatewayAttempt(payment.channel, payment.accountId, action, outcome);
    await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      await this.payments.insertAttempt(manager, {
        paymentNo: payment.paymentNo,
        refundNo: null,
        action,
        attempt: loggedAttempt,
        outcome,
        detail: detail.slice(0, 512),
        createdAt: now,
      });
      if ('reversal' in next) await this.state.recordReversal(manager, payment.paymentNo, next.reversal);
      else if ('event' in next) await this.state.apply(payment, next.event, manager);
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
  }

  private ask<T>(call: () => Promise<T>): Promise<T | { kind: 'unknown'; reason: string }> {
    return ask(call, this.config.gateways.timeoutMs + 1000);
  }
}
