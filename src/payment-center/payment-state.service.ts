import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { addLogContext } from '../common/logging/log-context';
import type { Fen } from '../common/money';
import { afterCommit, ER_DUP_ENTRY, mysqlErrno } from '../database/transaction';
import { OutboxWriter } from '../notifications/outbox.writer';
import { GatewayTradeNoConflict, IllegalTransition, PaymentNotFound } from './payment-errors';
import type { Payment } from './payment.entity';
import { decide, type PaymentEventType, type PaymentStatus } from './payment-state-machine';
import { PaymentsRepository } from './payments.repository';
import { PaymentWaits } from './payment-waits';
import { supersededCloseAt } from './recovery/recovery-schedule';
import type { Refund, RefundKind } from './refunds/refund.entity';
import { RefundsRepository } from './refunds/refunds.repository';

/** An event and the facts it carries. */
export type PaymentEvent =
  | { type: 'START'; nextQueryAt: Date }
  | { type: 'PAID_CONFIRMED'; gatewayTradeNo: string; paidAmountFen: Fen; paidAt: Date }
  | { type: 'FAILED_CONFIRMED'; reason: string }
  /**
   * Ask the gateway to close: the order expired, or another payment made this one unnecessary. `nextQueryAt`:
   * when the close is due (again, if this attempt dies).
   */
  | { type: 'CLOSE_REQUESTED'; reason: string; nextQueryAt: Date }
  | { type: 'CLOSED_CONFIRMED' }
  /** `nextQueryAt` when the gateway should still be asked now and then (no answer yet); none for a fact to judge. */
  | { type: 'REVIEW_REQUIRED'; reason: string; nextQueryAt?: Date }
  /** A barcode trade reversed at the vendor, nothing known to be taken: see `recordReversal`. */
  | { type: 'REVERSED_CONFIRMED'; reason: string };

export type TransitionOutcome =
  | {
      changed: true;
      from: PaymentStatus;
      to: PaymentStatus;
      payment: Payment;
      /** Money that arrived where it should not (late or duplicate): its automatic refund, to send after commit. */
      refund?: Refund;
    }
  | { changed: false; payment: Payment };

/**
 * A payment by its number, or as the caller read it: its order number never changes, so a caller that has
 * it spares the locked transaction a read.
 */
export type PaymentRef = string | Pick<Payment, 'paymentNo' | 'orderNo'>;

/**
 * The one function that changes a payment's status. It locks the payment row (SELECT … FOR UPDATE),
 * checks the event against the transition table, writes the new state and its history row, and returns
 * what changed. A repeated or stale event changes nothing and writes nothing.
 */
@Injectable()
export class PaymentStateService {
  private readonly logger = new Logger(PaymentStateService.name);

  constructor(
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(PaymentWaits) private readonly waits: PaymentWaits,
  ) {}

  /**
   * Applies `event` in the caller's transaction (`inTransaction`): the caller decides what else commits
   * with the change. A change partners care about writes its outbox event in the same transaction; what
   * follows the commit (the relay's wake-up, an automatic refund's send, the log line) is registered on it.
   */
  apply(payment: PaymentRef, event: PaymentEvent, manager: EntityManager): Promise<TransitionOutcome> {
    return this.applyLocked(manager, payment, event);
  }

  /**
   * A "paid" whose amount differs from the payment's, or that names another vendor trade than the one we
   * know, is not applied as paid: the payment goes to review with the reason, for an operator to decide.
   */
  private async checkPaidFacts(manager: EntityManager, payment: Payment, event: PaymentEvent): Promise<PaymentEvent> {
    if (event.type !== 'PAID_CONFIRMED' || payment.status === 'PAID') return event;
    const other = await this.payments.findByGatewayTradeNo(manager, payment.channel, event.gatewayTradeNo);
    if (other && other.paymentNo !== payment.paymentNo) {
      return {
        type: 'REVIEW_REQUIRED',
        reason: `gateway reports trade ${event.gatewayTradeNo} paid, which is already recorded for payment ${other.paymentNo}`,
      };
    }
    if (event.paidAmountFen !== payment.amountFen) {
      return {
        type: 'REVIEW_REQUIRED',
        reason: `gateway reports ${event.paidAmountFen} fen paid (trade ${event.gatewayTradeNo}), payment is ${payment.amountFen} fen`,
      };
    }
    if (payment.gatewayTradeNo && payment.gatewayTradeNo !== event.gatewayTradeNo) {
      return {
        type: 'REVIEW_REQUIRED',
        reason: `gateway reports trade ${event.gatewayTradeNo} paid, payment has trade ${payment.gatewayTradeNo}`,
      };
    }
    return event;
  }

  /**
   * A new payment, written already started: START is applied to the draft (CREATED) in memory — the same
   * transition table, facts and version as `apply` — and the row is inserted once, as PAYING, with its
   * history row. The rows are those of inserting it CREATED and applying START, without the second write.
   * Any other event goes through `apply`.
   */
  async insertStarted(
    manager: EntityManager,
    draft: Omit<Payment, 'id'>,
    event: Extract<PaymentEvent, { type: 'START' }>,
  ): Promise<TransitionOutcome> {
    const from = draft.status;
    const decision = decide(from, event.type);
    if (decision.kind !== 'move') throw new IllegalTransition(draft.paymentNo, from, event.type);
    addLogContext({ paymentNo: draft.paymentNo, orderNo: draft.orderNo });
    const now = this.clock.now();
    const started = { ...draft, status: decision.to, version: draft.version + 1, updatedAt: now };
    this.applyFacts(started, event, decision.to, now);
    const payment = await this.payments.insert(manager, started);
    await this.appendTransition(manager, payment, event, from, now);
    await this.outbox.appendStatusEvent(manager, payment, now);
    return { changed: true, from, to: decision.to, payment };
  }

  private async applyLocked(manager: EntityManager, ref: PaymentRef, event: PaymentEvent): Promise<TransitionOutcome> {
    const paymentNo = typeof ref === 'string' ? ref : ref.paymentNo;
    if (event.type === 'PAID_CONFIRMED') {
      // Deciding whether this money pays the order or goes back needs the order's other payments stable:
      // lock the order's intent first (the order start locks in: intent, then payment), then the order's
      // payments in one locking read, this one among them.
      const orderNo = typeof ref === 'string' ? await this.payments.orderNoOf(manager, paymentNo) : ref.orderNo;
      if (orderNo) {
        await this.payments.lockIntentIfAny(manager, orderNo);
        const ofOrder = await this.payments.readOrderPaymentsLocked(manager, orderNo);
        const payment = ofOrder.find((p) => p.paymentNo === paymentNo);
        if (!payment) throw new PaymentNotFound(paymentNo);
        return this.applyToLocked(manager, payment, event, ofOrder);
      }
    }
    const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    return this.applyToLocked(manager, payment, event);
  }

  /**
   * The payment's row lock is held and `payment` is its current row; `ofOrder`, when given, is every payment
   * of its order as read under their row locks (this one included).
   */
  private async applyToLocked(
    manager: EntityManager,
    payment: Payment,
    event: PaymentEvent,
    ofOrder?: Payment[],
  ): Promise<TransitionOutcome> {
    const paymentNo = payment.paymentNo;
    addLogContext({ paymentNo, orderNo: payment.orderNo });
    const from = payment.status;
    event = await this.checkPaidFacts(manager, payment, event);
    const decision = decide(from, event.type);
    switch (decision.kind) {
      case 'ignore':
        return { changed: false, payment };
      case 'illegal':
        throw new IllegalTransition(paymentNo, from, event.type);
      case 'move':
        break;
    }
    const now = this.clock.now();
    this.applyFacts(payment, event, decision.to, now);
    payment.status = decision.to;
    payment.version += 1;
    payment.updatedAt = now;
    try {
      await this.payments.save(manager, payment);
    } catch (error) {
      if (mysqlErrno(error) === ER_DUP_ENTRY) throw new GatewayTradeNoConflict(paymentNo, payment.gatewayTradeNo ?? '');
      throw error;
    }
    await this.appendTransition(manager, payment, event, from, now);
    const surplus = decision.to === 'PAID' ? await this.surplusOf(manager, payment, from, ofOrder) : undefined;
    if (surplus?.kind === 'REVERSAL') {
      const refund = await this.recordReturned(manager, payment, now);
      return { changed: true, from, to: decision.to, payment, refund };
    }
    if (surplus) {
      // Recorded as received, never lost — and returned: the order was closed, or is paid already.
      const refund = await this.refunds.insertAutomatic(manager, payment, surplus, now);
      const paymentRefundedFen = await this.refunds.refundedFen(manager, payment.paymentNo);
      await this.outbox.append(manager, 'payment.refund_started', payment, now, { ...refund, paymentRefundedFen });
      this.logAfterCommit(manager, payment, from, ` (${refund.kind} refund ${refund.refundNo})`);
      return { changed: true, from, to: decision.to, payment, refund };
    }
    await this.outbox.appendStatusEvent(manager, payment, now);
    this.logAfterCommit(manager, payment, from, '');
    if (decision.to === 'PAID' && ofOrder) {
      // The order is paid: its other trades must not take the buyer's money too.
      await this.closeSuperseded(manager, ofOrder, payment, `order ${payment.orderNo} was paid by ${paymentNo}`);
    }
    return { changed: true, from, to: decision.to, payment };
  }

  /**
   * A barcode trade the vendor reversed (BARCODE_PROTOCOL: `reversed`, `reversed_refunded`), in the caller's
   * transaction, under the order's intent and payment locks as a paid answer is:
   * - the payment is PAID here (the money arrived): it stays PAID and the money is recorded returned, a REVERSAL
   *   refund (REFUNDED at once: the vendor returned it, no refund is sent);
   * - the vendor says the reverse returned a payment (`moneyReturned`): PAID with the same REVERSAL refund;
   * - otherwise CLOSED, `reversedAt` set: a paid answer that arrives later (the buyer paid just before the
   *   reverse) is recorded the same way, paid and returned, never kept.
   */
  async recordReversal(
    manager: EntityManager,
    paymentNo: string,
    reversal: { moneyReturned: boolean; gatewayTradeNo?: string },
  ): Promise<TransitionOutcome> {
    const orderNo = await this.payments.orderNoOf(manager, paymentNo);
    if (!orderNo) throw new PaymentNotFound(paymentNo);
    await this.payments.lockIntentIfAny(manager, orderNo);
    const ofOrder = await this.payments.readOrderPaymentsLocked(manager, orderNo);
    const payment = ofOrder.find((p) => p.paymentNo === paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    addLogContext({ paymentNo, orderNo });
    if (payment.reversedAt) return { changed: false, payment };
    const now = this.clock.now();
    payment.reversedAt = now;
    if (payment.status === 'PAID') {
      payment.version += 1;
      payment.updatedAt = now;
      await this.payments.save(manager, payment);
      this.waits.changed(manager, paymentNo, true);
      const refund = await this.recordReturned(manager, payment, now);
      return { changed: true, from: 'PAID', to: 'PAID', payment, refund };
    }
    const tradeNo = reversal.gatewayTradeNo ?? payment.gatewayTradeNo;
    if (reversal.moneyReturned && tradeNo) {
      const paid = {
        type: 'PAID_CONFIRMED' as const,
        gatewayTradeNo: tradeNo,
        paidAmountFen: payment.amountFen,
        paidAt: now,
      };
      return this.applyToLocked(manager, payment, paid, ofOrder);
    }
    const reason = reversal.moneyReturned
      ? 'reversed at the vendor, which returned a payment it did not name'
      : 'reversed at the vendor: nothing taken, or what was taken returned';
    return this.applyToLocked(manager, payment, { type: 'REVERSED_CONFIRMED', reason }, ofOrder);
  }

  /** The REVERSAL refund of money a reverse returned, with its event (the refund is done: payment.refunded). */
  private async recordReturned(manager: EntityManager, payment: Payment, now: Date): Promise<Refund> {
    const refund = await this.refunds.insertReversal(
      manager,
      payment,
      'the vendor returned it when the trade was reversed',
      now,
    );
    const paymentRefundedFen = await this.refunds.refundedFen(manager, payment.paymentNo);
    await this.outbox.append(manager, 'payment.refunded', payment, now, { ...refund, paymentRefundedFen });
    this.logAfterCommit(manager, payment, 'PAID', ` (the reverse returned it: ${refund.refundNo})`);
    return refund;
  }

  /**
   * The buyer started `started` (on another channel or account than the order's open payments): the earlier
   * trades are closed at their vendors, so that the buyer cannot pay both. Call under the order's intent
   * lock, in the transaction that inserted `started`.
   */
  async supersede(manager: EntityManager, started: Payment): Promise<void> {
    const ofOrder = await this.payments.readOrderPaymentsLocked(manager, started.orderNo);
    const reason = `the buyer started payment ${started.paymentNo} (${started.channel}) instead`;
    await this.closeSuperseded(manager, ofOrder, started, reason);
  }

  /**
   * Moves the order's other PAYING payments (`ofOrder`, read under their row locks) to CLOSING: the same close
   * as at expiry, due at once (or when the payment's own create call can no longer land), which recovery makes
   * at the vendor. A payment that turns out paid meanwhile is refunded as any second payment ("money wins").
   */
  private async closeSuperseded(manager: EntityManager, ofOrder: Payment[], by: Payment, reason: string) {
    const open = ofOrder.filter((p) => p.paymentNo !== by.paymentNo && p.status === 'PAYING');
    for (const payment of open) {
      const at = supersededCloseAt(this.clock.now(), payment, this.config.gateways.timeoutMs);
      await this.applyToLocked(manager, payment, { type: 'CLOSE_REQUESTED', reason, nextQueryAt: at });
    }
  }

  private logAfterCommit(manager: EntityManager, payment: Payment, from: PaymentStatus, extra: string): void {
    const line = `payment ${payment.paymentNo} ${from} → ${payment.status}${extra}`;
    afterCommit(manager, () => this.logger.log(line));
  }

  /** The history row of a change `payment` (already in its new state and version) went through; its waiters wake. */
  private appendTransition(
    manager: EntityManager,
    payment: Pick<Payment, 'paymentNo' | 'status' | 'version' | 'mode'>,
    event: PaymentEvent,
    from: PaymentStatus,
    now: Date,
  ): Promise<void> {
    // Announced to other instances only for a barcode payment's counter, and never its start: nobody can be
    // waiting on a payment number not yet given out.
    this.waits.changed(manager, payment.paymentNo, payment.mode === 'barcode' && event.type !== 'START');
    return this.payments.appendTransition(manager, {
      paymentNo: payment.paymentNo,
      event: event.type,
      fromStatus: from,
      toStatus: payment.status,
      version: payment.version,
      detail: detailOf(event),
      createdAt: now,
    });
  }

  /**
   * Money for a payment that must not keep it: the payment was closed here (its order closed with it), or
   * another payment of the same order is already paid. The first paid payment is the one kept.
   */
  private async surplusOf(
    manager: EntityManager,
    payment: Payment,
    from: PaymentStatus,
    ofOrder?: Payment[],
  ): Promise<{ kind: RefundKind; reason: string } | undefined> {
    // The vendor reversed the trade: whatever was paid on it went back with the reverse.
    if (payment.reversedAt) return { kind: 'REVERSAL', reason: 'the vendor returned it when the trade was reversed' };
    // A locking read: it sees what committed while this transaction waited for the intent lock, which a
    // plain read (this transaction's snapshot) would not.
    const others = ofOrder ?? (await this.payments.readOrderPaymentsLocked(manager, payment.orderNo));
    const paid = others.find((p) => p.status === 'PAID' && p.paymentNo !== payment.paymentNo);
    if (paid) {
      return { kind: 'DUPLICATE_PAYMENT', reason: `order ${payment.orderNo} was already paid by ${paid.paymentNo}` };
    }
    if (from === 'CLOSED')
      return { kind: 'LATE_PAYMENT', reason: `paid after payment ${payment.paymentNo} was closed` };
    return undefined;
  }

  private applyFacts(payment: Omit<Payment, 'id'>, event: PaymentEvent, to: PaymentStatus, now: Date): void {
    switch (event.type) {
      case 'START':
        payment.nextQueryAt = event.nextQueryAt;
        payment.queryAttempts = 0;
        break;
      case 'PAID_CONFIRMED':
        payment.gatewayTradeNo = event.gatewayTradeNo;
        payment.paidAmountFen = event.paidAmountFen;
        payment.paidAt = event.paidAt;
        payment.statusReason = null;
        break;
      case 'FAILED_CONFIRMED':
        payment.statusReason = event.reason.slice(0, 512);
        break;
      case 'CLOSE_REQUESTED':
        payment.statusReason = event.reason.slice(0, 512);
        payment.queryAttempts = 0; // from here on, attempts count close attempts
        payment.nextQueryAt = event.nextQueryAt;
        break;
      case 'REVIEW_REQUIRED':
        payment.statusReason = event.reason.slice(0, 512);
        payment.nextQueryAt = event.nextQueryAt ?? null;
        break;
      case 'CLOSED_CONFIRMED':
        payment.closedAt = now;
        break;
      case 'REVERSED_CONFIRMED':
        payment.statusReason = event.reason.slice(0, 512);
        payment.closedAt = now;
        payment.reversedAt ??= now;
        break;
    }
    // Terminal states are never queried again.
    if (to === 'PAID' || to === 'FAILED' || to === 'CLOSED') payment.nextQueryAt = null;
  }
}

function detailOf(event: PaymentEvent): string | null {
  switch (event.type) {
    case 'START':
      return null;
    case 'PAID_CONFIRMED':
      return `gatewayTradeNo=${event.gatewayTradeNo} paidAmountFen=${event.paidAmountFen}`;
    case 'FAILED_CONFIRMED':
    case 'CLOSE_REQUESTED':
    case 'REVIEW_REQUIRED':
    case 'REVERSED_CONFIRMED':
      return event.reason.slice(0, 512);
    case 'CLOSED_CONFIRMED':
      return null;
  }
}

export type { PaymentEventType };
