import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { ER_DUP_ENTRY, inTransaction, mysqlErrno } from '../database/transaction';
import type { PaymentEventBody } from '../notifications/payment-event';
import { mayStillBePaid } from '../payment-center/payment-state-machine';
import { PaymentCenter } from '../payment-center/payment-center.service';
import { PaymentNotFound } from '../payment-center/payment-errors';
import type { PaymentView } from '../payment-center/payment.view';
import type { Order } from './order.entity';
import { ORDER_TRANSITIONS, type OrderEvent } from './order-state';
import { OrdersRepository } from './orders.repository';
import { ProcessedEvent } from './processed-event.entity';

/** `refused`: a payment.succeeded the payment row does not bear out (recorded, so a redelivery is a duplicate). */
export type Outcome = 'applied' | 'duplicate' | 'stale' | 'unrelated' | 'refused';

/**
 * What Orders applies: a partner event from the queue, or one Orders' own check made from the payment's state
 * as it is now (no `orderSequence`: it is the newest word by construction).
 */
export type OrderPaymentEvent = Omit<PaymentEventBody, 'orderSequence'> & { orderSequence?: number };

/**
 * The one idempotent path by which payment outcomes change orders, whether the event came from the queue
 * or from Orders' own check of a payment it has not heard about:
 *
 * - Each event is applied once: its id is recorded in the same transaction as the order change, so a
 *   redelivery (a crash before the ack, a relay that published twice) changes nothing.
 * - An event whose payment version is not above the last one applied for that payment is stale: ignored. So
 *   is one whose orderSequence is below one already applied for the order (after a channel switch, the old
 *   payment's news arriving after the new one's), except a payment.succeeded: the payment row decides that
 *   one, since the old payment may be the order's first paid.
 * - An event is a hint, not proof: any holder of a partner key can sign one. A payment.succeeded marks the
 *   order PAID only when the payment row, read through the PaymentCenter, is PAID for this same order and
 *   amount; the order takes the payment number and channel from that row.
 */
@Injectable()
export class OrderPaymentEvents {
  private readonly logger = new Logger(OrderPaymentEvents.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async apply(event: OrderPaymentEvent): Promise<Outcome> {
    // Read through the PaymentCenter's public interface before locking: can any payment still succeed?
    const openPayments =
      event.type === 'payment.closed'
        ? (await this.paymentCenter.listPaymentsOfOrder(event.payment.orderNo)).filter((p) => mayStillBePaid(p.status))
        : [];
    const paid = event.type === 'payment.succeeded' ? await this.paymentRow(event.payment.paymentNo) : undefined;
    return inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      const order = await this.orders.lockByOrderNo(manager, event.payment.orderNo);
      const record = {
        eventId: event.id,
        paymentNo: event.payment.paymentNo,
        orderNo: event.payment.orderNo,
        version: event.version,
        orderSequence: event.orderSequence ?? null,
        type: event.type,
      };
      try {
        await manager.getRepository(ProcessedEvent).insert({ ...record, outcome: 'applied', processedAt: now });
      } catch (error) {
        if (mysqlErrno(error) === ER_DUP_ENTRY) return 'duplicate';
        throw error;
      }
      const newest = await manager
        .getRepository(ProcessedEvent)
        .createQueryBuilder('e')
        .select('MAX(e.version)', 'version')
        .where('e.paymentNo = :paymentNo AND e.eventId <> :eventId AND e.outcome = :applied', {
          paymentNo: event.payment.paymentNo,
          eventId: event.id,
          applied: 'applied',
        })
        .getRawOne<{ version: number | null }>();
      const mark = async (outcome: Outcome) => {
        await manager.getRepository(ProcessedEvent).update({ eventId: event.id }, { outcome });
        return outcome;
      };
      if (newest?.version !== null && newest?.version !== undefined && event.version <= newest.version) {
        return mark('stale');
      }
      if (event.orderSequence !== undefined && event.type !== 'payment.succeeded') {
        const newestOfOrder = await manager
          .getRepository(ProcessedEvent)
          .createQueryBuilder('e')
          .select('MAX(e.orderSequence)', 'sequence')
          .where('e.orderNo = :orderNo AND e.eventId <> :eventId AND e.outcome = :applied', {
            orderNo: event.payment.orderNo,
            eventId: event.id,
            applied: 'applied',
          })
          .getRawOne<{ sequence: number | null }>();
        const sequence = newestOfOrder?.sequence;
        if (sequence !== null && sequence !== undefined && event.orderSequence < Number(sequence)) {
          return mark('stale');
        }
      }
      if (!order) return mark('unrelated');
      if (event.type === 'payment.succeeded' && !paysOrder(paid, order)) {
        this.logger.warn(
          `payment.succeeded ${event.id} for order ${order.orderNo} refused: payment ${event.payment.paymentNo} is ` +
            (paid ? `${paid.status}, order ${paid.orderNo}, ${paid.paidAmountFen ?? paid.amountFen} fen` : 'unknown'),
        );
        return mark('refused');
      }

      let orderEvent: OrderEvent | undefined;
      switch (event.type) {
        case 'payment.succeeded':
          orderEvent = 'PAYMENT_SUCCEEDED';
          break;
        case 'payment.closed':
          // The order closes only when none of its payments can still be paid.
          orderEvent = openPayments.length === 0 ? 'CLOSED' : undefined;
          break;
        case 'payment.failed':
        case 'payment.needs_review':
        case 'payment.refund_started': // money going back (a merchant's refund, a late or second payment)
        case 'payment.refunded':
        case 'payment.refund_failed':
        case 'payment.refund_needs_review':
          orderEvent = undefined; // the buyer may pay again; refunds and reviews do not change checkout
          break;
      }
      if (orderEvent) {
        const next = ORDER_TRANSITIONS[order.status][orderEvent];
        if (next !== 'ignore') {
          order.status = next;
          if (orderEvent === 'PAYMENT_SUCCEEDED' && paid) {
            order.paymentNo = paid.paymentNo;
            order.channel = paid.channel;
          }
          if (next === 'PAID' || next === 'CLOSED') order.nextCheckAt = null;
          order.version += 1;
          order.updatedAt = now;
          await this.orders.save(manager, order);
        }
      }
      return 'applied';
    });
  }

  /** The payment as the PaymentCenter has it; undefined when there is no such payment. */
  private async paymentRow(paymentNo: string): Promise<PaymentView | undefined> {
    try {
      return await this.paymentCenter.getPayment(paymentNo);
    } catch (error) {
      if (error instanceof PaymentNotFound) return undefined;
      throw error; // the database is down...: the consumer retries later
    }
  }
}

/** Whether the payment row itself says the order is paid: PAID, for this order, for the order's whole amount. */
function paysOrder(payment: PaymentView | undefined, order: Order): boolean {
  return (
    payment?.status === 'PAID' &&
    payment.orderNo === order.orderNo &&
    payment.currency === order.currency &&
    payment.amountFen === order.amountFen &&
    (payment.paidAmountFen ?? payment.amountFen) === order.amountFen
  );
}
