import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import type { Fen } from '../common/money';
import { ER_DUP_ENTRY, inTransaction, mysqlErrno } from '../database/transaction';
import { OutboxRelay } from '../notifications/outbox.relay';
import { OutboxWriter } from '../notifications/outbox.writer';
import type { PaymentEventType as PartnerEventType } from '../notifications/payment-event';
import { GatewayTradeNoConflict, IllegalTransition, PaymentNotFound } from './payment-errors';
import type { Payment } from './payment.entity';
import { decide, type PaymentEventType, type PaymentStatus } from './payment-state-machine';
import { PaymentsRepository } from './payments.repository';

/** An event and the facts it carries. */
export type PaymentEvent =
  | { type: 'START'; nextQueryAt: Date }
  | { type: 'PAID_CONFIRMED'; gatewayTradeNo: string; paidAmountFen: Fen; paidAt: Date }
  | { type: 'FAILED_CONFIRMED'; reason: string }
  /** The order expired: ask the gateway to close. `nextQueryAt` is when to ask again if this attempt dies. */
  | { type: 'CLOSE_REQUESTED'; reason: string; nextQueryAt: Date }
  | { type: 'CLOSED_CONFIRMED' }
  /** `nextQueryAt` when the gateway should still be asked now and then (no answer yet); none for a fact to judge. */
  | { type: 'REVIEW_REQUIRED'; reason: string; nextQueryAt?: Date };

export type TransitionOutcome =
  { changed: true; from: PaymentStatus; to: PaymentStatus; payment: Payment } | { changed: false; payment: Payment };

/**
 * The one function that changes a payment's status. It locks the payment row (SELECT … FOR UPDATE),
 * checks the event against the transition table, writes the new state and its history row, and returns
 * what changed. A repeated or stale event changes nothing and writes nothing.
 */
@Injectable()
export class PaymentStateService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
  ) {}

  /**
   * Applies `event` in the caller's transaction, or in a new one. A change partners care about writes its
   * outbox event in the same transaction; when this call owns the transaction it wakes the relay after
   * the commit (a caller passing its own manager is picked up by the relay's next poll).
   */
  async apply(paymentNo: string, event: PaymentEvent, manager?: EntityManager): Promise<TransitionOutcome> {
    if (manager) return this.applyLocked(manager, paymentNo, event);
    const outcome = await inTransaction(this.dataSource, (m) => this.applyLocked(m, paymentNo, event));
    if (outcome.changed && partnerEventFor(outcome.to)) this.relay.kick();
    return outcome;
  }

  /** For callers that applied events in their own transaction: publish their events now it has committed. */
  notifyCommitted(): void {
    this.relay.kick();
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

  private async applyLocked(
    manager: EntityManager,
    paymentNo: string,
    event: PaymentEvent,
  ): Promise<TransitionOutcome> {
    const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
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
    await this.payments.appendTransition(manager, {
      paymentNo,
      event: event.type,
      fromStatus: from,
      toStatus: decision.to,
      version: payment.version,
      detail: detailOf(event),
      createdAt: now,
    });
    const type = partnerEventFor(decision.to);
    if (type) {
      await this.outbox.append(
        manager,
        {
          type,
          version: payment.version,
          payment: {
            paymentNo: payment.paymentNo,
            orderNo: payment.orderNo,
            channel: payment.channel,
            amountFen: payment.amountFen,
            currency: payment.currency,
            status: payment.status,
            gatewayTradeNo: payment.gatewayTradeNo,
            paidAmountFen: payment.paidAmountFen,
            paidAt: payment.paidAt?.toISOString() ?? null,
            closedAt: payment.closedAt?.toISOString() ?? null,
          },
        },
        now,
      );
    }
    return { changed: true, from, to: decision.to, payment };
  }

  private applyFacts(payment: Payment, event: PaymentEvent, to: PaymentStatus, now: Date): void {
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
    }
    // Terminal states are never queried again.
    if (to === 'PAID' || to === 'FAILED' || to === 'CLOSED') payment.nextQueryAt = null;
  }
}

/** Which status changes business systems are told about, and under which routing key. */
function partnerEventFor(status: PaymentStatus): PartnerEventType | null {
  switch (status) {
    case 'PAID':
      return 'payment.succeeded';
    case 'FAILED':
      return 'payment.failed';
    case 'CLOSED':
      return 'payment.closed';
    case 'NEEDS_REVIEW':
      return 'payment.needs_review';
    case 'CREATED':
    case 'PAYING':
    case 'CLOSING':
      return null;
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
      return event.reason.slice(0, 512);
    case 'CLOSED_CONFIRMED':
      return null;
  }
}

export type { PaymentEventType };
